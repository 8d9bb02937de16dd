"""The one place where exceptions become HTTP responses.

Every problem a caller causes is a 4xx with an explanation (or the spec's 412 with an
OperationOutcome); 401 carries no detail that could help an attacker. What each `CdsError`
answers is its own (`cds.errors`); here it is sent, and logged in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from cds.errors import BadRequest, CdsError, error_body

log = logging.getLogger(__name__)


def json_response(
    body: Any,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> Response:
    """`background` runs once the last byte of the response is sent."""
    return Response(
        content=orjson.dumps(body),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
        background=background,
    )


def log_rejection(request: Request, status: int, reason: str) -> None:
    """One log line per rejected request: status and reason, the route and, once the body was
    read, the EHR's hookInstance (cds.api.routes). Never a header, a token or the body."""
    extra: dict[str, Any] = {"status": status, "reason": reason[:500]}
    extra["method"], extra["path"] = request.method, request.url.path[:200]
    service = request.path_params.get("service_id")
    if isinstance(service, str):
        extra["service"] = service[:100]
    hook_instance = getattr(request.state, "hook_instance", None)
    if hook_instance is not None:
        extra["hookInstance"] = hook_instance
    log.log(logging.WARNING if status >= 500 else logging.INFO, "request rejected", extra=extra)


def install(app: FastAPI) -> None:
    @app.exception_handler(CdsError)
    async def _cds_error(request: Request, exc: CdsError) -> Response:
        # Each CdsError carries its own answer (status, body, headers): cds.errors.
        log_rejection(request, exc.status_code, exc.log_reason())
        return json_response(exc.body(), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        return await _cds_error(request, BadRequest.invalid(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        log_rejection(request, exc.status_code, str(exc.detail))
        return json_response(error_body(exc.status_code, str(exc.detail)), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", extra={"status": 500, "path": request.url.path[:200]})
        return json_response(error_body(500, "internal error"), 500)
