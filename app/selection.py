"""Which plans a comparison holds (its columns): the `documents=` list, the URL filters and
the filters written in the theme's query, all ANDed; they select plans, never passages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from app.query import Node, QueryError
from app.search import evaluate, parse_filter
from app.snapshot import Snapshot

FILTERS = ("school", "year", "region", "level")


class UnknownDocument(QueryError):
    """`documents=` names a plan the index does not hold (a 400, like a bad query)."""

    def __init__(self, document_id: int) -> None:
        super().__init__("unknown_document", f"没有编号为 {document_id} 的计划（documents 参数）。")
        self.document_id = document_id


def parse_documents(text: str | None) -> list[int] | None:
    """`1,2,3` (either comma) -> ids; blank -> None (every plan); QueryError names a bad item."""
    if text is None or not text.strip():
        return None
    ids = []
    for item in text.replace("，", ",").split(","):
        item = item.strip()
        if not item:
            continue
        if item.isascii() and item.isdigit() and len(item) > 18:  # checked before int(): 4,301+ digits raise
            raise QueryError("bad_documents", f"documents 参数应为计划编号，“{item[:20]}…”太长，不是编号。")
        if not item.isascii() or not item.isdigit():
            raise QueryError("bad_documents", f"documents 参数应为逗号分隔的计划编号（例如 1,2,3），“{item[:20]}”不是编号。")
        ids.append(int(item))
    return ids or None


def select_plans(snapshot: Snapshot, document_ids: Sequence[int] | None, filters: Mapping[str, str | None],
                 selectors: Sequence[Node] = ()) -> list[int]:
    """Plan indices to compare: as requested, else every plan by (year, id); the URL `filters`
    and the query's own plan filters (`selectors`, from app.mentions.split_filters) narrow both."""
    if document_ids:
        chosen: list[int] = []
        seen: set[int] = set()
        for document_id in document_ids:
            plan = snapshot.plan_by_id.get(document_id)
            if plan is None:
                raise UnknownDocument(document_id)
            if plan not in seen:
                seen.add(plan)
                chosen.append(plan)
    else:
        chosen = sorted(range(len(snapshot.plans)),
                        key=lambda p: (snapshot.plans[p].get("year") or 9999, snapshot.plans[p]["id"]))
    nodes = [*(parse_filter(name, value) for name, value in clean_filters(filters).items()), *selectors]
    keep = np.ones(len(snapshot.plans), bool)
    for node in nodes:
        in_filter = np.zeros(len(snapshot.plans), bool)
        in_filter[snapshot.passage_plan[evaluate(snapshot, node)]] = True
        keep &= in_filter
    return [p for p in chosen if keep[p]]


def clean_filters(filters: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v.strip() for k, v in filters.items() if k in FILTERS and v is not None and v.strip()}
