"""JSON answers as built: written by orjson, without FastAPI's validation against the
response model and its `jsonable_encoder` pass (their cost: docs/benchmarks.md). The models
still document the shapes in the OpenAPI schema, and tests validate real answers against them
(tests/app/test_compare.py, tests/app/test_search_api.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from fastapi import Response
from starlette.background import BackgroundTask


def plain(value: Any) -> Any:
    """A numpy number that slipped into an answer, as the Python number it stands for."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(result: Any, background: BackgroundTask | None = None) -> Response:
    return Response(orjson.dumps(result, default=plain), media_type="application/json", background=background)
