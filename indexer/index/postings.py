"""Character and bigram postings: which passages hold a key, how often, and where first.

A table is CSR: for every key (a code point, or a bigram `(first << CHAR_BITS) | second`
without a space), the passages holding it in ascending order, the count of its occurrences
there and the offset of its first one. Counts are uint8 and first offsets uint16; a count of
`COUNT_SATURATED` or an offset of `SATURATED` means "this many or more" and the reader
recomputes the exact value from the text. A bigram of two
equal characters counts overlapping occurrences (`好好好` holds `好好` twice); `str.count`
does not, so the reader recounts those too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SATURATED = np.iinfo(np.uint16).max  # of a first offset
COUNT_SATURATED = np.iinfo(np.uint8).max
CHAR_BITS = 21  # Unicode code points fit in 21 bits: a bigram is (first << 21) | second
_SPACE = ord(" ")


@dataclass
class Postings:
    """One CSR posting table: `passages[offsets[k]:offsets[k+1]]` hold `keys[k]`."""

    keys: np.ndarray  # int64, sorted, unique
    offsets: np.ndarray  # int64, len(keys) + 1
    passages: np.ndarray  # int32 (uint16 as a sidecar stores a small segment's), ascending within a key
    counts: np.ndarray  # uint8, saturated at COUNT_SATURATED
    first: np.ndarray  # uint16, saturated at SATURATED

    @classmethod
    def empty(cls) -> Postings:
        return cls(
            np.empty(0, np.int64), np.zeros(1, np.int64), np.empty(0, np.int32),
            np.empty(0, np.uint8), np.empty(0, np.uint16),
        )

    def lookup(self, key: int) -> slice:
        """The range of `key`'s postings (empty when absent)."""
        k = int(np.searchsorted(self.keys, key))
        if k == len(self.keys) or int(self.keys[k]) != key:
            return slice(0, 0)
        return slice(int(self.offsets[k]), int(self.offsets[k + 1]))


def passage_postings(normalized: Sequence[str]) -> tuple[Postings, Postings]:
    """The (chars, bigrams) postings of these normalised passage texts, numbered from 0."""
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in normalized], dtype=np.int64)]).astype(np.int64)
    return both_postings("".join(normalized), offsets)


def both_postings(joined: str, offsets: np.ndarray) -> tuple[Postings, Postings]:
    return build_postings(joined, offsets, pairs=False), build_postings(joined, offsets, pairs=True)


def concatenate_postings(parts: Sequence[tuple[Postings, int]]) -> Postings:
    """One table of consecutive runs of passages, each part's (postings, passage count)."""
    merged, size = Postings.empty(), 0
    for postings, count in parts:
        merged = merge(merged, np.arange(size, dtype=np.int64), postings, np.arange(size, size + count, dtype=np.int64),
                        size + count)
        size += count
    return merged


