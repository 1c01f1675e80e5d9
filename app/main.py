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
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.indexer_child import IndexerChild
from app.limits import HeavyWork
from app.pg_search import DatabaseUnavailable, PgSnapshotHolder
from app.routes import admin, api, edits, pages, views
from app.security import SecurityHeaders, redact_access_log
from app.routes import compare as compare_routes
from app.routes import compare_pages
from app.routes import suggest as suggest_routes
from app.search import warm
from app.searcher import SearcherHolder
from app.holder import SnapshotHolder
from app.themes import load_themes
from indexer.errors import (
    IndexerUnavailable, IndexMissingError, NotFound, PlansError, QueryError, ReadError, SchemaVersionError, Unavailable,
    UploadRejected,
)
from indexer.settings import Settings, get_settings
from indexer.uploads import sweep_uploads

logger = logging.getLogger(__name__)

DESCRIPTION = """
Full-text search over Chinese school work plans. A term or quoted phrase matches a passage
exactly where its characters appear contiguously (after folding full-width forms and case),
whatever the word segmentation does; `match=loose` ignores punctuation and spaces instead.
Results are grouped by plan; facets count plans (values of one filter ORed, filters ANDed).
Large answers are gzip-compressed. See the README for the query language.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redact_access_log()  # here, after uvicorn has configured its loggers
        app.state.holder = searcher_holder(settings)
        app.state.themes = load_themes(settings.plans_themes)  # a bad dictionary stops start-up, naming the entry
        app.state.indexer = IndexerChild(settings)
        if settings.plans_admin_token:
            for leftover in await run_in_threadpool(sweep_uploads, settings.uploads_dir, settings.catalog_url):
                logger.warning("removed %s, left by an upload that did not finish", leftover.name)
        if settings.plans_admin_token and settings.plans_indexer_warm:
            try:
                app.state.indexer.start()  # loads its code and jieba while search already answers
            except IndexerUnavailable as exc:  # uploads will retry; search does not need it
                logger.warning("the indexer child did not start: %s", exc)
        try:
            yield
        finally:
            app.state.indexer.close()
            app.state.holder.close()

    # No /docs or /redoc: Swagger UI loads its assets from a CDN and runs inline script;
    # the OpenAPI description itself is at /openapi.json.
    app = FastAPI(title="学校工作计划检索", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.add_middleware(SecurityHeaders)
    app.state.settings = settings
    # outermost: compresses what SecurityHeaders passes through (streamed bodies chunk by chunk)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.state.heavy = HeavyWork(settings.plans_heavy_requests)
    app.include_router(api.router)
    app.include_router(admin.router)
    app.include_router(edits.router)
    app.include_router(compare_routes.router)
    app.include_router(suggest_routes.router)
    app.include_router(compare_pages.router)
    app.include_router(views.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.state.templates = pages.build_templates()
    _install_error_handlers(app)
    return app


def searcher_holder(settings: Settings) -> SearcherHolder:
    """The searcher backend PLANS_SEARCH_BACKEND names (`app.searcher`), for the server and the CLI."""
    if settings.plans_search_backend == "postgres":
        return PgSnapshotHolder(settings.search_read_url, reload_interval=settings.plans_reload_interval, warm=warm)
    return SnapshotHolder(settings.index_dir, reload_interval=settings.plans_reload_interval, warm=warm)  # type: ignore[return-value]


def _error(
    status: int, code: str, message: str, position: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, object] = {"error": code, "message": message}
    if position is not None:
        body["position"] = position
    return JSONResponse(body, status_code=status, headers=headers)


# The project's exceptions (tree: indexer/errors.py) by HTTP status, looked up along the MRO.
STATUS: dict[type[PlansError], int] = {
    QueryError: 400, NotFound: 404, ReadError: 422, UploadRejected: 422, Unavailable: 503,
    IndexMissingError: 503, SchemaVersionError: 503,
}


def status_of(exc: PlansError) -> int:
    """The HTTP status of one of the project's exceptions: its nearest class in STATUS (503 by default)."""
    return next((STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS), 503)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PlansError)
    async def _plans_error(_request: Request, exc: PlansError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500 and not isinstance(exc, Unavailable):
            logger.error("%s answered %d: %s", type(exc).__name__, status, exc)
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return _error(status, exc.code, exc.message, getattr(exc, "position", None), headers)

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
        code = {400: "invalid_parameter", 404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden",
                413: "too_large", 422: "unreadable_file", 503: "unavailable"}.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return _error(exc.status_code, code, message, headers=exc.headers)
