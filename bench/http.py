"""Client side of the HTTP benchmarks: sequential requests on one keep-alive connection, and the
load generator (`bench.load`) run as a second process."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.server import Server, cpu_seconds

SERVICE_PATH = "/cds-services/leg-pain-patient-view"
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True)
class Sequential:
    latencies: list[float]  # seconds, in the order sent
    elapsed: float  # wall time of all timed requests
    server_cpu: float  # CPU seconds the server used meanwhile


def client(server: Server) -> httpx.Client:
    """HTTP/1.1, one persistent connection, no proxies from the environment."""
    return httpx.Client(
        base_url=server.base_url,
        headers=HEADERS,
        timeout=120.0,
        trust_env=False,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


def post(http: httpx.Client, body: bytes) -> float:
    started = time.perf_counter()
    response = http.post(SERVICE_PATH, content=body)
    latency = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    return latency


def sequential(
    server: Server, http: httpx.Client, bodies: Sequence[bytes], *, passes: int, warmup: int = 1
) -> Sequential:
    for _ in range(warmup):
        for body in bodies:
            post(http, body)
    latencies: list[float] = []
    cpu = server.cpu_seconds()
    started = time.perf_counter()
    for _ in range(passes):
        latencies += [post(http, body) for body in bodies]
    elapsed = time.perf_counter() - started
    return Sequential(latencies, elapsed, server.cpu_seconds() - cpu)


def run_load(
    server: Server,
    bodies: Sequence[bytes],
    *,
    concurrency: int,
    requests: int,
    duration: float,
    rss_pid: int | None = None,
    sample_every: int = 1000,
) -> dict[str, Any]:
    """Run `python -m bench.load` against the server; its JSON summary, plus the server's CPU."""
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as f:
        for body in bodies:
            if b"\n" in body:
                body = orjson.dumps(orjson.loads(body))  # one document per line
            f.write(body + b"\n")
        path = Path(f.name)
    command = [
        sys.executable,
        "-m",
        "bench.load",
        f"--port={server.port}",
        f"--path={SERVICE_PATH}",
        f"--bodies={path}",
        f"--concurrency={concurrency}",
        f"--requests={requests}",
        f"--duration={duration}",
        f"--sample-every={sample_every}",
    ]
    if rss_pid is not None:
        command.append(f"--rss-pid={rss_pid}")
    pids = server.serving_pids()
    cpu = {pid: cpu_seconds(pid) for pid in pids}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            check=False,
            timeout=duration + 120,
            cwd=Path(__file__).resolve().parents[1],
        )
    finally:
        path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr.decode()[-2000:]}")
    result: dict[str, Any] = orjson.loads(done.stdout)
    used = {pid: cpu_seconds(pid) - before for pid, before in cpu.items()}
    result["server_cpu_s"] = sum(used.values())
    # How the work spread over the workers (keep-alive pins a connection to one of them).
    result["worker_cpu_share"] = [
        round(seconds / result["elapsed_s"], 2) for seconds in used.values() if seconds > 0.05
    ]
    return result
