"""create_app(settings): the FastAPI application; lifespan opens the index read-only, starts the
indexer child when uploads are on and PLANS_INDEXER_WARM is set (otherwise the first upload or
delete starts it), and stops it at shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.indexer_child import IndexerChild, IndexerUnavailable
from app.pg_search import DatabaseUnavailable, PgSnapshotHolder
from app.query import QueryError
from app.routes import admin, api, pages
from app.security import SecurityHeaders
from app.routes import compare as compare_routes
from app.searcher import SearcherHolder
from app.snapshot import SnapshotHolder
from app.themes import load_themes
from indexer.settings import Settings, get_settings

logger = logging.getLogger(__name__)

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
        app.state.holder = _holder(settings)
        app.state.themes = load_themes(settings.plans_themes)  # a bad dictionary stops start-up, naming the entry
        app.state.indexer = IndexerChild(settings)
        if settings.plans_admin_token and settings.plans_indexer_warm:
            try:
                app.state.indexer.start()  # loads its code and jieba while search already answers
            except IndexerUnavailable as exc:  # uploads will retry; search does not need it
                logger.warning("the indexer child did not start: %s", exc)
        try:
            yield
        finally:
            app.state.indexer.close()
            if close := getattr(app.state.holder, "close", None):  # the postgres backend's engine
                close()

    # No /docs or /redoc: Swagger UI loads its assets from a CDN and runs inline script;
    # the OpenAPI description itself is at /openapi.json.
    app = FastAPI(title="学校工作计划检索", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.add_middleware(SecurityHeaders)
    app.state.settings = settings
    app.include_router(api.router)
    app.include_router(admin.router)
    app.include_router(compare_routes.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.state.templates = pages.build_templates()
    _install_error_handlers(app)
    return app


def _holder(settings: Settings) -> SearcherHolder:
    """The searcher backend PLANS_SEARCH_BACKEND names (`app.searcher`)."""
    if settings.plans_search_backend == "postgres":
        return PgSnapshotHolder(settings.search_read_url, reload_interval=settings.plans_reload_interval)
    return SnapshotHolder(settings.index_dir, reload_interval=settings.plans_reload_interval)  # type: ignore[return-value]


def _error(
    status: int, code: str, message: str, position: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, object] = {"error": code, "message": message}
    if position is not None:
        body["position"] = position
    return JSONResponse(body, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QueryError)
    async def _query_error(_request: Request, exc: QueryError) -> JSONResponse:
        return _error(400, exc.code, exc.message, exc.position)

    @app.exception_handler(DatabaseUnavailable)
    async def _database_down(_request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        logger.warning("search database unavailable: %s", exc)
        return _error(503, "database_unavailable", "检索数据库暂时不可用（已停止或只读），请稍后再试。",
                      headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body"))
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return _error(400, "invalid_parameter", "参数不正确：" + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden",
                413: "too_large", 422: "unreadable_file", 503: "unavailable"}.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return _error(exc.status_code, code, message, headers=exc.headers)
