"""A real FHIR server on loopback for tests: threaded stdlib HTTP on 127.0.0.1, ephemeral port.

It serves searches and reads from loaded bundles (the Synthea transaction bundles, or resources
a test adds), the way a small FHIR server would:

- `GET /fhir/Type/id`: a read (404 + OperationOutcome when unknown);
- `GET /fhir/Type?patient=ID&code=sys|code,...&status=a,b&_count=N`: a searchset Bundle, paged
  (`next` links, page size `_count` or the server's `page_size`); an unknown patient gets an
  empty searchset. `urn:uuid:` references of transaction bundles are served as `Type/id`.

Failure modes are chosen by a path prefix before `/fhir`, so one server serves every test:

| base URL (`server.url(mode)`)   | behaviour                                                  |
|---------------------------------|------------------------------------------------------------|
| `/fhir`                         | normal                                                     |
| `/status/<code>/fhir`           | HTTP <code> (500, 401, 403, ...) with an OperationOutcome  |
| `/slow/<seconds>/fhir`          | waits, then answers normally                               |
| `/trickle/fhir`                 | sends headers at once, then one body byte every 0.2 s      |
| `/invalid-json/fhir`            | 200 with a truncated JSON body                             |
| `/outcome/fhir`                 | 200 with an OperationOutcome body                          |
| `/foreign-next/fhir`            | searches carry a `next` link to another host (localhost)  |
| `/redirect/fhir`                | 302 to the same path on another host (localhost)           |
| `/paged/<n>/fhir`               | normal, with pages of n entries                            |
| `/refuse/<Type>=<how>,.../fhir` | normal, except for the types named (reads and searches):   |
|                                 | `400` (an OperationOutcome: the type is not supported),    |
|                                 | `401`, `403`, `404`, `5xx` (each with an OperationOutcome) |
|                                 | or `timeout` (no answer until the server stops)            |

`server.closed_url()` is a base on a port nobody listens on (connection refused).

Every request is recorded (`server.requests`): method, path, query, Host, and whether an
`Authorization: Bearer` header came, with the token's SHA-256 (never the token itself), so tests
can assert the token was sent, and to whom, without keeping it.
"""

from __future__ import annotations

import hashlib
import re
import socket
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from tests.support.paths import SYNTHEA_BUNDLES

DEFAULT_PAGE_SIZE = 500
REFUSAL_TIMEOUT_SECONDS = 30.0  # `refuse/<Type>=timeout`: longer than any test's FHIR timeout
_URN_REFERENCE = re.compile(rb'"reference":"urn:uuid:([^"]+)"')


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # full path, mode prefix included
    query: str
    host: str
    has_bearer: bool
    token_sha256: str | None  # of the bearer token; the token itself is never kept

    @property
    def fhir_path(self) -> str:
        """The path below the FHIR base (after `/fhir/`), e.g. `Observation` or `Patient/1`."""
        return self.path.split("/fhir/", 1)[-1]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def operation_outcome(diagnostics: str, code: str = "exception") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


