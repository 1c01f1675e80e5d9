"""Run a parsed query over a snapshot: match, filter, score, group by plan, count facets.

Shape of the result (the JSON of /api/search):
    {"query": {...}, "total", "documents", "page", "size", "per_group", "sort",
     "groups": [{"document_id", "school", "region", "level", "period", "year", "title",
                 "hits", "score", "passages": [{"id", "ordinal", "section", "text",
                 "highlight", "score"}]}],
     "facets": {"school": [{"value", "count"}], "year": [...], "region": [...], "level": [...]}}
Scores are BM25 over literal mention counts (k1=1.2, b=0.75), with a bonus when the needle
is in the passage's own heading; a plan's score is its best passage's, nudged by its hits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.highlighting import highlight
from app.query import And, Filter, Node, Not, Or, Term, describe, parse, positive_terms
from app.snapshot import Snapshot
from indexer.cleaning import normalize

K1, B = 1.2, 0.75
HEADING_BONUS = 0.5
FACETS = ("school", "year", "region", "level")
SORTS = ("relevance", "year")
ALL = 0  # per_group=0: every matching passage of the plan


@dataclass(frozen=True)
class SearchRequest:
    """Everything /api/search accepts; filters here are ANDed with those in `q`."""

    q: str
    school: str | None = None
    year: str | None = None
    region: str | None = None
    level: str | None = None
    page: int = 1
    size: int = 10
    per_group: int = 3
    sort: str = "relevance"

    def node(self) -> Node:
        """The query AST with the URL filters folded in (each parsed like `field:value`)."""
        node = parse(self.q)
        extra = [parse_filter(name, value) for name, value in self.filter_params().items()]
        return And((node, *extra)) if extra else node

    def filter_params(self) -> dict[str, str]:
        given = {"school": self.school, "year": self.year, "region": self.region, "level": self.level}
        return {k: v.strip() for k, v in given.items() if v is not None and v.strip()}


def parse_filter(name: str, value: str) -> Filter:
    """A URL filter parsed exactly as the same filter written in the query."""
    node = parse(f'{name}:"{value}"') if '"' not in value else parse(f"{name}:{value}")
    assert isinstance(node, Filter)
    return node


def plan_field(meta: dict[str, Any], name: str) -> str | None:
    """The value a plan shows in a facet: school (or title), year, city (or province/district), level."""
    if name == "school":
        return meta.get("school") or meta.get("title")
    if name == "year":
        return str(meta["year"]) if meta.get("year") is not None else None
    if name == "region":
        return meta.get("city") or meta.get("province") or meta.get("district")
    return meta.get(name)


def _plan_mask(snapshot: Snapshot, node: Filter) -> np.ndarray:
    if node.years is not None:
        low, high = node.years
        return np.array([m.get("year") is not None and low <= m["year"] <= high for m in snapshot.plans], bool)
    return np.array([node.value in value for value in _filter_values(snapshot, node.field)], bool)


def _filter_values(snapshot: Snapshot, name: str) -> list[str]:
    """Per plan, the normalised text a `name:` filter looks in (its fields joined by a newline,
    which no normalised filter value contains); computed once per snapshot."""
    key = f"filter:{name}"
    if key not in snapshot.derived:
        fields = {"school": ("school", "title"), "region": ("region",), "level": ("level", "kind")}[name]
        aliases = _school_aliases(snapshot.plans) if name == "school" else {}
        snapshot.derived[key] = [
            "\n".join(normalize(str(m.get(k) or "")) for k in fields)
            + "".join("\n" + normalize(alias) for alias in sorted(aliases.get(m.get("school"), ())))
            for m in snapshot.plans
        ]
    return snapshot.derived[key]  # type: ignore[no-any-return]


def _school_aliases(plans: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every other name any plan gives each school (indexer/institutions.py): `school:` matches them all."""
    out: dict[str, set[str]] = {}
    for meta in plans:
        if meta.get("school"):
            out.setdefault(meta["school"], set()).update(meta.get("school_aliases") or ())
    return out


def evaluate(snapshot: Snapshot, node: Node) -> np.ndarray:
    """A boolean mask over the snapshot's passages."""
    if isinstance(node, Term):
        mask = np.zeros(snapshot.size, bool)
        mask[snapshot.find(node.needle).index] = True
        return mask
    if isinstance(node, Filter):
        return _plan_mask(snapshot, node)[snapshot.passage_plan]
    if isinstance(node, Not):
        return ~evaluate(snapshot, node.child)
    if isinstance(node, And):
        mask = np.ones(snapshot.size, bool)
        for child in node.children:
            mask &= evaluate(snapshot, child)
        return mask
    assert isinstance(node, Or)
    mask = np.zeros(snapshot.size, bool)
    for child in node.children:
        mask |= evaluate(snapshot, child)
    return mask