def build_postings(normalized: str, offsets: np.ndarray, *, pairs: bool) -> Postings:
    """Postings of every character (or bigram without a space) of the passages `offsets` cut
    `normalized` into, numbered from 0.

    Each occurrence becomes one 64-bit number, (key rank, passage, offset capped at 65535),
    and one plain sort of those numbers orders them by key, then passage, then offset: a
    group of equal (key, passage) is one posting, its size the count, its first number the
    first offset. Key ranks are the characters' ranks among those present, so a bigram
    takes two ranks' bits, not 42; what does not fit in 64 bits takes `_build_by_unique`.
    """
    n = len(offsets) - 1
    if n <= 0 or not normalized:
        return Postings.empty()
    codes = np.frombuffer(normalized.encode("utf-32-le"), np.uint32)
    present = np.unique(codes)
    char_bits = max(1, (len(present) - 1).bit_length())
    passage_bits = max(1, (n - 1).bit_length())
    if (2 if pairs else 1) * char_bits + passage_bits + _OFFSET_BITS > 64:
        return _build_by_unique(normalized, offsets, pairs=pairs)
    lengths = np.diff(offsets)
    owner = np.repeat(np.arange(n, dtype=np.uint64), lengths)
    local = np.arange(len(codes), dtype=np.int64) - np.repeat(np.asarray(offsets[:-1], np.int64), lengths)
    table = np.zeros(int(present[-1]) + 1, np.uint64)
    table[present] = np.arange(len(present), dtype=np.uint64)
    ranks = table[codes]
    if pairs:
        valid = local[:-1] < (np.repeat(lengths, lengths)[:-1] - 1)  # the pair stays inside its passage
        valid &= (codes[:-1] != _SPACE) & (codes[1:] != _SPACE)
        key = ((ranks[:-1] << np.uint64(char_bits)) | ranks[1:])[valid]
        owner, local = owner[:-1][valid], local[:-1][valid]
    else:
        key = ranks
    if not len(key):
        return Postings.empty()
    low = np.uint64(_OFFSET_BITS)
    packed = (key << np.uint64(passage_bits + _OFFSET_BITS)) | (owner << low) | np.minimum(local, SATURATED).astype(np.uint64)
    packed.sort()
    group = packed >> low  # (key rank, passage)
    starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
    group_at = group[starts]
    key_of = group_at >> np.uint64(passage_bits)
    key_starts = np.flatnonzero(np.concatenate([[True], key_of[1:] != key_of[:-1]]))
    distinct = key_of[key_starts]
    if pairs:
        chars = present.astype(np.int64)
        keys = (chars[distinct >> np.uint64(char_bits)] << CHAR_BITS) | chars[distinct & np.uint64((1 << char_bits) - 1)]
    else:
        keys = present.astype(np.int64)[distinct]
    return Postings(
        keys=keys,
        offsets=np.concatenate([key_starts, [len(starts)]]).astype(np.int64),
        passages=(group_at & np.uint64((1 << passage_bits) - 1)).astype(np.int32),
        counts=np.minimum(np.diff(np.concatenate([starts, [len(packed)]])), COUNT_SATURATED).astype(np.uint8),
        first=(packed[starts] & np.uint64(SATURATED)).astype(np.uint16),
    )


_OFFSET_BITS = 16  # a first offset is stored capped at SATURATED = 2**16 - 1


def _build_by_unique(normalized: str, offsets: np.ndarray, *, pairs: bool) -> Postings:
    """`build_postings` for passages or alphabets too many for its 64-bit numbers: two
    `np.unique` passes (about 20x slower)."""
    n = len(offsets) - 1
    codes = np.frombuffer(normalized.encode("utf-32-le"), np.uint32).astype(np.int64)
    lengths = np.diff(offsets)
    owner = np.repeat(np.arange(n, dtype=np.int64), lengths)
    local = np.arange(len(codes), dtype=np.int64) - offsets[:-1][owner]
    if pairs:
        valid = local[:-1] < (lengths[owner[:-1]] - 1)  # the pair stays inside its passage
        valid &= (codes[:-1] != _SPACE) & (codes[1:] != _SPACE)
        keys = ((codes[:-1] << CHAR_BITS) | codes[1:])[valid]
        owner, local = owner[:-1][valid], local[:-1][valid]
    else:
        keys = codes
    if not len(keys):
        return Postings.empty()
    distinct, rank = np.unique(keys, return_inverse=True)
    combined = rank.astype(np.int64) * n + owner
    # stable sort: the first of equal (key, passage) entries is the first occurrence
    unique, first_at, counts = np.unique(combined, return_index=True, return_counts=True)
    ranks = unique // n
    return Postings(
        keys=distinct.astype(np.int64),
        offsets=_offsets(ranks, len(distinct)),
        passages=(unique % n).astype(np.int32),
        counts=np.minimum(counts, COUNT_SATURATED).astype(np.uint8),
        first=np.minimum(local[first_at], SATURATED).astype(np.uint16),
    )


def _offsets(ranks: np.ndarray, size: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(ranks, minlength=size))]).astype(np.int64)


