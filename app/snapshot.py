"""One committed generation of the index, loaded for serving, and the literal matcher over it.

A snapshot holds the passages of one Whoosh generation in memory (display text, the
normalised text used for matching, section paths) sorted by plan and position, so a plan's
passages are a contiguous range. Matching a needle: candidates from the rarest character
bigrams' postings, verified by a literal `count` on the normalised text; single characters
and needles whose every bigram is common are scanned directly. The result is exact by
construction: a passage matches when the needle occurs in it, whatever jieba does.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer import store
from indexer.analysis import bigrams
from indexer.cleaning import normalize
from indexer.schema import PASSAGE, PLAN

SCAN_FRACTION = 0.25  # rarest bigram in more than this share of passages: scan instead
CACHE_SIZE = 512  # needles; and at most CACHE_BYTES of hit arrays, so memory stays flat
CACHE_BYTES = 24 * 1024 * 1024


@dataclass(frozen=True)
class Hits:
    """Passages containing one needle: sorted indices, mention counts, first offsets."""

    index: np.ndarray  # int32, sorted
    counts: np.ndarray  # int32, same length
    first: np.ndarray  # int32, offset of the first occurrence in each passage


EMPTY_HITS = Hits(np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int32))


class Snapshot:
    """The passages and plans of one index generation; thread-safe for reads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        ix = store.open_index(directory)
        self.key = _generation_key(directory, ix.latest_generation())
        self.loaded_at = time.time()
        self._reader = ix.reader()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Hits] = OrderedDict()
        self._cache_bytes = 0
        self.derived: dict[str, Any] = {}  # per-snapshot values computed once by app modules
        self._load()

    # -- loading ----------------------------------------------------------------------

    def _load(self) -> None:
        plans: dict[str, dict[str, Any]] = {}
        plan_docnum: dict[str, int] = {}
        rows: list[tuple[str, int, int, dict[str, Any]]] = []
        for docnum, fields in self._reader.iter_docs():
            if fields.get("kind") == PLAN:
                plans[fields["plan"]] = fields["meta"]
                plan_docnum[fields["plan"]] = docnum
            elif fields.get("kind") == PASSAGE:
                rows.append((fields["plan"], fields["ordinal"], docnum, fields))
        plan_ids = sorted(plans, key=int)
        self.plans: list[dict[str, Any]] = [plans[p] for p in plan_ids]
        self._plan_docnums = [plan_docnum[p] for p in plan_ids]
        self.plan_by_id = {int(p): i for i, p in enumerate(plan_ids)}
        rows = [r for r in rows if r[0] in plans]
        rows.sort(key=lambda r: (int(r[0]), r[1]))
        n = len(rows)
        self.size = n
        self.passage_ids = np.fromiter((r[3]["pid"] for r in rows), np.int64, n)
        self.passage_plan = np.fromiter((self.plan_by_id[int(r[0])] for r in rows), np.int32, n)
        self.ordinals = np.fromiter((r[1] for r in rows), np.int32, n)
        self.texts: list[str] = [r[3]["text"] for r in rows]
        self.normalized: list[str] = [normalize(t) for t in self.texts]
        self.lengths = np.fromiter(map(len, self.texts), np.int32, n)
        self.sections: list[list[str]] = [r[3]["section"] for r in rows]
        self.starts = np.fromiter((r[3]["start"] for r in rows), np.int32, n)
        self.heading_lengths = np.fromiter(
            (len(r[3]["section"][-1]) if r[3].get("rank") is not None and r[3]["section"] else 0 for r in rows),
            np.int32,
            n,
        )
        self.tokens: list[str] = [r[3]["tokens"] for r in rows]
        self.by_pid = {int(pid): i for i, pid in enumerate(self.passage_ids)}
        self._docnum_map = np.full(self._reader.doc_count_all(), -1, np.int32)
        for i, r in enumerate(rows):
            self._docnum_map[r[2]] = i
        counts = np.bincount(self.passage_plan, minlength=len(self.plans)) if n else np.zeros(len(self.plans), np.int64)
        self.plan_passage_count = counts.astype(np.int32)
        self.plan_first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32) if len(self.plans) else np.zeros(0, np.int32)
        self.plan_chars = np.array([m.get("chars") or 0 for m in self.plans], np.int64)
        self.average_length = float(self.lengths.mean()) if n else 1.0

    # -- reading ----------------------------------------------------------------------

    def plan_text(self, plan_index: int) -> str:
        """The full cleaned text of a plan (read from the index on demand)."""
        with self._lock:
            return str(self._reader.stored_fields(self._plan_docnums[plan_index])["text"])

    def plan_range(self, plan_index: int) -> range:
        first = int(self.plan_first[plan_index])
        return range(first, first + int(self.plan_passage_count[plan_index]))

    def find(self, needle: str) -> Hits:
        """Passages whose normalised text contains `needle` (already normalised)."""
        with self._lock:
            cached = self._cache.get(needle)
            if cached is not None:
                self._cache.move_to_end(needle)
                return cached
        hits = self._find(needle)
        with self._lock:
            if needle not in self._cache:
                self._cache[needle] = hits
                self._cache_bytes += _nbytes(hits)
            while len(self._cache) > CACHE_SIZE or (self._cache_bytes > CACHE_BYTES and len(self._cache) > 1):
                _, evicted = self._cache.popitem(last=False)
                self._cache_bytes -= _nbytes(evicted)
        return hits

    def clear_cache(self) -> None:
        """Forget every cached needle (benchmarks measure cold searches with it)."""
        with self._lock:
            self._cache.clear()
            self._cache_bytes = 0

    def _find(self, needle: str) -> Hits:
        if not needle or self.size == 0:
            return EMPTY_HITS
        candidates = self._candidates(needle)
        texts = self.normalized
        if candidates is None:
            candidates = range(self.size)
        index, counts, first = [], [], []
        for i in candidates:
            pos = texts[i].find(needle)
            if pos >= 0:
                index.append(i)
                first.append(pos)
                counts.append(texts[i].count(needle))
        return Hits(np.array(index, np.int32), np.array(counts, np.int32), np.array(first, np.int32))

    def _candidates(self, needle: str) -> list[int] | None:
        """Passages holding the needle's two rarest bigrams, or None when a scan is cheaper."""
        pairs = bigrams(needle)
        if not pairs:
            return None
        with self._lock:
            frequencies = sorted((self._reader.doc_frequency("grams", p), p) for p in pairs)
            if frequencies[0][0] == 0:
                return []
            if frequencies[0][0] > SCAN_FRACTION * self.size:
                return None
            found = self._postings(frequencies[0][1])
            if len(frequencies) > 1 and frequencies[1][0] <= 4 * frequencies[0][0]:
                found = np.intersect1d(found, self._postings(frequencies[1][1]), assume_unique=True)
        return [int(i) for i in found]

    def _postings(self, pair: str) -> np.ndarray:
        docnums = store.posting_docnums(self._reader, "grams", pair)
        mapped = self._docnum_map[docnums]
        return np.unique(mapped[mapped >= 0])

    def close(self) -> None:
        with self._lock:
            self._reader.close()


