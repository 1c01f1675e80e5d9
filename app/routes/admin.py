"""Upload and delete plans: POST /api/documents and DELETE /api/documents/{id}, behind a token.

The serving process never writes the catalog or the index, so both hand the work to the
server's indexer child (app/indexer_child.py): one `python -m indexer worker` process,
started with the server (PLANS_INDEXER_WARM; otherwise at the first upload or delete) and
kept for the next ones, so its code and jieba stay loaded. It takes the same indexer lock
as an operator's `plans index`, per request:

- upload: the size is checked from Content-Length before the body is read, then while it
  streams. The file is saved as PLANS_HOME/uploads/<sha256>/<name> (that path is the plan's
  source: the same bytes uploaded twice are one plan) and the child reads and indexes it,
  waiting up to PLANS_ADMIN_WAIT seconds for another indexer's lock or another upload (503
  after that). A file the child cannot read, or with no text left once cleaned, is refused
  (422, with the reader's reason) and its saved copy deleted: nothing stored changes.
- delete: the child removes the plan (and an uploaded plan's file).

When the child succeeds the server loads the new index generation at once, so the answer
describes what search now shows. A child that overruns or dies is killed (503), which the
crash-safe pipeline makes harmless; the next request starts a new one. With
PLANS_ADMIN_TOKEN unset both answer 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import shutil
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app import models
from app.documents import document_summary
from app.indexer_child import IndexerChild
from app.holder import SnapshotHolder
from indexer.errors import IndexerUnavailable, StorageError, Unavailable, UploadRejected, describe_fault
from indexer.settings import Settings
from indexer.uploads import drop_if_orphan

logger = logging.getLogger(__name__)
router = APIRouter(prefix="", tags=["admin"])

MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file
NAME_BYTES = 200  # a saved upload's name, in UTF-8 bytes: room under the usual 255 for the suffix
_bearer = HTTPBearer(auto_error=False, description="PLANS_ADMIN_TOKEN; with none set, uploads and deletes are off.")


def _error(status: int, description: str) -> dict[str, Any]:
    return {"model": models.ErrorBody, "description": description}


GUARDED: dict[int | str, dict[str, Any]] = {
    401: _error(401, "Missing or wrong token."),
    403: _error(403, "Uploads and deletes are off: PLANS_ADMIN_TOKEN is not set."),
    503: _error(503, "Another indexer or upload held on for PLANS_ADMIN_WAIT seconds, the indexer child failed, died or "
                "overran, or the disk or the catalog refused the write (full, read-only, locked); the message is short, "
                "the details are in the server log."),
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary",
                                            "description": "A plan: .txt/.md (UTF-8 or GBK), .docx, .pdf or .html."}},
                }
            }
        },
    }
}


# -- the guard ------------------------------------------------------------------------------------


def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """403 when no token is configured, 401 unless `Authorization: Bearer <PLANS_ADMIN_TOKEN>`."""
    token = request.app.state.settings.plans_admin_token
    if not token:
        raise HTTPException(403, "上传和删除未开启：服务器没有设置 PLANS_ADMIN_TOKEN。")
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "需要管理令牌：请求头 Authorization: Bearer <PLANS_ADMIN_TOKEN>。", challenge)
    if not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(401, "管理令牌不正确。", challenge)


Admin = Annotated[None, Depends(require_admin)]


# -- routes ---------------------------------------------------------------------------------------


@router.post(
    "/api/documents", status_code=201, response_model=models.UploadedDocument, openapi_extra=UPLOAD_BODY,
    summary="Upload a plan (multipart field `file`); needs the admin token",
    responses={
        200: {"model": models.UploadedDocument, "description": "The same file was uploaded before."},
        400: _error(400, "Not a multipart upload with one `file`."),
        413: _error(413, "Larger than PLANS_MAX_UPLOAD_BYTES."),
        422: _error(422, "The file cannot be read as a plan, or took longer than PLANS_FILE_TIMEOUT to read (then the "
                         "same bytes are refused until that setting changes); the message says why."),
        **GUARDED,
    },
)
async def upload_document(_admin: Admin, request: Request, response: Response) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    name, data = await _receive_upload(request, settings.plans_max_upload_bytes)
    try:
        status, summary = await run_in_threadpool(
            ingest, settings, request.app.state.holder, request.app.state.indexer, name, data
        )
    except IndexerUnavailable as exc:  # UploadRejected (422) and StorageError (503) answer as they are
        raise Unavailable(f"暂时无法索引：{exc}") from None
    if status == "unchanged":
        response.status_code = 200
    return {**summary, "status": status}


@router.delete(
    "/api/documents/{document_id}", status_code=204, response_class=Response,
    summary="Delete a plan from the catalog and the index; needs the admin token",
    responses={400: _error(400, "Bad id."), 404: _error(404, "No such plan."), **GUARDED},
)
def delete_document(_admin: Admin, request: Request, document_id: Annotated[int, PathParam(ge=1, le=2**62)]) -> Response:
    try:
        state = request.app.state
        removed = remove(state.settings, state.holder, state.indexer, document_id)
    except IndexerUnavailable as exc:
        raise Unavailable(f"暂时无法删除：{exc}") from None
    if not removed:
        raise HTTPException(404, f"没有编号为 {document_id} 的计划。")
    return Response(status_code=204)


# -- receiving the body ---------------------------------------------------------------------------


async def _receive_upload(request: Request, limit: int) -> tuple[str, bytes]:
    """(file name, bytes) of the one `file` part; 413 as soon as the body is known to be too big."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared[-19:] if len(declared) <= 19 else "9" * 19) > limit + MULTIPART_SLACK:
        raise HTTPException(413, _too_big(int(declared) if len(declared) <= 19 else 10**19, limit))
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
        raise HTTPException(400, "请用 multipart/form-data 上传，文件放在字段 file 里。")
    counter = _Counter(limit + MULTIPART_SLACK)
    parser = MultiPartParser(request.headers, counter.capped(request.stream()), max_files=1, max_fields=8)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if counter.exceeded:
            raise HTTPException(413, _too_big(counter.seen, limit)) from None
        raise HTTPException(400, f"上传格式不正确：{exc.message}") from None
    try:
        if counter.exceeded:
            raise HTTPException(413, _too_big(counter.seen, limit))
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "缺少文件：请把计划文件放在 multipart 字段 file 里。")
        data = await upload.read()
        name = upload.filename or ""
    finally:
        await form.close()
    if len(data) > limit:
        raise HTTPException(413, _too_big(len(data), limit))
    return _safe_name(name), data


