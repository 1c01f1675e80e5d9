"""Routes of the corpus views (concordance, trends, similar plans): each JSON answer, its CSV and
its page are built from one data function in app/views/."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from app.export import CSV_TYPE, content_disposition, to_csv
from app.limits import Heavy
from app.query import QueryError
from app.documents import DocumentNotFound
from app.routes.api import ERRORS, NOT_FOUND, SnapshotDep
from app.routes.compare import ThemesDep
from app.routes.rendering import int_param as _int, render as _render, url as _url
from app.search import SearchRequest
from app.themes import ThemeBook
from app.views import charts, diff, echo, kwic, similar, terms, trends

router = APIRouter(tags=["views"])
CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON, or a CSV download with format=csv.", "content": {"text/csv": {}}},
    **ERRORS,
}
KWIC_PAGE_SIZE = 50
School = Annotated[str | None, Query(max_length=200, description="Only plans whose school contains this.")]
Year = Annotated[str | None, Query(max_length=20, description="A year (2024) or a range (2022-2024).")]
Region = Annotated[str | None, Query(max_length=200, description="Only plans whose region contains this.")]
Level = Annotated[str | None, Query(max_length=50, description="Only plans of this level (小学, 初中, 教育行政 …).")]
Format = Annotated[str, Query(pattern="^(json|csv)$", description="json, or csv as a download.")]


def _csv(header: list[str], rows: list[list[Any]], kind: str, label: str) -> Response:
    return Response(to_csv(header, rows), media_type=CSV_TYPE,
                    headers={"Content-Disposition": content_disposition(kind, label, "csv")})




# -- concordance ---------------------------------------------------------------------------


@router.get("/api/kwic", responses=CSV_ANSWER, summary="Concordance: every occurrence with its context")
def api_kwic(
    _heavy: Heavy,
    snapshot: SnapshotDep,
    q: Annotated[str, Query(max_length=500, description="The query; its positive terms are the matches shown.")],
    school: School = None,
    year: Year = None,
    region: Region = None,
    level: Level = None,
    context: Annotated[int, Query(ge=1, le=kwic.MAX_CONTEXT, description="Characters of context on each side.")] = 20,
    sort: Annotated[str, Query(pattern="^(plan|left|right)$", description="plan (plan and position), left (the words before the match, nearest first) or right (the words after).")] = "plan",
    page: Annotated[int, Query(ge=1, le=100_000, description="Page of lines, from 1.")] = 1,
    size: Annotated[int, Query(ge=1, le=1000, description="Lines per page (CSV: every line).")] = KWIC_PAGE_SIZE,
    format: Format = "json",
) -> Any:
    """One line per occurrence of the query's terms in the passages the query matches: left
    context | match | right context (never across a passage), with school, period, section path
    and passage id; `per_plan` counts the lines of each plan. CSV holds every line."""
    request = SearchRequest(q=q, school=school, year=year, region=region, level=level)
    result = kwic.kwic(snapshot, request, context=context, sort=sort, page=page, size=0 if format == "csv" else size)
    if format == "csv":
        return _csv(kwic.CSV_HEADER, kwic.csv_rows(result), "kwic", q)
    return result


@router.get("/kwic", response_class=HTMLResponse, include_in_schema=False)
def kwic_page(_heavy: Heavy, request: Request, snapshot: SnapshotDep, q: str = "", school: str = "", year: str = "",
              region: str = "", level: str = "", context: str | None = None, sort: str = "plan",
              page: str | None = None) -> HTMLResponse:
    state = {"q": q, "school": school.strip(), "year": year.strip(), "region": region.strip(), "level": level.strip(),
             "context": _int(context, 20, 1, kwic.MAX_CONTEXT), "sort": sort if sort in kwic.SORTS else "plan",
             "page": _int(page, 1, 1, 100_000)}
    page_context: dict[str, Any] = {"state": state, "result": None, "error": None, "api_url": None}
    if not q.strip():
        return _render(request, "kwic.html", page_context)
    search_request = SearchRequest(q=q, school=state["school"], year=state["year"], region=state["region"], level=state["level"])
    try:
        result = kwic.kwic(snapshot, search_request, context=state["context"], sort=state["sort"],
                           page=state["page"], size=KWIC_PAGE_SIZE)
    except QueryError as exc:
        page_context["error"] = exc.message
        return _render(request, "kwic.html", page_context, 400)

    def link(**changes: Any) -> str:
        params = {**state, "page": None, **changes}
        params["context"] = params["context"] if params["context"] != 20 else None
        params["sort"] = params["sort"] if params["sort"] != "plan" else None
        params["page"] = params["page"] if params["page"] not in (None, 1) else None
        return _url("/kwic", params)

    last = max(1, math.ceil(result["total"] / KWIC_PAGE_SIZE))
    numbers = sorted({1, last, *range(max(1, state["page"] - 2), min(last, state["page"] + 2) + 1)})
    links: list[dict[str, Any] | None] = []
    for number in numbers:
        if links and links[-1] is not None and number - links[-1]["number"] > 1:
            links.append(None)
        links.append({"number": number, "url": link(page=number)})
    for row in result["lines"]:
        row["url"] = _url(f"/documents/{row['document_id']}", {"q": q}) + f"#p{row['passage_id']}"
    api_params = {k: state[k] for k in ("q", "school", "year", "region", "level")} | {"context": state["context"], "sort": state["sort"]}
    page_context.update(
        result=result,
        sort_urls={s: link(sort=s) for s in kwic.SORTS},
        pages={"current": state["page"], "last": last, "links": links,
               "prev": link(page=state["page"] - 1) if state["page"] > 1 else None,
               "next": link(page=state["page"] + 1) if state["page"] < last else None},
        csv_url=_url("/api/kwic", {**api_params, "format": "csv"}),
        trends_url=_url("/trends", {"q": q}),
        api_url=_url("/api/kwic", {**api_params, "page": state["page"] if state["page"] != 1 else None}),
    )
    return _render(request, "kwic.html", page_context)


# -- trends --------------------------------------------------------------------------------


def _trend_query(book: ThemeBook, q: str | None, theme: str | None) -> tuple[Any, dict[str, Any]]:
    """The AST to count and what the answer says was asked: `theme` (a dictionary name or a query) or `q`."""
    if theme and theme.strip():
        resolved = book.resolve(theme)
        return resolved.node, {"q": None, "theme": resolved.name}
    if q and q.strip():
        return SearchRequest(q=q).node(), {"q": q, "theme": None}
    raise QueryError("empty", "请给出 q（查询）或 theme（主题）。", 0)


@router.get("/api/trends", responses=CSV_ANSWER, summary="Per year: plans that mention a query or theme")
def api_trends(
    _heavy: Heavy,
    snapshot: SnapshotDep,
    book: ThemesDep,
    q: Annotated[str | None, Query(max_length=500, description="A query in the query language.")] = None,
    theme: Annotated[str | None, Query(max_length=500, description="A dictionary theme name (or a query); wins over q.")] = None,
    by: Annotated[str, Query(pattern="^year$", description="The time axis; only year.")] = "year",
    split: Annotated[str, Query(pattern="^(none|level|region)$", description="One line per level or per region (city), or none.")] = "none",
    format: Format = "json",
) -> Any:
    """For each year from the first plan's to the last's (zeros explicit): plans of that year,
    plans mentioning it, their share, matching passages, mentions and mentions per 10,000
    characters, in one series or one per level / region."""
    node, label = _trend_query(book, q, theme)
    result = trends.trends(snapshot, node, split=split, label=label)
    if format == "csv":
        return _csv(trends.CSV_HEADER, trends.csv_rows(result), "trends", label["theme"] or label["q"] or "")
    return result


METRICS = {"share": "提及该主题的计划占比", "per_10k": "每万字提及次数", "mentioning": "提及的计划数"}


@router.get("/trends", response_class=HTMLResponse, include_in_schema=False)
def trends_page(_heavy: Heavy, request: Request, snapshot: SnapshotDep, book: ThemesDep, q: str = "", theme: str = "",
                split: str = "none", metric: str = "share") -> HTMLResponse:
    split = split if split in trends.SPLITS else "none"
    metric = metric if metric in METRICS else "share"
    state = {"q": q, "theme": theme, "split": split, "metric": metric}
    context: dict[str, Any] = {"state": state, "result": None, "error": None, "api_url": None,
                               "themes": [t.name for t in book], "metrics": METRICS, "splits": trends.SPLITS}
    if not (q.strip() or theme.strip()):
        return _render(request, "trends.html", context)
    try:
        node, label = _trend_query(book, q, theme)
    except QueryError as exc:
        context["error"] = exc.message
        return _render(request, "trends.html", context, 400)
    result = trends.trends(snapshot, node, split=split, label=label)
    series = [(s["name"], [float(p[metric]) * (100 if metric == "share" else 1) if p["plans"] else None for p in s["points"]])
              for s in result["series"]]  # a year without plans of that series is a gap, not a zero
    asked = {"q": q or None, "theme": theme or None, "split": split if split != "none" else None}
    context.update(
        result=result,
        chart=charts.line_chart(METRICS[metric] + ("（%）" if metric == "share" else ""), result["years"], series),
        split_urls={s: _url("/trends", {**asked, "split": s if s != "none" else None, "metric": metric}) for s in trends.SPLITS},
        metric_urls={m: _url("/trends", {**asked, "metric": m}) for m in METRICS},
        csv_url=_url("/api/trends", {**asked, "format": "csv"}),
        kwic_url=_url("/kwic", {"q": q}) if q.strip() and not theme.strip() else None,
        api_url=_url("/api/trends", asked),
    )
    return _render(request, "trends.html", context)


def year_histogram(result: dict[str, Any], link: Callable[[str], str]) -> Markup | None:
    """The search page's small SVG of its matching passages per year (from the year facet), each
    bar linking to the search narrowed to that year; None when no hit has a year."""
    buckets = sorted(result["facets"].get("year", []), key=lambda b: b["value"])
    if not buckets:
        return None
    bars = [(b["value"], b["count"], link(b["value"])) for b in buckets]
    return charts.bar_chart("各年份命中段落数", bars)




# -- similar plans -------------------------------------------------------------------------

DocumentId = Annotated[int, Path(ge=1, le=2**62, description="The plan's id.")]


@router.get("/api/documents/{document_id}/similar", responses={**ERRORS, **NOT_FOUND}, summary="The plans most alike in their words")
def api_similar(snapshot: SnapshotDep, document_id: DocumentId,
                top: Annotated[int, Query(ge=1, le=100, description="How many plans.")] = similar.TOP) -> dict[str, Any]:
    """Whoosh's more-like-this over the jieba `words` field: the plan's key terms (Bo1) queried
    against the other plans' passages, scores summed by plan over the square root of its passage
    count; each plan with the key terms it shares, and `same_school` (the same Plan.school)."""
    return {**_found(similar.similar, snapshot, document_id, top=top),
            "same_school": _found(similar.same_school, snapshot, document_id)}


def _found(function: Any, snapshot: Any, document_id: int, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(snapshot, document_id, *args, **kwargs)
    except DocumentNotFound as exc:
        raise HTTPException(404, f"没有编号为 {exc.args[0]} 的计划。") from None


def related_plans(snapshot: Any, document_id: int) -> dict[str, Any]:
    """What the document page lists under the text: the same school's other plans and the most
    similar plans, each with a link to the plan and to the side-by-side diff."""
    found = similar.similar(snapshot, document_id, top=5)
    same = similar.same_school(snapshot, document_id)
    for plan in [*found["similar"], *same]:
        plan["url"] = f"/documents/{plan['document_id']}"
        plan["diff_url"] = _url(f"/documents/{document_id}/diff", {"other": plan["document_id"]})
    return {"similar": found["similar"], "same_school": same, "method": found["method"],
            "terms_url": f"/documents/{document_id}/terms",
            "echo_url": f"/documents/{document_id}/echo" if _is_bureau(snapshot, document_id) else None}


def _is_bureau(snapshot: Any, document_id: int) -> bool:
    meta = snapshot.plans[snapshot.plan_by_id[document_id]]
    return meta.get("kind") == echo.BUREAU_KIND or meta.get("level") == echo.BUREAU_LEVEL


# -- diff ----------------------------------------------------------------------------------


@router.get("/api/documents/{document_id}/diff", responses={**CSV_ANSWER, **NOT_FOUND}, summary="Two plans side by side, section by section")
def api_diff(snapshot: SnapshotDep, document_id: DocumentId,
             other: Annotated[int, Query(ge=1, le=2**62, description="The plan to compare with (B); the path's plan is A.")],
             format: Format = "json") -> Any:
    """Sections paired by the similarity of their headings (numbering stripped), passages marked
    added / removed / changed / unchanged with character-level `edits` for changed ones, and the
    changed commitments (quantified sentences) side by side; `same_school` says whether A and B
    are plans of one school. CSV: one row per passage."""
    result = _found(diff.diff, snapshot, document_id, other_id=other)
    if format == "csv":
        return _csv(diff.CSV_HEADER, diff.csv_rows(result), "diff", f"{document_id}-{other}")
    return result


@router.get("/documents/{document_id}/diff", response_class=HTMLResponse, include_in_schema=False)
def diff_page(request: Request, snapshot: SnapshotDep, document_id: str, other: str = "") -> HTMLResponse:
    a = int(document_id) if document_id.isdigit() and len(document_id) < 19 else 0
    b = int(other) if other.isdigit() and len(other) < 19 else 0
    if a not in snapshot.plan_by_id:
        return _render(request, "not_found.html", {"document_id": document_id, "api_url": None}, 404)
    choices = [{"id": m["id"], "label": f"{m.get('school') or m.get('title') or m['id']} {m.get('period') or ''}",
                "selected": m["id"] == b} for m in snapshot.plans if m["id"] != a]
    context: dict[str, Any] = {"document_id": a, "choices": choices, "result": None, "api_url": None,
                               "missing": bool(other) and b not in snapshot.plan_by_id}
    if b in snapshot.plan_by_id:
        result = diff.diff(snapshot, a, b)
        context.update(result=result, csv_url=_url(f"/api/documents/{a}/diff", {"other": b, "format": "csv"}),
                       swap_url=_url(f"/documents/{b}/diff", {"other": a}),
                       api_url=_url(f"/api/documents/{a}/diff", {"other": b}))
    return _render(request, "diff.html", context, 404 if context["missing"] else 200)


# -- distinctive terms ---------------------------------------------------------------------


@router.get("/api/documents/{document_id}/terms", responses={**ERRORS, **NOT_FOUND}, summary="Distinctive words and phrases of a plan")
def api_terms(snapshot: SnapshotDep, book: ThemesDep, document_id: DocumentId,
              theme: Annotated[str | None, Query(max_length=500, description="A dictionary theme or a query: only the plan's passages matching it; default: the whole plan.")] = None,
              top: Annotated[int, Query(ge=1, le=200, description="How many terms.")] = terms.TOP) -> dict[str, Any]:
    """Words and two-word phrases (adjacent jieba words) of the plan's theme passages against the
    rest of the corpus: log-odds ratio with an informative Dirichlet prior, z-scored; stopwords
    and generic planning words (data/generic_words.txt) held back."""
    node, name = _terms_theme(book, theme)
    return _found(terms.distinctive_terms, snapshot, document_id, node, theme_name=name, top=top)


def _terms_theme(book: ThemeBook, theme: str | None) -> tuple[Any, str | None]:
    if theme is None or not theme.strip():
        return None, None
    resolved = book.resolve(theme)
    return resolved.node, resolved.name


@router.get("/documents/{document_id}/terms", response_class=HTMLResponse, include_in_schema=False)
def terms_page(request: Request, snapshot: SnapshotDep, book: ThemesDep, document_id: str, theme: str = "") -> HTMLResponse:
    number = int(document_id) if document_id.isdigit() and len(document_id) < 19 else 0
    if number not in snapshot.plan_by_id:
        return _render(request, "not_found.html", {"document_id": document_id, "api_url": None}, 404)
    context: dict[str, Any] = {"document_id": number, "themes": [t.name for t in book], "state": {"theme": theme},
                               "result": None, "error": None,
                               "api_url": _url(f"/api/documents/{number}/terms", {"theme": theme})}
    try:
        node, name = _terms_theme(book, theme)
    except QueryError as exc:
        context["error"] = exc.message
        return _render(request, "terms.html", context, 400)
    result = terms.distinctive_terms(snapshot, number, node, theme_name=name)
    meta = snapshot.plans[snapshot.plan_by_id[number]]
    for term in result["terms"]:
        term["kwic_url"] = _url("/kwic", {"q": f'"{term["term"]}"', "school": meta.get("school"), "year": meta.get("year")})
    context["result"] = result
    return _render(request, "terms.html", context)


# -- a bureau's plan against its schools ---------------------------------------------------


def _theme_terms(book: ThemeBook) -> list[str]:
    return [term for theme in book for term in theme.terms]


@router.get("/api/documents/{document_id}/echo", responses={**CSV_ANSWER, **NOT_FOUND}, summary="Which tasks of a bureau plan its schools take up")
def api_echo(_heavy: Heavy, snapshot: SnapshotDep, book: ThemesDep, document_id: DocumentId, format: Format = "json") -> Any:
    """For a plan of kind bureau (教育行政): its numbered tasks against the school plans of its
    region in the same or the next year; per task and school the best matching passage, the
    shared phrases and theme terms, a score and whether it counts as taken up (a tasks × schools
    matrix, zeros explicit; `method` states how). 400 `not_bureau` for a school's plan."""
    result = _found(echo.echo, snapshot, document_id, _theme_terms(book))
    if format == "csv":
        return _csv(echo.CSV_HEADER, echo.csv_rows(result), "echo", str(document_id))
    return result


@router.get("/documents/{document_id}/echo", response_class=HTMLResponse, include_in_schema=False)
def echo_page(_heavy: Heavy, request: Request, snapshot: SnapshotDep, book: ThemesDep, document_id: str) -> HTMLResponse:
    number = int(document_id) if document_id.isdigit() and len(document_id) < 19 else 0
    if number not in snapshot.plan_by_id:
        return _render(request, "not_found.html", {"document_id": document_id, "api_url": None}, 404)
    context: dict[str, Any] = {"document_id": number, "result": None, "error": None,
                               "api_url": f"/api/documents/{number}/echo"}
    try:
        result = echo.echo(snapshot, number, _theme_terms(book))
    except QueryError as exc:
        context["error"] = exc.message
        return _render(request, "echo.html", context, 400)
    for row in result["matrix"]:
        for cell in row["cells"]:
            cell["url"] = f"/documents/{cell['document_id']}#p{cell['passage_id']}" if cell["passage_id"] else None
    context.update(result=result, csv_url=f"/api/documents/{number}/echo?format=csv")
    return _render(request, "echo.html", context)
