"""The serving state of one index generation, written by the indexer beside Whoosh's files.

Reading 77 K stored documents back from Whoosh and iterating its postings in Python cost the
server seconds at every start-up and reload, and most of a cold search (docs/benchmarks.md).
So each commit also writes `gen-<N>/` for the generation N it commits:

- `state.pickle`: the plans' metadata, the passages' section paths and the vocabulary of the
  jieba words (every word once, ids never reused, so merging appends);
- `text.utf16`, `normalized.utf16`: the display and the normalised texts, each one string cut
  by `offsets.npy`, as UTF-16-LE (pickled, they took four times as long to write and twice as
  long to read; the catalog refuses lone surrogates, so no pair can form that was not one);
- `plan_ids`, `passage_ids`, `passage_plan`, `ordinals`, `heading_lengths`, `offsets`
  `.npy`, and each passage's word ids in order (`word_ids` / `word_offsets`, CSR) for the
  comparison;
- postings as `.npy` files (memory-mapped by the server): for every character and every
  character bigram (no space in it) of the normalised texts, the passages holding it in
  ascending order, how often it occurs there and the offset of its first occurrence.

Counts and offsets are uint16; `SATURATED` means "this many or more" and the reader
recomputes the exact value from the text. A bigram of two equal characters counts
overlapping occurrences (`好好好` holds `好好` twice); `str.count` does not, so the reader
recounts those too.

The folder is written before the Whoosh commit, under the indexer lock and named after the
generation the commit creates, then renamed into place: a reader that sees generation N
committed finds `gen-N` complete. A generation without its folder (an index written before
this module existed, a folder deleted by hand) is still served: `from_whoosh` rebuilds the
state from the stored documents, slowly. A new state is derived from the previous one by
dropping and adding plans (`apply`): the postings are merged, not rebuilt, which keeps adding
one plan to thousands in the hundreds of milliseconds.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import numpy as np

from indexer.cleaning import normalize
from indexer.schema import PASSAGE, PLAN

FORMAT = 2  # bump when the files change shape; an unknown format is rebuilt, not misread
SATURATED = np.iinfo(np.uint16).max
CHAR_BITS = 21  # Unicode code points fit in 21 bits: a bigram is (first << 21) | second
_TEXTS = ("text", "normalized")
_FOLDER = re.compile(r"^gen-(\d+)$")
_SPACE = ord(" ")


@dataclass
class Postings:
    """One CSR posting table: `passages[offsets[k]:offsets[k+1]]` hold `keys[k]`."""

    keys: np.ndarray  # int64, sorted, unique
    offsets: np.ndarray  # int64, len(keys) + 1
    passages: np.ndarray  # int32, ascending within a key
    counts: np.ndarray  # uint16, saturated
    first: np.ndarray  # uint16, saturated

    @classmethod
    def empty(cls) -> Postings:
        return cls(
            np.empty(0, np.int64), np.zeros(1, np.int64), np.empty(0, np.int32),
            np.empty(0, np.uint16), np.empty(0, np.uint16),
        )

    def lookup(self, key: int) -> slice:
        """The range of `key`'s postings (empty when absent)."""
        k = int(np.searchsorted(self.keys, key))
        if k == len(self.keys) or int(self.keys[k]) != key:
            return slice(0, 0)
        return slice(int(self.offsets[k]), int(self.offsets[k + 1]))


class TextCut(Sequence[str]):
    """The passages' texts as one string cut by offsets: `cut[i]` slices on demand.

    A list of 77 K separate strings cost ~35 MB more per text kind and per loaded snapshot
    (two during a reload); matching searches the whole string between bounds instead.
    """

    def __init__(self, text: str, bounds: list[int]) -> None:
        self.text, self.bounds = text, bounds

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TextCut):
            return self.text == other.text and self.bounds == other.bounds
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if type(i) is int and 0 <= i < len(self.bounds) - 1:  # the common case, first: compare cuts thousands
            return self.text[self.bounds[i] : self.bounds[i + 1]]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.text[self.bounds[i] : self.bounds[i + 1]]


