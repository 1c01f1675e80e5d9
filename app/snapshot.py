"""One committed generation of the index, loaded for serving, and the literal matcher over it.

A snapshot is the newest good commit (`indexer.index.reader`): the live Whoosh segments,
each with its sidecar. The passages of all segments are numbered as one sequence sorted by
plan and position, so a plan's passages are a contiguous range; their display text, the
normalised text used for matching and section paths are in memory, while each segment's
character and bigram postings stay memory-mapped and are read through a map from the
segment's passage numbers to the snapshot's (-1: a plan Whoosh deleted). Matching a needle:
- one character, or two characters without a space: read from the postings (passages,
  counts and first offsets are stored), no text touched;
- longer needles: candidates are the passages holding its rarest bigrams (intersected until
  few remain), verified by a literal `find`/`count` on the normalised text.
The result is exact by construction: a passage matches when the needle occurs in it,
whatever jieba does. `app.holder` lends the current snapshot and reopens newer commits.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, MutableSet
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.derived import Derived
from indexer.errors import PlansError
from indexer.index import reader
from indexer.index.postings import CHAR_BITS, COUNT_SATURATED, SATURATED, Postings
from indexer.index.segment import TextCut

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


@dataclass(frozen=True)
class _Part:
    """One live segment's postings and where its passages are in the snapshot (-1: deleted)."""

    chars: Postings
    bigrams: Postings
    to_global: np.ndarray  # int32, one per passage of the segment
    identity: bool  # to_global is arange: nothing to map


