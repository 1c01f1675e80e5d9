"""HTML pages: each renders the same data function as its JSON twin in api.py.

The routes only turn URL parameters into a request for a data function and the result into
template context; every link a template shows (facet toggles, pages, sort) is computed here,
Datasette-style, so templates stay dumb. Pages never fail on a hand-edited URL: numbers
that do not parse fall back to their defaults, and a bad query is a 400 page with the
message next to the box.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.compare import compare, matrix
from app.documents import DocumentNotFound, get_document, list_documents
from app.query import FIELD_LABELS, QueryError, parse
from app.routes.api import SnapshotDep
from app.search import ALL, FACETS, SearchRequest, search
from app.snapshot import Snapshot
from app.routes.compare import ThemesDep
from app.themes import Theme

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
GROUPS_PER_PAGE = 10
PER_GROUP_CHOICES = (3, ALL)
EXAMPLES = ("劳动教育", "\"课后服务\" year:2024", "心理 OR 心育", "劳动 -家务", "双减 region:淄博", "德")
HEAT_LEVELS = 5
DOCUMENT_FIELDS = (
    ("school", "学校或单位"), ("unit", "部门"), ("region", "地区"), ("level", "学段"), ("period", "时期"), ("term", "学期"),
    ("issuer", "发布单位"), ("published", "发布日期"), ("chars", "字数"), ("passage_count", "段落数"), ("file", "文件"),
)

router = APIRouter(include_in_schema=False)


def build_templates() -> Jinja2Templates:
    """The page templates: autoescaped, and strict about undefined names so tests catch typos."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["crumbs"] = lambda section: " › ".join(section)
    env.filters["percent"] = lambda share: f"{share * 100:.1f}%"
    return Jinja2Templates(env=env)


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _int(value: str | None, default: int, low: int, high: int) -> int:
    """A number from a hand-editable URL: the default when it does not parse, else clamped."""
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return min(max(number, low), high)


def _url(path: str, params: dict[str, Any]) -> str:
    pairs = [(k, v) for k, v in params.items() if v not in (None, "")]
    return path + ("?" + urlencode(pairs, doseq=True) if pairs else "")


