"""The compare page: a theme over the plans selected by the search filters (a summary table,
sortable and paged), side-by-side cards for the plans picked (at most MAX_CARDS), and the
themes × plans matrix paged by plans. Data from app.compare and app.compare_summary, the
same functions as /api/compare, /api/compare/summary and /api/matrix."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.compare import compare, matrix
from app.compare_summary import SORTS, summary
from app.limits import Heavy
from app.query import QueryError
from app.routes.api import SnapshotDep
from app.routes.compare import ThemesDep
from app.routes.pages import _error_view
from app.routes.rendering import int_param as _int, render as _render, url as _url
from app.routes.tray import format_cmp, parse_cmp
from app.search import plan_summary
from app.selection import FILTERS, parse_documents, select_plans
from app.snapshot import Snapshot
from app.themes import Theme
from app.vocabulary import LABELS

router = APIRouter(include_in_schema=False)
MAX_CARDS = 12
ROWS_PER_PAGE = 50
MATRIX_PLANS = 25  # matrix columns per page
PASSAGES_PER_COLUMN = 8  # the cards show the best few; the document page has them all
HEAT_LEVELS = 5
SORT_LABELS = {"school": LABELS["school"], "period": LABELS["period"], "passages": LABELS["passages"],
               "mentions": LABELS["mentions"], "per_10k": LABELS["per_10k"], "prominence": LABELS["in_heading"]}


@dataclass(frozen=True)
class CompareState:
    """Everything the compare page's URL holds; defaults are left out of the links it builds."""

    theme: str = ""
    q: str = ""
    school: str = ""
    region: str = ""
    level: str = ""
    year: str = ""
    documents: str = ""  # the plans the selection is limited to (1,5,9)
    cmp: str = ""  # the plans picked for cards (the tray)
    sort: str = "mentions"
    order: str = "desc"
    page: int = 1
    mpage: int = 1

    @property
    def asked(self) -> str:
        return self.q.strip() or self.theme.strip()

    def url(self, **changes: Any) -> str:
        """This state's URL with `changes`; a change of selection or order goes back to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        if "mpage" not in changes and set(changes) & {"school", "region", "level", "year", "documents"}:
            changes["mpage"] = 1
        params = asdict(replace(self, **changes))
        for name, default in (("sort", "mentions"), ("order", "desc"), ("page", 1), ("mpage", 1)):
            if params[name] == default:
                params[name] = None
        return _url("/compare", params)

    def filters(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name)}

    def api_params(self) -> dict[str, Any]:
        return {"theme": self.asked or None, "documents": self.documents or None, **self.filters()}


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    _heavy: Heavy,
    request: Request,
    snapshot: SnapshotDep,
    book: ThemesDep,
    theme: str = "",
    q: str = "",
    school: str = "",
    region: str = "",
    level: str = "",
    year: str = "",
    documents: Annotated[list[str] | None, Query()] = None,
    cmp: Annotated[list[str] | None, Query()] = None,
    pick: str = "",
    sort: str = "mentions",
    order: str = "desc",
    page: str | None = None,
    mpage: str | None = None,
) -> HTMLResponse:
    try:
        listed = parse_documents(",".join(documents or [])) or []
    except QueryError as exc:
        context = {"state": CompareState(), "themes": book.listing()["themes"], "error": _error_view("", exc),
                   "summary": None, "comparison": None, "notice": None, "api_url": None, "picked": set(),
                   "empty_pick": False, "pick_all": False, "matrix": None}
        return _render(request, "compare.html", context, 400)
    known = [i for i in dict.fromkeys(listed) if i in snapshot.plan_by_id]
    picked = [i for i in parse_cmp(",".join(cmp or [])) if i in snapshot.plan_by_id]
    state = CompareState(
        theme=theme.strip(), q=q.strip(), school=school.strip(), region=region.strip(), level=level.strip(),
        year=year.strip(), documents=format_cmp(known), cmp=format_cmp(picked),
        sort=sort if sort in SORTS else "mentions", order=order if order in ("asc", "desc") else "desc",
        page=_int(page, 1, 1, 100_000), mpage=_int(mpage, 1, 1, 100_000),
    )
    context: dict[str, Any] = {"state": state, "themes": book.listing()["themes"], "error": None, "summary": None,
                               "comparison": None, "notice": None, "api_url": None, "picked": set(picked),
                               "empty_pick": pick == "1" and not picked, "pick_all": pick == "all"}
    status = 200
    if state.asked:
        try:
            resolved = book.resolve(state.asked)
            context.update(_summary_view(snapshot, state, resolved, picked, context["empty_pick"], context["pick_all"]))
            context["api_url"] = _url("/api/compare/summary", state.api_params())
        except QueryError as exc:
            context["error"] = _error_view(state.asked, exc)
            status = 400
    try:
        context["matrix"] = _matrix_view(snapshot, list(book), state)
    except QueryError as exc:  # a year filter that does not parse: the message is shown once, above
        context["matrix"] = None
        if context["error"] is None:
            context["error"] = _error_view("", exc)
            status = 400
    return _render(request, "compare.html", context, status)


def _summary_view(snapshot: Snapshot, state: CompareState, theme: Theme, picked: list[int],
                  empty_pick: bool, pick_all: bool) -> dict[str, Any]:
    """The summary table and the cards: for the picked plans, else for a selection of at most
    MAX_CARDS; none after an explicitly empty pick (never “nothing means everything”).
    `pick_all` picks every plan of the selection, in the table's order."""
    ids = parse_cmp(state.documents) or None
    result = summary(snapshot, theme, ids, state.filters(), sort=state.sort, order=state.order,
                     page=state.page, size=ROWS_PER_PAGE)
    query = _theme_query(theme)
    for row in result["rows"]:
        plan = row["document"]["document_id"]
        row["url"] = _url(f"/documents/{plan}", {"q": query, "cmp": state.cmp})
        row["bar"] = _bar_class(row["share"], 1.0)
    sorts = []
    for key in SORTS:
        current = key == state.sort
        flipped = "asc" if state.order == "desc" else "desc"
        sorts.append({"key": key, "label": SORT_LABELS[key], "current": current,
                      "order": state.order if current else None,
                      "url": state.url(sort=key, order=flipped if current else ("asc" if key in ("school", "period") else "desc"))})
    out: dict[str, Any] = {"summary": result, "sorts": sorts, "pages": _pages(state, result["pages"])}
    if pick_all:
        picked = result["order_ids"]
        out["picked"] = set(picked)
    unpicked = state.url(cmp="", page=state.page)
    out["select_all_url"] = unpicked + ("&" if "?" in unpicked else "?") + "pick=all" if result["documents"] else None
    out["clear_pick_url"] = state.url(cmp="", page=state.page) if state.cmp else None
    on_page = {row["document"]["document_id"] for row in result["rows"]}
    out["picked_elsewhere"] = [] if pick_all else [i for i in picked if i not in on_page]  # all: not carried
    cards = picked or (result["order_ids"] if result["documents"] <= MAX_CARDS and not empty_pick else [])
    if len(cards) > MAX_CARDS:
        out["notice"] = f"已选 {len(cards)} 份计划，并排比较最多 {MAX_CARDS} 份：下面显示所选的前 {MAX_CARDS} 份。请在上表中少选几份，或缩小筛选范围。"
        cards = cards[:MAX_CARDS]
    if cards:
        comparison = _comparison_view(snapshot, theme, cards, state)
        missing = len(cards) - len(comparison["columns"])
        if missing and out.get("notice") is None:
            out["notice"] = f"所选计划中有 {missing} 份不在当前筛选范围内，未显示。"
        out["comparison"] = comparison
    downloads = {**state.api_params(), "documents": format_cmp(cards) or state.documents or None}
    out["downloads"] = {fmt: _url("/api/compare", {**downloads, "format": fmt}) for fmt in ("csv", "xlsx")}
    return out


def _pages(state: CompareState, last: int) -> dict[str, Any]:
    shown = sorted({1, last, *range(max(1, state.page - 2), min(last, state.page + 2) + 1)})
    links: list[dict[str, Any] | None] = []
    for number in shown:
        if links and links[-1] is not None and number - links[-1]["number"] > 1:
            links.append(None)
        links.append({"number": number, "url": state.url(page=number)})
    current = min(state.page, last)
    return {"current": current, "last": last, "links": links,
            "prev": state.url(page=current - 1) if current > 1 else None,
            "next": state.url(page=current + 1) if current < last else None}


def _bar_class(share: float, top: float) -> str:
    """Coverage bar width as a class w0..w100 (steps of 5), relative to the widest column."""
    if share <= 0 or top <= 0:
        return "w0"
    return f"w{max(5, min(100, round(share / top * 20) * 5))}"


def _heat_classes(values: list[float]) -> dict[float, str]:
    """Heat-map colour buckets by rank among the non-zero values: h0 = none, h1 .. h5 = quintiles.

    Ranks, not a linear scale, so one short plan with a high rate does not wash out the rest."""
    levels = sorted(set(v for v in values if v > 0))
    classes = {0.0: "h0"}
    for rank, value in enumerate(levels):
        classes[value] = f"h{1 + rank * HEAT_LEVELS // len(levels)}"
    return classes