def merge(old: Postings, old_map: np.ndarray, new: Postings, new_map: np.ndarray, width: int) -> Postings:
    """Old postings renumbered by `old_map` (-1: dropped) merged with new ones renumbered by `new_map`.

    Both maps keep order, so the old postings stay sorted by (key, passage) after renumbering
    and only the new ones need inserting. Adding one plan to thousands touches every array
    once, so this keeps to a few passes over them in narrow types: no renumbering when the
    old passages keep their places (a plan added after the others), and each new posting's
    place found by a bisection inside its key's run, for all of them at once.
    """
    if width == 0:
        return Postings.empty()
    keys = np.union1d(old.keys, new.keys)
    old_counts = np.diff(old.offsets)
    counts, first = np.asarray(old.counts), np.asarray(old.first)
    if np.array_equal(old_map, np.arange(len(old_map))):  # every old passage keeps its place
        passages = np.asarray(old.passages)
    else:
        passages = old_map.astype(np.int32)[old.passages] if len(old.passages) else np.empty(0, np.int32)
        live = passages >= 0
        if not live.all():
            keep = np.flatnonzero(live)
            owner = np.repeat(np.arange(len(old.keys)), old_counts)
            old_counts = np.bincount(owner[keep], minlength=len(old.keys))
            passages, counts, first = passages[keep], counts[keep], first[keep]
    old_rank = np.searchsorted(keys, old.keys)
    new_rank = np.searchsorted(keys, new.keys)
    new_sizes = np.diff(new.offsets)
    sizes = np.zeros(len(keys), np.int64)
    sizes[old_rank] += old_counts
    sizes[new_rank] += new_sizes
    if len(new.passages):
        new_passages = new_map.astype(np.int32)[new.passages]
        old_starts = np.concatenate([[0], np.cumsum(old_counts)])
        if not len(old_map) or int(new_map.min()) > int(old_map.max()):
            # appended after every old passage (a batch of new plans): each new posting goes at
            # the end of its key's old run, and the new ones are already in (key, passage) order
            order = np.arange(len(new_passages))
            at = old_starts[np.searchsorted(old.keys, np.repeat(new.keys, new_sizes), side="right")]
        else:
            order = np.lexsort((new_passages, np.repeat(new_rank, new_sizes)))
            at = _insertion_points(old.keys, old_starts, passages,
                                   np.repeat(new.keys, new_sizes)[order], new_passages[order])
        placed = at + np.arange(len(at))  # where each new posting lands in the merged arrays
        passages, counts, first = (
            _inserted(old_values, placed, new_values[order])
            for old_values, new_values in ((passages, new_passages), (counts, np.asarray(new.counts)), (first, np.asarray(new.first)))
        )
    present = sizes > 0
    return Postings(
        keys=keys[present].astype(np.int64, copy=False),
        offsets=np.concatenate([[0], np.cumsum(sizes[present])]).astype(np.int64, copy=False),
        passages=passages.astype(np.int32, copy=False),
        counts=counts.astype(np.uint8, copy=False),
        first=first.astype(np.uint16, copy=False),
    )


def _inserted(old: np.ndarray, placed: np.ndarray, new: np.ndarray) -> np.ndarray:
    """`np.insert(old, at, new)` for insertion points `at` in order, given `placed = at + arange`:
    the new values at `placed`, the old ones in order around them (np.insert sorts its points first)."""
    out = np.empty(len(old) + len(new), np.result_type(old, new))
    taken = np.zeros(len(out), bool)
    taken[placed] = True
    out[placed] = new
    out[~taken] = old
    return out


def _insertion_points(old_keys: np.ndarray, old_starts: np.ndarray, old_passages: np.ndarray,
                      new_keys: np.ndarray, new_passages: np.ndarray) -> np.ndarray:
    """Where each new (key, passage) goes among the old postings, sorted by (key, passage):
    the run of its key, bisected on passage; for a key the old postings lack, where its run
    would start. All new postings are bisected together, about 20 narrow steps."""
    rank = np.searchsorted(old_keys, new_keys)
    lo = old_starts[rank].astype(np.int64)
    hi = lo.copy()
    found = np.flatnonzero(rank < len(old_keys))
    found = found[old_keys[rank[found]] == new_keys[found]]
    hi[found] = old_starts[rank[found] + 1]
    while (open_ := np.flatnonzero(lo < hi)).size:
        mid = (lo[open_] + hi[open_]) // 2
        right = old_passages[mid] < new_passages[open_]
        lo[open_[right]] = mid[right] + 1
        hi[open_[~right]] = mid[~right]
    return lo