# -- search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchState:
    """Everything the search page's URL holds; defaults are left out of the links it builds."""

    q: str = ""
    school: str = ""
    year: str = ""
    region: str = ""
    level: str = ""
    page: int = 1
    sort: str = "relevance"
    per_group: int = 3

    def url(self, **changes: Any) -> str:
        """This state's URL with `changes`; any change but the page itself goes back to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        state = replace(self, **changes)
        params = asdict(state)
        params["page"] = state.page if state.page != 1 else None
        params["sort"] = state.sort if state.sort != "relevance" else None
        params["per_group"] = state.per_group if state.per_group != 3 else None
        return _url("/", params)

    def api_url(self) -> str:
        params = {**asdict(self), "size": GROUPS_PER_PAGE}
        return _url("/api/search", params)

    def filters(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FACETS if getattr(self, name)}


def _facet_view(state: SearchState, facets: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """[{"name", "label", "buckets": [{"value", "count", "selected", "url"}]}]; a filter given in
    the URL but absent from the buckets still shows, selected, so it can be removed."""
    out = []
    for name in FACETS:
        current = getattr(state, name)
        buckets = [
            {**b, "selected": b["value"] == current,
             "url": state.url(**{name: "" if b["value"] == current else b["value"]})}
            for b in facets.get(name, [])
        ]
        if current and not any(b["selected"] for b in buckets):
            buckets.insert(0, {"value": current, "count": None, "selected": True, "url": state.url(**{name: ""})})
        out.append({"name": name, "label": FIELD_LABELS[name], "buckets": buckets})
    return out


def _pages(state: SearchState, documents: int) -> dict[str, Any]:
    """Pagination over groups: {"current", "last", "prev", "next", "links": [{"number", "url"}|None]}."""
    last = max(1, math.ceil(documents / GROUPS_PER_PAGE))
    shown = sorted({1, last, *range(max(1, state.page - 2), min(last, state.page + 2) + 1)})
    links: list[dict[str, Any] | None] = []
    for number in shown:
        if links and links[-1] is not None and number - links[-1]["number"] > 1:
            links.append(None)  # a gap: …
        links.append({"number": number, "url": state.url(page=number)})
    return {
        "current": state.page,
        "last": last,
        "prev": state.url(page=state.page - 1) if state.page > 1 else None,
        "next": state.url(page=state.page + 1) if state.page < last else None,
        "links": links,
    }


def _search_context(snapshot: Snapshot, state: SearchState) -> tuple[dict[str, Any], int]:
    context: dict[str, Any] = {"state": state, "examples": [(e, SearchState(q=e).url()) for e in EXAMPLES],
                               "result": None, "error": None, "api_url": None}
    if not state.q.strip():
        context["catalog"] = list_documents(snapshot)
        return context, 200
    request = SearchRequest(q=state.q, school=state.school, year=state.year, region=state.region,
                            level=state.level, page=state.page, size=GROUPS_PER_PAGE,
                            per_group=state.per_group, sort=state.sort)
    try:
        result = search(snapshot, request)
    except QueryError as exc:
        context["error"] = _error_view(state.q, exc)
        return context, 400
    for group in result["groups"]:
        group["url"] = _url(f"/documents/{group['document_id']}", {"q": state.q})
    context.update(
        result=result,
        facets=_facet_view(state, result["facets"]),
        active=[{"label": FIELD_LABELS[k], "value": v, "url": state.url(**{k: ""})} for k, v in state.filters().items()],
        pages=_pages(state, result["documents"]),
        sort_urls={s: state.url(sort=s) for s in ("relevance", "year")},
        per_group_urls=[(n, state.url(per_group=n)) for n in PER_GROUP_CHOICES],
        api_url=state.api_url(),
    )
    return context, 200


def _error_view(q: str, exc: QueryError) -> dict[str, Any]:
    """The message, and `q` split around the offending character when the error lies in `q`
    (not in a URL filter such as year=abc, whose position refers to that filter)."""
    view: dict[str, Any] = {"message": exc.message, "code": exc.code, "before": None}
    try:
        parse(q)
    except QueryError:
        if exc.position is not None and 0 <= exc.position <= len(q):
            view.update(before=q[: exc.position], at=q[exc.position : exc.position + 1], after=q[exc.position + 1 :])
    return view


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    snapshot: SnapshotDep,
    q: str = "",
    school: str = "",
    year: str = "",
    region: str = "",
    level: str = "",
    page: str | None = None,
    sort: str = "relevance",
    per_group: str | None = None,
) -> HTMLResponse:
    state = SearchState(
        q=q, school=school.strip(), year=year.strip(), region=region.strip(), level=level.strip(),
        page=_int(page, 1, 1, 10_000), sort=sort if sort == "year" else "relevance",
        per_group=_int(per_group, 3, 0, 10_000),
    )
    context, status = _search_context(snapshot, state)
    return _render(request, "search.html", context, status)


# -- documents ----------------------------------------------------------------------------


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(request: Request, snapshot: SnapshotDep, document_id: str, q: str = "") -> HTMLResponse:
    number = _int(document_id, 0, 0, 2**62) if document_id.isdigit() else 0
    error = None
    try:
        try:
            document = get_document(snapshot, number, q=q.strip() or None)
        except QueryError as exc:
            error = exc.message
            document = get_document(snapshot, number)
    except DocumentNotFound:
        return _render(request, "not_found.html", {"document_id": document_id, "api_url": None}, 404)
    hits = [p for p in document["passages"] if p.get("matches")]
    for passage in document["passages"]:
        section = passage["section"]
        heading = bool(section) and passage["text"].strip() == section[-1].strip()
        passage["heading_level"] = min(len(section) + 1, 6) if heading else None
    context = {
        "document": document,
        "title": document["title"] or "".join(filter(None, (document["school"], document["period"], "工作计划"))),
        "meta": [(label, document[key]) for key, label in DOCUMENT_FIELDS if document.get(key) not in (None, "")],
        "q": q.strip(),
        "query_error": error,
        "hits": hits,
        "mentions": sum(p["matches"] for p in hits),
        "search_url": SearchState(q=q.strip()).url() if q.strip() else None,
        "api_url": _url(f"/api/documents/{document['id']}", {"q": q.strip()}),
    }
    return _render(request, "document.html", context)


# -- compare ------------------------------------------------------------------------------


def _bar_class(share: float, top: float) -> str:
    """Coverage bar width as a class w0..w100 (steps of 5), relative to the widest column."""
    if share <= 0 or top <= 0:
        return "w0"
    return f"w{max(5, round(share / top * 20) * 5)}"


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


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    snapshot: SnapshotDep,
    book: ThemesDep,
    theme: str = "",
    q: str = "",
    documents: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    catalog = list_documents(snapshot)["documents"]
    wanted = [int(v) for part in documents or [] for v in part.replace("，", ",").split(",") if v.strip().isdigit()]
    known = {d["id"] for d in catalog}
    chosen = [d for d in wanted if d in known]
    ids = chosen or None
    chosen_set = set(chosen) or known
    context: dict[str, Any] = {
        "themes": book.listing()["themes"], "theme": theme, "q": q, "error": None, "comparison": None,
        "plans": [{**d, "checked": d["id"] in chosen_set} for d in catalog],
        "documents_param": ",".join(map(str, chosen)) or None,
    }
    status = 200
    asked = q.strip() or theme.strip()
    if asked:
        try:
            resolved = book.resolve(asked)
            context["comparison"] = _comparison_view(snapshot, resolved, ids)
        except QueryError as exc:
            context["error"] = _error_view(asked, exc)
            status = 400
    context["matrix"] = _matrix_view(snapshot, list(book), ids, context["documents_param"])
    context["api_url"] = _url("/api/compare", {"theme": asked, "documents": context["documents_param"]}) if asked else None
    return _render(request, "compare.html", context, status)


PASSAGES_PER_COLUMN = 8  # the page shows the best few; the document page has them all


def _comparison_view(snapshot: Snapshot, theme: Theme, ids: list[int] | None) -> dict[str, Any]:
    result = compare(snapshot, theme, ids, per_column=PASSAGES_PER_COLUMN)
    top = max((c["coverage"]["share"] for c in result["columns"]), default=0.0)
    query = _theme_query(theme)
    documents = ",".join(str(c["document"]["document_id"]) for c in result["columns"]) if ids else None
    for column in result["columns"]:
        column["bar"] = _bar_class(column["coverage"]["share"], top)
        doc_url = f"/documents/{column['document']['document_id']}"
        column["url"] = _url(doc_url, {"q": query})
        for passage in column["passages"]:
            passage["url"] = _url(doc_url, {"q": query}) + f"#p{passage['id']}"
        for commitment in column["commitments"]:
            commitment["url"] = _url(doc_url, {"q": query}) + f"#p{commitment['passage_id']}"
    params = {"theme": theme.query if theme.query is not None else theme.name, "documents": documents}
    result["downloads"] = {fmt: _url("/api/compare", {**params, "format": fmt}) for fmt in ("csv", "xlsx")}
    return result


def _matrix_view(snapshot: Snapshot, themes: list[Theme], ids: list[int] | None, documents: str | None) -> dict[str, Any]:
    result = matrix(snapshot, themes, ids)
    heat = _heat_classes([c["per_10k"] for row in result["rows"] for c in row["cells"]])
    for row in result["rows"]:
        row["url"] = _url("/compare", {"theme": row["theme"], "documents": documents})
        for cell in row["cells"]:
            cell["heat"] = heat.get(cell["per_10k"], "h1") if cell["mentions"] else "h0"
    result["downloads"] = {fmt: _url("/api/matrix", {"documents": documents, "format": fmt}) for fmt in ("csv", "xlsx")}
    result["legend"] = [f"h{n}" for n in range(HEAT_LEVELS + 1)]
    return result
