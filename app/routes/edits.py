"""Correct a plan's metadata: PATCH /api/documents/{id}, behind the admin token like uploads.

The serving process never writes, so the edit goes to the indexer child (app/indexer_child.py),
which stores it in the catalog (indexer/corrections.py) and commits the plan's new metadata
to the index; the server then loads that generation, as after an upload.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from app import models
from app.documents import document_summary
from app.indexer_child import IndexerUnavailable
from app.routes.admin import GUARDED, Admin, _error
from indexer.corrections import EditRejected, validate_edits
from indexer.metadata import EDITABLE

router = APIRouter(prefix="", tags=["admin"])
MAX_BODY = 16 * 1024

EDIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": False,
                    "properties": {
                        "school": {"type": "string", "description": "The school's canonical name."},
                        "unit": {"type": "string", "description": "A part of the school: 德育处, 教务处, 年级组 …"},
                        "level": {"type": "string", "description": "幼儿园, 小学, 初中, 高中, 中学, 完全中学, 九年一贯制, 十二年一贯制, 中职, 特殊教育 or 教育行政."},
                        "period": {"type": "string", "description": "As written (2024—2025学年度第一学期); sets year, year_end and term unless year is given."},
                        "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
                        "region": {"type": "string", "description": "Province, city, district, e.g. 浙江省绍兴市越城区."},
                    },
                },
                "example": {"school": "绍兴市第一中学", "level": "高中"},
            }
        },
    }
}


@router.patch(
    "/api/documents/{document_id}", response_model=models.DocumentSummary, openapi_extra=EDIT_BODY,
    summary="Correct a plan's school, unit, level, period, year or region; needs the admin token",
    description=(
        "Stored in the catalog per file path: the edit survives re-indexing and a replaced file at the "
        "same path, and each field it sets shows `edited` in `sources`. Answers with the plan's metadata "
        "as search now shows it."
    ),
    responses={400: _error(400, "Not a JSON object of editable fields, or a value they cannot hold."),
               404: _error(404, "No such plan."), **GUARDED},
)
async def edit_document(_admin: Admin, request: Request,
                        document_id: Annotated[int, PathParam(ge=1, le=2**62)]) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(400, f"请求体太大（上限 {MAX_BODY} 字节）。")
    try:
        fields = validate_edits(json.loads(body or b"null"))
    except ValueError:
        raise HTTPException(400, "请求体应是 JSON 对象，例如 {\"school\": \"绍兴市第一中学\"}。") from None
    except EditRejected as exc:
        raise HTTPException(400, f"无法修改：{exc}（可修改：{'、'.join(EDITABLE)}）") from None
    state = request.app.state
    try:
        document = await run_in_threadpool(state.indexer.edit, document_id, fields, wait=state.settings.plans_admin_wait)
    except IndexerUnavailable as exc:
        raise HTTPException(503, f"暂时无法修改：{exc}") from None
    if document is None:
        raise HTTPException(404, f"没有编号为 {document_id} 的计划。")
    snapshot = await run_in_threadpool(state.holder.reload_now)
    plan_index = snapshot.plan_by_id.get(document_id)
    if plan_index is None:
        raise HTTPException(404, f"没有编号为 {document_id} 的计划。")
    return document_summary(snapshot, plan_index)
