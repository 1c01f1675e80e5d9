"""The serving state of one Whoosh segment's plans (a segment's sidecar, in memory).

Passages are sorted by (plan id, ordinal), so a plan's passages are one contiguous run: the
display texts and their normalised forms as one string each cut by `offsets`, the section
paths, each passage's jieba words as ids into the state's vocabulary (CSR), and the
character and bigram postings (`indexer.index.postings`). States merge (`merge`,
`combine`): what a Whoosh merge of segments does to their sidecars.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

import numpy as np

from indexer.cleaning import normalize
from indexer.index.postings import Postings, both_postings
from indexer.index.postings import merge as merge_postings
from indexer.schema import PASSAGE, PLAN


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
    """Everything the server reads of one segment, passages sorted by (plan id, ordinal)."""

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
        **dict(zip(("chars", "bigrams"), postings if postings is not None else both_postings("".join(normalized), offsets))),
        **_word_table([p["tokens"] for p in passages], vocabulary),
    )


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


def apply(previous: State, *, delete: Iterable[int], add: Iterable[dict[str, Any]],
          postings: Sequence[Postings] | None = None) -> State:
    """`previous` without the plans in `delete` (and without those re-added), plus `add`
    (with the (chars, bigrams) `postings` of its passages when known: `from_documents`)."""
    return merge(previous, from_documents(add, previous.vocabulary, postings), delete=delete)


def combine(states: Sequence[State], deleted: Sequence[Iterable[int]] = ()) -> State:
    """One state of several (segments' states, plans in none twice), each without its `deleted` plans."""
    out = empty_state()
    for k, state in enumerate(states):
        gone = list(deleted[k]) if k < len(deleted) else []
        out = merge(out, state, delete=gone, delete_added=True)
    return out


def merge(previous: State, added: State, *, delete: Iterable[int], delete_added: bool = False) -> State:
    """`previous` without the plans in `delete` and those of `added`, plus `added` (its word
    ids moved onto `previous`'s vocabulary, extended); `delete_added`: `delete` applies to
    `added` too."""
    if delete_added:
        added = merge(added, empty_state(), delete=delete) if delete else added
        delete = ()
    added = _rebased(added, previous.vocabulary)
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
        chars=merge_postings(previous.chars, old_map, added.chars, add_map, size),
        bigrams=merge_postings(previous.bigrams, old_map, added.bigrams, add_map, size),
        vocabulary=added.vocabulary,
        word_ids=pool[gather],
        word_offsets=word_offsets,
    )


def _rebased(state: State, vocabulary: list[str]) -> State:
    """`state` with its word ids moved onto `vocabulary` extended by the words it lacks."""
    if state.vocabulary[: len(vocabulary)] == vocabulary and len(state.vocabulary) >= len(vocabulary):
        return state  # built on this vocabulary already
    words = list(vocabulary)
    ids = {w: i for i, w in enumerate(words)}
    remap = np.empty(len(state.vocabulary), np.int32)
    for k, word in enumerate(state.vocabulary):
        i = ids.get(word)
        if i is None:
            i = ids[word] = len(words)
            words.append(word)
        remap[k] = i
    word_ids = remap[np.asarray(state.word_ids)] if len(state.word_ids) else np.empty(0, np.int32)
    return State(**{**{name: getattr(state, name) for name in _FIELDS}, "vocabulary": words, "word_ids": word_ids})


_FIELDS = ("plan_ids", "plans", "passage_ids", "passage_plan", "ordinals", "heading_lengths", "sections", "text",
           "normalized", "offsets", "chars", "bigrams", "vocabulary", "word_ids", "word_offsets")
