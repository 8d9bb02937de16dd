"""Operations endpoints: liveness, readiness, Prometheus metrics. No authentication (they carry
no patient data); restrict them at the load balancer if they must not be public (the nginx
configuration in docker/ refuses /metrics from outside).

Also the request metrics middleware, which times every request and labels it by route template
and configured service id only (bounded cardinality, see cds.metrics).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Collection

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds.api.deps import AuditStoreDep, AuditWriterDep, EngineDep
from cds.api.errors import json_response
from cds.audit.store import AuditStore
from cds.metrics import UNKNOWN_SERVICE, UNMATCHED, observe_request

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])

# A readiness probe must answer quickly even when the database hangs (its operations end within
# CDS_DATABASE_TIMEOUT_SECONDS, 5 s): past this the database is reported as not answering.
READY_CHECK_TIMEOUT_SECONDS = 2.0
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@router.get("/health", summary="Liveness: the process answers")
async def health() -> Response:
    return json_response({"status": "ok"})


@router.get("/ready", summary="Readiness: audit writable, hooks loaded, rules valid")
async def ready(engine: EngineDep, store: AuditStoreDep, writer: AuditWriterDep) -> Response:
    checks: dict[str, str] = {"database": await _database_check(store)}
    if not writer.synchronous:
        # Information, not a condition: rows wait while the database is away, and are written
        # once it is back.
        checks["audit_spool"] = f"ok ({writer.depth} rows waiting)"
    checks["hooks"] = f"ok ({len(engine.services)} services)" if engine.services else "none loaded"
    unreleased = [
        rule.key
        for service in engine.services.values()
        for rule in service.rules
        if not engine.registry.is_released(rule)
    ]
    checks["rules"] = "ok" if not unreleased else f"unreleased: {', '.join(unreleased)}"
    ok = all(value.startswith("ok") for value in checks.values())
    return json_response(
        {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503
    )


async def _database_check(store: AuditStore) -> str:
    """ "ok" once a write to the audit database has committed where it will be read (a read
    would pass on a read-only or deleted SQLite file). Blocking IO: in a thread, so a hung
    database never stalls the event loop (and with it every CDS call this worker serves)."""
    try:
        await asyncio.wait_for(asyncio.to_thread(store.check_writable), READY_CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        log.warning(
            "readiness: the audit database did not answer within %g s", READY_CHECK_TIMEOUT_SECONDS
        )
        return f"not answering within {READY_CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # readiness reports, it never raises
        # The details (host, port, schema revision) go to the log, not to an unauthenticated
        # endpoint; the class name is enough for the probe's reader to know where to look.
        log.warning("readiness: the audit database cannot be written: %s", exc)
        return f"unreachable ({type(exc).__name__})"
    return "ok"


@router.get("/metrics", summary="Prometheus metrics")
async def metrics() -> Response:
    if os.environ.get(MULTIPROC_ENV):
        # Several worker processes: aggregate what every worker wrote to the shared directory.
        registry = CollectorRegistry()
        # prometheus_client's multiprocess module has no annotations.
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(content=payload, media_type=CONTENT_TYPE_LATEST)


def worker_exit() -> None:
    """At a worker's shutdown: drop its live-gauge files (multiprocess mode). Counters and
    histograms of an exited worker stay in the sum, as they must (totals never go back)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class RequestMetrics:
    """Pure ASGI middleware: counts and times every HTTP request.

    Labels: the matched route's template (never the raw path), the service id when it is a
    configured one (else "unknown"), the method and the status. The clock stops at the last
    byte of the response, so background work after it (the audit write) is not counted.
    """

    def __init__(self, app: ASGIApp, services: Collection[str]) -> None:
        self.app = app
        self.services = frozenset(services)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before answering, the server answers 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                observe_request(
                    _route(scope),
                    self._service(scope),
                    scope["method"],
                    status,
                    time.perf_counter() - started,
                )

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record()

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            record()

    def _service(self, scope: Scope) -> str:
        # The router wrote the path parameters into the scope while routing.
        service_id = (scope.get("path_params") or {}).get("service_id")
        if service_id is None:
            return ""
        return service_id if service_id in self.services else UNKNOWN_SERVICE


def _route(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED
