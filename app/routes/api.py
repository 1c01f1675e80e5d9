"""JSON routes: thin adapters from HTTP parameters to the data functions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from app import models
from app.documents import DocumentNotFound, get_document, list_documents
from app.search import SORTS, SearchRequest, search
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


@router.get("/api/search", response_model=models.SearchResult, responses=ERRORS, summary="Search passages, grouped by plan")
def api_search(
    snapshot: SnapshotDep,
    q: Annotated[str, Query(description="The query (see the README): terms, \"phrases\", OR, NOT/-, (), school: year: region: level:.")],
    school: Annotated[str | None, Query(max_length=200, description="Only plans whose school contains this.")] = None,
    year: Annotated[str | None, Query(max_length=20, description="A year (2024) or a range (2022-2024).")] = None,
    region: Annotated[str | None, Query(max_length=200, description="Only plans whose region contains this.")] = None,
    level: Annotated[str | None, Query(max_length=50, description="Only plans of this level (小学, 初中, 教育行政 …).")] = None,
    page: Annotated[int, Query(ge=1, le=10_000, description="Page of groups, from 1.")] = 1,
    size: Annotated[int, Query(ge=1, le=100, description="Groups (plans) per page.")] = 10,
    per_group: Annotated[int, Query(ge=0, le=10_000, description="Passages per plan; 0 means all of them.")] = 3,
    sort: Annotated[str, Query(pattern="^(relevance|year)$", description="relevance, or year (newest first).")] = "relevance",
) -> dict[str, Any]:
    assert sort in SORTS
    request = SearchRequest(q=q, school=school, year=year, region=region, level=level,
                            page=page, size=size, per_group=per_group, sort=sort)
    return search(snapshot, request)


@router.get("/api/documents", response_model=models.DocumentList, summary="Every plan with its metadata")
def api_documents(snapshot: SnapshotDep) -> dict[str, Any]:
    return list_documents(snapshot)


@router.get("/api/documents/{document_id}", response_model=models.DocumentDetail,
            responses={**ERRORS, **NOT_FOUND}, summary="One plan: metadata, outline and passages")
def api_document(
    snapshot: SnapshotDep,
    document_id: Annotated[int, Path(ge=1, le=2**62)],
    q: Annotated[str | None, Query(description="Optional query whose matches are highlighted.")] = None,
) -> dict[str, Any]:
    try:
        return get_document(snapshot, document_id, q=q or None)
    except DocumentNotFound:
        raise HTTPException(404, f"没有编号为 {document_id} 的计划。") from None


@router.get("/healthz", response_model=models.Health, summary="Liveness, schema version and counts")
def healthz(snapshot: SnapshotDep) -> dict[str, Any]:
    return {
        "status": "ok",
        "schema_version": SCHEMA_VERSION,
        "documents": len(snapshot.plans),
        "passages": snapshot.size,
        "index_generation": snapshot.key[1],
        "loaded_at": snapshot.loaded_at,
    }
