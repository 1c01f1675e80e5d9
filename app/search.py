"""Run a parsed query over a snapshot: match, filter, score, group by plan, count facets.

Shape of the result (the JSON of /api/search):
    {"query": {...}, "total", "documents", "page", "size", "per_group", "sort",
     "groups": [{"document_id", "school", "region", "level", "period", "year", "title",
                 "hits", "score", "passages": [{"id", "ordinal", "section", "text",
                 "highlight", "score"}]}],
     "facets": {"school": [{"value", "count", "passages", "selected"}], "year": [...], ...},
     "loose": {"terms", "total", "documents"} | None}
Facets are counted in plans (app/facets.py). `match=loose` matches needles with punctuation and
spaces ignored (app/loose.py); an exact search where a needle of 4+ such characters finds nothing
says in `loose` how many passages the looser search would find.
Scores are BM25 over literal mention counts (k1=1.2, b=0.75), with a bonus when the needle
is in the passage's own heading; a plan's score is its best passage's, nudged by its hits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app import derived
from app.anchors import passage_anchor
from app.derived import PerGeneration
from app.facets import FACETS as FACET_CLASSES
from app.facets import plan_field, split_values, value_filter  # noqa: F401  (plan_field: bench/peers.py)
from app.highlighting import highlight
from app.loose import Projection, project, projection
from app.mentions import countable
from app.query import And, Filter, Node, Not, Or, Term, describe, literal_filter, parse, positive_terms
from app.snapshot import Hits, Snapshot
from indexer.cleaning import normalize

K1, B = 1.2, 0.75
HEADING_BONUS = 0.5
FACETS = ("school", "year", "region", "level")
SORTS = ("relevance", "year")
MATCHES = ("exact", "loose")
LOOSE_MIN = 4  # needles at least this long (without punctuation) that find nothing get a loose suggestion
ALL = 0  # per_group=0: every matching passage of the plan


@dataclass(frozen=True)
class SearchRequest:
    """Everything /api/search accepts; filters here are ANDed with those in `q`."""

    q: str
    school: str | list[str] | None = None  # a value, a comma list, or a list (repeated parameters)
    year: str | list[str] | None = None
    region: str | list[str] | None = None
    level: str | list[str] | None = None
    page: int = 1
    size: int = 10
    per_group: int = 3
    sort: str = "relevance"
    match: str = "exact"

    def node(self) -> Node:
        """The query AST with the URL filters folded in (values of one field ORed, fields ANDed)."""
        node = parse(self.q)
        extra = [n for name, values in self.selections().items() if (n := FACET_CLASSES[name].filter(values))]
        return And((node, *extra)) if extra else node

    def selections(self) -> dict[str, list[str]]:
        """The URL filters: for each field given, its values."""
        given = {"school": self.school, "year": self.year, "region": self.region, "level": self.level}
        return {k: values for k, v in given.items() if (values := split_values(v))}

    def filter_params(self) -> dict[str, str]:
        return {k: ",".join(values) for k, values in self.selections().items()}


def parse_filter(name: str, value: str) -> Filter:
    """A URL filter: the same filter as `name:"value"` in the query, its value taken literally."""
    return literal_filter(name, value)


def _plan_mask(snapshot: Snapshot, node: Filter) -> np.ndarray:
    if node.years is not None:
        low, high = node.years
        return np.array([m.get("year") is not None and low <= m["year"] <= high for m in snapshot.plans], bool)
    return np.array([node.value in value for value in _filter_values(snapshot, node.field)], bool)


def plan_mask(snapshot: Snapshot, node: Filter) -> np.ndarray:
    """A boolean mask over the snapshot's plans: those a filter keeps."""
    return _plan_mask(snapshot, node)


def warm(snapshot: Snapshot) -> None:
    """Compute what every search of a generation needs once (the warmers: which passages can be
    hits, facet codes, filter values) when it is loaded, so that its first search does not pay."""
    derived.warm(snapshot)


def _filter_texts(name: str) -> PerGeneration[list[str]]:
    fields = {"school": ("school", "title"), "region": ("region",), "level": ("level", "kind")}[name]

    def build(snapshot: Snapshot) -> list[str]:
        aliases = _school_aliases(snapshot.plans) if name == "school" else {}
        return [
            "\n".join(normalize(str(m.get(k) or "")) for k in fields)
            + "".join("\n" + normalize(alias) for alias in sorted(aliases.get(m.get("school"), ())))
            for m in snapshot.plans
        ]
    return PerGeneration(f"{name}: filter texts", build, warm=True)


_FILTER_TEXTS = {name: _filter_texts(name) for name in ("school", "region", "level")}


def _filter_values(snapshot: Snapshot, name: str) -> list[str]:
    """Per plan, the normalised text a `name:` filter looks in (its fields joined by a newline,
    which no normalised filter value contains); computed once per generation."""
    return _FILTER_TEXTS[name].of(snapshot)


