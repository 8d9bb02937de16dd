"""A small, bounded HTTP/1.1 load generator, run as its own process so that the client's work is
not the server's: `python -m bench.load --port P --bodies FILE [...]` prints one JSON object.

`--concurrency` keep-alive connections each send the next request as soon as the previous answer
is in (closed loop), cycling through the bodies (one JSON document per line of FILE), until
`--requests` have been sent or `--duration` seconds have passed, whichever comes first. Requests
are pre-built bytes and responses are read with a minimal parser on asyncio streams (uvloop when
installed): on a 2-core machine an httpx client would cost more CPU per request than the service
it measures. Every non-200 answer or connection error counts as an error.

With `--rss-pid`, the VmRSS of that process is sampled before the first request and after every
`--sample-every` completed requests (the memory benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.server import rss_kib

MAX_DURATION_SECONDS = 300.0
MAX_REQUESTS = 200_000
RAMP_SECONDS = 0.5


@dataclass
class Run:
    bodies: list[bytes]
    max_requests: int
    deadline: float
    rss_pid: int | None
    sample_every: int
    sent: int = 0
    completed: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    rss_samples: list[tuple[int, int]] = field(default_factory=list)  # (completed, KiB)

    def next_request(self) -> bytes | None:
        if self.sent >= self.max_requests or time.perf_counter() >= self.deadline:
            return None
        body = self.bodies[self.sent % len(self.bodies)]
        self.sent += 1
        return body

    def done(self, latency: float | None, error: str | None) -> None:
        self.completed += 1
        if error is None and latency is not None:
            self.ok += 1
            self.latencies.append(latency)
        else:
            key = error or "unknown"
            self.errors[key] = self.errors.get(key, 0) + 1
        if self.rss_pid is not None and self.completed % self.sample_every == 0:
            self.rss_samples.append((self.completed, rss_kib(self.rss_pid)))


def request_bytes(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split(b" ", 2)[1])
    length: int | None = None
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readline()
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
        return status, b"".join(parts)
    return status, await reader.readexactly(length or 0)


async def connection(run: Run, host: str, port: int, delay: float) -> None:
    await asyncio.sleep(delay)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (request := run.next_request()) is not None:
            started = time.perf_counter()
            try:
                writer.write(request)
                status, body = await read_response(reader)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                run.done(None, type(exc).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            if status == 200 and body.startswith(b"{"):
                run.done(time.perf_counter() - started, None)
            else:
                run.done(None, f"HTTP {status}")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def drive(
    *,
    host: str,
    port: int,
    path: str,
    bodies: list[bytes],
    concurrency: int,
    max_requests: int,
    duration: float,
    rss_pid: int | None = None,
    sample_every: int = 1000,
) -> dict[str, Any]:
    requests = [request_bytes(host, port, path, body) for body in bodies]
    started = time.perf_counter()
    run = Run(requests, max_requests, started + duration, rss_pid, max(1, sample_every))
    if rss_pid is not None:
        run.rss_samples.append((0, rss_kib(rss_pid)))
    # Connections open one after another over RAMP_SECONDS, while the first ones already send:
    # uvicorn's workers share one listening socket, and a burst of connects can all be accepted
    # by whichever worker wakes first (keep-alive then pins them there for the whole run).
    step = RAMP_SECONDS / concurrency
    await asyncio.gather(*(connection(run, host, port, i * step) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    return summary(run, elapsed, concurrency)


def summary(run: Run, elapsed: float, concurrency: int) -> dict[str, Any]:
    latencies = sorted(run.latencies)
    return {
        "concurrency": concurrency,
        "sent": run.sent,
        "completed": run.completed,
        "ok": run.ok,
        "errors": sum(run.errors.values()),
        "error_kinds": run.errors,
        "elapsed_s": elapsed,
        "rps": run.ok / elapsed if elapsed else 0.0,
        "latency_ms": percentiles(latencies),
        "rss_kib": run.rss_samples,
    }


def percentiles(sorted_seconds: list[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds (nearest-rank percentiles) of sorted seconds."""
    if not sorted_seconds:
        return {}
    n = len(sorted_seconds)

    def rank(p: float) -> float:
        return sorted_seconds[min(n - 1, max(0, int(-(-p * n // 100)) - 1))] * 1000

    return {
        "p50": rank(50),
        "p90": rank(90),
        "p99": rank(99),
        "max": sorted_seconds[-1] * 1000,
        "mean": statistics.fmean(sorted_seconds) * 1000,
        "n": n,
    }


def _runner() -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/cds-services/leg-pain-patient-view")
    parser.add_argument("--bodies", type=Path, required=True, help="one JSON body per line")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=10_000, help="at most this many")
    parser.add_argument("--duration", type=float, default=20.0, help="at most this long (s)")
    parser.add_argument("--rss-pid", type=int, help="sample this process's VmRSS")
    parser.add_argument("--sample-every", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1"):
        parser.error("loopback only")
    bodies = [line for line in args.bodies.read_bytes().splitlines() if line.strip()]
    result = _runner()(
        drive(
            host=args.host,
            port=args.port,
            path=args.path,
            bodies=bodies,
            concurrency=max(1, min(args.concurrency, 256)),
            max_requests=max(1, min(args.requests, MAX_REQUESTS)),
            duration=max(0.1, min(args.duration, MAX_DURATION_SECONDS)),
            rss_pid=args.rss_pid,
            sample_every=args.sample_every,
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
