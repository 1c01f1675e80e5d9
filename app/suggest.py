"""Suggestions while typing: the jieba words of the index that start with the prefix (the Whoosh
`words` field, read through a read-only reader opened per request), and the themes and school
names that contain it, ranked by document frequency (passages).

Shape: {"prefix", "suggestions": [{"text", "kind": "word" | "theme" | "school", "passages"}]}.
A word's frequency is Whoosh's document frequency in the words field (passages of the last
commit; a deleted passage counts until its segment is merged away); a theme's is the passages holding any of its terms, a school's the passages holding
its name, both read from the served snapshot.
"""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any

import numpy as np

from app.facets import plan_field
from app.loose import project
from app.snapshot import Snapshot
from app.themes import ThemeBook
from indexer import store
from indexer.cleaning import normalize

LIMIT = 10
WORDS_FIELD = "words"


def index_words(directory: Path, prefix: str, limit: int) -> list[tuple[str, int]]:
    """The `limit` words of the index's words field starting with `prefix`, most frequent first."""
    ix = store.open_index(directory)
    with ix.reader() as reader:
        if WORDS_FIELD not in reader.schema:
            return []
        found = ((info.doc_frequency(), text) for text, info in reader.iter_prefix(WORDS_FIELD, prefix))
        best = heapq.nsmallest(limit, found, key=lambda item: (-item[0], item[1]))
    out = []
    for df, text in best:
        word = text.decode("utf-8") if isinstance(text, bytes) else str(text)
        out.append((word, int(df)))
    return out


def suggest(snapshot: Snapshot, themes: ThemeBook, prefix: str, limit: int = LIMIT) -> dict[str, Any]:
    """Words, themes and schools for `prefix` (normalised as a query is), merged by frequency."""
    needle = normalize(prefix).strip()
    items: dict[str, dict[str, Any]] = {}
    if project(needle):
        for theme in themes:
            if needle in normalize(theme.name):
                hits = [snapshot.find(n).index for n in theme.needles]
                count = len(np.unique(np.concatenate(hits))) if hits else 0
                items.setdefault(theme.name, {"text": theme.name, "kind": "theme", "passages": count})
        schools = {plan_field(m, "school") for m in snapshot.plans}
        for school in sorted(s for s in schools if s and needle in normalize(s)):
            if school not in items:
                items[school] = {"text": school, "kind": "school", "passages": len(snapshot.find(normalize(school)).index)}
        for word, df in index_words(snapshot.directory, needle, limit):
            if word not in items and project(word):
                items[word] = {"text": word, "kind": "word", "passages": df}
    ranked = sorted(items.values(), key=lambda s: (-s["passages"], s["kind"] != "theme", s["text"]))
    return {"prefix": prefix, "suggestions": ranked[:limit]}