@dataclass
class State:
    """Everything the server reads of one generation, passages sorted by (plan id, ordinal)."""

    plan_ids: np.ndarray  # int64, sorted
    plans: list[dict[str, Any]]  # metadata, same order
    passage_ids: np.ndarray  # int64
    passage_plan: np.ndarray  # int32: index into plans
    ordinals: np.ndarray  # int32
    heading_lengths: np.ndarray  # int32: length of the passage's own heading, 0 if it has none
    sections: list[tuple[str, ...]]  # tuples of strings, which the collector stops tracking
    text: str  # display texts, concatenated
    normalized: str  # normalize(text): same length, so the same offsets cut both
    offsets: np.ndarray  # int64, passages + 1
    chars: Postings = field(default_factory=Postings.empty)
    bigrams: Postings = field(default_factory=Postings.empty)
    vocabulary: list[str] = field(default_factory=list)
    word_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    word_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))

    @property
    def size(self) -> int:
        return len(self.passage_ids)

    @cached_property
    def _bounds(self) -> list[int]:
        return np.asarray(self.offsets).tolist()  # type: ignore[no-any-return]

    def texts(self) -> TextCut:
        return TextCut(self.text, self._bounds)

    def normalized_texts(self) -> TextCut:
        return TextCut(self.normalized, self._bounds)

    def words(self, passage: int) -> list[str]:
        """A passage's jieba words, in order."""
        a, b = int(self.word_offsets[passage]), int(self.word_offsets[passage + 1])
        return [self.vocabulary[i] for i in self.word_ids[a:b].tolist()]


def empty_state() -> State:
    return State(
        np.empty(0, np.int64), [], np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int32),
        np.empty(0, np.int32), [], "", "", np.zeros(1, np.int64),
    )


# -- building -------------------------------------------------------------------------------------


def heading_length(rank: int | None, section: Sequence[str]) -> int:
    """A heading passage's own heading is the last entry of its section path."""
    return len(section[-1]) if rank is not None and section else 0


def from_documents(documents: Iterable[dict[str, Any]], vocabulary: Sequence[str] = (),
                   postings: Sequence[Postings] | None = None) -> State:
    """A state from Whoosh documents (the dicts `indexer.store` writes): plan and passage kinds.

    Word ids continue `vocabulary` (a copy is extended with the words it lacks). A passage
    document may carry its text's `normalized` form, and `postings` may give the (chars,
    bigrams) tables of the passages in the order given (`passage_postings`): what worker
    processes computed need not be computed again. They are used only when that order is
    already the state's.
    """
    plans: dict[int, dict[str, Any]] = {}
    passages: list[dict[str, Any]] = []
    for document in documents:
        if document.get("kind") == PLAN:
            plans[int(document["plan"])] = document["meta"]
        elif document.get("kind") == PASSAGE:
            passages.append(document)
    given = len(passages)
    passages = [p for p in passages if int(p["plan"]) in plans]
    if postings is not None:
        order = [(int(p["plan"]), p["ordinal"]) for p in passages]
        if len(passages) != given or any(a > b for a, b in zip(order, order[1:])):
            postings = None  # dropped or reordered passages: the tables given no longer fit
    passages.sort(key=lambda p: (int(p["plan"]), p["ordinal"]))
    plan_ids = np.array(sorted(plans), np.int64)
    position = {int(p): i for i, p in enumerate(plan_ids)}
    n = len(passages)
    texts = [p["text"] for p in passages]
    normalized = [p["normalized"] if "normalized" in p else normalize(p["text"]) for p in passages]
    lengths = np.fromiter(map(len, texts), np.int64, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return State(
        plan_ids=plan_ids,
        plans=[plans[int(p)] for p in plan_ids],
        passage_ids=np.fromiter((p["pid"] for p in passages), np.int64, n),
        passage_plan=np.fromiter((position[int(p["plan"])] for p in passages), np.int32, n),
        ordinals=np.fromiter((p["ordinal"] for p in passages), np.int32, n),
        heading_lengths=np.fromiter((heading_length(p.get("rank"), p["section"]) for p in passages), np.int32, n),
        sections=_shared_names([p["section"] for p in passages]),
        text="".join(texts),
        normalized="".join(normalized),
        offsets=offsets,
        **dict(zip(("chars", "bigrams"), postings if postings is not None else _both_postings("".join(normalized), offsets))),
        **_word_table([p["tokens"] for p in passages], vocabulary),
    )


def passage_postings(normalized: Sequence[str]) -> tuple[Postings, Postings]:
    """The (chars, bigrams) postings of these normalised passage texts, numbered from 0."""
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in normalized], dtype=np.int64)]).astype(np.int64)
    return _both_postings("".join(normalized), offsets)


