"""Search results and the plan list as renderer tables (app/render.py): the words of the columns
are those the pages show (LABELS), so the screen and the files say the same thing.

A search export holds every matching passage, groups in result order and each group's passages
best first, as the result pages list them; its link is the absolute path of the passage in its
plan, with the stable anchor (`/documents/12?q=…#s-…`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from app.anchors import passage_anchor
from app.render import Column, Table
from app.search import Run, SearchRequest, matches, plan_summary, run
from app.snapshot import Snapshot

LABELS = {
    "document_id": "文档编号", "school": "学校或单位", "region": "地区", "level": "学段", "period": "时期",
    "year": "年份", "kind": "类型", "section": "章节路径", "text": "段落原文", "link": "链接",
    "hits": "命中段落", "passage_count": "段落数", "chars": "字数", "file": "文件",
}
SEARCH_COLUMNS = [
    Column("document_id", LABELS["document_id"], 10), Column("school", LABELS["school"], 28),
    Column("region", LABELS["region"], 14), Column("level", LABELS["level"], 10),
    Column("period", LABELS["period"], 20), Column("section", LABELS["section"], 36, wrap=True),
    Column("text", LABELS["text"], 80, wrap=True), Column("link", LABELS["link"], 40),
]
DOCUMENT_COLUMNS = [
    Column("document_id", LABELS["document_id"], 10), Column("school", LABELS["school"], 28),
    Column("region", LABELS["region"], 14), Column("level", LABELS["level"], 10),
    Column("period", LABELS["period"], 20), Column("year", LABELS["year"], 8), Column("kind", LABELS["kind"], 10),
    Column("passage_count", LABELS["passage_count"], 8), Column("chars", LABELS["chars"], 10),
    Column("file", LABELS["file"], 30), Column("link", LABELS["link"], 24),
]


def passage_link(document_id: int, q: str, anchor: str) -> str:
    """The absolute path of a passage in its plan's page, the query highlighted."""
    return f"/documents/{document_id}?{urlencode({'q': q})}#{anchor}"


def search_table(snapshot: Snapshot, request: SearchRequest, base: str = "") -> Table:
    """Every matching passage of the search; raises QueryError before any row is produced."""
    result = run(snapshot, request)
    return Table("search", request.q, SEARCH_COLUMNS, _search_rows(snapshot, request, result), base,
                 meta={"query": request.q, "total": int(len(result.hits)), "documents": int(len(result.plans))})


def _search_rows(snapshot: Snapshot, request: SearchRequest, result: Run) -> Iterator[dict[str, Any]]:
    for plan, index, _score in matches(snapshot, result):
        summary = plan_summary(snapshot.plans[plan])
        yield {
            "document_id": summary["document_id"], "school": summary["school"] or summary["title"],
            "region": summary["region"], "level": summary["level"], "period": summary["period"],
            "section": " › ".join(snapshot.sections[index]), "text": snapshot.texts[index],
            "link": passage_link(summary["document_id"], request.q, passage_anchor(snapshot, index)),
        }


def documents_table(listing: dict[str, Any], base: str = "") -> Table:
    """The plan list (one page of list_documents) as a table."""
    rows = [
        {"document_id": d["id"], "school": d["school"] or d["title"] or d["file"], "region": d["region"],
         "level": d["level"], "period": d["period"], "year": d["year"], "kind": d["kind"],
         "passage_count": d["passage_count"], "chars": d["chars"], "file": d["file"], "link": f"/documents/{d['id']}"}
        for d in listing["documents"]
    ]
    return Table("documents", "", DOCUMENT_COLUMNS, rows, base)