class _Counter:
    """Passes a body stream through, stopping once more than `cap` bytes arrived."""

    def __init__(self, cap: int) -> None:
        self.cap, self.seen, self.exceeded = cap, 0, False

    async def capped(self, stream: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
        async for chunk in stream:
            self.seen += len(chunk)
            if self.seen > self.cap:
                self.exceeded = True
                return  # the parser sees a truncated body; the caller answers 413
            yield chunk


def _too_big(size: int, limit: int) -> str:
    mb = 1024 * 1024
    return f"上传太大：{size / mb:.1f} MB，上限 {limit / mb:.1f} MB（PLANS_MAX_UPLOAD_BYTES）。"


def _safe_name(name: str) -> str:
    """The file's own name, without any folder, control characters or a leading dot."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]", "_", base).strip().lstrip(".")
    if len(base.encode("utf-8")) > NAME_BYTES:  # most file systems allow 255 bytes, not characters
        suffix = PurePosixPath(base).suffix[:10]
        stem = base[: len(base) - len(suffix)] if suffix else base
        base = _cut_utf8(stem, NAME_BYTES - len(suffix.encode("utf-8"))) + suffix
    return base if base and base != "manifest.yaml" else f"upload{PurePosixPath(base).suffix}"


def _cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of `text` that is at most `limit` bytes in UTF-8 (whole characters only)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


# -- the work, in the indexer child --------------------------------------------------------------


def ingest(
    settings: Settings, holder: SnapshotHolder, indexer: IndexerChild, name: str, data: bytes
) -> tuple[str, dict[str, Any]]:
    """Save and index one uploaded file: ("added" | "replaced" | "unchanged", its summary).

    The child reads it (this process never imports the file readers: their modules and a
    second parse of every upload would cost the server memory and time); a file it cannot
    read comes back as a failed outcome with the reader's reason, and is deleted again."""
    path, created = _save(settings.uploads_dir, hashlib.sha256(data).hexdigest(), name, data)
    try:
        report = indexer.index(path, wait=settings.plans_admin_wait)
        outcomes = [o for o in report["outcomes"] if o["source"] == str(path.resolve())]
        if not outcomes:
            raise IndexerUnavailable(f"the indexer said nothing about {path.name}")
        outcome = outcomes[-1]
        if outcome["status"] == "failed":
            raise UploadRejected(name, outcome["reason"])
    except UploadRejected:
        if created:
            shutil.rmtree(path.parent, ignore_errors=True)  # nothing stored changes
        raise
    except IndexerUnavailable as exc:
        # a child stopped mid-request may have catalogued the file already (the next indexer run
        # finishes such a plan): then the file stays, and uploading it again answers for it
        if created and exc.settled:
            shutil.rmtree(path.parent, ignore_errors=True)
        elif created:  # no catalog plan has it (the child stopped before that commit): an orphan
            drop_if_orphan(path.parent, settings.catalog_url)
        raise
    snapshot = holder.reload_now()
    plan_index = snapshot.plan_by_id.get(outcome["plan_id"])
    if plan_index is None:
        raise IndexerUnavailable(f"plan {outcome['plan_id']} was indexed but is gone again")
    return outcome["status"], document_summary(snapshot, plan_index)


def remove(settings: Settings, holder: SnapshotHolder, indexer: IndexerChild, plan_id: int) -> bool:
    """Delete one plan through the indexer child; False when there is no such plan."""
    if indexer.remove(plan_id, wait=settings.plans_admin_wait) is None:
        return False
    holder.reload_now()
    return True


def _save(uploads: Path, sha256: str, name: str, data: bytes) -> tuple[Path, bool]:
    """(PLANS_HOME/uploads/<sha256>/<name>, whether it was written now): the same bytes keep one path."""
    folder = uploads / sha256
    if existing := _files(folder):
        return existing[0], False
    staging = uploads / ".incoming" / uuid.uuid4().hex
    try:
        if folder.is_dir():
            shutil.rmtree(folder)  # an empty leftover
        staging.mkdir(parents=True)
        (staging / name).write_bytes(data)
        os.replace(staging, folder)  # the whole folder at once: never a half-written file under its name
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)  # no partial file stays behind
        if existing := _files(folder):  # the same bytes arrived meanwhile
            return existing[0], False
        logger.error("cannot save an upload under %s: %s", uploads, exc)
        raise StorageError(f"暂时无法保存上传的文件：{describe_fault(exc)}") from None
    return folder / name, True


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