class FhirData:
    """Resources indexed by type and id, and by (type, patient id)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_id: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.by_patient: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
        self.urn_targets: dict[bytes, bytes] = {}  # urn:uuid id -> b"Type/id"

    def add_bundle(self, bundle: Mapping[str, Any]) -> None:
        self.add(e["resource"] for e in bundle.get("entry") or () if "resource" in e)

    def add(self, resources: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            for resource in resources:
                kind, rid = resource.get("resourceType"), resource.get("id")
                if not isinstance(kind, str) or not isinstance(rid, str):
                    continue
                previous = self.by_id.get((kind, rid))
                if previous is not None:  # replaced: re-adding is idempotent
                    old_patient = _patient_id(previous)
                    if old_patient is not None:
                        bucket = self.by_patient[(kind, old_patient)]
                        bucket[:] = [r for r in bucket if r is not previous]
                self.by_id[(kind, rid)] = resource
                self.urn_targets[rid.encode()] = f"{kind}/{rid}".encode()
                patient = _patient_id(resource)
                if patient is not None:
                    self.by_patient[(kind, patient)].append(resource)

    def read(self, kind: str, rid: str) -> Mapping[str, Any] | None:
        return self.by_id.get((kind, rid))

    def search(self, kind: str, params: list[tuple[str, str]]) -> list[Mapping[str, Any]]:
        patient = next((v for k, v in params if k in ("patient", "subject")), None)
        if patient is None:
            matches = [r for (k, _), r in self.by_id.items() if k == kind]
        else:
            matches = list(self.by_patient.get((kind, patient.removeprefix("Patient/")), ()))
        for name, value in params:
            if name == "code":
                wanted = [
                    tuple(t.rsplit("|", 1)) if "|" in t else ("", t) for t in value.split(",")
                ]
                matches = [r for r in matches if _has_code(r, wanted)]
            elif name == "status":
                allowed = set(value.split(","))
                matches = [r for r in matches if r.get("status") in allowed]
        return matches

    def serialise(self, payload: Any) -> bytes:
        """JSON bytes with transaction `urn:uuid:` references served as `Type/id`."""
        raw = orjson.dumps(payload)
        return _URN_REFERENCE.sub(
            lambda m: (
                b'"reference":"'
                + self.urn_targets.get(m.group(1), b"urn:uuid:" + m.group(1))
                + b'"'
            ),
            raw,
        )


def _refusal(item: str) -> tuple[str, str]:
    """`Type=how` of a `refuse/...` mode."""
    kind, _, how = item.partition("=")
    return kind, how


def _patient_id(resource: Mapping[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    for element in ("subject", "patient"):
        holder = resource.get(element)
        reference = holder.get("reference") if isinstance(holder, Mapping) else None
        if isinstance(reference, str):
            for prefix in ("urn:uuid:", "Patient/"):
                if reference.startswith(prefix):
                    return reference[len(prefix) :]
    return None


def _has_code(resource: Mapping[str, Any], wanted: list[tuple[str, ...]]) -> bool:
    for element in ("code", "medicationCodeableConcept"):
        concept = resource.get(element)
        if not isinstance(concept, Mapping):
            continue
        for coding in concept.get("coding") or ():
            for system, code in wanted:
                if coding.get("code") == code and (not system or coding.get("system") == system):
                    return True
    return False


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the service opens one connection per concurrent query

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that gave up (timeout tests): expected, not noise
        super().handle_error(request, client_address)


class FhirTestServer:
    """Start with `with FhirTestServer() as server:` (or `start()` / `stop()`)."""

    def __init__(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.data = FhirData()
        self.page_size = page_size
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FhirTestServer:
        handler = _handler_for(self)
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FhirTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def url(self, mode: str = "") -> str:
        """The base URL of a failure mode, e.g. `url("status/500")`, `url("slow/2")`."""
        mode = mode.strip("/")
        return f"http://127.0.0.1:{self.port}/{mode}/fhir" if mode else self.base

    @staticmethod
    def closed_url() -> str:
        """A base URL on a loopback port that nothing listens on (connection refused)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}/fhir"

    # -- the request log -----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)


