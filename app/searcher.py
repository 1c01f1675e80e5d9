"""The searcher interface: what search, documents, compare and exports read of one generation.

Two implementations: `app.snapshot.Snapshot` (the embedded backend: index files under
PLANS_HOME, postings memory-mapped) and `app.pg_search.PgSnapshot` (the postgres backend:
matching in SQL through GIN indexes, the generation's passage arrays loaded from the
database). Everything above this interface (scoring, grouping, facets, highlights, compare,
matrix, exports) is the same code for both, so both give the same answers.

A holder lends the current one: `current()` per request, `reload_now()` after a write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from app.derived import Derived
from app.snapshot import Hits


class Searcher(Protocol):
    """One generation; passages are rows sorted by (plan id, ordinal), plans by id."""

    generation: int
    key: tuple[int, int]  # changes with every generation served
    loaded_at: float
    plans: list[dict[str, Any]]  # catalog metadata (`Plan.metadata_dict`)
    plan_by_id: dict[int, int]  # plan id -> index into `plans`
    size: int  # passages
    passage_ids: np.ndarray
    passage_plan: np.ndarray  # int32: index into `plans`
    ordinals: np.ndarray
    heading_lengths: np.ndarray
    lengths: np.ndarray  # normalised length of each passage
    average_length: float
    texts: Sequence[str]
    normalized: Sequence[str]
    sections: list[tuple[str, ...]]
    vocabulary: list[str]
    plan_passage_count: np.ndarray
    plan_first: np.ndarray
    plan_chars: np.ndarray
    derived: Derived  # values app modules compute once per generation (app/derived.py)

    def find(self, needle: str) -> Hits:
        """Rows whose normalised text contains `needle`, with mention counts and first offsets."""

    def words(self, passage: int) -> list[str]: ...

    def word_ids_of(self, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def plan_range(self, plan_index: int) -> range: ...

    def clear_cache(self) -> None: ...


class SearcherHolder(Protocol):
    """Lends the current generation and loads newer ones."""

    def current(self) -> Searcher: ...

    def reload_now(self) -> Searcher: ...
