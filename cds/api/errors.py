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


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=orjson.dumps(body), status_code=status_code, media_type="application/json",
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


def install(app: FastAPI) -> None:
    @app.exception_handler(PrefetchUnavailable)
    async def _precondition(_: Request, exc: PrefetchUnavailable) -> Response:
        return json_response(exc.operation_outcome(), 412)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> Response:
        log.info("unauthorized request rejected")  # the reason is not logged with the token
        return json_response(
            error_body(401, "unauthorized"), 401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(CdsError)
    async def _cds_error(_: Request, exc: CdsError) -> Response:
        return json_response(error_body(exc.status_code, exc.message), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> Response:
        return json_response(error_body(400, describe_validation_error(exc)), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        return json_response(error_body(exc.status_code, str(exc.detail)), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        return json_response(error_body(500, "internal error"), 500)
