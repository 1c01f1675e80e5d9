"""The plan list on the home page: filters, sort and pages over list_documents, with links to its
JSON and CSV / XLSX twins at /api/documents (same parameters)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from app.documents import DocumentQuery, list_documents
from app.query import QueryError
from app.routes.rendering import url as _url
from app.search_export import LABELS
from app.snapshot import Snapshot

PLANS_PER_PAGE = 50
DOCUMENT_SORT_LABELS = {"id": "收录顺序", "year": "年份（新→旧）", "school": "学校名称", "size": "篇幅（长→短）"}
Values = tuple[str, ...]


@dataclass(frozen=True)
class HomeState:
    """The plan list's URL: filters (several values each), sort, page."""

    school: Values = ()
    region: Values = ()
    level: Values = ()
    year: Values = ()
    kind: Values = ()
    sort: str = "id"
    page: int = 1

    def params(self, **changes: Any) -> dict[str, Any]:
        state = replace(self, **changes)
        params = asdict(state)
        params["sort"] = state.sort if state.sort != "id" else None
        params["page"] = state.page if state.page != 1 else None
        return params

    def url(self, **changes: Any) -> str:
        changes.setdefault("page", 1)
        return _url("/", self.params(**changes))

    def api_url(self, **extra: Any) -> str:
        params = {**self.params(page=self.page), "size": PLANS_PER_PAGE, **extra}
        if extra.get("format"):
            params.update(page=None, size=None)
        return _url("/api/documents", params)


def _choices(snapshot: Snapshot, key: str) -> list[str]:
    values = {str(m[key]) for m in snapshot.plans if m.get(key) not in (None, "")}
    return sorted(values, reverse=key == "year")


def home_context(snapshot: Snapshot, state: HomeState) -> tuple[dict[str, Any], int]:
    """The list's part of the home page's context, and its status (400 for a bad filter)."""
    query = DocumentQuery(school=list(state.school), region=list(state.region), level=list(state.level),
                          year=list(state.year), kind=list(state.kind), sort=state.sort, page=state.page,
                          size=PLANS_PER_PAGE)
    error = None
    try:
        catalog = list_documents(snapshot, query)
    except QueryError as exc:  # year=abc: the message, and the unfiltered list
        error = exc.message
        state = HomeState(sort=state.sort)
        catalog = list_documents(snapshot, DocumentQuery(sort=state.sort, size=PLANS_PER_PAGE))
    last = max(1, math.ceil(catalog["total"] / PLANS_PER_PAGE))
    current = catalog["page"]
    shown = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    links: list[dict[str, Any] | None] = []
    for number in shown:
        if links and links[-1] is not None and number - links[-1]["number"] > 1:
            links.append(None)
        links.append({"number": number, "url": state.url(page=number)})
    pages = {"current": current, "last": last, "links": links,
             "prev": state.url(page=current - 1) if current > 1 else None,
             "next": state.url(page=current + 1) if current < last else None}
    context = {
        "home": state, "catalog": catalog, "catalog_error": error, "pages": pages, "labels": LABELS,
        "choices": {k: _choices(snapshot, k) for k in ("region", "level", "year", "kind")},
        "sorts": [(key, label, state.url(sort=key)) for key, label in DOCUMENT_SORT_LABELS.items()],
        "api_url": state.api_url(),
        "downloads": {fmt: state.api_url(format=fmt) for fmt in ("csv", "xlsx")},
    }
    return context, 400 if error else 200
