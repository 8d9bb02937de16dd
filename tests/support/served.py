"""Served for real on a loopback port: an app in a thread of the test process (`served`, what a
browser or a raw HTTP client talks to), or `cds serve` as a real process (`running_service`) for
the tests that need one: fault tests that kill workers, stop databases or send hostile input, and
measure what the workers do (their peak RSS).

Each service runs in its own process group (stopped with its workers), writes JSON logs to a
file the test reads, and listens on a free loopback port.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.support.paths import HOOKS

CDS = Path(sys.executable).parent / "cds"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]
    log: Path  # the service's stderr: one JSON object per line

    def lines(self) -> list[dict[str, Any]]:
        """Every complete JSON log line so far (text a crashing worker printed is skipped)."""
        parsed = []
        for raw in self.log.read_text(errors="replace").split("\n")[:-1]:
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(line, dict):
                parsed.append(line)
        return parsed

    def tail(self, count: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n--- service log (end) ---\n" + "\n".join(text.splitlines()[-count:])

    def worker_pids(self) -> list[int]:
        """The worker processes now alive: the server itself with one worker, else its
        children (uvicorn's supervisor starts them)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(p) for p in children.read_text().split()] if children.exists() else []
        workers = [pid for pid in pids if "multiprocessing" in _cmdline(pid)]
        return workers or [self.process.pid]

    def wait_ready(self, workers: int = 1, timeout: float = 60) -> None:
        """/health answers and `workers` workers have finished starting since the last call
        (so that requests spread over all of them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"cds serve exited with {self.process.returncode}{self.tail()}"
                )
            started = {
                line["pid"]
                for line in self.lines()
                if line.get("message") == "Application startup complete."
            }
            alive = set(self.worker_pids())
            if len(started & alive) >= workers:
                try:
                    if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"cds serve not ready within {timeout} s{self.tail()}")

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, as an orchestrator stops a container; the return code, or None if it had to
        be killed after `timeout` seconds."""
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group this module started
            self.process.wait(timeout=30)
            return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def service_env(**settings: Any) -> dict[str, str]:
    """The environment of a service: this one without CDS_*/PROMETHEUS_* variables, plus the
    given settings (`database_url="..."` -> CDS_DATABASE_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDS_", "PROMETHEUS_"))}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "CDS_HOST": "127.0.0.1",
            "CDS_HOOKS_DIR": str(HOOKS),
            "CDS_LOG_FORMAT": "json",
        }
    )
    env.update({f"CDS_{name.upper()}": str(value) for name, value in settings.items()})
    return env


@contextmanager
def running_service(
    directory: Path,
    *,
    workers: int = 1,
    obey_file_permissions: bool = False,
    extra_env: Mapping[str, str] | None = None,
    **settings: Any,
) -> Iterator[Service]:
    """`cds serve` with these settings, its log in `directory`; stopped (SIGTERM, then SIGKILL
    of its process group) when the block ends. The tests run as root, whom file permissions do
    not stop: `obey_file_permissions` runs the service without that power (the capabilities
    to override them), as a service account would be."""
    port = free_port()
    settings.setdefault("audit_spool_dir", directory / "spool")
    env = service_env(port=port, workers=workers, **settings)
    env.update(extra_env or {})
    log = directory / f"serve-{port}.log"
    with open(log, "wb") as err:
        command = [str(CDS), "serve"]
        if obey_file_permissions:
            # Root without the capabilities that bypass file permissions.
            command = [
                "setpriv",
                "--bounding-set",
                "-dac_override,-dac_read_search",
                "--",
                *command,
            ]
        process = subprocess.Popen(
            command,
            env=env,
            cwd=directory,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # its own process group: stopped with its workers
        )
    service = Service(f"http://127.0.0.1:{port}", process, log)
    try:
        service.wait_ready(workers)
        yield service
    finally:
        service.stop()


# ---------------------------------------------------------------------------------------------
# Memory of a worker (Linux /proc)


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def rss_mib(pid: int) -> float:
    return _status_kib(pid, "VmRSS") / 1024


def reset_peak_rss(pid: int) -> None:
    """Make the process's peak RSS (VmHWM) its current RSS (Linux 4.0+: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mib(pid: int) -> float:
    return _status_kib(pid, "VmHWM") / 1024


@contextmanager
def peak_rss_growth(pid: int) -> Iterator[list[float]]:
    """Measures how far the worker's RSS rose above where it was at the start of the block, in
    MiB: the list holds that one number once the block has ended."""
    reset_peak_rss(pid)
    before = rss_mib(pid)
    growth: list[float] = []
    yield growth
    growth.append(peak_rss_mib(pid) - before)


# ---------------------------------------------------------------------------------------------
# An app in a thread of the test process


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """Yields the base URL (http://127.0.0.1:<port>) while the app is served. The socket is
    bound here, on a port the kernel picks, and handed to uvicorn: no other process can take
    the port in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app could not be served")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