class Snapshot:
    """The passages and plans of one index generation; thread-safe for reads."""

    def __init__(self, directory: Path, *, verified: MutableSet[str] | None = None,
                 previous: Snapshot | None = None) -> None:
        """The newest good commit; `previous`: a snapshot of the same index this one may extend
        (a commit that only added segments of newer plans reads just those)."""
        self.directory = directory
        self.loaded_at = time.time()
        self._cache = NeedleCache()
        self.derived = Derived()  # values app modules compute once per generation (app/derived.py)
        if previous is not None and self._extended(previous, verified):
            return
        commit = reader.open_commit(directory, verified)
        self.generation = commit.generation
        self.problems: list[str] = commit.problems  # why newer generations were refused
        self.key = generation_key(directory, commit.generation)
        self._listing = [(s.segment_id, s.deleted_docs) for s in commit.segments]
        self._set(commit.segments)

    def _extended(self, previous: Snapshot, verified: MutableSet[str] | None) -> bool:
        """Whether the newest commit is `previous` plus new segments holding only newer plans,
        and if so this snapshot built from `previous` and those segments alone."""
        try:
            number, found = reader.listing(self.directory)  # no segment read: ids and delete counts
            known = len(previous._listing)
            if previous.problems or found[:known] != previous._listing or len(found) == known:
                return False
            added = reader.read_segments(self.directory, number, verified, only={segid for segid, _ in found[known:]})
        except (PlansError, OSError):  # the full open decides: another commit, a corrupt one, a missing one
            return False
        tail = Snapshot.__new__(Snapshot)
        tail._set(added)
        newest = max(previous.plan_by_id, default=-1)
        if not tail.plan_by_id or min(tail.plan_by_id) <= newest:
            return False  # a plan among the existing ones: its passages go in the middle
        self.generation, self.problems = number, []
        self.key = generation_key(self.directory, number)
        self._listing = found
        self._join(previous, tail)
        self.derived.extend(previous.derived, tail)  # the combinable warmed values
        return True

    def _join(self, head: Snapshot, tail: Snapshot) -> None:
        """`head`'s passages and plans followed by `tail`'s (whose plans are all newer)."""
        plans, size = len(head.plans), head.size
        self.plans = head.plans + tail.plans
        self.plan_by_id = {**head.plan_by_id, **{p: i + plans for p, i in tail.plan_by_id.items()}}
        self.size = size + tail.size
        for name in ("passage_ids", "ordinals", "heading_lengths", "lengths", "plan_passage_count", "plan_chars"):
            setattr(self, name, np.concatenate([getattr(head, name), getattr(tail, name)]))
        self.passage_plan = np.concatenate([head.passage_plan, tail.passage_plan + plans]).astype(np.int32)
        self.plan_first = np.concatenate([head.plan_first, tail.plan_first + size]).astype(np.int32)
        self.sections = head.sections + tail.sections
        index = {word: i for i, word in enumerate(head.vocabulary)}
        self.vocabulary = list(head.vocabulary)
        remap = _remap(tail.vocabulary, self.vocabulary, index)
        self.word_ids = np.concatenate([head.word_ids, remap[tail.word_ids]]).astype(np.int32)
        self.word_offsets = np.concatenate([head.word_offsets, tail.word_offsets[1:] + head.word_offsets[-1]])
        bounds = head.texts.bounds + [b + head.texts.bounds[-1] for b in tail.texts.bounds[1:]]
        self.texts = TextCut(head.texts.text + tail.texts.text, bounds)
        self.normalized = TextCut(head.normalized.text + tail.normalized.text, bounds)
        self._parts = [replace(part, identity=False) for part in head._parts] + [
            replace(part, to_global=np.where(part.to_global >= 0, part.to_global + size, -1).astype(np.int32), identity=False)
            for part in tail._parts]
        self.average_length = float(self.lengths.mean()) if self.size else 1.0

    def _set(self, segments: list[reader.LiveSegment]) -> None:
        ids, owner, local_plan = [], [], []
        for s, segment in enumerate(segments):
            plan_ids = np.asarray(segment.state.plan_ids)
            keep = np.flatnonzero(~np.isin(plan_ids, np.array(sorted(segment.deleted), np.int64)))
            ids.append(plan_ids[keep])
            owner.append(np.full(len(keep), s, np.int32))
            local_plan.append(keep)
        all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
        order = np.argsort(all_ids, kind="stable")
        plan_ids = all_ids[order]
        plan_segment = (np.concatenate(owner) if owner else np.empty(0, np.int32))[order]
        plan_local = (np.concatenate(local_plan) if local_plan else np.empty(0, np.int64))[order]
        local_counts = [np.bincount(np.asarray(s.state.passage_plan), minlength=len(s.state.plan_ids)).astype(np.int64)
                        for s in segments]
        local_first = [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(np.int64) for c in local_counts]
        counts = np.array([local_counts[s][k] for s, k in zip(plan_segment.tolist(), plan_local.tolist())], np.int64)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else np.zeros(0, np.int64)
        size = int(counts.sum())
        self.plans: list[dict[str, Any]] = [segments[s].state.plans[k] for s, k in zip(plan_segment.tolist(), plan_local.tolist())]
        self.plan_by_id = {int(p): i for i, p in enumerate(plan_ids.tolist())}
        self.size = size
        self.passage_ids = np.empty(size, np.int64)
        self.ordinals = np.empty(size, np.int32)
        self.heading_lengths = np.empty(size, np.int32)
        self.lengths = np.empty(size, np.int32)
        word_lengths = np.empty(size, np.int64)
        word_starts = np.empty(size, np.int64)  # into the segments' remapped word ids, concatenated
        self.sections: list[tuple[str, ...]] = [()] * size
        self.vocabulary: list[str] = []
        word_index: dict[str, int] = {}
        pools, base = [], 0
        self._parts: list[_Part] = []
        for s, segment in enumerate(segments):
            state = segment.state
            mine = np.flatnonzero(plan_segment == s)
            k = plan_local[mine]
            local = _ranges(local_first[s][k], local_counts[s][k])
            glob = _ranges(first[mine], local_counts[s][k])
            to_global = np.full(state.size, -1, np.int32)
            to_global[local] = glob
            identity = len(segments) == 1 and len(local) == state.size
            self._parts.append(_Part(state.chars, state.bigrams, to_global, identity))
            self.passage_ids[glob] = np.asarray(state.passage_ids)[local]
            self.ordinals[glob] = np.asarray(state.ordinals)[local]
            self.heading_lengths[glob] = np.asarray(state.heading_lengths)[local]
            self.lengths[glob] = np.diff(np.asarray(state.offsets))[local]
            word_offsets = np.asarray(state.word_offsets)
            word_lengths[glob] = np.diff(word_offsets)[local]
            word_starts[glob] = word_offsets[:-1][local] + base
            sections = state.sections
            whole = len(local) == state.size and len(glob) and int(glob[-1]) - int(glob[0]) == len(glob) - 1 \
                and bool(np.all(np.diff(local) == 1))
            if whole:
                self.sections[int(glob[0]) : int(glob[-1]) + 1] = sections  # the whole segment, in order
            else:
                for g, i in zip(glob.tolist(), local.tolist()):
                    self.sections[g] = sections[i]
            remap = _remap(state.vocabulary, self.vocabulary, word_index)
            ids_here = np.asarray(state.word_ids)
            pools.append(remap[ids_here] if len(ids_here) else np.empty(0, np.int32))
            base += len(ids_here)
        self.word_offsets = np.concatenate([[0], np.cumsum(word_lengths)]).astype(np.int64)
        pool = np.concatenate(pools) if pools else np.empty(0, np.int32)
        if not size:
            self.word_ids = np.empty(0, np.int32)
        elif len(pool) == int(word_lengths.sum()) and np.array_equal(word_starts, self.word_offsets[:-1]):
            self.word_ids = pool  # every segment's passages kept, in the snapshot's order: nothing to gather
        else:
            self.word_ids = pool[_ranges(word_starts, word_lengths)]
        texts, normalized = [], []
        runs: list[list[int]] = []  # [segment, start, end]: consecutive plans of one segment, one slice
        for s, k in zip(plan_segment.tolist(), plan_local.tolist()):
            offsets = segments[s].state.offsets
            a = int(offsets[local_first[s][k]])
            b = int(offsets[local_first[s][k] + local_counts[s][k]])
            if runs and runs[-1][0] == s and runs[-1][2] == a:
                runs[-1][2] = b
            else:
                runs.append([s, a, b])
        for s, a, b in runs:  # a whole segment's text is its own string, not a copy
            texts.append(segments[s].state.text[a:b])
            normalized.append(segments[s].state.normalized[a:b])
        bounds = np.concatenate([[0], np.cumsum(self.lengths, dtype=np.int64)]).tolist()
        self.texts = TextCut("".join(texts), bounds)
        self.normalized = TextCut("".join(normalized), bounds)
        self.passage_plan = np.repeat(np.arange(len(self.plans), dtype=np.int32), counts)
        self.plan_passage_count = counts.astype(np.int32)
        self.plan_first = first.astype(np.int32)
        self.plan_chars = np.array([m.get("chars") or 0 for m in self.plans], np.int64)
        self.average_length = float(self.lengths.mean()) if self.size else 1.0

    # -- reading ----------------------------------------------------------------------

    def words(self, passage: int) -> list[str]:
        """A passage's jieba words, in order."""
        a, b = int(self.word_offsets[passage]), int(self.word_offsets[passage + 1])
        return [self.vocabulary[i] for i in self.word_ids[a:b].tolist()]

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
        return self._cache.get(needle, self._find)

    def clear_cache(self) -> None:
        """Forget every cached needle (benchmarks measure cold searches with it)."""
        self._cache.clear()

    def release_caches(self) -> None:
        """Forget what was computed and cached on this generation (needles, `derived` but for the
        small warmed values a snapshot extending this one combines): before the next generation
        loads beside it, so the two are held with one set of caches, not two. Requests still on
        this one compute again what they need."""
        self.clear_cache()
        self.derived.clear(keep_warm=True)

    def _find(self, needle: str) -> Hits:
        if not needle or self.size == 0:
            return EMPTY_HITS
        if len(needle) == 1:
            return self._exact("chars", ord(needle), needle)
        if len(needle) == 2 and " " not in needle:
            key = (ord(needle[0]) << CHAR_BITS) | ord(needle[1])
            # equal characters: the postings count overlapping pairs, str.count does not
            return self._exact("bigrams", key, needle, recount=needle[0] == needle[1])
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

    def _exact(self, kind: str, key: int, needle: str, *, recount: bool = False) -> Hits:
        """Hits read from every segment's postings; saturated values (and `recount`) recomputed from the text."""
        index_parts, count_parts, first_parts = [], [], []
        for part in self._parts:
            postings: Postings = getattr(part, kind)
            found = postings.lookup(key)
            if found.stop == found.start:
                continue
            index = np.asarray(postings.passages[found])
            counts, first = np.asarray(postings.counts[found]), np.asarray(postings.first[found])
            if not part.identity:
                index = part.to_global[index]
                live = index >= 0
                index, counts, first = index[live], counts[live], first[live]
            index_parts.append(index)
            count_parts.append(counts)
            first_parts.append(first)
        if not index_parts:
            return EMPTY_HITS
        index = np.concatenate(index_parts).astype(np.int32)
        counts = np.concatenate(count_parts).astype(np.int32)
        first = np.concatenate(first_parts).astype(np.int32)
        if len(index_parts) > 1:
            order = np.argsort(index, kind="stable")
            index, counts, first = index[order], counts[order], first[order]
        texts = self.normalized
        for at in np.flatnonzero((counts == COUNT_SATURATED) | recount).tolist():
            counts[at] = texts[index[at]].count(needle)
        for at in np.flatnonzero(first == SATURATED).tolist():
            first[at] = texts[index[at]].find(needle)
        return Hits(index, counts, first)

    def _candidates(self, needle: str) -> np.ndarray:
        """Passages holding all of the needle's rarest bigrams (characters when it has none)."""
        keys = {(ord(a) << CHAR_BITS) | ord(b) for a, b in zip(needle, needle[1:]) if a != " " and b != " "}
        kind = "bigrams"
        if not keys:  # single characters between spaces
            keys, kind = {ord(c) for c in needle if c != " "}, "chars"
        if not keys:
            return np.arange(self.size, dtype=np.int32)
        parts = []
        for part in self._parts:
            postings: Postings = getattr(part, kind)
            ranges = sorted((postings.lookup(k) for k in keys), key=lambda r: r.stop - r.start)
            found = np.asarray(postings.passages[ranges[0]])
            for more in ranges[1:]:
                if len(found) <= NARROW:
                    break
                found = np.intersect1d(found, postings.passages[more], assume_unique=True)
            if not part.identity:
                found = part.to_global[found]
                found = found[found >= 0]
            parts.append(found)
        return np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]

    def close(self) -> None:
        """Nothing to release: the memory-mapped arrays are unmapped when the snapshot is collected."""