def score(snapshot: Snapshot, hits: np.ndarray, terms: list[Term]) -> np.ndarray:
    """BM25 of each hit over the positive needles' literal counts."""
    scores = np.zeros(len(hits), np.float64)
    if not len(hits):
        return scores
    norm_length = K1 * (1 - B + B * snapshot.lengths[hits] / snapshot.average_length)
    for term in terms:
        found = snapshot.find(term.needle)
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


def search(snapshot: Snapshot, request: SearchRequest) -> dict[str, Any]:
    """The whole search: raises QueryError for bad syntax, never anything for no results."""
    node = request.node()
    terms = positive_terms(node)
    hits = np.flatnonzero(evaluate(snapshot, node)).astype(np.int32)
    scores = score(snapshot, hits, terms)
    needles = [t.needle for t in terms]
    plan_of_hit = snapshot.passage_plan[hits]
    plans, starts, counts = np.unique(plan_of_hit, return_index=True, return_counts=True)
    if len(hits):
        best = np.maximum.reduceat(scores, starts)
        group_scores = best * (1 + 0.1 * np.log1p(counts - 1))
    else:
        group_scores = np.zeros(0)
    order = _order_groups(snapshot, plans, group_scores, request.sort)
    first = (request.page - 1) * request.size
    groups = []
    for g in order[first : first + request.size]:
        members = hits[starts[g] : starts[g] + counts[g]]
        member_scores = scores[starts[g] : starts[g] + counts[g]]
        ranked = np.lexsort((snapshot.ordinals[members], -member_scores))
        if request.per_group != ALL:
            ranked = ranked[: request.per_group]
        groups.append(
            _group(snapshot, int(plans[g]), int(counts[g]), float(group_scores[g]),
                   [(int(members[r]), float(member_scores[r])) for r in ranked], needles)
        )
    return {
        "query": {
            "q": request.q,
            "filters": request.filter_params(),
            "description": describe(node),
            "terms": [t.text for t in terms],
        },
        "total": int(len(hits)),
        "documents": int(len(plans)),
        "page": request.page,
        "size": request.size,
        "per_group": request.per_group,
        "sort": request.sort,
        "groups": groups,
        "facets": facets(snapshot, plan_of_hit),
    }


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
        "ordinal": int(snapshot.ordinals[index]),
        "section": list(snapshot.sections[index]),
        "text": text,
        "highlight": highlight(text, snapshot.normalized[index], needles, spans),
    }
    if score is not None:
        out["score"] = round(score, 4)
    return out


def _group(snapshot: Snapshot, plan: int, hits: int, group_score: float,
           members: list[tuple[int, float]], needles: list[str]) -> dict[str, Any]:
    return {
        **plan_summary(snapshot.plans[plan]),
        "hits": hits,
        "score": round(group_score, 4),
        "passages": [passage_view(snapshot, i, needles, s) for i, s in members],
    }


def facets(snapshot: Snapshot, plan_of_hit: np.ndarray) -> dict[str, list[dict[str, Any]]]:
    """Matching passages counted by the plan's school, year, region and level, largest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in FACETS:
        codes, values = _facet_codes(snapshot, name)
        counts = np.bincount(codes[plan_of_hit], minlength=len(values) + 1)[1:] if len(plan_of_hit) else np.zeros(len(values), np.int64)
        present = np.flatnonzero(counts)
        out[name] = [
            {"value": values[k], "count": int(counts[k])}
            for k in sorted(present, key=lambda k: (-counts[k], values[k]))
        ]
    return out


def _facet_codes(snapshot: Snapshot, name: str) -> tuple[np.ndarray, list[str]]:
    """Per plan, 1 + the index of its value in `values` (0: no value); computed once per snapshot."""
    key = f"facet:{name}"
    if key not in snapshot.derived:
        plan_values = [plan_field(meta, name) for meta in snapshot.plans]
        values = sorted({v for v in plan_values if v is not None})
        position = {v: i + 1 for i, v in enumerate(values)}
        codes = np.array([position.get(v, 0) if v is not None else 0 for v in plan_values], np.int32)
        snapshot.derived[key] = (codes, values)
    return snapshot.derived[key]  # type: ignore[no-any-return]
