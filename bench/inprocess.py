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

from cds.fhir.access import FhirAccess
from cds.pipeline import Engine
from cds.service_call import call_service
from cds.services import ServiceDefinition
from cds.settings import Settings


async def call_once(
    engine: Engine, service: ServiceDefinition, fhir: FhirAccess, data: bytes, as_of: datetime
) -> int:
    body = orjson.loads(data)
    result = await call_service(engine, service, body, as_of=as_of, fhir=fhir)
    return len(orjson.dumps(result.wire))


def service_time(
    engine: Engine, service_id: str, data: bytes, *, as_of: datetime, runs: int
) -> dict[str, Any]:
    """Median wall and CPU milliseconds of `runs` calls, after one warm-up call."""

    async def measure() -> tuple[list[float], list[float]]:
        service = engine.services[service_id]
        # The bodies carry every prefetch key and no fhirServer: nothing is ever fetched (a
        # missing key would fail the run with the spec's 412).
        fhir = FhirAccess.from_settings(Settings())
        await call_once(engine, service, fhir, data, as_of)
        wall, cpu = [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            await call_once(engine, service, fhir, data, as_of)
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
