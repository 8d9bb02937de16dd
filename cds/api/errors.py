"""The one place where exceptions become HTTP responses.

Every problem a caller causes is a 4xx with an explanation (or the spec's 412 with an
OperationOutcome); 401 carries no detail that could help an attacker.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cds.errors import CdsError, PrefetchUnavailable, Unauthorized

log = logging.getLogger(__name__)


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        content=orjson.dumps(body),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "message": message}}


def describe_validation_error(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{location or 'body'}: {error.get('msg')}")
    return "; ".join(parts)


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
    @app.exception_handler(PrefetchUnavailable)
    async def _precondition(request: Request, exc: PrefetchUnavailable) -> Response:
        # Keys and FHIR issue codes only: the queries carry the patient id, the diagnostics
        # whatever the FHIR server said.
        missing = ", ".join(f"{m.prefetch_key} ({m.code})" for m in exc.missing)
        log_rejection(request, 412, f"required data unavailable: {missing}")
        return json_response(exc.operation_outcome(), 412)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> Response:
        # The message is the authenticator's reason code (e.g. bad_signature), never the token.
        log_rejection(request, 401, exc.message)
        return json_response(
            error_body(401, "unauthorized"), 401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(CdsError)
    async def _cds_error(request: Request, exc: CdsError) -> Response:
        log_rejection(request, exc.status_code, exc.message)
        return json_response(error_body(exc.status_code, exc.message), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        message = describe_validation_error(exc)
        log_rejection(request, 400, message)
        return json_response(error_body(400, message), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        log_rejection(request, exc.status_code, str(exc.detail))
        return json_response(error_body(exc.status_code, str(exc.detail)), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", extra={"status": 500, "path": request.url.path[:200]})
        return json_response(error_body(500, "internal error"), 500)
