"""How plans treat one theme, side by side: coverage, passages, distinctive terms, commitments.

The columns are the selected plans (app.selection: `documents=`, URL filters and the theme
query's own plan filters); a theme's passages are the countable passages matching its terms
(app.mentions: one definition of a hit and a mention for every page and export).
- `mentions`: the <mark>s of the highlight, summed over the plan's matching passages;
- `share`: the matching passages' characters / the plan's characters;
- `per_10k`: mentions per 10,000 characters of the plan.
A selected plan with no matching passage is 未提及. Relevance is app.search.score (BM25 over
literal counts, bonus when the theme is in the passage's own heading); the best passage of
each plan is marked `most_relevant`.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.commitments import commitments, quantified_of
from app.derived import PerGeneration
from app.distinctive import STATISTIC, theme_words
from app.memory import gc_paused
from app.priority import give_way, in_background, stepped
from app.mentions import Mentions, countable, mention_counts, split_filters
from app.search import evaluate, passage_view, plan_summary, score
from app.selection import clean_filters, select_plans
from app.snapshot import Snapshot
from app.themes import Theme
from indexer.cleaning import normalize

NOT_MENTIONED, MENTIONED = "未提及", "提及"
def plan_slices(snapshot: Snapshot, hits: np.ndarray, plans: Sequence[int]) -> dict[int, slice]:
    """Each plan's part of `hits` (sorted; a plan's passages are contiguous, so owners are too)."""
    owners = snapshot.passage_plan[hits]
    wanted = np.asarray(plans, np.int32)
    lows, highs = np.searchsorted(owners, wanted, "left"), np.searchsorted(owners, wanted, "right")
    return {int(p): slice(int(lo), int(hi)) for p, lo, hi in zip(wanted, lows, highs)}


def theme_passages(snapshot: Snapshot, theme: Theme, *, headings: bool = False) -> np.ndarray:
    """Sorted indices of every countable passage matching the theme's terms (all plans; the
    theme's plan filters select columns instead). `headings=True`: the heading passages that
    match, countable or not (where the theme is named in a heading)."""
    terms, _ = split_filters(theme.node)
    mask = evaluate(snapshot, terms) if terms is not None else np.zeros(snapshot.size, bool)
    mask &= (snapshot.heading_lengths > 0) if headings else countable(snapshot)
    return np.flatnonzero(mask).astype(np.int32)


@dataclass(frozen=True)
class ThemeCounts:
    """A theme's countable passages over the whole snapshot with their mentions, and its
    matching heading passages: what the summary and the matrix count, whatever the selection."""

    hits: np.ndarray  # int32, sorted
    mentions: np.ndarray  # int64, one per hit
    headings: np.ndarray  # int32, sorted

    def within(self, snapshot: Snapshot, plans: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(hits, mentions) of the given plans only."""
        selected = np.zeros(len(snapshot.plans), bool)
        selected[np.asarray(plans, np.int64)] = True
        keep = selected[snapshot.passage_plan[self.hits]]
        return self.hits[keep], self.mentions[keep]


THEME_CACHE = 32  # themes whose counts a snapshot keeps (a few hundred KB each at 2,000 plans)