def _school_aliases(plans: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every other name any plan gives each school (indexer/institutions.py): `school:` matches them all."""
    out: dict[str, set[str]] = {}
    for meta in plans:
        if meta.get("school"):
            out.setdefault(meta["school"], set()).update(meta.get("school_aliases") or ())
    return out


Finder = Callable[[str], Hits]


def evaluate(snapshot: Snapshot, node: Node, find: Finder | None = None) -> np.ndarray:
    """A boolean mask over the snapshot's passages; `find` matches a needle (default: exactly)."""
    find = find or snapshot.find
    if isinstance(node, Term):
        mask = np.zeros(snapshot.size, bool)
        mask[find(node.needle).index] = True
        return mask
    if isinstance(node, Filter):
        return _plan_mask(snapshot, node)[snapshot.passage_plan]
    if isinstance(node, Not):
        return ~evaluate(snapshot, node.child, find)
    if isinstance(node, And):
        mask = np.ones(snapshot.size, bool)
        for child in node.children:
            mask &= evaluate(snapshot, child, find)
        return mask
    assert isinstance(node, Or)
    mask = np.zeros(snapshot.size, bool)
    for child in node.children:
        mask |= evaluate(snapshot, child, find)
    return mask


def score(snapshot: Snapshot, hits: np.ndarray, terms: list[Term], find: Finder | None = None) -> np.ndarray:
    """BM25 of each hit over the positive needles' literal counts."""
    find = find or snapshot.find
    scores = np.zeros(len(hits), np.float64)
    if not len(hits):
        return scores
    norm_length = K1 * (1 - B + B * snapshot.lengths[hits] / snapshot.average_length)
    for term in terms:
        found = find(term.needle)
        df = len(found.index)
        if df == 0:
            continue
        idf = math.log(1 + (snapshot.size - df + 0.5) / (df + 0.5))
        at = np.minimum(np.searchsorted(found.index, hits), df - 1)
        present = found.index[at] == hits
        tf = np.where(present, found.counts[at], 0)
        in_heading = present & (found.first[at] < snapshot.heading_lengths[hits])
        scores += idf * (tf * (K1 + 1) / (tf + norm_length)) + HEADING_BONUS * idf * in_heading
    return scores


@dataclass
class Run:
    """A query run: the matching passages (sorted), their scores, and their plans in group order."""

    node: Node
    terms: list[Term]
    hits: np.ndarray
    scores: np.ndarray
    plans: np.ndarray  # plan indices, ascending; group g is hits[starts[g]:starts[g] + counts[g]]
    starts: np.ndarray
    counts: np.ndarray
    group_scores: np.ndarray
    order: np.ndarray  # groups in display order
    loose: Projection | None = None
    context: dict[str, np.ndarray] = field(default_factory=dict)  # per facet: the mask it is counted over

    def members(self, snapshot: Snapshot, g: int) -> list[tuple[int, float]]:
        """A group's passages, best first (then in document order), with their scores."""
        members = self.hits[self.starts[g] : self.starts[g] + self.counts[g]]
        member_scores = self.scores[self.starts[g] : self.starts[g] + self.counts[g]]
        ranked = np.lexsort((snapshot.ordinals[members], -member_scores))
        return [(int(members[r]), float(member_scores[r])) for r in ranked]

    def spans(self, index: int) -> list[tuple[int, int]] | None:
        """Highlight spans of a passage under loose matching (None: the highlighter finds them)."""
        return self.loose.spans(index, [t.needle for t in self.terms]) if self.loose else None


def run(snapshot: Snapshot, request: SearchRequest) -> Run:
    """Match, score and group; raises QueryError for bad syntax."""
    if request.match not in MATCHES:
        raise ValueError(request.match)
    base = parse(request.q)
    selections = request.selections()
    chosen = {name: FACET_CLASSES[name].filter(values) for name, values in selections.items()}
    node = And((base, *[n for n in chosen.values() if n])) if chosen else base
    loose = projection(snapshot) if request.match == "loose" else None
    find: Finder = (lambda needle: loose.find(needle)[0]) if loose else snapshot.find
    base_mask = evaluate(snapshot, base, find) & countable(snapshot)
    masks = {name: evaluate(snapshot, n, find) for name, n in chosen.items() if n}
    mask = base_mask.copy()
    for extra in masks.values():
        mask &= extra
    context = {}
    for name in masks:  # a facet is counted with every selection but its own
        others = base_mask.copy()
        for other, extra in masks.items():
            if other != name:
                others &= extra
        context[name] = others
    terms = positive_terms(node)
    hits = np.flatnonzero(mask).astype(np.int32)
    scores = score(snapshot, hits, terms, find)
    plans, starts, counts = np.unique(snapshot.passage_plan[hits], return_index=True, return_counts=True)
    if len(hits):
        best = np.maximum.reduceat(scores, starts)
        group_scores = best * (1 + 0.1 * np.log1p(counts - 1))
    else:
        group_scores = np.zeros(0)
    order = _order_groups(snapshot, plans, group_scores, request.sort)
    return Run(node, terms, hits, scores, plans, starts, counts, group_scores, order, loose, context)


def search(snapshot: Snapshot, request: SearchRequest) -> dict[str, Any]:
    """The whole search: raises QueryError for bad syntax, never anything for no results."""
    result = run(snapshot, request)
    needles = [t.needle for t in result.terms]
    first = (request.page - 1) * request.size
    groups = []
    for g in result.order[first : first + request.size]:
        members = result.members(snapshot, int(g))
        if request.per_group != ALL:
            members = members[: request.per_group]
        groups.append(
            _group(snapshot, int(result.plans[g]), int(result.counts[g]), float(result.group_scores[g]),
                   members, needles, result)
        )
    return {
        "query": {
            "q": request.q,
            "filters": request.filter_params(),
            "description": describe(result.node),
            "terms": [t.text for t in result.terms],
            "match": request.match,
        },
        "total": int(len(result.hits)),
        "documents": int(len(result.plans)),
        "page": request.page,
        "size": request.size,
        "per_group": request.per_group,
        "sort": request.sort,
        "groups": groups,
        "facets": facets(snapshot, result, request.selections()),
        "loose": _loose_suggestion(snapshot, request, result),
    }


def matches(snapshot: Snapshot, result: Run) -> Iterator[tuple[int, int, float]]:
    """Every matching passage as (plan index, passage index, score): groups in display order,
    each group's passages best first, as the result pages show them."""
    for g in result.order.tolist():
        plan = int(result.plans[g])
        for index, passage_score in result.members(snapshot, g):
            yield plan, index, passage_score


def _loose_suggestion(snapshot: Snapshot, request: SearchRequest, result: Run) -> dict[str, Any] | None:
    """How many passages the query finds loosely, when a long needle finds nothing exactly."""
    if request.match != "exact":
        return None
    missing = [t for t in result.terms if len(project(t.needle)) >= LOOSE_MIN and not len(snapshot.find(t.needle).index)]
    if not missing:
        return None
    loose = run(snapshot, replace(request, match="loose"))
    return {"terms": [t.text for t in missing], "total": int(len(loose.hits)), "documents": int(len(loose.plans))}


def _order_groups(snapshot: Snapshot, plans: np.ndarray, group_scores: np.ndarray, sort: str) -> np.ndarray:
    ids = np.array([snapshot.plans[p]["id"] for p in plans], np.int64)
    if sort == "year":
        years = np.array([snapshot.plans[p].get("year") or 0 for p in plans], np.int64)
        return np.lexsort((ids, -group_scores, -years))
    return np.lexsort((ids, -group_scores))


def plan_summary(meta: dict[str, Any]) -> dict[str, Any]:
    """The plan fields every result carries."""
    return {
        "document_id": meta["id"],
        "school": meta.get("school"),
        "region": meta.get("region"),
        "level": meta.get("level"),
        "period": meta.get("period"),
        "year": meta.get("year"),
        "title": meta.get("title") or "".join(filter(None, (meta.get("school"), meta.get("period"), "工作计划"))),
    }


def passage_view(snapshot: Snapshot, index: int, needles: list[str], score: float | None = None,
                 spans: list[tuple[int, int]] | None = None) -> dict[str, Any]:
    """A passage as results show it; `spans`: its match_spans(needles), if already known."""
    text = snapshot.texts[index]
    out = {
        "id": int(snapshot.passage_ids[index]),
        "anchor": passage_anchor(snapshot, index),
        "ordinal": int(snapshot.ordinals[index]),
        "section": list(snapshot.sections[index]),
        "text": text,
        "highlight": highlight(text, snapshot.normalized[index], needles, spans),
    }
    if score is not None:
        out["score"] = round(score, 4)
    return out


def _group(snapshot: Snapshot, plan: int, hits: int, group_score: float,
           members: list[tuple[int, float]], needles: list[str], result: Run) -> dict[str, Any]:
    return {
        **plan_summary(snapshot.plans[plan]),
        "hits": hits,
        "score": round(group_score, 4),
        "passages": [passage_view(snapshot, i, needles, s, result.spans(i)) for i, s in members],
    }


def facets(snapshot: Snapshot, result: Run, selections: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """Per facet, its buckets over the matching plans (see app/facets.py); a selected value that
    no matching plan has is still listed (count 0) so it can be removed."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in FACETS:
        facet = FACET_CLASSES[name]
        selected = selections.get(name, [])
        if name in result.context:
            hits = np.flatnonzero(result.context[name])
            plans, counts = np.unique(snapshot.passage_plan[hits], return_counts=True)
        else:
            plans, counts = result.plans, result.counts
        buckets = facet.buckets(snapshot, plans, counts, selected)
        shown = {b["value"] for b in buckets}
        missing = []
        for value in selected:  # a value typed in the URL (part of a name): what it selects
            if value not in shown:
                within = result.context[name] & evaluate(snapshot, value_filter(name, value))
                chosen = snapshot.passage_plan[np.flatnonzero(within)]
                missing.append({"value": value, "count": int(len(np.unique(chosen))), "passages": int(len(chosen)),
                                "selected": True})
        out[name] = missing + buckets
    return out
