"""What a mention and a matching passage are, once for every page, API and export.

- A passage matches a query when the query's AST is true of its normalised text and its plan
  (app.search.evaluate) and the passage is *countable*.
- A passage is not countable when it is heading-only (its text, punctuation and spaces aside,
  is its own heading) and its section goes on in the passages after it: the section's body
  carries the section, the heading alone is not a hit. A heading that is the whole of its
  section (nothing under it) is countable like any passage.
- A mention is one <mark> of the highlight: occurrences of the positive needles, overlapping
  matches of different needles merged (app.highlighting.match_spans).
Search totals, the document page, compare columns, the matrix and every export count this way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.derived import PerGeneration
from app.highlighting import has_border, match_spans
from app.priority import stepped
from app.query import And, Filter, Node, Not
from app.snapshot import Snapshot
from indexer.cleaning import normalize

_NOT_WORD = re.compile(r"[\W_]+")
_WORD = re.compile(r"[^\W_]")


def count_mentions(normalized: str, needles: Sequence[str]) -> int:
    """Mentions in one normalised text: its merged match spans."""
    live = [n for n in needles if n]
    return len(match_spans(normalized, live)) if live else 0


def is_heading_only(normalized: str, heading: str) -> bool:
    """Whether a passage's text is its heading alone, punctuation and spaces aside."""
    folded = normalize(heading)
    if normalized.startswith(folded):  # the usual shape: the rest decides, at its first word character
        return _WORD.search(normalized, len(folded)) is None
    return _NOT_WORD.sub("", normalized) == _NOT_WORD.sub("", folded)


def _countable(snapshot: Snapshot) -> np.ndarray:
    mask = np.ones(snapshot.size, bool)
    plan, sections = snapshot.passage_plan, snapshot.sections
    for i in np.flatnonzero(snapshot.heading_lengths).tolist():
        section = sections[i]
        if not section or not is_heading_only(snapshot.normalized[i], section[-1]):
            continue
        after = i + 1
        if after < snapshot.size and plan[after] == plan[i] and tuple(sections[after][: len(section)]) == tuple(section):
            mask[i] = False
    return mask


# a passage's countability depends on the next passage of its plan only: concatenable by plan
COUNTABLE = PerGeneration("passages that may be hits", _countable, warm=True,
                          combine=lambda head, tail: np.concatenate([head, tail]))


def countable(snapshot: Snapshot) -> np.ndarray:
    """Boolean mask over the snapshot's passages: those that may be hits (computed once per generation)."""
    return COUNTABLE.of(snapshot)


def split_filters(node: Node) -> tuple[Node | None, list[Node]]:
    """(the query without its top-level plan filters, those filters): `劳动教育 region:淄博`
    -> (劳动教育, [region:淄博]). A filter (or a negated one) ANDed at the top selects plans;
    one nested under OR or NOT stays in the query, where it is true or false per passage."""
    if isinstance(node, Filter) or (isinstance(node, Not) and isinstance(node.child, Filter)):
        return None, [node]
    if not isinstance(node, And):
        return node, []
    selectors = [c for c in node.children if isinstance(c, Filter) or (isinstance(c, Not) and isinstance(c.child, Filter))]
    rest = [c for c in node.children if c not in selectors]
    if not rest:
        return None, selectors
    return (rest[0] if len(rest) == 1 else And(tuple(rest))), selectors


@dataclass
class Mentions:
    """Per passage of a theme's hits: its mentions and the theme's needles it holds."""

    counts: np.ndarray  # int64, one per passage
    held: list[list[str]]  # per passage, the needles it holds: highlighting it needs no others
    spans: dict[int, list[tuple[int, int]]]  # match_spans of the passages scanned to count them


def mention_counts(snapshot: Snapshot, members: np.ndarray, needles: list[str]) -> Mentions:
    """Mentions in each passage of `members`: count_mentions, vectorised.

    Where exactly one needle occurs in a passage and no two of its occurrences can overlap
    (it has no border: no proper prefix that is also a suffix), the merged spans are its
    occurrences, which the needle's hits already count; other passages are scanned, for the
    needles they hold only.
    """
    live = [n for n in needles if n]
    counts = np.zeros(len(members), np.int64)
    if not len(members) or not live:
        return Mentions(counts, [[] for _ in range(len(members))], {})
    found = np.zeros((len(live), len(members)), bool)
    simple = np.ones(len(members), bool)
    for j, needle in enumerate(live):
        hits = snapshot.find(needle)
        if not len(hits.index):
            continue
        at = np.minimum(np.searchsorted(hits.index, members), len(hits.index) - 1)
        found[j] = hits.index[at] == members
        counts += np.where(found[j], hits.counts[at], 0)
        if has_border(needle):
            simple &= ~found[j]
    present = found.sum(axis=0)
    simple &= present == 1
    keys = np.ascontiguousarray(np.packbits(found, axis=0).T)  # one row of bits per passage
    rows, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    needle_sets = [[live[j] for j in np.flatnonzero(np.unpackbits(row)[: len(live)]).tolist()] for row in rows]
    normalized = snapshot.normalized
    spans = {}
    for k in stepped(np.flatnonzero(~simple & (present > 0)).tolist()):  # a search's own call never pauses
        spans[k] = match_spans(normalized[int(members[k])], needle_sets[int(group[k])])
        counts[k] = len(spans[k])
    return Mentions(counts, [needle_sets[g] for g in group.tolist()], spans)
