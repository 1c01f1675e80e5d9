"""GET /api/suggest: completions for the search box (app/suggest.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app import models
from app.routes.api import ERRORS, SnapshotDep
from app.routes.compare import ThemesDep
from app.suggest import LIMIT, suggest

router = APIRouter(prefix="", tags=["api"])


@router.get("/api/suggest", response_model=models.Suggestions, responses=ERRORS, summary="Completions while typing")
def api_suggest(
    snapshot: SnapshotDep,
    themes: ThemesDep,
    prefix: Annotated[str, Query(min_length=1, max_length=50, description="What is typed so far. Words of the index start with it; themes and school names contain it.")],
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many suggestions.")] = LIMIT,
) -> dict[str, Any]:
    """Jieba words of the index (the Whoosh `words` field), themes and school names, ranked by
    document frequency (passages), most frequent first."""
    return suggest(snapshot, themes, prefix, limit)
