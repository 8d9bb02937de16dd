"""The HTTP server's own bounds (cds.api.http_protocol), on a real `cds serve` worker over real
sockets: header size (431), header and body read timeouts (408), and the connection bound (503),
so that hostile or slow clients can neither swell a worker nor hold its file descriptors."""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cds.audit.database import upgrade
from cds.settings import Settings
from tests.support.databases import sqlite_url
from tests.support.paths import REPO
from tests.support.served import Service, peak_rss_growth, running_service

MAX_HEADER_BYTES = 8192
TIMEOUT_SECONDS = 1.0  # header and body timeouts of this service
MAX_CONNECTIONS = 64
SLACK_SECONDS = 4.0  # a busy test machine: generous, never a hang
SERVICE_PATH = "/cds-services/leg-pain-patient-view"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("http-bounds")
    database = sqlite_url(directory)
    upgrade(database)
    with running_service(
        directory,
        database_url=database,
        http_max_header_bytes=MAX_HEADER_BYTES,
        http_header_timeout_seconds=TIMEOUT_SECONDS,
        http_body_timeout_seconds=TIMEOUT_SECONDS,
        http_max_connections=MAX_CONNECTIONS,
    ) as served:
        yield served


def connect(service: Service) -> socket.socket:
    host, port = service.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT_SECONDS + SLACK_SECONDS)
    return sock


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_headers_over_the_bound_are_431(service: Service) -> None:
    with connect(service) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: cds\r\nX-Padding: "
            + b"a" * (MAX_HEADER_BYTES + 1024)
            + b"\r\n\r\n"
        )
        assert status_of(read_answer(sock)) == 431
    # Just within the bound: answered.
    padding = "a" * (MAX_HEADER_BYTES - 200)
    assert httpx.get(f"{service.url}/health", headers={"X-Padding": padding}).status_code == 200


def test_a_huge_header_is_cut_off_without_being_read(service: Service) -> None:
    """256 MiB of one header: the worker stops reading at the bound and closes the connection;
    the client cannot send more than its socket buffers hold."""
    pid = service.process.pid
    sent = 0
    started = time.monotonic()
    with peak_rss_growth(pid) as growth, connect(service) as sock:
        sock.sendall(b"POST " + SERVICE_PATH.encode() + b" HTTP/1.1\r\nHost: cds\r\nX-Big: ")
        chunk = b"a" * (1 << 20)
        try:
            while sent < 256 << 20:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < 64 << 20, f"the worker took {sent >> 20} MiB of one header"
    assert time.monotonic() - started < SLACK_SECONDS
    assert growth[0] < 10, f"the worker grew by {growth[0]:.0f} MiB"


def test_headers_sent_too_slowly_are_408(service: Service) -> None:
    started = time.monotonic()
    with connect(service) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        answer = b""
        try:
            for _ in range(int((TIMEOUT_SECONDS + SLACK_SECONDS) / 0.2)):
                sock.sendall(b"X: y\r\n")  # a header line every 0.2 s, never the end
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_answer(sock)
    assert status_of(answer) == 408
    assert time.monotonic() - started < TIMEOUT_SECONDS + SLACK_SECONDS


def test_a_connection_that_sends_nothing_is_closed(service: Service) -> None:
    started = time.monotonic()
    with connect(service) as sock:
        assert status_of(read_answer(sock)) == 408
    assert time.monotonic() - started < TIMEOUT_SECONDS + SLACK_SECONDS


def test_a_body_sent_too_slowly_is_408(service: Service) -> None:
    started = time.monotonic()
    with connect(service) as sock:
        sock.sendall(
            b"POST " + SERVICE_PATH.encode() + b" HTTP/1.1\r\nHost: cds\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        try:
            for _ in range(int((TIMEOUT_SECONDS + SLACK_SECONDS) / 0.2)):
                sock.sendall(b" ")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_answer(sock)
    assert status_of(answer) == 408
    assert time.monotonic() - started < TIMEOUT_SECONDS + SLACK_SECONDS
    # The route reading that body was told the client went: a rejection, not an error.
    time.sleep(0.5)
    assert not [line for line in service.lines() if line["level"] == "ERROR"], service.tail()


def test_requests_on_one_connection_and_large_bodies_are_unaffected(service: Service) -> None:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "patient-1"},
        "prefetch": {},
        "padding": "x" * (2 << 20),  # far past the header bound, in the body
    }
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for _ in range(3):  # keep-alive: each request's head is timed and bounded afresh
            assert client.get("/health").status_code == 200
            response = client.post(SERVICE_PATH, json=body)
            assert response.status_code == 412, response.text  # no fhirServer to fetch from
            time.sleep(TIMEOUT_SECONDS / 2)


def test_connections_beyond_the_bound_are_refused_and_the_worker_recovers(
    service: Service,
) -> None:
    """A thousand clients that connect and send nothing: the worker holds no more than its
    bound (the others get 503 at once), drops the idle ones after the header timeout, and
    answers again."""
    pid = service.process.pid
    idle: list[socket.socket] = []
    try:
        for _ in range(1000):
            idle.append(connect(service))
        time.sleep(0.5)
        assert _open_sockets(pid) <= MAX_CONNECTIONS + 16
        with connect(service) as late:
            assert status_of(read_answer(late)) in (503, 408)
        deadline = time.monotonic() + TIMEOUT_SECONDS + SLACK_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{service.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the worker did not answer again after its idle connections timed out")
    finally:
        for sock in idle:
            sock.close()


def _open_sockets(pid: int) -> int:
    descriptors = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in descriptors.iterdir():
        try:
            count += fd.readlink().name.startswith("socket:")
        except OSError:
            continue
    return count


def test_the_load_balancer_applies_the_same_bounds() -> None:
    """docker/nginx.conf cuts what the service would refuse, before it reaches a replica."""
    nginx = (REPO / "docker" / "nginx.conf").read_text()
    defaults = {name: field.default for name, field in Settings.model_fields.items()}

    def directive(name: str) -> list[str]:
        match = re.search(rf"^\s*{name}\s+([^;]+);", nginx, flags=re.MULTILINE)
        assert match is not None, f"nginx.conf sets no {name}"
        return match.group(1).split()

    count, size = directive("large_client_header_buffers")
    assert int(count) * int(size.removesuffix("k")) * 1024 <= defaults["http_max_header_bytes"]
    assert directive("client_header_timeout") == [f"{defaults['http_header_timeout_seconds']:g}s"]
    assert directive("client_body_timeout") == [f"{defaults['http_body_timeout_seconds']:g}s"]
    assert directive("limit_conn")[0] == "per_client"
    assert directive("limit_conn_status") == ["503"]
    connections = int(directive("worker_connections")[0])
    assert int(directive("worker_rlimit_nofile")[0]) >= 2 * connections