def _remap(words: list[str], vocabulary: list[str], index: dict[str, int]) -> np.ndarray:
    """Each of `words`' id in `vocabulary` (indexed by `index`), the words it lacks appended."""
    remap = np.empty(len(words), np.int32)
    for w, word in enumerate(words):
        found = index.get(word)
        if found is None:
            found = index[word] = len(vocabulary)
            vocabulary.append(word)
        remap[w] = found
    return remap


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`concatenate([arange(a, a + n) for a, n in zip(starts, counts)])`, as int64."""
    counts = np.asarray(counts, np.int64)
    total = int(counts.sum())
    ends = np.cumsum(counts)
    return np.repeat(np.asarray(starts, np.int64) - (ends - counts), counts) + np.arange(total, dtype=np.int64)


def _nbytes(hits: Hits) -> int:
    return int(hits.index.nbytes + hits.counts.nbytes + hits.first.nbytes)


class NeedleCache:
    """Hits by needle, the least recently used dropped past CACHE_SIZE needles or CACHE_BYTES of
    arrays (the newest is always kept); thread-safe, a miss computed outside the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: OrderedDict[str, Hits] = OrderedDict()
        self._bytes = 0

    def get(self, needle: str, compute: Callable[[str], Hits]) -> Hits:
        with self._lock:
            cached = self._hits.get(needle)
            if cached is not None:
                self._hits.move_to_end(needle)
                return cached
        hits = compute(needle)
        with self._lock:
            if needle not in self._hits:
                self._hits[needle] = hits
                self._bytes += _nbytes(hits)
            while len(self._hits) > CACHE_SIZE or (self._bytes > CACHE_BYTES and len(self._hits) > 1):
                _, evicted = self._hits.popitem(last=False)
                self._bytes -= _nbytes(evicted)
        return hits

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._hits)


def generation_key(directory: Path, number: int) -> tuple[int, int]:
    """Changes when a commit lands or `plans reindex` swaps in a new folder."""
    return (os.stat(directory).st_ino, number)
