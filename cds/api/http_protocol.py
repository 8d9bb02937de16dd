"""HTTP/1.1 as `cds serve` speaks it: uvicorn's httptools protocol, with the bounds it lacks.

uvicorn reads request headers of any size (a 256 MiB header was accepted, before any
authentication, in 63 s and 620 MiB), waits for them, and for a body, as long as a client
cares to take, and accepts connections until the process runs out of file descriptors. Here:

- the request line and headers may hold CDS_HTTP_MAX_HEADER_BYTES: beyond that the parser is
  fed nothing more, and the answer is 431;
- they must arrive within CDS_HTTP_HEADER_TIMEOUT_SECONDS of the connection being ready for a
  request (opened, or its previous response sent), and a body within
  CDS_HTTP_BODY_TIMEOUT_SECONDS of its headers: else 408, and the connection is closed;
- a worker holds at most CDS_HTTP_MAX_CONNECTIONS connections (its open-file limit is raised to
  fit them when the system allows, else they are fewer, said in the log): one more is answered
  503 and closed at once, so slow clients cannot use up its file descriptors.

The limits are read from the settings once per worker process: uvicorn starts each worker with
this class (by reference: it crosses to the workers it spawns), never with an instance.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cds.settings import Settings

log = logging.getLogger(__name__)

# Descriptors a worker needs besides its connections: the database, the audit spool, the FHIR
# clients, the metrics files, its own listening socket and pipes.
RESERVED_DESCRIPTORS = 256
# Connections refused for being one too many are logged in one line per this many seconds (a
# flood of them must not become a flood of log lines).
REFUSAL_LOG_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    max_connections: int


@functools.cache
def worker_limits() -> HttpLimits:
    """This worker's limits: from the settings, the connection bound within what the process
    may open (its soft open-file limit is raised towards the hard one to make room)."""
    settings = Settings()
    wanted = settings.http_max_connections + RESERVED_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    connections = settings.http_max_connections
    if soft != resource.RLIM_INFINITY and soft < wanted:
        connections = max(soft - RESERVED_DESCRIPTORS, 1)
        log.warning(
            "CDS_HTTP_MAX_CONNECTIONS=%d does not fit the open-file limit (%d): at most %d "
            "connections per worker",
            settings.http_max_connections,
            soft,
            connections,
        )
    return HttpLimits(
        max_header_bytes=settings.http_max_header_bytes,
        header_timeout_seconds=settings.http_header_timeout_seconds,
        body_timeout_seconds=settings.http_body_timeout_seconds,
        max_connections=connections,
    )


def _answer(status: int, reason: bytes) -> bytes:
    """A complete response that closes the connection (the request is not read any further)."""
    return b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n" % (status, reason)


TOO_MANY_CONNECTIONS = _answer(503, b"Service Unavailable")
HEADERS_TOO_LARGE = _answer(431, b"Request Header Fields Too Large")
TOO_SLOW = _answer(408, b"Request Timeout")


class _RefusalLog:
    """Connections refused for the connection bound, logged at most once per interval."""

    def __init__(self) -> None:
        self.unreported = 0
        self.reported_at = float("-inf")

    def refused(self, limit: int) -> None:
        self.unreported += 1
        now = time.monotonic()
        if now - self.reported_at >= REFUSAL_LOG_INTERVAL_SECONDS:
            log.warning(
                "%d connections refused (503): this worker already holds %d "
                "(CDS_HTTP_MAX_CONNECTIONS)",
                self.unreported,
                limit,
            )
            self.unreported, self.reported_at = 0, now


# One per worker process: every connection of the worker counts against the same bound.
_refusals = _RefusalLog()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, bounded as the module says. One instance per connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = worker_limits()
        self._reading_head = True  # between requests or in the request line and headers
        self._head_bytes = 0  # fed to the parser since this head began
        self._timer: asyncio.TimerHandle | None = None  # the head's or the body's deadline

    # -- connections ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            _refusals.refused(self.limits.max_connections)
            self._refuse(TOO_MANY_CONNECTIONS)
            return
        self._expect_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    # -- the head: bounded in size and time ----------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self._reading_head:
            super().data_received(data)
            return
        room = self.limits.max_header_bytes - self._head_bytes
        self._head_bytes += min(len(data), room)
        super().data_received(data[:room])  # may end the head (on_headers_complete)
        if self.transport.is_closing():
            return
        if self._reading_head and self._head_bytes >= self.limits.max_header_bytes:
            self._log_refusal(431, "request headers larger than CDS_HTTP_MAX_HEADER_BYTES")
            self._refuse(HEADERS_TOO_LARGE)
        elif len(data) > room:
            self.data_received(data[room:])  # the rest: past the head

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._start_timer(
            self.limits.body_timeout_seconds,
            "request body not received within CDS_HTTP_BODY_TIMEOUT_SECONDS",
        )
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._cancel_timer()  # the body is in; the next head is timed once this one is answered
        self._reading_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._expect_head()

    # -- timers and refusals -------------------------------------------------------------------

    def _expect_head(self) -> None:
        self._start_timer(
            self.limits.header_timeout_seconds,
            "request headers not received within CDS_HTTP_HEADER_TIMEOUT_SECONDS",
        )

    def _start_timer(self, seconds: float, why: str) -> None:
        self._cancel_timer()
        self._timer = self.loop.call_later(seconds, self._too_slow, why)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self, why: str) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        self._log_refusal(408, why)
        answered = self.cycle is not None and self.cycle.response_started
        if answered:  # nothing can be said any more: the connection ends
            self.transport.close()
        else:
            self._refuse(TOO_SLOW)

    def _refuse(self, answer: bytes) -> None:
        self._cancel_timer()
        self.transport.write(answer)
        self.transport.close()

    def _log_refusal(self, status: int, reason: str) -> None:
        # As cds.api.errors logs a rejected request; there is no route or body to name here.
        log.info("request rejected", extra={"status": status, "reason": reason})
