"""Theme routes: the dictionary, the side-by-side comparison and the matrix (JSON, CSV, XLSX)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from app import models
from app.memory import trim
from app.priority import background_steps
from app.compare import Comparison, compare, matrix, prepare
from app.compare_summary import ORDERS, SORTS, summary
from app.selection import clean_filters, parse_documents, select_plans
from app.compare_export import compare_workbook, matrix_workbook
from app.export import COMPARE_HEADER, CSV_TYPE, MATRIX_HEADER, XLSX_TYPE, compare_rows, content_disposition, matrix_rows, to_csv
from app.limits import Heavy, check_comparison, check_matrix, comparison_passages
from app.routes.answers import json_response, plain
from app.routes.api import ERRORS, SnapshotDep
from app.themes import ThemeBook

router = APIRouter(prefix="", tags=["themes"])
FILES: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON, or a CSV / XLSX download with format=csv|xlsx.",
          "content": {"text/csv": {}, XLSX_TYPE: {}}},
    **ERRORS,
    400: {"model": models.ErrorBody, "description": "Bad query or parameter, or an answer too large (`answer_too_large`: the message says how to narrow it)."},
    503: {"model": models.ErrorBody, "description": "Too many heavy requests at once (PLANS_HEAVY_REQUESTS); retry after the Retry-After seconds."},
}


def current_themes(request: Request) -> ThemeBook:
    return request.app.state.themes  # type: ignore[no-any-return]


ThemesDep = Annotated[ThemeBook, Depends(current_themes)]
Documents = Annotated[str | None, Query(max_length=2000, description="Plan ids, comma-separated (1,2,3), in column order; default: every plan by year then id.")]
School = Annotated[str | None, Query(max_length=200, description="Only plans whose school contains this.")]
Year = Annotated[str | None, Query(max_length=20, description="A year (2024) or a range (2022-2024).")]
Region = Annotated[str | None, Query(max_length=200, description="Only plans whose region contains this.")]
Level = Annotated[str | None, Query(max_length=50, description="Only plans of this level (小学, 初中, 教育行政 …).")]
Format = Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="json, or csv / xlsx as a download.")]


@router.get("/api/themes", response_model=models.ThemeList, summary="The theme dictionary")
def api_themes(themes: ThemesDep) -> dict[str, Any]:
    return themes.listing()


@router.get("/api/compare", response_model=models.Comparison, responses=FILES, summary="How each plan treats one theme",
            description="Past PLANS_MAX_ANSWER_PASSAGES passages (counted before the answer is built) a 400 "
                        "`answer_too_large` says how to narrow it (per_column, documents, filters); past "
                        "PLANS_HEAVY_REQUESTS comparisons, matrices and exports at once, a 503 with Retry-After. "
                        "The JSON is streamed, written as its columns are built; searches running meanwhile go first.")
def api_compare(
    _heavy: Heavy,
    request: Request,
    snapshot: SnapshotDep,
    themes: ThemesDep,
    theme: Annotated[str, Query(min_length=1, max_length=500, description="A dictionary theme name, or a query in the query language. Filters written in the query (region:淄博) select the plans (columns), like the URL filters; they never make a plan 未提及.")],
    documents: Documents = None,
    school: School = None,
    year: Year = None,
    region: Region = None,
    level: Level = None,
    format: Format = "json",
    per_column: Annotated[int, Query(ge=0, le=10_000, description="Passages per column, the best ones in document order; 0 (default) means all. Exports always hold all.")] = 0,
) -> Any:
    chosen = themes.resolve(theme)
    filters = {"school": school, "year": year, "region": region, "level": level}
    ids, per_column = parse_documents(documents), per_column if format == "json" else 0
    check_comparison(comparison_passages(snapshot, chosen, ids, filters, per_column),
                     request.app.state.settings.plans_max_answer_passages, export=format != "json")
    if format == "json":
        return _streamed(prepare(snapshot, chosen, ids, filters, per_column))
    result = compare(snapshot, chosen, ids, filters, per_column)
    if format == "csv":
        return _download(to_csv(COMPARE_HEADER, compare_rows(result)), CSV_TYPE, "compare", chosen.name, "csv")
    return _download(compare_workbook(result, str(request.base_url)), XLSX_TYPE, "compare", chosen.name, "xlsx")


@router.get("/api/compare/summary", response_model=models.CompareSummary, responses=ERRORS,
            summary="One theme over many plans: one row of figures per selected plan")
def api_compare_summary(
    _heavy: Heavy,
    snapshot: SnapshotDep,
    themes: ThemesDep,
    theme: Annotated[str, Query(min_length=1, max_length=500, description="A dictionary theme name, or a query; filters written in it select plans, like the URL filters.")],
    documents: Documents = None,
    school: School = None,
    year: Year = None,
    region: Region = None,
    level: Level = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$", description="Row order: " + ", ".join(SORTS) + ".")] = "mentions",
    order: Annotated[str, Query(pattern="^(" + "|".join(ORDERS) + ")$", description="asc or desc.")] = "desc",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=0, le=10_000, description="Rows per page; 0 means all.")] = 50,
) -> Any:
    """The compare page's summary table as JSON: the same coverage as /api/compare (same hits and
    mentions) without passages, terms and commitments, so it stays small at thousands of plans."""
    filters = {"school": school, "year": year, "region": region, "level": level}
    return _json(summary(snapshot, themes.resolve(theme), parse_documents(documents), filters,
                         sort=sort, order=order, page=page, size=size))


@router.get("/api/matrix", response_model=models.Matrix, responses=FILES, summary="Coverage of themes × plans",
            description="Past PLANS_MAX_ANSWER_PASSAGES cells (themes × plans) a 400 `answer_too_large` says how to "
                        "narrow it; past PLANS_HEAVY_REQUESTS heavy requests at once, a 503 with Retry-After.")
def api_matrix(
    _heavy: Heavy,
    request: Request,
    snapshot: SnapshotDep,
    themes: ThemesDep,
    themes_param: Annotated[str | None, Query(alias="themes", max_length=5000, description="Theme names or queries, comma-separated; default: the whole dictionary.")] = None,
    documents: Documents = None,
    school: School = None,
    year: Year = None,
    region: Region = None,
    level: Level = None,
    format: Format = "json",
) -> Any:
    filters = {"school": school, "year": year, "region": region, "level": level}
    chosen, ids = themes.resolve_list(themes_param), parse_documents(documents)
    check_matrix(len(chosen) * len(select_plans(snapshot, ids, clean_filters(filters))),
                 request.app.state.settings.plans_max_answer_passages)
    result = matrix(snapshot, chosen, ids, filters)
    label = "" if themes_param is None else "_".join(r["theme"] for r in result["rows"])
    if format == "csv":
        return _download(to_csv(MATRIX_HEADER, matrix_rows(result)), CSV_TYPE, "matrix", label, "csv")
    if format == "xlsx":
        return _download(matrix_workbook(result, str(request.base_url)), XLSX_TYPE, "matrix", label, "xlsx")
    return _json(result)


LARGE = 100  # columns (compare) or plans (matrix) past which memory is handed back after answering


def _json(result: dict[str, Any]) -> Response:
    """The answer as built (app.routes.answers); memory handed back after a large one."""
    if "columns" in result:
        size = len(result["columns"])
    elif isinstance(result.get("documents"), list):
        size = len(result["documents"])
    else:
        size = len(result.get("rows", ()))
    # glibc keeps the freed dictionaries of a large answer unless asked to hand them back
    return json_response(result, BackgroundTask(trim) if size > LARGE else None)


COLUMNS_PER_CHUNK = 16  # columns written per chunk of a streamed comparison


def _streamed(comparison: Comparison) -> StreamingResponse:
    """The comparison's JSON written as its columns are built, a few at a time: the answer
    never sits whole in memory, and the heavy slot is held until its last byte is sent."""

    def chunks() -> Iterator[bytes]:
        head = orjson.dumps(comparison.head, default=plain)
        pending = [head[:-1] + b',"columns":[']
        for n, column in enumerate(comparison.columns()):
            pending.append((b"," if n else b"") + orjson.dumps(column, default=plain))
            if len(pending) >= COLUMNS_PER_CHUNK:
                yield b"".join(pending)
                pending = []
        pending.append(b"]}")
        yield b"".join(pending)

    large = comparison.head["documents"] > LARGE
    return StreamingResponse(background_steps(chunks()), media_type="application/json",
                             background=BackgroundTask(trim) if large else None)


def _download(body: bytes, media_type: str, kind: str, label: str, extension: str) -> Response:
    """An export, its memory handed back once sent (an XLSX is built from a whole comparison)."""
    return Response(body, media_type=media_type, headers={"Content-Disposition": content_disposition(kind, label, extension)},
                    background=BackgroundTask(trim))