def _nbytes(hits: Hits) -> int:
    return int(hits.index.nbytes + hits.counts.nbytes + hits.first.nbytes)


def _generation_key(directory: Path, generation: int) -> tuple[int, int]:
    """Changes when a commit lands or `plans reindex` swaps in a new folder."""
    return (os.stat(directory).st_ino, generation)


class SnapshotHolder:
    """The current snapshot; a newer index generation is loaded in the background and swapped in."""

    def __init__(
        self, directory: Path, *, reload_interval: float = 1.0, load: Callable[[Path], Snapshot] = Snapshot
    ) -> None:
        self.directory = directory
        self.reload_interval = reload_interval
        self._load = load  # how a generation is loaded (tests pass a slow one to provoke races)
        self._current = load(directory)
        self._checked = time.monotonic()
        self._reloading = threading.Lock()

    def current(self) -> Snapshot:
        now = time.monotonic()
        if self.reload_interval >= 0 and now - self._checked >= self.reload_interval:
            self._checked = now
            if self._stale() and self._reloading.acquire(blocking=False):
                threading.Thread(target=self._reload, daemon=True).start()
        return self._current

    def _stale(self) -> bool:
        try:
            ix = store.open_index(self.directory)
            return _generation_key(self.directory, ix.latest_generation()) != self._current.key
        except Exception:  # an index being swapped in; the next check sees it
            return False

    def _reload(self) -> None:
        try:
            fresh = self._load(self.directory)
            self._current = fresh  # old snapshot is closed by GC once requests finish with it
        except Exception:
            pass  # keep serving the last good generation; next check retries
        finally:
            self._reloading.release()

    def reload_now(self) -> Snapshot:
        """Load the newest generation synchronously (after an upload or a delete; tests)."""
        # waits for a background load: one begun before the last commit could otherwise
        # finish after this one and put an older generation back
        with self._reloading:
            self._current = self._load(self.directory)
        return self._current
