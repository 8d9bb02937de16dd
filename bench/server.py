"""The service under test: `cds migrate` and `cds serve` as subprocesses on 127.0.0.1.

`running_server(...)` picks a free loopback port, starts `cds serve` with CDS_PORT, CDS_WORKERS
and CDS_DATABASE_URL, waits until discovery answers, and stops the process (SIGTERM, then
SIGKILL) on exit, whatever happened. The server's log goes to a file, never to a pipe nobody
reads (a full pipe would stall the server). Process figures (RSS, CPU time) come from /proc: no
psutil.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
CDS = BIN / "cds"
HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env.update({"CDS_HOST": HOST, "CDS_DATABASE_URL": database_url, **extra})
    return env


def migrate(database_url: str) -> None:
    subprocess.run(
        [str(CDS), "migrate"],
        env=_env(database_url),
        check=True,
        capture_output=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    workers: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: the server itself with one worker, else its
        worker children (uvicorn's parent only supervises them)."""
        if self.workers == 1:
            return [self.pid]
        return children(self.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the serving processes so far."""
        return sum(cpu_seconds(pid) for pid in self.serving_pids())

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in task.read_text().split()]
    return sorted(found)


def rss_kib(pid: int) -> int:
    """Resident set size (VmRSS) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 14 and 15 of proc(5) (utime, stime), counted after the ")" that ends the name.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@contextlib.contextmanager
def running_server(
    *,
    workers: int,
    database_url: str,
    log_dir: Path,
    name: str,
    hooks_dir: Path | None = None,
    **settings: str,
) -> Iterator[Server]:
    """`settings`: more CDS_* variables (`CDS_AUDIT_SPOOL_FSYNC="true"`). The audit spool is
    in `log_dir`, never in the checkout."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    env = _env(
        database_url,
        CDS_PORT=str(port),
        CDS_WORKERS=str(workers),
        CDS_AUDIT_SPOOL_DIR=str(log_dir / f"{name}-spool"),
        **settings,
    )
    if hooks_dir is not None:
        env["CDS_HOOKS_DIR"] = str(hooks_dir)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(CDS), "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the workers are stopped with it
        )
    server = Server(process, port, workers, log_path)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"cds serve exited at start-up:\n{server.log_tail()}")
            try:
                if client.get(f"{server.base_url}/cds-services").status_code == 200:
                    if server.workers > 1:
                        _wait_workers(server, deadline)
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"cds serve not ready in {READY_TIMEOUT_SECONDS:g} s:\n{server.log_tail()}")


def _wait_workers(server: Server, deadline: float) -> None:
    """Every worker up, not only the first one to answer. Workers do not log their start-up
    (logging is configured in the parent), so a worker counts as ready once it exists and has
    used no CPU for half a second: loading the engine is CPU-bound; waiting on the socket is not.
    """
    last: dict[int, float] = {}
    while time.monotonic() < deadline:
        pids = children(server.pid)
        now = {pid: cpu_seconds(pid) for pid in pids}
        if len(pids) >= server.workers and now == last:
            return
        last = now
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)  # the group this process leads (start_new_session)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