def _both_postings(joined: str, offsets: np.ndarray) -> tuple[Postings, Postings]:
    return build_postings(joined, offsets, pairs=False), build_postings(joined, offsets, pairs=True)


def concatenate_postings(parts: Sequence[tuple[Postings, int]]) -> Postings:
    """One table of consecutive runs of passages, each part's (postings, passage count)."""
    merged, size = Postings.empty(), 0
    for postings, count in parts:
        merged = _merge(merged, np.arange(size, dtype=np.int64), postings, np.arange(size, size + count, dtype=np.int64),
                        size + count)
        size += count
    return merged


def _shared_names(paths: list[Sequence[str]]) -> list[tuple[str, ...]]:
    """The paths as tuples whose equal headings are one object: pickle then writes (and loads)
    each heading once, and merged states carry the sharing over to later generations."""
    names: dict[str, str] = {}
    return [tuple([names.setdefault(h, h) for h in path]) for path in paths]


def _word_table(tokens: list[str], vocabulary: Sequence[str]) -> dict[str, Any]:
    """Each passage's space-separated words as ids into the vocabulary (extended as needed)."""
    words = list(vocabulary)
    ids = {w: i for i, w in enumerate(words)}
    found: list[int] = []
    lengths = np.zeros(len(tokens), np.int64)
    for p, line in enumerate(tokens):
        split = line.split()
        lengths[p] = len(split)
        for word in split:
            i = ids.get(word)
            if i is None:
                i = ids[word] = len(words)
                words.append(word)
            found.append(i)
    return {
        "vocabulary": words,
        "word_ids": np.array(found, np.int32),
        "word_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
    }


def from_whoosh(reader: Any) -> State:
    """The state of the generation `reader` sees, from its stored documents (the slow path)."""
    return from_documents(fields for _, fields in reader.iter_docs())


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
        counts=np.minimum(np.diff(np.concatenate([starts, [len(packed)]])), SATURATED).astype(np.uint16),
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
        counts=np.minimum(counts, SATURATED).astype(np.uint16),
        first=np.minimum(local[first_at], SATURATED).astype(np.uint16),
    )


def _offsets(ranks: np.ndarray, size: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(ranks, minlength=size))]).astype(np.int64)


# -- deriving a generation from the previous one ----------------------------------------------------


