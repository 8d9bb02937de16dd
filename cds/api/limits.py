"""Request bounds: the body's size, and how many FHIR resources its prefetch holds.

A 20 MB body of tiny resources is far more work for the record builder than 20 MB of a few
large ones, so the resource count is bounded on its own (CDS_MAX_PREFETCH_RESOURCES), before the
body is validated.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from cds.errors import BadRequest, PayloadTooLarge
from cds.fhir.bundles import count_resources


async def read_json_body(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object, read no further than `limit` bytes (CDS_MAX_BODY_BYTES), even
    without a Content-Length."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError as exc:
            raise BadRequest("invalid Content-Length header") from exc
        if too_big:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        raise BadRequest("request body is empty; a JSON object is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def count_prefetch_resources(prefetch: Any) -> int:
    """Resources in a prefetch object, each value counted by `cds.fhir.bundles.count_resources`."""
    if not isinstance(prefetch, dict):
        return 0
    return sum(count_resources(value) for value in prefetch.values())


def enforce_prefetch_limit(prefetch: Any, limit: int) -> None:
    count = count_prefetch_resources(prefetch)
    if count > limit:
        raise PayloadTooLarge(
            f"prefetch holds {count} FHIR resources; this service accepts at most {limit} per "
            "request (CDS_MAX_PREFETCH_RESOURCES). Narrow the prefetch queries, or omit the keys "
            "so the service fetches what it needs from fhirServer."
        )
