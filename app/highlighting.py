"""Literal matches -> HTML-escaped text with one <mark> per match and no other markup.

Matches are found on the normalised text and applied to the display text at the same
offsets (the fold keeps lengths), so `１＋Ｘ` in a plan is marked for the query `1+x`.
Overlapping matches of different needles merge into one mark; a phrase is one mark.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

_SPECIAL = re.compile(r"[&<>\"']")  # what html.escape rewrites


def match_spans(normalized: str, needles: Iterable[str]) -> list[tuple[int, int]]:
    """Every occurrence of every needle as (start, end), overlapping ones merged, in order."""
    spans: list[tuple[int, int]] = []
    for needle in needles:
        if not needle:
            continue
        start = normalized.find(needle)
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = normalized.find(needle, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, normalized: str, needles: Iterable[str]) -> str:
    """`text` escaped for HTML, each match wrapped in <mark>…</mark>."""
    spans = match_spans(normalized, needles)
    quote = escape if _SPECIAL.search(text) else _same  # most passages have nothing to escape
    out: list[str] = []
    position = 0
    for start, end in spans:
        out.append(quote(text[position:start]))
        out.append("<mark>" + quote(text[start:end]) + "</mark>")
        position = end
    out.append(quote(text[position:]))
    return "".join(out)


def _same(text: str) -> str:
    return text
