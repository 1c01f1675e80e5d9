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

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.documents import DOCUMENT_SORTS, DocumentNotFound, get_document
from app.facets import split_values
from app.limits import SearchFirst
from app.query import FIELD_LABELS, QueryError, parse
from app.routes.api import SnapshotDep
from app.routes.rendering import int_param as _int, render as _render, url as _url
from app.routes.home import HomeState, home_context
from app.search import ALL, FACETS, SearchRequest, search
from app.search_export import LABELS
from app.snapshot import Snapshot
from app.vocabulary import LABELS as WORDS
from app.routes.tray import carry_cmp, format_cmp, parse_cmp, tray, tray_toggle
from app.routes.views import related_plans, year_histogram

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
GROUPS_PER_PAGE = 10
PER_GROUP_CHOICES = (3, ALL)
FACET_TOP = 8  # values a facet shows before "更多"
EXAMPLES = ("劳动教育", "\"课后服务\" year:2024", "心理 OR 心育", "劳动 -家务", "双减 region:淄博", "德")
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
    env.filters["carry_cmp"] = lambda url, request: carry_cmp(request, url)
    env.globals.update(tray=tray, tray_toggle=tray_toggle, words=WORDS)
    return Jinja2Templates(env=env)


# -- search ------------------------------------------------------------------------------


Values = tuple[str, ...]