def _handler_for(server: FhirTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls

        def log_message(self, format: str, *args: Any) -> None:
            return None  # quiet: tests read server.requests instead

        def do_POST(self) -> None:
            self._record()
            self._send(405, operation_outcome("read-only test server", "not-supported"))

        def do_GET(self) -> None:
            self._record()
            split = urlsplit(self.path)
            prefix, sep, rest = split.path.partition("/fhir/")
            if not sep:
                prefix, rest = split.path.removesuffix("/fhir"), ""
            mode = [p for p in prefix.split("/") if p]
            params = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True)]
            page_size = server.page_size
            if mode[:1] == ["refuse"] and len(mode) == 2:
                kind = rest.split("/", 1)[0]
                refused = dict(_refusal(item) for item in mode[1].split(","))
                how = refused.get(kind)
                if how is not None:
                    self._refuse(kind, how)
                    return
            if mode[:1] == ["status"] and len(mode) == 2:
                status = int(mode[1])
                self._send(status, operation_outcome(f"simulated HTTP {status}"))
                return
            if mode[:1] == ["slow"] and len(mode) == 2:
                server._stopping.wait(float(mode[1]))
            elif mode == ["trickle"]:
                self._trickle()
                return
            elif mode == ["invalid-json"]:
                self._send_raw(200, b'{"resourceType": "Bundle", "entry": [')
                return
            elif mode == ["outcome"]:
                self._send(200, operation_outcome("simulated failure", "processing"))
                return
            elif mode == ["redirect"]:
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{server.port}/fhir/{rest}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            elif mode[:1] == ["paged"] and len(mode) == 2:
                page_size = int(mode[1])
            base = f"http://127.0.0.1:{server.port}{prefix}/fhir"
            if mode == ["foreign-next"]:
                base = f"http://localhost:{server.port}/fhir"
            self._answer(rest, params, page_size, base, always_next=mode == ["foreign-next"])

        def _answer(
            self,
            rest: str,
            params: list[tuple[str, str]],
            page_size: int,
            base: str,
            *,
            always_next: bool,
        ) -> None:
            parts = [p for p in rest.split("/") if p]
            if len(parts) == 2:
                resource = server.data.read(parts[0], parts[1])
                if resource is None:
                    self._send(404, operation_outcome(f"{rest} not found", "not-found"))
                else:
                    self._send(200, resource)
                return
            if len(parts) != 1:
                self._send(400, operation_outcome(f"unsupported path {rest!r}", "not-supported"))
                return
            kind = parts[0]
            matches = server.data.search(kind, params)
            count = next((int(v) for k, v in params if k == "_count" and v.isdigit()), page_size)
            offset = next((int(v) for k, v in params if k == "_offset" and v.isdigit()), 0)
            page = matches[offset : offset + count]
            query = "&".join(f"{k}={v}" for k, v in params if k != "_offset")
            links = [{"relation": "self", "url": f"{base}/{kind}?{query}"}]
            if offset + count < len(matches) or always_next:
                links.append(
                    {"relation": "next", "url": f"{base}/{kind}?{query}&_offset={offset + count}"}
                )
            self._send(
                200,
                {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "total": len(matches),
                    "link": links,
                    "entry": [
                        {
                            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                            "resource": r,
                            "search": {"mode": "match"},
                        }
                        for r in page
                    ],
                },
            )

        def _refuse(self, kind: str, how: str) -> None:
            if how == "timeout":
                server._stopping.wait(REFUSAL_TIMEOUT_SECONDS)
                return  # no answer at all: the client has given up long before
            status = int(how)
            if status == 400:
                outcome = operation_outcome(
                    f"Resource type {kind} is not supported by this server", "not-supported"
                )
            elif status == 404:
                outcome = operation_outcome(f"Unknown resource type {kind}", "not-found")
            else:
                outcome = operation_outcome(f"simulated HTTP {status} for {kind}")
            self._send(status, outcome)

        def _record(self) -> None:
            authorization = self.headers.get("Authorization") or ""
            scheme, _, token = authorization.partition(" ")
            bearer = scheme.lower() == "bearer" and bool(token)
            split = urlsplit(self.path)
            server._record(
                RecordedRequest(
                    method=self.command,
                    path=split.path,
                    query=split.query,
                    host=self.headers.get("Host") or "",
                    has_bearer=bearer,
                    token_sha256=sha256(token) if bearer else None,
                )
            )

        def _send(self, status: int, payload: Any) -> None:
            self._send_raw(status, server.data.serialise(payload))

        def _send_raw(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _trickle(self) -> None:
            body = orjson.dumps(operation_outcome("slowly")) * 100
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    if server._stopping.wait(0.2):
                        return
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
            except OSError:
                return  # the client gave up: what the test wants

    return Handler


# ---------------------------------------------------------------------------------------------
# Fixtures (imported into tests/conftest.py)


def load_synthea_bundles() -> dict[str, dict[str, Any]]:
    """Every Synthea bundle, parsed once: file stem -> Bundle."""
    return {p.stem: orjson.loads(p.read_bytes()) for p in sorted(SYNTHEA_BUNDLES.glob("*.json"))}


@pytest.fixture(scope="session")
def synthea_bundles() -> dict[str, dict[str, Any]]:
    """The 90 Synthea bundles (119 MB), parsed once per test session. Do not mutate."""
    started = time.perf_counter()
    bundles = load_synthea_bundles()
    assert len(bundles) == 90, f"expected 90 Synthea bundles, found {len(bundles)}"
    assert time.perf_counter() - started < 30
    return bundles


@pytest.fixture(scope="session")
def synthea_fhir_server(synthea_bundles: dict[str, dict[str, Any]]) -> Iterator[FhirTestServer]:
    """One loopback FHIR server for the session, serving every Synthea bundle."""
    with FhirTestServer() as server:
        for bundle in synthea_bundles.values():
            server.data.add_bundle(bundle)
        yield server


@pytest.fixture
def fhir_server(synthea_fhir_server: FhirTestServer) -> FhirTestServer:
    """The session's loopback FHIR server, with an empty request log for this test."""
    synthea_fhir_server.clear_requests()
    return synthea_fhir_server