def apply(previous: State, *, delete: Iterable[int], add: Iterable[dict[str, Any]],
          postings: Sequence[Postings] | None = None) -> State:
    """`previous` without the plans in `delete` (and without those re-added), plus `add`
    (with the (chars, bigrams) `postings` of its passages when known: `from_documents`)."""
    added = from_documents(add, previous.vocabulary, postings)
    gone = set(int(i) for i in delete) | set(added.plan_ids.tolist())
    keep_plan = ~np.isin(previous.plan_ids, np.array(sorted(gone), np.int64))
    kept_ids = previous.plan_ids[keep_plan]
    plan_ids = np.concatenate([kept_ids, added.plan_ids])
    plan_order = np.argsort(plan_ids, kind="stable")
    plan_ids = plan_ids[plan_order]
    new_position = np.empty(len(plan_ids), np.int64)
    new_position[plan_order] = np.arange(len(plan_ids))
    old_to_new_plan = np.full(len(previous.plan_ids), -1, np.int64)
    old_to_new_plan[np.flatnonzero(keep_plan)] = new_position[: len(kept_ids)]
    added_to_new_plan = new_position[len(kept_ids) :]

    old_counts = np.bincount(previous.passage_plan, minlength=len(previous.plan_ids)).astype(np.int64)
    add_counts = np.bincount(added.passage_plan, minlength=len(added.plan_ids)).astype(np.int64)
    counts = np.zeros(len(plan_ids), np.int64)
    counts[old_to_new_plan[keep_plan]] = old_counts[keep_plan]
    counts[added_to_new_plan] = add_counts
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    old_first = np.concatenate([[0], np.cumsum(old_counts)[:-1]]).astype(np.int64)
    add_first = np.concatenate([[0], np.cumsum(add_counts)[:-1]]).astype(np.int64)

    # new index of every surviving old passage (-1 for dropped ones) and of every added one
    old_plan_new = old_to_new_plan[previous.passage_plan]
    old_index = np.arange(previous.size, dtype=np.int64)
    old_map = np.where(
        old_plan_new >= 0,
        first[np.maximum(old_plan_new, 0)] + old_index - old_first[previous.passage_plan],
        -1,
    )
    add_plan_new = added_to_new_plan[added.passage_plan]
    add_map = first[add_plan_new] + np.arange(added.size) - add_first[added.passage_plan]
    size = int(counts.sum())
    kept = old_map >= 0

    def scatter(old: np.ndarray, new: np.ndarray, dtype: Any) -> np.ndarray:
        out = np.empty(size, dtype)
        out[old_map[kept]] = old[kept]
        out[add_map] = new
        return out

    def scatter_list(old: list[Any], new: list[Any]) -> list[Any]:
        out: list[Any] = [None] * size
        for i, target in enumerate(old_map.tolist()):
            if target >= 0:
                out[target] = old[i]
        for i, target in enumerate(add_map.tolist()):
            out[target] = new[i]
        return out

    plans: list[dict[str, Any]] = [{}] * len(plan_ids)
    for i in np.flatnonzero(keep_plan).tolist():
        plans[int(old_to_new_plan[i])] = previous.plans[i]
    for i, target in enumerate(added_to_new_plan.tolist()):
        plans[target] = added.plans[i]

    # the texts, plan by plan: each plan's passages are one contiguous run in both states
    text_parts, norm_parts, lengths = [], [], np.zeros(size, np.int64)
    old_lengths, add_lengths = np.diff(previous.offsets), np.diff(added.offsets)
    lengths[old_map[kept]] = old_lengths[kept]
    lengths[add_map] = add_lengths
    source = np.full(len(plan_ids), -1, np.int64)  # >= 0: old plan index; < 0: -(added index) - 1
    source[old_to_new_plan[keep_plan]] = np.flatnonzero(keep_plan)
    source[added_to_new_plan] = -np.arange(len(added.plan_ids)) - 1
    for s in source.tolist():
        state, plan = (previous, s) if s >= 0 else (added, -s - 1)
        start_passage = int((old_first if s >= 0 else add_first)[plan])
        count = int((old_counts if s >= 0 else add_counts)[plan])
        a, b = int(state.offsets[start_passage]), int(state.offsets[start_passage + count])
        text_parts.append(state.text[a:b])
        norm_parts.append(state.normalized[a:b])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    word_lengths = np.zeros(size, np.int64)
    word_lengths[old_map[kept]] = np.diff(previous.word_offsets)[kept]
    word_lengths[add_map] = np.diff(added.word_offsets)
    word_starts = np.zeros(size, np.int64)  # where each new passage's words start in old + added
    word_starts[old_map[kept]] = previous.word_offsets[:-1][kept]
    word_starts[add_map] = added.word_offsets[:-1] + len(previous.word_ids)
    word_offsets = np.concatenate([[0], np.cumsum(word_lengths)]).astype(np.int64)
    pool = np.concatenate([previous.word_ids, added.word_ids]).astype(np.int32)
    gather = np.repeat(word_starts - word_offsets[:-1], word_lengths) + np.arange(int(word_offsets[-1]))
    return State(
        plan_ids=plan_ids,
        plans=plans,
        passage_ids=scatter(previous.passage_ids, added.passage_ids, np.int64),
        passage_plan=scatter(old_plan_new.astype(np.int32), add_plan_new.astype(np.int32), np.int32),
        ordinals=scatter(previous.ordinals, added.ordinals, np.int32),
        heading_lengths=scatter(previous.heading_lengths, added.heading_lengths, np.int32),
        sections=scatter_list(previous.sections, added.sections),
        text="".join(text_parts),
        normalized="".join(norm_parts),
        offsets=offsets,
        chars=_merge(previous.chars, old_map, added.chars, add_map, size),
        bigrams=_merge(previous.bigrams, old_map, added.bigrams, add_map, size),
        vocabulary=added.vocabulary,
        word_ids=pool[gather],
        word_offsets=word_offsets,
    )