@dataclass(frozen=True)
class SearchState:
    """Everything the search page's URL holds; defaults are left out of the links it builds.
    Facet fields hold several values (repeated parameters in the links it builds)."""

    q: str = ""
    school: Values = ()
    year: Values = ()
    region: Values = ()
    level: Values = ()
    page: int = 1
    sort: str = "relevance"
    per_group: int = 3
    match: str = "exact"
    more: str = ""  # the facet whose "更多" list is open, and the text its values are searched for
    more_q: str = ""
    cmp: str = ""  # the comparison tray (app.routes.tray), carried by every link

    def url(self, **changes: Any) -> str:
        """This state's URL with `changes`; any change but the page itself goes back to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        changes.setdefault("more", "")
        changes.setdefault("more_q", "")
        state = replace(self, **changes)
        params = asdict(state)
        params["page"] = state.page if state.page != 1 else None
        params["sort"] = state.sort if state.sort != "relevance" else None
        params["per_group"] = state.per_group if state.per_group != 3 else None
        params["match"] = state.match if state.match != "exact" else None
        return _url("/", params)

    def api_url(self, **extra: Any) -> str:
        params = {**asdict(self), "size": GROUPS_PER_PAGE, **extra}
        params.pop("more"), params.pop("more_q")
        params["cmp"] = None
        if params["match"] == "exact":
            params["match"] = None
        if extra.get("format"):
            params.update(page=None, size=None, per_group=None)
        return _url("/api/search", params)

    def filters(self) -> dict[str, Values]:
        return {name: getattr(self, name) for name in FACETS if getattr(self, name)}


def _facet_view(state: SearchState, facets: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """[{"name", "label", "top": [bucket], "more": [bucket], "more_open", "more_q", "hidden"}],
    bucket = {"value", "count", "passages", "selected", "url"}: the first FACET_TOP values (and
    every selected one) in `top`, the others in `more`, searched for `more_q` when it is this facet's."""
    out = []
    for name in FACETS:
        current = list(getattr(state, name))
        buckets = []
        for b in facets.get(name, []):
            values = [v for v in current if v != b["value"]] if b["selected"] else [*current, b["value"]]
            buckets.append({**b, "url": state.url(**{name: tuple(values)})})
        top = [b for i, b in enumerate(buckets) if i < FACET_TOP or b["selected"]]
        more = [b for b in buckets if b not in top]
        searched = state.more_q.strip() if state.more == name else ""
        if searched:  # every value of the facet that contains it, the top ones too
            more = [b for b in buckets if searched.casefold() in b["value"].casefold()]
        hidden = {"q": state.q, **{k: list(v) for k, v in state.filters().items()},
                  "sort": None if state.sort == "relevance" else state.sort,
                  "per_group": None if state.per_group == 3 else state.per_group,
                  "match": None if state.match == "exact" else state.match}
        out.append({"name": name, "label": FIELD_LABELS[name], "top": top, "more": more,
                    "more_total": len(buckets) - len(top), "more_open": state.more == name, "more_q": searched,
                    "hidden": [(k, v) for k, vs in hidden.items() if vs not in (None, "")
                               for v in (vs if isinstance(vs, list) else [vs])]})
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
                               "result": None, "error": None, "api_url": None, "home": None}
    request = SearchRequest(q=state.q, school=list(state.school), year=list(state.year), region=list(state.region),
                            level=list(state.level), page=state.page, size=GROUPS_PER_PAGE,
                            per_group=state.per_group, sort=state.sort, match=state.match)
    try:
        result = search(snapshot, request)
    except QueryError as exc:
        context["error"] = _error_view(state.q, exc)
        return context, 400
    for group in result["groups"]:
        group["url"] = _url(f"/documents/{group['document_id']}", {"q": state.q, "cmp": state.cmp})
        group["kwic_url"] = _url("/kwic", {"q": state.q, "school": group["school"], "cmp": state.cmp})
    context.update(
        result=result,
        facets=_facet_view(state, result["facets"]),
        labels=LABELS,
        loose_url=state.url(match="loose") if result["loose"] and result["loose"]["total"] else None,
        exact_url=state.url(match="exact") if state.match == "loose" else None,
        downloads={fmt: state.api_url(format=fmt) for fmt in ("csv", "xlsx")},
        active=[{"label": FIELD_LABELS[k], "value": v, "url": state.url(**{k: tuple(x for x in vs if x != v)})}
                for k, vs in state.filters().items() for v in vs],
        pages=_pages(state, result["documents"]),
        sort_urls={s: state.url(sort=s) for s in ("relevance", "year")},
        per_group_urls=[(n, state.url(per_group=n)) for n in PER_GROUP_CHOICES],
        api_url=state.api_url(),
        histogram=year_histogram(result, lambda year: state.url(year=(year,))), kwic_url=_url("/kwic", {"q": state.q, **state.filters()}),
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


Many = Annotated[list[str] | None, Query()]


@router.get("/", response_class=HTMLResponse)
def search_page(
    _first: SearchFirst,
    request: Request,
    snapshot: SnapshotDep,
    q: str = "",
    school: Many = None,
    year: Many = None,
    region: Many = None,
    level: Many = None,
    kind: Many = None,
    page: str | None = None,
    sort: str = "relevance",
    per_group: str | None = None,
    match: str = "exact",
    more: str = "",
    more_q: str = "",
    cmp: str = "",
) -> HTMLResponse:
    if not q.strip():
        home = HomeState(
            school=tuple(split_values(school)), region=tuple(split_values(region)), level=tuple(split_values(level)),
            year=tuple(split_values(year)), kind=tuple(split_values(kind)),
            sort=sort if sort in DOCUMENT_SORTS else "id", page=_int(page, 1, 1, 100_000))
        context, status = home_context(snapshot, home)
        context.update(state=SearchState(), examples=[(e, SearchState(q=e).url()) for e in EXAMPLES], result=None, error=None)
        return _render(request, "search.html", context, status)
    state = SearchState(
        q=q, school=tuple(split_values(school)), year=tuple(split_values(year)), region=tuple(split_values(region)),
        level=tuple(split_values(level)), page=_int(page, 1, 1, 10_000), sort=sort if sort == "year" else "relevance",
        per_group=_int(per_group, 3, 0, 10_000), match="loose" if match == "loose" else "exact",
        more=more if more in FACETS else "", more_q=more_q[:100], cmp=format_cmp(parse_cmp(cmp)),
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
        "search_url": carry_cmp(request, SearchState(q=q.strip()).url()) if q.strip() else None,
        "api_url": _url(f"/api/documents/{document['id']}", {"q": q.strip()}),
        "related": related_plans(snapshot, document["id"]),
    }
    return _render(request, "document.html", context)
