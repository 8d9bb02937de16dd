"""`make bench`: where the time goes, end to end, on this machine.

    .venv/bin/python -m bench [--quick] [--out DIR] [--no-readme] [--only SECTION ...]

Self-contained and bounded: it migrates its own audit databases (a SQLite file in a temporary
directory; a fresh PostgreSQL database `bench_<random>`, dropped afterwards) and starts and stops
its own `cds serve` processes on free 127.0.0.1 ports. Sections:

1. latency: the 90 Synthea patients as patient-view requests, 1 worker, sequential, keep-alive;
2. memory: VmRSS of that server over 10,000 more requests (load from a second process);
3. scaling: synthetic records of 100 to 20,000 resources, over HTTP and in process, next to the
   orjson parse floor (plot: results/scaling.png);
4. throughput: 2 workers under load from a second process, audit on SQLite and on PostgreSQL;
5. sweep: `cds sweep` over 1,000 to 50,000 cloned Synthea charts, local engine and Spark
   local[2] (plot: results/sweep.png);
6. spool: what the audit spool adds to a call, its fsync off and on (in process, and over HTTP);
7. shadow: section 1's latency with every pinned rule also running as a shadow version, against
   without (two servers side by side, passes alternating).

Results: results/latest.json (not committed) and the tables in bench/README.md. Numbers, not
assertions: nothing here fails on a slow machine, but the targets met are reported.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import data, http, report
from bench import shadow as bench_shadow
from bench import sweep as bench_sweep
from bench.load import percentiles
from bench.plot import scaling_plot
from bench.server import Server, running_server

BENCH = Path(__file__).resolve().parent
SECTIONS = ("latency", "memory", "scaling", "throughput", "sweep", "spool", "shadow")
POSTGRES_ADMIN_URL = os.environ.get(
    "CDS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
AUDIT_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Plan:
    """How much of everything: the full run, or --quick (a smoke test of the machinery)."""

    patients: int | None  # None: all
    passes: int
    memory_requests: int
    memory_every: int
    memory_seconds: float
    sizes: tuple[int, ...]
    throughput_seconds: float
    throughput_requests: int
    warmup_seconds: float
    concurrency: int
    sweep_sizes: tuple[int, ...]
    spool_rows: int

    @classmethod
    def full(cls, concurrency: int) -> Plan:
        return cls(
            patients=None,
            passes=5,
            memory_requests=10_000,
            memory_every=1_000,
            memory_seconds=120.0,
            sizes=(100, 500, 1_000, 2_000, 5_000, 10_000, 20_000),
            throughput_seconds=15.0,
            throughput_requests=50_000,
            warmup_seconds=3.0,
            concurrency=concurrency,
            sweep_sizes=(1_000, 10_000, 50_000),
            spool_rows=5_000,
        )

    @classmethod
    def quick(cls, concurrency: int) -> Plan:
        return cls(
            patients=6,
            passes=1,
            memory_requests=200,
            memory_every=50,
            memory_seconds=20.0,
            sizes=(100, 1_000),
            throughput_seconds=2.0,
            throughput_requests=2_000,
            warmup_seconds=0.5,
            concurrency=min(concurrency, 8),
            sweep_sizes=(180, 360),
            spool_rows=200,
        )


def runs_for(resources: int) -> int:
    """Repetitions per size: enough for a median, bounded in time at 20,000 resources."""
    if resources <= 2_000:
        return 15
    if resources <= 5_000:
        return 7
    return 5


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Audit databases


def sqlite_url(directory: Path, name: str) -> str:
    return f"sqlite:///{directory / name}.db"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database `bench_<random>` on the PostgreSQL server; dropped on exit."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def audit_rows(url: str) -> int:
    import sqlalchemy as sa

    from cds.audit.connection import make_engine
    from cds.audit.models import invocation_table

    engine = make_engine(url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(invocation_table)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def wait_for_audit(url: str, expected: int) -> int:
    """Audit rows are written after each response: wait (bounded) until they are all in."""
    deadline = time.monotonic() + AUDIT_WAIT_SECONDS
    rows = audit_rows(url)
    while rows < expected and time.monotonic() < deadline:
        time.sleep(0.25)
        rows = audit_rows(url)
    return rows


# ---------------------------------------------------------------------------------------------
# Sections


def latency(server: Server, bodies: list[data.Body], plan: Plan) -> dict[str, Any]:
    log(f"latency: {len(bodies)} patients x {plan.passes} passes, sequential")
    with http.client(server) as client:
        run = http.sequential(server, client, [b.data for b in bodies], passes=plan.passes)
    stats = percentiles(sorted(run.latencies))
    per_patient: dict[str, list[float]] = {}
    for i, latency_s in enumerate(run.latencies):
        per_patient.setdefault(bodies[i % len(bodies)].name, []).append(latency_s * 1000)
    slowest = sorted(per_patient.items(), key=lambda kv: -max(kv[1]))[:5]
    sizes = sorted(b.resources for b in bodies)
    kbs = sorted(len(b.data) / 1000 for b in bodies)
    return {
        "patients": len(bodies),
        "passes": plan.passes,
        "warmup_passes": 1,
        **stats,
        "rps": len(run.latencies) / run.elapsed,
        "server_cpu_ms": run.server_cpu * 1000 / len(run.latencies),
        "resources_median": sizes[len(sizes) // 2],
        "resources_max": sizes[-1],
        "body_kb_median": kbs[len(kbs) // 2],
        "body_kb_max": kbs[-1],
        "slowest": [{"patient": name, "max_ms": max(ms)} for name, ms in slowest],
    }


def memory(server: Server, bodies: list[data.Body], plan: Plan, url: str) -> dict[str, Any]:
    log(f"memory: {plan.memory_requests:,} requests, RSS every {plan.memory_every:,}")
    before = audit_rows(url)
    result = http.run_load(
        server,
        [b.data for b in bodies],
        concurrency=4,
        requests=plan.memory_requests,
        duration=plan.memory_seconds,
        rss_pid=server.pid,
        sample_every=plan.memory_every,
    )
    samples: list[list[int]] = result["rss_kib"]
    first = samples[0][1]
    ref = samples[1][1] if len(samples) > 1 else first
    last = samples[-1][1]
    rows = wait_for_audit(url, before + result["sent"])
    growth = (last - ref) / ref
    return {
        "requests": result["completed"],
        "every": plan.memory_every,
        "errors": result["errors"],
        "rps": result["rps"],
        "samples": samples,
        "first_mib": first / 1024,
        "ref_mib": ref / 1024,
        "last_mib": last / 1024,
        "max_mib": max(kib for _, kib in samples) / 1024,
        "growth_pct": growth * 100,
        "flat": growth <= report.FLAT_TOLERANCE,
        "audit_rows": rows - before,
        "audit_ok": rows - before == result["sent"],
    }


def scaling_http(server: Server, bodies: list[data.Body], empty: data.Body) -> dict[str, Any]:
    log("scaling over HTTP: " + ", ".join(f"{b.resources:,}" for b in bodies))
    results: dict[str, Any] = {}
    with http.client(server) as client:
        for _ in range(5):
            http.post(client, empty.data)
        empty_ms = sorted(http.post(client, empty.data) * 1000 for _ in range(30))
        results["empty_ms"] = empty_ms[len(empty_ms) // 2]
        for body in bodies:
            runs = runs_for(body.resources)
            http.post(client, body.data)  # warm-up
            latencies = sorted(http.post(client, body.data) * 1000 for _ in range(runs))
            results[body.name] = latencies[len(latencies) // 2]
    return results


def floor(bodies: list[data.Body], directory: Path) -> dict[str, dict[str, float]]:
    """`python -m bench.floor` on the bodies, in a fresh process."""
    paths = []
    for i, body in enumerate(bodies):
        path = directory / f"body-{i}.json"
        path.write_bytes(body.data)
        paths.append(path)
    done = subprocess.run(
        [sys.executable, "-m", "bench.floor", "--runs=7", *map(str, paths)],
        capture_output=True,
        check=True,
        timeout=600,
        cwd=BENCH.parent,
    )
    measured: dict[str, dict[str, float]] = orjson.loads(done.stdout)
    for path in paths:
        path.unlink()
    return {body.name: measured[str(path)] for body, path in zip(bodies, paths, strict=True)}


def scaling(
    engine: Any, bodies: list[data.Body], http_ms: dict[str, Any], directory: Path
) -> dict[str, Any]:
    from bench.inprocess import service_time
    from bench.synthetic import SYNTHETIC_AS_OF
    from cds.api.app import tune_gc

    log("scaling: parse floor (fresh process)")
    floors = floor(bodies, directory)
    tune_gc()  # as `cds serve` does in each worker, after loading the engine
    rows = []
    for body in bodies:
        log(f"scaling in process: {body.resources:,} resources")
        measured = service_time(
            engine,
            data.SERVICE_ID,
            body.data,
            as_of=SYNTHETIC_AS_OF,
            runs=runs_for(body.resources),
        )
        floor_ms = floors[body.name]["median_ms"]
        http_service = http_ms.get(body.name)
        http_net = None if http_service is None else http_service - http_ms["empty_ms"]
        rows.append(
            {
                "resources": body.resources,
                "body_mb": len(body.data) / 1e6,
                "floor_ms": floor_ms,
                "floor_cpu_ms": floors[body.name]["cpu_ms"],
                "floor_gc_off_ms": floors[body.name]["gc_off_ms"],
                "inprocess_ms": measured["median_ms"],
                "inprocess_cpu_ms": measured["cpu_ms"],
                "inprocess_ratio": measured["median_ms"] / floor_ms,
                "http_latency_ms": http_service,
                "http_ms": http_net,
                "http_ratio": None if http_net is None else http_net / floor_ms,
            }
        )
    return {"empty_ms": http_ms.get("empty_ms"), "rows": rows}


def throughput(
    database: str, url: str, bodies: list[data.Body], plan: Plan, logs: Path
) -> dict[str, Any]:
    from bench.server import migrate

    log(f"throughput: 2 workers, audit on {database}, {plan.concurrency} connections")
    migrate(url)
    with running_server(workers=2, database_url=url, log_dir=logs, name=f"load-{database}") as s:
        payload = [b.data for b in bodies]
        warm = http.run_load(
            s,
            payload,
            concurrency=plan.concurrency,
            requests=plan.throughput_requests,
            duration=plan.warmup_seconds,
        )
        result = http.run_load(
            s,
            payload,
            concurrency=plan.concurrency,
            requests=plan.throughput_requests,
            duration=plan.throughput_seconds,
        )
        expected = warm["sent"] + result["sent"]
        rows = wait_for_audit(url, expected)
        text = s.log_path.read_text("utf-8", errors="replace")
        failures = text.count("refused the row") + text.count("cannot be kept")
    stats = result["latency_ms"]
    return {
        "database": database,
        "workers": 2,
        "concurrency": plan.concurrency,
        "elapsed_s": result["elapsed_s"],
        "sent": result["sent"],
        "ok": result["ok"],
        "errors": result["errors"] + warm["errors"],
        "error_kinds": result["error_kinds"],
        "rps": result["rps"],
        "p50": stats.get("p50"),
        "p90": stats.get("p90"),
        "p99": stats.get("p99"),
        "max": stats.get("max"),
        "server_cpu_ms": result["server_cpu_s"] * 1000 / max(1, result["ok"]),
        "worker_cpu_share": result["worker_cpu_share"],
        "capacity_rps": len(os.sched_getaffinity(0))
        * result["ok"]
        / max(1e-9, result["server_cpu_s"]),
        "audit_rows": rows,
        "audit_expected": expected,
        "audit_ok": rows == expected,
        "audit_write_failures_logged": failures,
    }


def spool(bodies: list[data.Body], plan: Plan, directory: Path) -> dict[str, Any]:
    from bench.server import migrate
    from bench.spool import submit_cost

    log("spool: submit in process, fsync off and on")
    result: dict[str, Any] = {
        "submit": [
            submit_cost(directory, fsync=False, rows=plan.spool_rows),
            submit_cost(directory, fsync=True, rows=plan.spool_rows // 10),
        ],
        "http": [],
    }
    for fsync in ("false", "true"):
        log(f"spool: Synthea over HTTP, CDS_AUDIT_SPOOL_FSYNC={fsync}")
        url = sqlite_url(directory, f"audit-spool-fsync-{fsync}")
        migrate(url)
        with (
            running_server(
                workers=1,
                database_url=url,
                log_dir=directory,
                name=f"spool-fsync-{fsync}",
                CDS_AUDIT_SPOOL_FSYNC=fsync,
            ) as server,
            http.client(server) as client,
        ):
            run = http.sequential(server, client, [b.data for b in bodies], passes=2)
        result["http"].append(
            {
                "fsync": fsync == "true",
                **percentiles(sorted(run.latencies)),
                "server_cpu_ms": run.server_cpu * 1000 / len(run.latencies),
            }
        )
    return result


# ---------------------------------------------------------------------------------------------
# Putting it together


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    lat = results.get("latency")
    if lat:
        rows.append(
            {
                "target": f"p50 <= {report.TARGET_P50_MS:g} ms (Synthea, HTTP, 1 worker)",
                "measured": f"{lat['p50']:.2f} ms",
                "met": lat["p50"] <= report.TARGET_P50_MS,
            }
        )
        rows.append(
            {
                "target": f"p99 <= {report.TARGET_P99_MS:g} ms",
                "measured": f"{lat['p99']:.2f} ms",
                "met": lat["p99"] <= report.TARGET_P99_MS,
            }
        )
    scal = results.get("scaling")
    if scal:
        large = [r for r in scal["rows"] if r["resources"] >= report.TARGET_RATIO_FROM]
        if large:
            worst = max(r["inprocess_ratio"] for r in large)
            worst_http = max((r["http_ratio"] or 0.0) for r in large)
            rows.append(
                {
                    "target": f"service <= {report.TARGET_RATIO:g} x parse floor from "
                    f"{report.TARGET_RATIO_FROM:,} resources",
                    "measured": f"at most {worst:.2f} x in process, {worst_http:.2f} x over HTTP",
                    "met": max(worst, worst_http) <= report.TARGET_RATIO,
                }
            )
    for row in results.get("throughput", []):
        if row.get("skipped"):
            continue
        rows.append(
            {
                "target": f">= {report.TARGET_RPS:g} requests/s, 2 workers, audit on "
                f"{row['database']}, 0 errors, every call audited",
                "measured": f"{row['rps']:.0f}/s, {row['errors']} errors, "
                f"{row['audit_rows']:,}/{row['audit_expected']:,} rows",
                "met": row["rps"] >= report.TARGET_RPS and row["errors"] == 0 and row["audit_ok"],
            }
        )
    mem = results.get("memory")
    if mem:
        rows.append(
            {
                "target": f"memory flat over {mem['requests']:,} requests",
                "measured": f"{mem['ref_mib']:.0f} -> {mem['last_mib']:.0f} MiB "
                f"({mem['growth_pct']:+.1f} %), max {mem['max_mib']:.0f} MiB",
                "met": mem["flat"],
            }
        )
    if results.get("sweep"):
        rows += bench_sweep.targets(results["sweep"])
    if results.get("shadow"):
        rows += bench_shadow.targets(results["shadow"])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds of each section")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="results directory")
    parser.add_argument("--no-readme", action="store_true", help="leave bench/README.md alone")
    parser.add_argument("--concurrency", type=int, default=16, help="throughput connections")
    args = parser.parse_args(argv)
    plan = (Plan.quick if args.quick else Plan.full)(max(1, min(args.concurrency, 64)))
    sections = set(args.only or SECTIONS)
    started = time.monotonic()

    from cds.pipeline import Engine
    from cds.settings import Settings

    results: dict[str, Any] = {"machine": report.machine(), "quick": args.quick}
    engine = Engine.load(Settings().hooks_dir)
    service = engine.services[data.SERVICE_ID]
    log("building request bodies")
    synthea = data.synthea_bodies(service)[: plan.patients]
    synthetic = [data.synthetic_body(service, n) for n in plan.sizes]
    empty = data.empty_body(service)

    with tempfile.TemporaryDirectory(prefix="cds-bench-") as tmp:
        directory = Path(tmp)
        http_ms: dict[str, Any] = {}
        if sections & {"latency", "memory", "scaling"}:
            url = sqlite_url(directory, "audit-1-worker")
            from bench.server import migrate

            migrate(url)
            with running_server(
                workers=1, database_url=url, log_dir=directory, name="one-worker"
            ) as server:
                results["machine"]["server_runtime"] = report.server_runtime(server.pid)
                if "latency" in sections:
                    results["latency"] = latency(server, synthea, plan)
                if "memory" in sections:
                    results["memory"] = memory(server, synthea, plan, url)
                if "scaling" in sections:
                    http_ms = scaling_http(server, synthetic, empty)
        if "scaling" in sections:
            results["scaling"] = scaling(engine, synthetic, http_ms, directory)
        if "throughput" in sections:
            sqlite = sqlite_url(directory, "audit-2-workers")
            results["throughput"] = [throughput("SQLite", sqlite, synthea, plan, directory)]
            try:
                with postgres_database() as pg_url:
                    results["throughput"].append(
                        throughput("PostgreSQL", pg_url, synthea, plan, directory)
                    )
            except Exception as exc:  # e.g. no server: reported, not fatal
                log(f"PostgreSQL throughput skipped: {exc}")
                results["throughput"].append({"database": "PostgreSQL", "skipped": str(exc)})
        if "shadow" in sections:
            results["shadow"] = bench_shadow.run(
                [b.data for b in synthea],
                passes=plan.passes,
                hooks=Settings().hooks_dir,
                directory=directory,
                log=log,
            )

        if "spool" in sections:
            results["spool"] = spool(synthea, plan, directory)

    if "sweep" in sections:
        results["sweep"] = bench_sweep.run(
            plan.sweep_sizes,
            data.SYNTHEA_BUNDLES,
            workers=results["machine"]["cores"],
            spark=True,
            log=log,
        )

    results["machine"]["load_average_end"] = report.load_average()
    results["machine"]["ruler_ms_end"] = report.cpu_ruler_ms()
    results["elapsed_s"] = time.monotonic() - started
    results["targets"] = targets(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    if "scaling" in results:
        scaling_plot(
            results["scaling"]["rows"],
            args.out / "scaling.png",
            title=f"{data.SERVICE_ID}: synthetic records, {results['machine']['cpu']}, "
            f"{results['machine']['cores']} cores, {results['machine']['date']}",
        )
    if "sweep" in results:
        bench_sweep.plot(
            results["sweep"],
            args.out / "sweep.png",
            title=f"cds sweep: cloned Synthea charts, {results['machine']['cpu']}, "
            f"{results['machine']['cores']} cores, {results['machine']['date']}",
        )
    if not args.no_readme and not args.quick and sections == set(SECTIONS):
        report.write_readme(BENCH / "README.md", results)
    print(report.markdown(results))
    log(f"done in {results['elapsed_s']:.0f} s; results in {args.out}")


if __name__ == "__main__":
    main()
