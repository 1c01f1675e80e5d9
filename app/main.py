"""create_app(settings): the FastAPI application; lifespan opens the index read-only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.query import QueryError
from app.routes import api
from app.snapshot import SnapshotHolder
from indexer.settings import Settings, get_settings

DESCRIPTION = """
Full-text search over Chinese school work plans. A term or quoted phrase matches a passage
exactly where its characters appear contiguously (after folding full-width forms and case),
whatever the word segmentation does. Results are grouped by plan. See the README for the
query language.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.holder = SnapshotHolder(settings.index_dir, reload_interval=settings.plans_reload_interval)
        yield

    app = FastAPI(title="学校工作计划检索", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.include_router(api.router)
    _install_error_handlers(app)
    return app


def _error(status: int, code: str, message: str, position: int | None = None) -> JSONResponse:
    body: dict[str, object] = {"error": code, "message": message}
    if position is not None:
        body["position"] = position
    return JSONResponse(body, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QueryError)
    async def _query_error(_request: Request, exc: QueryError) -> JSONResponse:
        return _error(400, exc.code, exc.message, exc.position)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body"))
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return _error(400, "invalid_parameter", "参数不正确：" + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return _error(exc.status_code, code, message)
