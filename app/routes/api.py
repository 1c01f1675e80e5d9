"""JSON routes: thin adapters from HTTP parameters to the data functions."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote_plus, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from app import models
from app.documents import DOCUMENT_SORTS, DocumentQuery, get_document, list_documents
from app.export import content_disposition
from app.limits import HeavyFile, SearchFirst
from app.routes.answers import json_response
from app.render import Table, renderer
from app.search import MATCHES, SORTS, SearchRequest, search
from app.search_export import documents_table, search_table
from app.snapshot import Snapshot
from indexer.schema import SCHEMA_VERSION

router = APIRouter(prefix="", tags=["api"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.ErrorBody, "description": "Bad query or parameter."},
    503: {"model": models.ErrorBody, "description": "The postgres backend's database is down or read-only (`database_unavailable`); retry."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": models.ErrorBody, "description": "No such plan."}}


def current_snapshot(request: Request) -> Snapshot:
    return request.app.state.holder.current()  # type: ignore[no-any-return]


SnapshotDep = Annotated[Snapshot, Depends(current_snapshot)]


FILES: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON, or a CSV / XLSX download with format=csv|xlsx.",
          "content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
    **ERRORS,
}
# Declared as one string (a comma list); a repeated parameter is read from the request too.
Values = Annotated[str | None, Query(max_length=500, description="A value, a comma list (a,b) or the parameter repeated: values of one field are ORed, fields ANDed.")]


def _all_values(request: Request, name: str) -> str | None:
    """Every value given for `name` (repeated parameters and comma lists), as one comma list."""
    given = [v for v in request.query_params.getlist(name) if v.strip()]
    return ",".join(given) if given else None


@router.get("/api/search", response_model=models.SearchResult, responses=FILES, summary="Search passages, grouped by plan")
def api_search(
    _heavy: HeavyFile,
    _first: SearchFirst,
    request: Request,
    snapshot: SnapshotDep,
    q: Annotated[str, Query(description="The query (see the README): terms, \"phrases\", OR (or, |), NOT/-/－, () or （）, school: year: region: level:.")],
    school: Values = None,
    year: Values = None,
    region: Values = None,
    level: Values = None,
    page: Annotated[int, Query(ge=1, le=10_000, description="Page of groups, from 1.")] = 1,
    size: Annotated[int, Query(ge=1, le=100, description="Groups (plans) per page.")] = 10,
    per_group: Annotated[int, Query(ge=0, le=10_000, description="Passages per plan; 0 means all of them.")] = 3,
    sort: Annotated[str, Query(pattern="^(relevance|year)$", description="relevance, or year (newest first).")] = "relevance",
    match: Annotated[str, Query(pattern="^(exact|loose)$", description="exact (default): characters contiguous; loose: punctuation and spaces ignored in text and query.")] = "exact",
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="json; csv or xlsx: every matching passage as a download (page, size, per_group ignored).")] = "json",
) -> Any:
    """Filters: school/region/level match a part of the plan's field, year a year or range; one
    field's values are ORed. Facets count plans, each counted with every filter but its own."""
    assert sort in SORTS and match in MATCHES
    school, year, region, level = (_all_values(request, n) for n in ("school", "year", "region", "level"))
    search_request = SearchRequest(q=q, school=school, year=year, region=region,
                                   level=level, page=page, size=size, per_group=per_group, sort=sort, match=match)
    if format != "json":
        return download(search_table(snapshot, search_request, base=str(request.base_url).rstrip("/")), format)
    result = search(snapshot, search_request)
    for name, buckets in result["facets"].items():
        selected = search_request.selections().get(name, [])
        rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in (name, "page")])
        alone, prefix = "/api/search?" + rest, "/api/search?" + rest + ("&" if rest else "") + quote_plus(name) + "="
        for bucket in buckets:  # this search's other parameters, encoded once per facet
            values = [v for v in selected if v != bucket["value"]] if bucket["selected"] else [*selected, bucket["value"]]
            bucket["toggle_url"] = prefix + quote_plus(",".join(values)) if values else alone
    return json_response(result)


def download(table: Table, format: str) -> StreamingResponse:
    """A table rendered by name as a file download (CSV streams row by row)."""
    chosen = renderer(format)
    return StreamingResponse(chosen.render(table), media_type=chosen.media_type,
                             headers={"Content-Disposition": content_disposition(table.kind, table.label, chosen.extension)})


@router.get("/api/documents", response_model=models.DocumentList, responses=FILES, summary="The plans with their metadata")
def api_documents(
    request: Request,
    snapshot: SnapshotDep,
    school: Values = None,
    region: Values = None,
    level: Values = None,
    year: Values = None,
    kind: Values = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(DOCUMENT_SORTS) + ")$", description="id (default), year (newest first), school, size (most characters first).")] = "id",
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1 (with size).")] = 1,
    size: Annotated[int | None, Query(ge=1, le=1000, description="Plans per page; without it, every plan.")] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="json, or csv / xlsx as a download.")] = "json",
) -> Any:
    """Without parameters, every plan by id (as before); the home page lists the same data."""
    school, region, level, year, kind = (_all_values(request, n) for n in ("school", "region", "level", "year", "kind"))
    query = DocumentQuery(school=school, region=region, level=level, year=year, kind=kind, sort=sort, page=page, size=size)
    listing = list_documents(snapshot, query)
    if format != "json":
        return download(documents_table(listing, base=str(request.base_url).rstrip("/")), format)
    return listing


@router.get("/api/documents/{document_id}", response_model=models.DocumentDetail,
            responses={**ERRORS, **NOT_FOUND}, summary="One plan: metadata, outline and passages")
def api_document(
    snapshot: SnapshotDep,
    document_id: Annotated[int, Path(ge=1, le=2**62)],
    q: Annotated[str | None, Query(description="Optional query whose matches are highlighted.")] = None,
) -> dict[str, Any]:
    return get_document(snapshot, document_id, q=q or None)  # DocumentNotFound: 404


@router.get("/healthz", response_model=models.Health, summary="Liveness, schema version and counts")
def healthz(request: Request) -> dict[str, Any]:
    """`degraded` with a reason when a newer generation was refused (a corrupt file) and an older one is served."""
    holder = request.app.state.holder
    snapshot = holder.current()
    status, reason = holder.health()
    return {
        "status": status,
        "reason": reason,
        "schema_version": SCHEMA_VERSION,
        "documents": len(snapshot.plans),
        "passages": snapshot.size,
        "index_generation": snapshot.key[1],
        "loaded_at": snapshot.loaded_at,
    }
