"""What an EHR's FHIR server can make a worker do: whatever it answers, a call's memory and time
stay bounded.

A real `cds serve` worker (one process, its peak RSS read from /proc) fetches every prefetch key
from a loopback FHIR server that answers with a gzip bomb (1 GiB of zeros, about 1 MiB on the
wire) or with nine 45 MB searches. Each call must fail with a 412 within the request deadline,
the worker's RSS never rising more than RSS_BOUND_MIB above where it was, three calls at once
included.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import pytest

from cds.audit.database import upgrade
from cds.pipeline import Engine
from tests.support.databases import sqlite_url
from tests.support.jwt_keys import LoopbackServer, Route
from tests.support.served import Service, peak_rss_growth, running_service

SERVICE = "leg-pain-patient-view"
RSS_BOUND_MIB = 150  # above the worker's RSS before the call(s)
ANSWER_WITHIN_SECONDS = 30  # the request deadline is 10 s: generous, never a hang

Answer = tuple[int, bytes, dict[str, str]]


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros as one gzip member (what an HTTP client decodes as one stream)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(1024)]
    parts.append(compressor.flush())
    return b"".join(parts)


def searchset(size: int) -> bytes:
    """A valid searchset Bundle of about `size` bytes of small Observations (each parses into
    several dicts: about ten times its size in memory)."""
    entry = orjson.dumps(
        {
            "resource": {
                "resourceType": "Observation",
                "id": "o",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
                "subject": {"reference": "Patient/patient-1"},
                "valueQuantity": {"value": 3.1, "unit": "mmol/L"},
            }
        }
    )
    count = size // (len(entry) + 1)
    return b'{"resourceType":"Bundle","type":"searchset","entry":[%s]}' % b",".join([entry] * count)


@pytest.fixture(scope="module")
def huge_search() -> bytes:
    """Nine of these (405 MB) were all taken in, and parsed, before the bound per call."""
    return searchset(45_000_000)


@pytest.fixture(scope="module")
def fhir() -> Iterator[LoopbackServer]:
    with LoopbackServer().running() as server:
        yield server


@pytest.fixture(scope="module")
def worker(
    tmp_path_factory: pytest.TempPathFactory, fhir: LoopbackServer
) -> Iterator[tuple[Service, int]]:
    """One `cds serve` worker allowed to fetch from the loopback FHIR server; its pid."""
    directory = tmp_path_factory.mktemp("hostile-fhir")
    database = sqlite_url(directory)
    upgrade(database)
    with running_service(
        directory, database_url=database, allowed_fhir_servers=f"{fhir.url}/fhir"
    ) as service:
        yield service, service.process.pid


def answer_every_query(
    server: LoopbackServer, engine: Engine, answer: Callable[[], Answer]
) -> None:
    for template in engine.services[SERVICE].prefetch.values():
        path = "/fhir/" + template.split("?")[0].replace("{{context.patientId}}", "patient-1")
        server.routes[path] = _route(answer)


def _route(answer: Callable[[], Answer]) -> Route:
    return Route(handler=lambda _path: answer())


def call_without_prefetch(service: Service, fhir: LoopbackServer) -> httpx.Response:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": f"{fhir.url}/fhir",
        "context": {"userId": "Practitioner/1", "patientId": "patient-1"},
    }
    return httpx.post(
        f"{service.url}/cds-services/{SERVICE}", json=body, timeout=ANSWER_WITHIN_SECONDS
    )


def calls_at_once(service: Service, fhir: LoopbackServer, count: int) -> list[int]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        responses = list(pool.map(lambda _: call_without_prefetch(service, fhir), range(count)))
    return [r.status_code for r in responses]


@pytest.mark.parametrize("at_once", [1, 3])
def test_a_gzip_bomb_is_refused_while_it_decompresses(
    worker: tuple[Service, int],
    fhir: LoopbackServer,
    engine: Engine,
    gzip_bomb: bytes,
    at_once: int,
) -> None:
    service, pid = worker
    answer_every_query(
        fhir,
        engine,
        lambda: (200, gzip_bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"}),
    )
    with peak_rss_growth(pid) as growth:
        statuses = calls_at_once(service, fhir, at_once)
    assert statuses == [412] * at_once
    assert growth[0] < RSS_BOUND_MIB, f"the worker grew by {growth[0]:.0f} MiB"


@pytest.mark.parametrize("compressed", [False, True], ids=["declared length", "gzip"])
def test_what_one_call_fetches_is_bounded_in_total(
    worker: tuple[Service, int],
    fhir: LoopbackServer,
    engine: Engine,
    huge_search: bytes,
    compressed: bool,
) -> None:
    """Nine valid 45 MB searches, sent as they are (refused on their Content-Length) or gzipped
    (about 150 KB each on the wire: refused while decompressing, at the call's bound)."""
    service, pid = worker
    answer = zlib.compress(huge_search, wbits=zlib.MAX_WBITS | 16) if compressed else huge_search
    headers = {"Content-Encoding": "gzip"} if compressed else {}
    answer_every_query(fhir, engine, lambda: (200, answer, headers))
    with peak_rss_growth(pid) as growth:
        statuses = calls_at_once(service, fhir, 3)
    assert statuses == [412] * 3
    assert growth[0] < RSS_BOUND_MIB, f"the worker grew by {growth[0]:.0f} MiB"


def test_calls_each_within_their_bound_are_answered_within_the_rss_bound(
    worker: tuple[Service, int], fhir: LoopbackServer, engine: Engine
) -> None:
    """Nine searches of 0.42 MB: 3.8 MB, just within one call's bound (4 MiB), every one of
    them parsed; three such calls at once."""
    service, pid = worker
    answer = searchset(420_000)
    answer_every_query(fhir, engine, lambda: (200, answer, {}))
    fhir.routes["/fhir/Patient/patient-1"] = _route(
        lambda: (200, orjson.dumps({"resourceType": "Patient", "id": "patient-1"}), {})
    )
    with peak_rss_growth(pid) as growth:
        statuses = calls_at_once(service, fhir, 3)
    assert statuses == [200] * 3
    assert growth[0] < RSS_BOUND_MIB, f"the worker grew by {growth[0]:.0f} MiB"


def test_the_worker_still_answers_afterwards(
    worker: tuple[Service, int], fhir: LoopbackServer, engine: Engine
) -> None:
    service, _ = worker
    empty = orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []})
    answer_every_query(fhir, engine, lambda: (200, empty, {}))
    fhir.routes["/fhir/Patient/patient-1"] = _route(
        lambda: (200, orjson.dumps({"resourceType": "Patient", "id": "patient-1"}), {})
    )
    assert call_without_prefetch(service, fhir).status_code == 200
