"""What every HTML route shares: rendering a template, building a link, reading a number from a
hand-editable URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def int_param(value: str | None, default: int, low: int, high: int) -> int:
    """A number from a hand-editable URL: the default when it does not parse, else clamped."""
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return min(max(number, low), high)


def url(path: str, params: dict[str, Any]) -> str:
    """`path` with the parameters that are set (None, "" and () left out; a sequence repeats its key)."""
    pairs = [(k, v) for k, v in params.items() if v not in (None, "", ())]
    return path + ("?" + urlencode(pairs, doseq=True) if pairs else "")
