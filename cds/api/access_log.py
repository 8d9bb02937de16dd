"""The optional access log (CDS_ACCESS_LOG=true): one JSON object per request, on stdout.

On stdout, apart from the service's own log on stderr, so each can go its own way; one line per
request, whatever CDS_LOG_FORMAT says, so a log shipper parses it as it is. What it holds is
fixed: the method, the matched route's template (never the raw path, nor the query string), the
service id from the path, the status, the duration, the size of the answer and the caller's
address. No header, no body, no patient data: nothing a request carries gets in by itself.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"


class AccessLog:
    """Pure ASGI middleware. The line is written once the last byte of the answer is sent (or
    the app failed before answering: then the status is the server's 500)."""

    def __init__(self, app: ASGIApp, stream: TextIO) -> None:
        self.app = app
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        status = 500
        size = 0
        written = False

        def write() -> None:
            nonlocal written
            if written:
                return
            written = True
            line = access_line(scope, status, size, started_at, time.perf_counter() - started)
            self.stream.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.stream.flush()

        async def send_and_log(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                write()

        try:
            await self.app(scope, receive, send_and_log)
        finally:
            write()


def access_line(
    scope: Scope, status: int, size: int, started_at: datetime, seconds: float
) -> dict[str, object]:
    route = getattr(scope.get("route"), "path", None)
    service = (scope.get("path_params") or {}).get("service_id")
    client = scope.get("client")
    line: dict[str, object] = {
        "time": started_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": scope["method"],
        "route": route if isinstance(route, str) else UNMATCHED,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "bytes": size,
        "client": client[0] if client else None,
    }
    if isinstance(service, str):
        # A service id the caller typed: bounded, and only on the routes that have one.
        line["service"] = service[:100]
    return line
