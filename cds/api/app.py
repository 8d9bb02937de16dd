"""create_app(settings): the FastAPI application, with everything loaded and validated first."""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds.api import errors, ops, routes
from cds.api.access_log import AccessLog
from cds.api.deps import AppState
from cds.audit.store import AuditStore, MemoryAuditStore
from cds.fhir.access import FhirAccess
from cds.pipeline import Engine
from cds.security import Authenticator
from cds.settings import Settings

log = logging.getLogger(__name__)

# Young-generation collections after this many new container objects (default 700). A request
# parses its prefetch into tens of thousands of dicts and lists, most of them freed by reference
# counting, so at 700 the collector would walk them hundreds of times per large request.
GC_THRESHOLDS = (10_000, 20, 20)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    store: AuditStore | None = None,
    fhir_transport: httpx.AsyncBaseTransport | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """Build the app. Loads hooks/ and the rules now, so a bad configuration fails at start-up.

    `store` and `fhir_transport` are the IO seams tests pass in; by default the audit store is
    opened from CDS_DATABASE_URL. `authenticator` too (tests); by default it is built from the
    settings when CDS_JWT_REQUIRED=true.
    """
    settings = settings or Settings()
    engine = engine or Engine.load(settings.hooks_dir)
    state = AppState(
        settings=settings,
        engine=engine,
        store=store if store is not None else _open_store(settings),
        fhir=FhirAccess.from_settings(settings, transport=fhir_transport),
        authenticator=authenticator
        if authenticator is not None or not settings.jwt_required
        else Authenticator.from_settings(settings),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not settings.jwt_required:
            log.warning(
                "AUTHENTICATION IS OFF (CDS_JWT_REQUIRED=false): any caller gets answers. "
                "Local use only."
            )
        if not state.audit_writer.synchronous:
            # Now, not at the first call: the spools dead workers left are written at once.
            await asyncio.to_thread(state.audit_writer.start)
        yield
        # The shadow thread stops first (a call still waiting on it has its row already kept,
        # without what its shadows would have shown); then the audit rows not yet written
        # (bounded: a hung database cannot hold the shutdown; what is left stays in the spool),
        # then the store they are written to.
        await asyncio.to_thread(state.shadows.close)
        await asyncio.to_thread(state.audit_writer.close)
        state.store.close()
        ops.worker_exit()
        if state.authenticator is not None:
            await state.authenticator.aclose()

    # /docs (Swagger UI) and /redoc with their scripts, styles and icon served from the
    # installed package (fastapi-offline), not a CDN: hospital networks often have no internet.
    app = FastAPIOffline(
        title="Leg pain & cramps CDS Hooks service",
        version=engine.registry.release.version,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url="/redoc",
        static_url="/docs-assets",
        # Swagger UI would send the document's address to swagger.io's online validator.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.cds = state
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        # A page on the internet (the CDS Hooks sandbox, a web EHR) calling this service on the
        # user's machine or intranet: browsers ask first (Private Network Access) and need a
        # yes. Given only to the origins allowed above.
        allow_private_network=True,
        max_age=600,
    )
    # Outermost: counts every request, CORS preflights and rejections included.
    app.add_middleware(ops.RequestMetrics, services=tuple(engine.services))
    if settings.access_log:
        app.add_middleware(AccessLog, stream=sys.stdout)
    app.add_middleware(DocsContentSecurityPolicy, paths=("/docs", "/redoc"))
    errors.install(app)
    app.include_router(routes.router)
    app.include_router(ops.router)
    app.openapi = _described(app.openapi)  # type: ignore[method-assign]
    return app


class DocsContentSecurityPolicy:
    """Pure ASGI middleware: the documentation pages may load only from this service. ReDoc
    would otherwise fetch its logo from its maker's CDN, telling it (Referer) the address of a
    hospital's internal service each time someone reads the docs. Inline scripts and styles are
    the pages' own (FastAPI's page templates, ReDoc's styles); blob: workers are ReDoc's search.
    """

    POLICY = (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        "'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; frame-ancestors 'none'"
    )

    def __init__(self, app: ASGIApp, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.POLICY
            await send(message)

        await self.app(scope, receive, send_with_policy)


def _described(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document as the routes' answers really are (cds.api.routes)."""

    def openapi() -> dict[str, Any]:
        return routes.without_validation_errors(generate())

    return openapi


def served_app() -> FastAPI:
    """The app `cds serve` runs in each worker process: `create_app()` from CDS_* settings, then
    the garbage collector set up for a long-running server (`tune_gc`). A worker killed by a
    fatal signal (SIGSEGV, SIGBUS: a memory-mapped file that went away) writes where it was to
    stderr first, so its death is never silent."""
    faulthandler.enable()
    app = create_app()
    tune_gc()
    return app


def tune_gc() -> None:
    """Everything alive after start-up (modules, the engine, value sets, rules) is moved out of
    the collector's sight, so that full collections walk only what requests allocate; and young
    collections run less often (GC_THRESHOLDS). Garbage is still collected: reference counting
    frees almost everything a request makes, and the collector still runs for cycles. This takes
    the collector's pauses out of the tail latency and a third off the cost of a large prefetch.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _open_store(settings: Settings) -> AuditStore:
    try:
        from cds.audit.database import open_store  # optional until migrated
    except ImportError:
        return MemoryAuditStore()
    return open_store(settings.database_url, timeout_seconds=settings.database_timeout_seconds)
