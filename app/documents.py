"""Plans as the API and the pages show them: the list, and one plan with its outline."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np

from app.anchors import plan_anchors
from app.facets import split_values, value_filter
from app.highlighting import highlight
from app.mentions import count_mentions, countable, split_filters
from app.query import parse, positive_terms
from app.search import evaluate
from app.snapshot import Snapshot
from indexer.errors import NotFound

PUBLIC_FIELDS = (
    "title", "school", "unit", "kind", "province", "city", "district", "region", "level", "period",
    "year", "year_end", "term", "issuer", "published", "format", "chars", "warnings", "school_aliases", "sources",
)


class DocumentNotFound(NotFound, LookupError):
    """No plan with that id in the served index."""

    def __init__(self, document_id: int) -> None:
        super().__init__(f"没有编号为 {document_id} 的计划。")
        self.document_id = document_id


def document_summary(snapshot: Snapshot, plan_index: int) -> dict[str, Any]:
    """Metadata of one plan with its file name (never the server's path) and passage count."""
    meta = snapshot.plans[plan_index]
    out: dict[str, Any] = {"id": meta["id"], "file": PurePath(meta.get("source") or "").name}
    out.update({name: meta.get(name) for name in PUBLIC_FIELDS})
    out["passage_count"] = int(snapshot.plan_passage_count[plan_index])
    return out


DOCUMENT_SORTS = ("id", "year", "school", "size")


@dataclass(frozen=True)
class DocumentQuery:
    """The plan list's filters (values of one field ORed, as in search; kind is exact), sort and
    page; `size=None` lists every plan on one page (the list as /api/documents always gave it)."""

    school: str | list[str] | None = None
    region: str | list[str] | None = None
    level: str | list[str] | None = None
    year: str | list[str] | None = None
    kind: str | list[str] | None = None
    sort: str = "id"
    page: int = 1
    size: int | None = None

    def selections(self) -> dict[str, list[str]]:
        given = {"school": self.school, "region": self.region, "level": self.level, "year": self.year, "kind": self.kind}
        return {k: values for k, v in given.items() if (values := split_values(v))}


def list_documents(snapshot: Snapshot, query: DocumentQuery | None = None) -> dict[str, Any]:
    """Plans passing the filters, sorted, one page: {"total", "page", "size", "sort", "filters",
    "documents": [summary…]}. Sorts: id, year (newest first), school, size (most characters first).
    Raises QueryError for a bad filter (year=abc)."""
    from app.search import plan_mask  # the search's own filter evaluation, so both agree

    query = query or DocumentQuery()
    if query.sort not in DOCUMENT_SORTS:
        raise ValueError(query.sort)
    chosen = np.ones(len(snapshot.plans), bool)
    selections = query.selections()
    for name, values in selections.items():
        if name == "kind":
            chosen &= np.array([m.get("kind") in values for m in snapshot.plans], bool)
            continue
        either = np.zeros(len(snapshot.plans), bool)
        for value in values:
            either |= plan_mask(snapshot, value_filter(name, value))
        chosen &= either
    indices = np.flatnonzero(chosen).tolist()
    keys = {
        "id": lambda i: snapshot.plans[i]["id"],
        "year": lambda i: (-(snapshot.plans[i].get("year") or 0), snapshot.plans[i]["id"]),
        "school": lambda i: (snapshot.plans[i].get("school") or snapshot.plans[i].get("title") or "", snapshot.plans[i]["id"]),
        "size": lambda i: (-(snapshot.plans[i].get("chars") or 0), snapshot.plans[i]["id"]),
    }
    indices.sort(key=keys[query.sort])
    page = query.page
    if query.size is not None:
        page = min(page, max(1, math.ceil(len(indices) / query.size)))
        shown = indices[(page - 1) * query.size : page * query.size]
    else:
        shown = indices
    return {
        "total": len(indices), "page": page, "size": query.size, "sort": query.sort,
        "filters": {k: ",".join(v) for k, v in selections.items()},
        "documents": [document_summary(snapshot, i) for i in shown],
    }


def get_document(snapshot: Snapshot, document_id: int, *, q: str | None = None) -> dict[str, Any]:
    """One plan: summary, outline [{"rank", "title", "passage_id"}], passages in order.

    With `q`, each passage also carries `highlight` for the query's needles and `matches`: its
    mentions when it is a hit of the query's terms (app.mentions; the query's plan filters
    are ignored here: the plan is already chosen), else 0.
    """
    plan_index = snapshot.plan_by_id.get(document_id)
    if plan_index is None:
        raise DocumentNotFound(document_id)
    terms = split_filters(parse(q))[0] if q else None
    needles = [t.needle for t in positive_terms(terms)] if terms is not None else []
    hit = evaluate(snapshot, terms) & countable(snapshot) if terms is not None else None
    passages, outline = [], []
    seen: set[tuple[str, ...]] = set()
    anchors = plan_anchors(snapshot, plan_index)
    for at, i in enumerate(snapshot.plan_range(plan_index)):
        section = tuple(snapshot.sections[i])
        for depth in range(1, len(section) + 1):
            if section[:depth] not in seen:
                seen.add(section[:depth])
                outline.append({"depth": depth, "title": section[depth - 1], "passage_id": int(snapshot.passage_ids[i]),
                                "anchor": anchors[at]})
        item: dict[str, Any] = {
            "id": int(snapshot.passage_ids[i]),
            "anchor": anchors[at],
            "ordinal": int(snapshot.ordinals[i]),
            "section": list(section),
            "text": snapshot.texts[i],
        }
        if needles:
            item["highlight"] = highlight(snapshot.texts[i], snapshot.normalized[i], needles)
            item["matches"] = count_mentions(snapshot.normalized[i], needles) if hit is not None and hit[i] else 0
        passages.append(item)
    return {**document_summary(snapshot, plan_index), "outline": outline, "passages": passages}