class _RecentThemes:
    """ThemeCounts of the last THEME_CACHE themes a generation compared, by their terms."""

    def __init__(self) -> None:
        self._counts: OrderedDict[Any, ThemeCounts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> ThemeCounts | None:
        with self._lock:
            found = self._counts.get(key)
            if found is not None:
                self._counts.move_to_end(key)
            return found

    def put(self, key: Any, counts: ThemeCounts) -> None:
        with self._lock:
            self._counts[key] = counts
            while len(self._counts) > THEME_CACHE:
                self._counts.popitem(last=False)


_THEMES = PerGeneration("theme counts of recent comparisons", lambda snapshot: _RecentThemes())
_HEADINGS: PerGeneration[dict[int, str]] = PerGeneration("normalised headings by passage", lambda snapshot: {})


def theme_counts(snapshot: Snapshot, theme: Theme) -> ThemeCounts:
    """ThemeCounts, remembered per generation for the last THEME_CACHE themes (by their terms)."""
    recent = _THEMES.of(snapshot)
    key = split_filters(theme.node)[0]
    found = recent.get(key)
    if found is None:
        hits = theme_passages(snapshot, theme)
        found = ThemeCounts(hits, mention_counts(snapshot, hits, theme.needles).counts,
                            theme_passages(snapshot, theme, headings=True))
        recent.put(key, found)
    return found


def plan_selection(snapshot: Snapshot, theme: Theme | None, document_ids: Sequence[int] | None,
                   filters: Mapping[str, str]) -> list[int]:
    """The columns: the plans selected by `documents=`, the URL filters and the theme's own filters."""
    selectors = split_filters(theme.node)[1] if theme is not None else []
    return select_plans(snapshot, document_ids, filters, selectors)


def coverages(snapshot: Snapshot, hits: np.ndarray, mentions: np.ndarray, plans: Sequence[int]) -> list[dict[str, Any]]:
    """Per plan of `plans`, {"passages", "share", "mentions", "per_10k"} of the passages of `hits`
    it holds (`mentions`: per hit); zeros when it holds none."""
    owners = snapshot.passage_plan[hits]
    size = len(snapshot.plans)
    passages = np.bincount(owners, minlength=size)[plans].tolist()
    matched = np.bincount(owners, weights=snapshot.lengths[hits], minlength=size)[plans].tolist()
    mentioned = np.bincount(owners, weights=mentions, minlength=size)[plans].tolist()
    out = []
    for count, chars, matched_chars, mention in zip(passages, snapshot.plan_chars[plans].tolist(), matched, mentioned):
        mention = int(mention)
        out.append({
            "passages": count,
            "share": round(int(matched_chars) / chars, 4) if chars else 0.0,
            "mentions": mention,
            "per_10k": round(mention * 10_000 / chars, 2) if chars else 0.0,
        })
    return out


@in_background
@gc_paused()
def compare(snapshot: Snapshot, theme: Theme, document_ids: Sequence[int] | None = None,
            filters: Mapping[str, str | None] | None = None, per_column: int = 0) -> dict[str, Any]:
    """The comparison: {"theme", "filters", "documents", "mentioning", "statistic", "shared_terms", "columns"}.

    `per_column` > 0 keeps each column's that many best passages (still in document order,
    the most relevant always among them); coverage always counts every matching passage.
    """
    comparison = prepare(snapshot, theme, document_ids, filters, per_column)
    return {**comparison.head, "columns": list(comparison.columns())}


@dataclass(frozen=True)
class Comparison:
    """A comparison before its columns are built: `head` is the answer but its columns, which
    `columns()` builds one at a time (so an answer can be written out as they come)."""

    head: dict[str, Any]
    columns: Callable[[], Iterator[dict[str, Any]]]


@in_background
@gc_paused()
def prepare(snapshot: Snapshot, theme: Theme, document_ids: Sequence[int] | None = None,
            filters: Mapping[str, str | None] | None = None, per_column: int = 0) -> Comparison:
    """What every column needs (the theme's passages, scores, mentions, distinctive terms, coverage)."""
    filters = clean_filters(filters or {})
    plans = plan_selection(snapshot, theme, document_ids, filters)
    hits = theme_passages(snapshot, theme)
    headings = theme_passages(snapshot, theme, headings=True)
    heading_slices = plan_slices(snapshot, headings, plans)
    needles = theme.needles
    scores = score(snapshot, hits, theme.term_nodes)
    by_plan = plan_slices(snapshot, hits, plans)
    mentioning = [p for p in plans if by_plan[p].stop > by_plan[p].start]
    words = theme_words(snapshot, hits, by_plan, mentioning, needles)
    terms = words.distinctive()
    mentions = mention_counts(snapshot, hits, needles)  # every theme passage at once, sliced per column
    covered = coverages(snapshot, hits, mentions.counts, plans)
    rows = _Rows(snapshot, hits, scores, mentions)
    heading_list = headings.tolist()

    def columns() -> Iterator[dict[str, Any]]:
        for p, cover in zip(plans, covered):
            give_way()
            yield _column(snapshot, p, rows, by_plan[p], needles, terms.get(p, []), per_column, cover,
                          heading_list[heading_slices[p]])

    head = {
        "theme": theme.describe(),
        "filters": filters,
        "documents": len(plans),
        "mentioning": len(mentioning),
        "statistic": STATISTIC,
        "shared_terms": words.shared(),
    }
    return Comparison(head, columns)


class _Rows:
    """The theme passages (`hits`) as Python values, for the per-column loops: a column is the
    slice of them its plan holds."""

    def __init__(self, snapshot: Snapshot, hits: np.ndarray, scores: np.ndarray, mentions: Mentions) -> None:
        self.scores = scores
        self.indices, self.score_list = hits.tolist(), scores.tolist()
        self.counts, self.held, self.spans = mentions.counts.tolist(), mentions.held, mentions.spans
        # the first comparison of a generation reads every theme passage's sentences here
        self.quantified = [k for k, i in stepped(enumerate(self.indices)) if quantified_of(snapshot, i)]

    @staticmethod
    def within(rows: list[int], where: slice) -> list[int]:
        """The rows of a sorted list inside `where`, as positions in the column."""
        lo, hi = bisect_left(rows, where.start), bisect_left(rows, where.stop)
        return [k - where.start for k in rows[lo:hi]]


def _column(snapshot: Snapshot, plan: int, rows: _Rows, where: slice, needles: list[str],
            terms: list[dict[str, Any]], per_column: int, cover: dict[str, Any], headings: list[int]) -> dict[str, Any]:
    """One plan's column: the theme passages rows[where]."""
    indices, scores = rows.indices[where], rows.score_list[where]
    count = len(indices)
    best = max(range(count), key=scores.__getitem__) if count else -1  # the first of equal scores
    shown: Sequence[int] = range(count)
    if 0 < per_column < count:  # the best ones, back in document order
        shown = sorted(np.lexsort((np.arange(count), -rows.scores[where]))[:per_column].tolist())
    per_passage, held, spans, first = rows.counts[where], rows.held[where], rows.spans, where.start
    passages = []
    for k in shown:
        view = passage_view(snapshot, indices[k], held[k], scores[k], spans.get(first + k))
        view.update(mentions=per_passage[k], most_relevant=k == best)
        passages.append(view)
    return {
        "document": plan_summary(snapshot.plans[plan]),
        "status": MENTIONED if count else NOT_MENTIONED,
        "coverage": {**cover, "prominence": prominence(snapshot, plan, indices, needles, headings)},
        "passages": passages,
        "passages_omitted": count - len(passages),
        "distinctive_terms": terms,
        "commitments": commitments(snapshot, indices, held, rows.within(rows.quantified, where)),
    }


def prominence(snapshot: Snapshot, plan: int, indices: list[int], needles: list[str],
               headings: list[int]) -> dict[str, Any]:
    """{"in_heading", "heading_depth" (0 = plan title, 1 = chapter, None), "sections": [paths]}.

    `headings`: the plan's heading passages matching the theme (a heading opens its passage,
    so a heading naming the theme opens a matching one, countable or not); `indices`: its
    matching passages, whose section paths are listed."""
    depths: list[int] = []
    normalized = _normalized_headings(snapshot)
    for i in headings:
        heading = normalized.get(i)
        if heading is None:
            heading = normalized[i] = normalize(snapshot.sections[i][-1])
        if any(n and n in heading for n in needles):
            depths.append(0 if _is_title(snapshot, plan, i) else len(snapshot.sections[i]))
    paths = dict.fromkeys(snapshot.sections[i] for i in indices)  # () is the text before the first heading
    return {"in_heading": bool(depths), "heading_depth": min(depths) if depths else None,
            "sections": [list(path) for path in paths]}


def _normalized_headings(snapshot: Snapshot) -> dict[int, str]:
    """Passage index -> its own heading, normalised; filled as comparisons need them."""
    return _HEADINGS.of(snapshot)


def _is_title(snapshot: Snapshot, plan: int, i: int) -> bool:
    """The plan's title line is a passage of its own whose one-heading path is the title."""
    title = snapshot.plans[plan].get("title")
    section = snapshot.sections[i]
    return i == snapshot.plan_first[plan] and len(section) == 1 and bool(title) and title.startswith(section[0].rstrip("…"))


@in_background
@gc_paused()
def matrix(snapshot: Snapshot, themes: Sequence[Theme], document_ids: Sequence[int] | None = None,
           filters: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """Themes × plans: {"themes", "filters", "documents": [plan…], "rows": [{"theme", "cells": [...]}]}."""
    filters = clean_filters(filters or {})
    plans = select_plans(snapshot, document_ids, filters)  # a theme's own filters never narrow the matrix's plans
    rows = []
    for theme in themes:
        give_way()
        hits, counted = theme_counts(snapshot, theme).within(snapshot, plans)
        cells = [{"document_id": snapshot.plans[p]["id"], **cover}
                 for p, cover in zip(plans, coverages(snapshot, hits, counted, plans))]
        rows.append({"theme": theme.name, "cells": cells})
    return {
        "themes": [t.describe() for t in themes],
        "filters": filters,
        "documents": [plan_summary(snapshot.plans[p]) for p in plans],
        "rows": rows,
    }
