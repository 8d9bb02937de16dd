"""Request bounds: the body's size, and how many FHIR resources its prefetch and its draft
orders hold.

A 20 MB body of tiny resources is far more work for the record builder than 20 MB of a few
large ones, so the resource counts are bounded on their own (CDS_MAX_PREFETCH_RESOURCES,
CDS_MAX_DRAFT_ORDERS), before the body is validated or any of it is walked again.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect

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
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body exceeds {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # The client went, or was cut off for sending too slowly (cds.api.http_protocol).
        raise BadRequest("the request body did not arrive whole") from None
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


def enforce_resource_limits(body: dict[str, Any], *, prefetch: int, draft_orders: int) -> None:
    """413 when the prefetch holds more than `prefetch` resources, or context.draftOrders more
    than `draft_orders` (both counted by `cds.fhir.bundles.count_resources`)."""
    count = count_prefetch_resources(body.get("prefetch"))
    if count > prefetch:
        raise PayloadTooLarge(
            f"prefetch holds {count} FHIR resources; this service accepts at most {prefetch} per "
            "request (CDS_MAX_PREFETCH_RESOURCES). Narrow the prefetch queries, or omit the keys "
            "so the service fetches what it needs from fhirServer."
        )
    context = body.get("context")
    drafts = count_resources(context.get("draftOrders")) if isinstance(context, dict) else 0
    if drafts > draft_orders:
        raise PayloadTooLarge(
            f"context.draftOrders holds {drafts} resources; this service accepts at most "
            f"{draft_orders} (CDS_MAX_DRAFT_ORDERS)"
        )
