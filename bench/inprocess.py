"""Service time without HTTP: what the route does with a body, in this process.

`orjson.loads` of the body, `cds.service_call.call_service` (gather, record, facts, rules,
cards, wire dict) with `as_of` fixed, and `orjson.dumps` of the answer: the request's own work,
without the server, the framework or the audit write. Timed with the garbage collector set up
as `cds serve` sets it up (`cds.api.app.tune_gc`).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import datetime
from typing import Any

import orjson

from cds.fhir.client import FhirClient
from cds.pipeline import Engine
from cds.service_call import call_service


def _no_fhir_server(base_url: str, access_token: str | None) -> FhirClient:
    raise AssertionError("the benchmark sends every prefetch key: nothing is fetched")


async def _once(engine: Engine, service_id: str, data: bytes, as_of: datetime) -> int:
    body = orjson.loads(data)
    result = await call_service(
        engine,
        service_id,
        body,
        as_of=as_of,
        client_factory=_no_fhir_server,
        server_allowed=lambda _: False,
    )
    return len(orjson.dumps(result.wire))


def service_time(
    engine: Engine, service_id: str, data: bytes, *, as_of: datetime, runs: int
) -> dict[str, Any]:
    """Median wall and CPU milliseconds of `runs` calls, after one warm-up call."""

    async def measure() -> tuple[list[float], list[float]]:
        await _once(engine, service_id, data, as_of)
        wall, cpu = [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            await _once(engine, service_id, data, as_of)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        return wall, cpu

    wall, cpu = asyncio.run(measure())
    return {
        "median_ms": statistics.median(wall) * 1000,
        "min_ms": min(wall) * 1000,
        "cpu_ms": statistics.median(cpu) * 1000,
        "runs": runs,
    }