def _theme_query(theme: Theme) -> str:
    """A query in the language that matches the theme's needles (for document highlighting)."""
    if theme.query is not None:
        return theme.query
    return " OR ".join(f'"{t}"' for t in theme.terms)


def _comparison_view(snapshot: Snapshot, theme: Theme, ids: list[int], state: CompareState) -> dict[str, Any]:
    result = compare(snapshot, theme, ids, state.filters(), per_column=PASSAGES_PER_COLUMN)
    top = max((c["coverage"]["share"] for c in result["columns"]), default=0.0)
    query = _theme_query(theme)
    for column in result["columns"]:
        column["bar"] = _bar_class(column["coverage"]["share"], top)
        doc_url = f"/documents/{column['document']['document_id']}"
        column["url"] = _url(doc_url, {"q": query, "cmp": state.cmp})
        for passage in column["passages"]:
            passage["url"] = column["url"] + f"#{passage['anchor']}"
        for commitment in column["commitments"]:
            commitment["url"] = column["url"] + f"#{commitment['anchor']}"
    return result


def _matrix_view(snapshot: Snapshot, themes: list[Theme], state: CompareState) -> dict[str, Any]:
    """The matrix over the selection, MATRIX_PLANS plans a page (`mpage`)."""
    ids = parse_cmp(state.documents) or None
    everything = [plan_summary(snapshot.plans[p]) for p in select_plans(snapshot, ids, state.filters())]
    last = max(1, math.ceil(len(everything) / MATRIX_PLANS))
    current = min(state.mpage, last)
    page_ids = [d["document_id"] for d in everything[(current - 1) * MATRIX_PLANS : current * MATRIX_PLANS]]
    result = matrix(snapshot, themes, page_ids) if page_ids else {"documents": [], "rows": [], "themes": [], "filters": {}}
    heat = _heat_classes([c["per_10k"] for row in result["rows"] for c in row["cells"]])
    for row in result["rows"]:
        row["url"] = state.url(theme=row["theme"], q="")
        for cell in row["cells"]:
            cell["heat"] = heat.get(cell["per_10k"], "h1") if cell["mentions"] else "h0"
    for document in result["documents"]:
        document["url"] = _url(f"/documents/{document['document_id']}", {"cmp": state.cmp})
    params = {"documents": state.documents or None, **state.filters()}
    result["downloads"] = {fmt: _url("/api/matrix", {**params, "format": fmt}) for fmt in ("csv", "xlsx")}
    result["legend"] = [f"h{n}" for n in range(HEAT_LEVELS + 1)]
    result["total"] = len(everything)
    result["pages"] = {"current": current, "last": last,
                       "prev": state.url(mpage=current - 1, page=state.page) + "#matrix-title" if current > 1 else None,
                       "next": state.url(mpage=current + 1, page=state.page) + "#matrix-title" if current < last else None}
    return result
