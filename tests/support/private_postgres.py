"""A PostgreSQL server of a test's own, for the tests that stop it, hang it and start it again
(never the shared server at 127.0.0.1:5432): initdb and pg_ctl of the installed server, run as
the `postgres` user, on a free loopback port, in a temporary folder removed afterwards.

`hang()` stops every process of the server (SIGSTOP): its connections stay open and nothing
answers, as in a silent network partition; `resume()` lets it go on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.served import free_port

SERVER_USER = "postgres"


class PrivatePostgres:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = port

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/cds"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", SERVER_USER, "--", "pg_ctl", "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._pg_ctl("-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def stop(self) -> None:
        """Down at once, as a crash (connections are dropped, nothing is flushed politely)."""
        self.resume()
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children")
        return [postmaster, *(int(p) for p in children.read_text().split())]

    def hang(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        if (self.data / "postmaster.pid").exists():
            for pid in self.pids():
                os.kill(pid, signal.SIGCONT)

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url.replace("/cds", "/postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running server with an empty database `cds`; stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="cds-pg-"))
    shutil.chown(folder, SERVER_USER)
    server = PrivatePostgres(folder, free_port())
    initdb = ["initdb", "-D", str(server.data), "-A", "trust", "-U", "postgres", "--no-sync"]
    subprocess.run(
        ["runuser", "-u", SERVER_USER, "--", *initdb, "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        server.start()
        with psycopg.connect(server.url.replace("/cds", "/postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE cds")
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already down
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
