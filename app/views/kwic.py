"""Concordance (KWIC): every occurrence of the query's terms, one line each, aligned on the match.

Shape (the JSON of /api/kwic):
    {"query": {"q", "filters", "description", "terms"}, "context", "sort", "page", "size",
     "total" (lines), "passages", "documents",
     "per_plan": [{"document_id", "school", "period", "count"}],
     "lines": [{"document_id", "school", "period", "year", "section", "passage_id",
                "offset", "left", "match", "right"}]}
Occurrences are found on the normalised text (every start of every positive needle, overlaps
included) in the passages the whole query matches; contexts are cut from the display text at the
same offsets and never cross the passage. `sort=left` orders by the reversed left context (the
word just before the match first, as AntConc does), `right` by the right context, `plan` by plan
and position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.query import describe, positive_terms
from app.mentions import countable
from app.priority import in_background, stepped
from app.search import SearchRequest, evaluate, plan_summary
from app.snapshot import Snapshot

SORTS = ("plan", "left", "right")
MAX_CONTEXT = 200


@dataclass(frozen=True)
class Occurrence:
    """One match: the passage (snapshot index), and its span in that passage's text."""

    passage: int
    start: int
    end: int


def occurrences(snapshot: Snapshot, request: SearchRequest) -> tuple[list[Occurrence], Any]:
    """Every occurrence of the positive needles in the passages the query matches, in plan order;
    also the parsed query. Raises QueryError for bad syntax."""
    node = request.node()
    needles = sorted({t.needle for t in positive_terms(node)})
    hits = np.flatnonzero(evaluate(snapshot, node) & countable(snapshot))  # hits as everywhere (app.mentions)
    found: list[Occurrence] = []
    for i in stepped(hits.tolist()):
        text = snapshot.normalized[i]
        spans: set[tuple[int, int]] = set()
        for needle in needles:
            start = text.find(needle)
            while start >= 0:
                spans.add((start, start + len(needle)))
                start = text.find(needle, start + 1)
        found.extend(Occurrence(i, s, e) for s, e in sorted(spans))
    return found, node


def _sorted(snapshot: Snapshot, found: list[Occurrence], sort: str, context: int) -> list[Occurrence]:
    if sort == "left":
        return sorted(found, key=lambda o: snapshot.normalized[o.passage][max(0, o.start - context):o.start][::-1])
    if sort == "right":
        return sorted(found, key=lambda o: snapshot.normalized[o.passage][o.end:o.end + context])
    return found  # already by plan, passage, offset


def line(snapshot: Snapshot, occurrence: Occurrence, context: int) -> dict[str, Any]:
    """One concordance line: plan, section path, left | match | right from the display text."""
    text = snapshot.texts[occurrence.passage]
    meta = snapshot.plans[int(snapshot.passage_plan[occurrence.passage])]
    return {
        "document_id": meta["id"],
        "school": meta.get("school") or meta.get("title"),
        "period": meta.get("period"),
        "year": meta.get("year"),
        "section": list(snapshot.sections[occurrence.passage]),
        "passage_id": int(snapshot.passage_ids[occurrence.passage]),
        "offset": occurrence.start,
        "left": text[max(0, occurrence.start - context):occurrence.start],
        "match": text[occurrence.start:occurrence.end],
        "right": text[occurrence.end:occurrence.end + context],
    }


@in_background
def kwic(snapshot: Snapshot, request: SearchRequest, *, context: int = 20, sort: str = "plan",
         page: int = 1, size: int = 50) -> dict[str, Any]:
    """The concordance page `page` of `size` lines (size=0: every line, for exports)."""
    found, node = occurrences(snapshot, request)
    ordered = _sorted(snapshot, found, sort, context)
    shown = ordered if size == 0 else ordered[(page - 1) * size : page * size]
    per_plan: dict[int, int] = {}
    passages = set()
    for o in found:
        plan = int(snapshot.passage_plan[o.passage])
        per_plan[plan] = per_plan.get(plan, 0) + 1
        passages.add(o.passage)
    return {
        "query": {"q": request.q, "filters": request.filter_params(), "description": describe(node),
                  "terms": [t.text for t in positive_terms(node)]},
        "context": context,
        "sort": sort,
        "page": page,
        "size": size,
        "total": len(found),
        "passages": len(passages),
        "documents": len(per_plan),
        "per_plan": [
            {**_plan_head(snapshot, plan), "count": count}
            for plan, count in sorted(per_plan.items(), key=lambda item: (-item[1], snapshot.plans[item[0]]["id"]))
        ],
        "lines": [line(snapshot, o, context) for o in shown],
    }


def _plan_head(snapshot: Snapshot, plan: int) -> dict[str, Any]:
    summary = plan_summary(snapshot.plans[plan])
    return {"document_id": summary["document_id"], "school": summary["school"] or summary["title"],
            "period": summary["period"]}


CSV_HEADER = ["文档编号", "学校", "时期", "年份", "章节路径", "段落编号", "位置", "左语境", "匹配", "右语境"]


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    return [[r["document_id"], r["school"], r["period"], r["year"], " > ".join(r["section"]), r["passage_id"],
             r["offset"], r["left"], r["match"], r["right"]] for r in result["lines"]]
