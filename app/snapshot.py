"""One committed generation of the index, loaded for serving, and the literal matcher over it.

A snapshot is the state the indexer saved with the generation (`indexer.generation`): the
passages in memory (display text, the normalised text used for matching, section paths)
sorted by plan and position, so a plan's passages are a contiguous range, and the character
and bigram postings memory-mapped. Matching a needle:
- one character, or two characters without a space: read from the postings (passages,
  counts and first offsets are stored), no text touched;
- longer needles: candidates are the passages holding its rarest bigrams (intersected until
  few remain), verified by a literal `find`/`count` on the normalised text.
The result is exact by construction: a passage matches when the needle occurs in it,
whatever jieba does. A generation saved without its state (an older index) is rebuilt from
Whoosh's stored documents, slowly, and served all the same.
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

from app.memory import trim
from indexer import generation, store
from indexer.generation import CHAR_BITS, SATURATED, Postings, State

CACHE_SIZE = 512  # needles; and at most CACHE_BYTES of hit arrays, so memory stays flat
CACHE_BYTES = 24 * 1024 * 1024
NARROW = 64  # intersect further bigrams' postings while more candidates than this remain


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
        number, state, self.rebuilt = _load_state(directory)
        self.generation = number
        self.key = _generation_key(directory, number)
        self.loaded_at = time.time()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Hits] = OrderedDict()
        self._cache_bytes = 0
        self.derived: dict[str, Any] = {}  # per-snapshot values computed once by app modules
        self._set(state)

    def _set(self, state: State) -> None:
        self._state = state  # the fields below are its own objects, not copies
        self.plans: list[dict[str, Any]] = state.plans
        self.plan_by_id = {int(p): i for i, p in enumerate(state.plan_ids.tolist())}
        self.size = state.size
        self.passage_ids = np.asarray(state.passage_ids)
        self.passage_plan = np.asarray(state.passage_plan)
        self.ordinals = np.asarray(state.ordinals)
        self.heading_lengths = np.asarray(state.heading_lengths)
        self.texts = state.texts()
        self.normalized = state.normalized_texts()
        self.lengths = np.diff(state.offsets).astype(np.int32)
        self.sections: list[tuple[str, ...]] = state.sections
        self._chars, self._bigrams = state.chars, state.bigrams
        self.vocabulary: list[str] = state.vocabulary
        self.word_ids, self.word_offsets = state.word_ids, state.word_offsets
        counts = np.bincount(self.passage_plan, minlength=len(self.plans)) if self.size else np.zeros(len(self.plans), np.int64)
        self.plan_passage_count = counts.astype(np.int32)
        self.plan_first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32) if len(self.plans) else np.zeros(0, np.int32)
        self.plan_chars = np.array([m.get("chars") or 0 for m in self.plans], np.int64)
        self.average_length = float(self.lengths.mean()) if self.size else 1.0

    # -- reading ----------------------------------------------------------------------

    def words(self, passage: int) -> list[str]:
        """A passage's jieba words, in order."""
        return self._state.words(passage)

    def word_ids_of(self, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The word ids of these passages, concatenated, and for each the position in `passages` it came from."""
        starts, ends = self.word_offsets[passages], self.word_offsets[np.asarray(passages) + 1]
        lengths = (ends - starts).astype(np.int64)
        total = int(lengths.sum())
        ends_out = np.cumsum(lengths)
        gather = np.repeat(starts - (ends_out - lengths), lengths) + np.arange(total)
        return np.asarray(self.word_ids[gather]), np.repeat(np.arange(len(lengths)), lengths)

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

    def release_caches(self) -> None:
        """Forget what was computed and cached on this generation (needles, `derived`): before the
        next generation loads beside it, so the two are held with one set of caches, not two.
        Requests still on this one compute again what they need."""
        self.clear_cache()
        self.derived.clear()

    def _find(self, needle: str) -> Hits:
        if not needle or self.size == 0:
            return EMPTY_HITS
        if len(needle) == 1:
            return self._exact(self._chars, ord(needle), needle)
        if len(needle) == 2 and " " not in needle:
            key = (ord(needle[0]) << CHAR_BITS) | ord(needle[1])
            # equal characters: the postings count overlapping pairs, str.count does not
            return self._exact(self._bigrams, key, needle, recount=needle[0] == needle[1])
        text, bounds = self.normalized.text, self.normalized.bounds
        index, counts, first = [], [], []
        for i in self._candidates(needle).tolist():
            start, end = bounds[i], bounds[i + 1]
            pos = text.find(needle, start, end)
            if pos >= 0:
                index.append(i)
                first.append(pos - start)
                counts.append(text.count(needle, pos, end))
        return Hits(np.array(index, np.int32), np.array(counts, np.int32), np.array(first, np.int32))

    def _exact(self, postings: Postings, key: int, needle: str, *, recount: bool = False) -> Hits:
        """Hits read from the postings; saturated values (and `recount`) recomputed from the text."""
        found = postings.lookup(key)
        index = np.array(postings.passages[found], np.int32)
        counts = np.array(postings.counts[found], np.int32)
        first = np.array(postings.first[found], np.int32)
        texts = self.normalized
        for at in np.flatnonzero((counts == SATURATED) | recount).tolist():
            counts[at] = texts[index[at]].count(needle)
        for at in np.flatnonzero(first == SATURATED).tolist():
            first[at] = texts[index[at]].find(needle)
        return Hits(index, counts, first)

    def _candidates(self, needle: str) -> np.ndarray:
        """Passages holding all of the needle's rarest bigrams (characters when it has none)."""
        keys = {(ord(a) << CHAR_BITS) | ord(b) for a, b in zip(needle, needle[1:]) if a != " " and b != " "}
        postings = self._bigrams
        if not keys:  # single characters between spaces
            keys, postings = {ord(c) for c in needle if c != " "}, self._chars
        if not keys:
            return np.arange(self.size, dtype=np.int32)
        ranges = sorted((postings.lookup(k) for k in keys), key=lambda r: r.stop - r.start)
        found = np.asarray(postings.passages[ranges[0]])
        for more in ranges[1:]:
            if len(found) <= NARROW:
                break
            found = np.intersect1d(found, postings.passages[more], assume_unique=True)
        return found

    def close(self) -> None:
        """Nothing to release: the memory-mapped arrays are unmapped when the snapshot is collected."""


def _load_state(directory: Path) -> tuple[int, State, bool]:
    """The newest generation's saved state; rebuilt from Whoosh when it has none (third value True)."""
    ix = store.open_index(directory)  # refuses another schema version
    for _ in range(5):
        number = ix.latest_generation()
        state = generation.load(directory, number)
        if state is not None:
            return number, state, False
        if ix.latest_generation() == number:  # not a commit racing past: the folder is missing
            break
    with ix.reader() as reader:
        return reader.generation(), generation.from_whoosh(reader), True


def _nbytes(hits: Hits) -> int:
    return int(hits.index.nbytes + hits.counts.nbytes + hits.first.nbytes)


def _generation_key(directory: Path, number: int) -> tuple[int, int]:
    """Changes when a commit lands or `plans reindex` swaps in a new folder."""
    return (os.stat(directory).st_ino, number)


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
            self._current = self._fresh()  # the old one is freed when the last request using it ends
        except Exception:
            pass  # keep serving the last good generation; next check retries
        finally:
            self._reloading.release()

    def reload_now(self) -> Snapshot:
        """Load the newest generation synchronously (after an upload or a delete; tests)."""
        # waits for a background load: one begun before the last commit could otherwise
        # finish after this one and put an older generation back
        with self._reloading:
            self._current = self._fresh()
        return self._current

    def _fresh(self) -> Snapshot:
        # for a moment two generations are held: the old one without its caches, from the smallest heap
        self._current.release_caches()
        trim()
        return self._load(self.directory)
