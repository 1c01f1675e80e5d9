"""One file made ready for the catalog: read -> clean -> metadata -> sections, under the
per-file time budget (indexer/budget.py). A file that overran the budget is recorded by
content hash (catalog table `timed_out`) and not read again while the budget is the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from indexer.budget import Budget
from indexer.catalog import INDEXED, TimedOut, session_scope
from indexer.cleaning import clean
from indexer.errors import ReadError, TimeBudgetExceeded
from indexer.metadata import extract_metadata, metadata_version
from indexer.outcomes import Outcome
from indexer.reading import RawDocument, read_document
from indexer.sections import split_passages
from indexer.sources import Known


@dataclass
class Prepared:
    """A file read, cleaned and split: what the catalog row and its passages are made of."""

    raw: RawDocument
    source: str
    metadata: dict[str, Any]
    warnings: list[str]
    text: str
    passages: list[Any]


class Preparer:
    """Prepares file after file within `budget` seconds each, remembering the files that overran it."""

    def __init__(self, engine: Engine, budget: float, max_bytes: int) -> None:
        self.engine, self.seconds, self.max_bytes = engine, budget, max_bytes
        self._budget = Budget(budget)
        if budget > 0:
            _load_once()  # before the reading process is forked: it inherits what is loaded
        with session_scope(engine) as session:
            self._timed_out = {row.sha256: row.seconds for row in session.scalars(select(TimedOut))}

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._budget.close()

    def prepare(self, path: Path, existing: Known | None, overrides: dict[str, Any],
                edits: dict[str, Any] | None = None) -> Prepared | Outcome:
        """The prepared file, or the outcome that says why there is nothing to write (unchanged, failed)."""
        source = str(path.resolve())
        digest = self._digest(path) if self._timed_out and self.seconds > 0 else None
        if digest is not None and self._timed_out.get(digest) == self.seconds:
            return Outcome(source, "failed", reason=f"took longer than {self.seconds:g} s to read before "
                                                    "(PLANS_FILE_TIMEOUT); not read again until that setting changes")
        try:
            return self._budget.run(path.name, prepare_file, path, source, existing, overrides, self.max_bytes, edits)
        except TimeBudgetExceeded as exc:
            self._remember(digest or self._digest(path))
            return Outcome(source, "failed", reason=exc.reason)
        except ReadError as exc:
            return Outcome(source, "failed", reason=exc.reason)

    def _remember(self, digest: str | None) -> None:
        if digest is None:
            return
        with session_scope(self.engine) as session:
            session.merge(TimedOut(sha256=digest, seconds=self.seconds))
        self._timed_out[digest] = self.seconds

    @staticmethod
    def _digest(path: Path) -> str | None:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None


@lru_cache(maxsize=1)
def _load_once() -> None:
    """Load what reading a plan loads lazily (the region gazetteer, compiled patterns), in this process."""
    cleaned = clean("测试小学2024年工作计划\n一、总体要求\n加强劳动教育。\n")
    split_passages(cleaned.text, title=extract_metadata(cleaned).title)


def prepare_file(path: Path, source: str, existing: Known | None, overrides: dict[str, Any],
                 max_bytes: int, edits: dict[str, Any] | None = None) -> Prepared | Outcome:
    """Read, clean, extract metadata and split one file (in the budget's helper process)."""
    raw = read_document(path, max_bytes=max_bytes)
    if (existing is not None and existing.sha256 == raw.sha256 and existing.index_state == INDEXED
            and existing.metadata_version == metadata_version()):
        return Outcome(source, "unchanged", plan_id=existing.id)
    cleaned = clean(raw.text)
    meta = extract_metadata(cleaned, overrides=overrides, edits=edits)
    passages = split_passages(cleaned.text, title=meta.title)
    if not passages or not any(ch.isalnum() for ch in cleaned.text):
        return Outcome(source, "failed", reason="no text left after cleaning")
    metadata = meta.as_dict()
    warnings = [*raw.warnings, *metadata.pop("warnings")]
    return Prepared(raw, source, metadata, warnings, cleaned.text, passages)
