"""Where the time goes: pyinstrument over one request path.

    .venv/bin/python -m bench.profile [--target synthea|N] [--http] [--requests K]

- in process (default): `orjson.loads` + `call_service` + `orjson.dumps`, as the route runs them;
- `--http`: the real app under uvicorn (uvloop, httptools, audit on a migrated SQLite file) in
  this process's main thread, profiled while `python -m bench.load` sends the requests from a
  second process. The audit writes run in the thread pool and are not in the profile; the time
  the event loop waits for them (the GIL) is.

`--target synthea` sends the 90 Synthea patients in turn; a number N sends one synthetic record
of N resources. pyinstrument samples wall-clock time: on a busy machine, compare proportions,
not totals.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pyinstrument import Profiler

from bench import data
from bench.inprocess import call_once
from bench.synthetic import SYNTHETIC_AS_OF


def bodies_for(target: str) -> list[bytes]:
    from cds.pipeline import Engine
    from cds.settings import Settings

    service = Engine.load(Settings().hooks_dir).services[data.SERVICE_ID]
    if target == "synthea":
        return [b.data for b in data.synthea_bodies(service)]
    return [data.synthetic_body(service, int(target)).data]


def in_process(bodies: list[bytes], requests: int, interval: float) -> Profiler:
    from cds.api.app import tune_gc
    from cds.fhir.access import FhirAccess
    from cds.pipeline import Engine
    from cds.settings import Settings

    settings = Settings()
    engine = Engine.load(settings.hooks_dir)
    service = engine.services[data.SERVICE_ID]
    fhir = FhirAccess.from_settings(settings)
    tune_gc()

    async def run(count: int) -> None:
        for i in range(count):
            await call_once(engine, service, fhir, bodies[i % len(bodies)], SYNTHETIC_AS_OF)

    asyncio.run(run(min(len(bodies), 10)))  # warm-up
    profiler = Profiler(interval=interval)
    with profiler:
        asyncio.run(run(requests))
    return profiler


def over_http(bodies: list[bytes], requests: int, concurrency: int, interval: float) -> Profiler:
    import uvicorn

    from bench.server import free_port, migrate
    from cds.api.app import create_app, tune_gc
    from cds.settings import Settings

    directory = Path(tempfile.mkdtemp(prefix="cds-profile-"))
    url = f"sqlite:///{directory / 'audit.db'}"
    migrate(url)
    port = free_port()
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    tune_gc()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            http="httptools",
            loop="uvloop",
            log_config=None,
            access_log=False,
        )
    )
    path = directory / "bodies.jsonl"
    path.write_bytes(b"\n".join(bodies) + b"\n")
    # pyinstrument samples the thread that starts it, and uvicorn runs in this (main) thread:
    # the load runs in another thread and says when the warm-up is over.
    profiler = Profiler(interval=interval, async_mode="disabled")
    warmed_up = threading.Event()

    def load(count: int, connections: int) -> str:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.load",
                f"--port={port}",
                f"--bodies={path}",
                f"--concurrency={connections}",
                f"--requests={count}",
                "--duration=120",
            ],
            capture_output=True,
            check=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout

    def drive() -> None:
        try:
            while not server.started:
                time.sleep(0.05)
            load(min(100, requests), 1)
            warmed_up.set()
            print(load(requests, concurrency), file=sys.stderr)
        finally:
            warmed_up.set()
            server.should_exit = True

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        while not warmed_up.is_set() and not task.done():
            await asyncio.sleep(0.05)
        profiler.start()
        await task

    threading.Thread(target=drive, daemon=True).start()
    import uvloop

    uvloop.run(serve())
    profiler.stop()
    for leftover in directory.iterdir():
        leftover.unlink()
    directory.rmdir()
    return profiler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--target", default="synthea", help="synthea, or a resource count")
    parser.add_argument("--http", action="store_true", help="profile the server, over HTTP")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling (s)")
    parser.add_argument("--all", action="store_true", help="show library frames too")
    args = parser.parse_args(argv)
    if args.target != "synthea" and not args.target.isdigit():
        parser.error("--target is 'synthea' or a number of resources")
    bodies = bodies_for(args.target)
    default = 900 if args.target == "synthea" else max(3, 200_000 // int(args.target))
    requests = args.requests or (default * 3 if args.http else default)
    os.environ.setdefault("CDS_LOG_LEVEL", "WARNING")
    if args.http:
        profiler = over_http(bodies, requests, args.concurrency, args.interval)
    else:
        profiler = in_process(bodies, requests, args.interval)
    print(profiler.output_text(unicode=False, color=False, show_all=args.all))


if __name__ == "__main__":
    main()