def _merge(old: Postings, old_map: np.ndarray, new: Postings, new_map: np.ndarray, width: int) -> Postings:
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
        counts=counts.astype(np.uint16, copy=False),
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


# -- files -------------------------------------------------------------------------------------------

_ARRAYS = ("plan_ids", "passage_ids", "passage_plan", "ordinals", "heading_lengths", "offsets", "word_ids", "word_offsets")
_POSTINGS = ("keys", "offsets", "passages", "counts", "first")


def folder(directory: Path, generation: int) -> Path:
    return directory / f"gen-{generation}"


def save(directory: Path, generation: int, state: State) -> Path:
    """Write `gen-<generation>/` atomically (a temporary folder renamed into place)."""
    target = folder(directory, generation)
    temporary = directory / f".gen-{generation}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    for name in _ARRAYS:
        np.save(temporary / f"{name}.npy", getattr(state, name))
    for kind in ("chars", "bigrams"):
        postings = getattr(state, kind)
        for name in _POSTINGS:
            np.save(temporary / f"{kind}.{name}.npy", getattr(postings, name))
    with open(temporary / "state.pickle", "wb") as out:
        head = {"format": FORMAT, "plans": state.plans, "sections": state.sections, "vocabulary": state.vocabulary}
        pickle.dump(head, out, protocol=5)
    for name in _TEXTS:
        (temporary / f"{name}.utf16").write_bytes(getattr(state, name).encode("utf-16-le", "surrogatepass"))
    # no fsync, like Whoosh's own files: a kill cannot lose written data, a power cut could,
    # and then the next run finds the state unreadable and rebuilds it from Whoosh
    shutil.rmtree(target, ignore_errors=True)
    os.replace(temporary, target)
    return target


def load(directory: Path, generation: int, *, mmap: bool = True) -> State | None:
    """The saved state of `generation`, or None when its folder is missing or of another format."""
    where = folder(directory, generation)
    try:
        with open(where / "state.pickle", "rb") as handle:
            head = pickle.load(handle)
        if head.get("format") != FORMAT:
            return None
        texts = {name: (where / f"{name}.utf16").read_bytes().decode("utf-16-le", "surrogatepass") for name in _TEXTS}
        mode = "r" if mmap else None
        arrays = {name: np.load(where / f"{name}.npy", mmap_mode=mode) for name in _ARRAYS}
        tables = {
            kind: Postings(**{name: np.load(where / f"{kind}.{name}.npy", mmap_mode=mode) for name in _POSTINGS})
            for kind in ("chars", "bigrams")
        }
    except FileNotFoundError:
        return None
    return State(plans=head["plans"], sections=head["sections"], vocabulary=head["vocabulary"], **texts, **arrays, **tables)


def read_through(state: State) -> int:
    """Read every array of a (memory-mapped) state once, bringing its files into the page
    cache; a checksum, so the reading cannot be skipped."""
    arrays = [getattr(state, name) for name in _ARRAYS]
    arrays += [getattr(getattr(state, kind), name) for kind in ("chars", "bigrams") for name in _POSTINGS]
    return sum(int(np.asarray(array).sum(dtype=np.int64)) for array in arrays if len(array))


def load_plan_ids(directory: Path, generation: int) -> np.ndarray | None:
    """Only the plan ids of a saved generation (None when it has no saved state)."""
    try:
        return np.load(folder(directory, generation) / "plan_ids.npy")
    except FileNotFoundError:
        return None


def prune(directory: Path, keep: int) -> None:
    """Delete the folders of generations older than `keep - 1` (a reader may still be loading the one before)."""
    for path in directory.iterdir():
        match = _FOLDER.match(path.name)
        if (match and int(match.group(1)) < keep - 1) or (path.name.startswith(".gen-") and path.name.endswith(".tmp")):
            shutil.rmtree(path, ignore_errors=True)
