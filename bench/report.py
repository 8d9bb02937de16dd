"""The machine the numbers were measured on, and the results as Markdown tables for
bench/README.md (written between two markers; the text around them is kept)."""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

START = "<!-- bench:results:start (written by `make bench`; edits here are overwritten) -->"
END = "<!-- bench:results:end -->"
PACKAGES = ("uvicorn", "httptools", "uvloop", "fastapi", "starlette", "pydantic", "orjson")

# The issue's targets on a 2-core machine.
TARGET_P50_MS = 5.0
TARGET_P99_MS = 25.0
TARGET_RATIO = 3.0
TARGET_RATIO_FROM = 5_000
TARGET_RPS = 500.0
FLAT_TOLERANCE = 0.05  # RSS after the last request within 5 % of RSS after the first 1,000


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_start": load_average(),
        "ruler_ms_start": cpu_ruler_ms(),
        "packages": versions,
    }


RULER_ADDITIONS = 1_000_000


def cpu_ruler_ms() -> float:
    """CPU milliseconds of a fixed piece of pure Python (a million additions), the fastest of
    five: how fast this machine runs Python at the moment. On a shared host the same code has
    measured up to twice as slow from one hour to the next; two runs' figures compare only
    through their rulers."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        total = 0
        for number in range(RULER_ADDITIONS):
            total += number
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def server_runtime(pid: int) -> dict[str, bool]:
    """Which event loop and HTTP parser the server process has loaded (from /proc/pid/maps)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return {}
    return {"uvloop": "uvloop" in maps, "httptools": "httptools" in maps}


# ---------------------------------------------------------------------------------------------
# Markdown


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _ok(passed: bool | None) -> str:
    return "-" if passed is None else ("yes" if passed else "**no**")


def markdown(results: dict[str, Any]) -> str:
    parts = [_machine_md(results["machine"])]
    if "targets" in results:
        parts.append(_targets_md(results["targets"]))
    if "latency" in results:
        parts.append(_latency_md(results["latency"]))
    if "scaling" in results:
        parts.append(_scaling_md(results["scaling"]))
    if "throughput" in results:
        parts.append(_throughput_md(results["throughput"]))
    if "memory" in results:
        parts.append(_memory_md(results["memory"]))
    if "sweep" in results:
        from bench.sweep import markdown as sweep_markdown

        parts.append(sweep_markdown(results["sweep"]))
    if "spool" in results:
        parts.append(_spool_md(results["spool"]))
    if "shadow" in results:
        from bench.shadow import markdown as shadow_markdown

        parts.append(shadow_markdown(results["shadow"]))
    return "\n\n".join(parts)


def _machine_md(m: dict[str, Any]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    runtime = m.get("server_runtime") or {}
    loop = "uvloop" if runtime.get("uvloop") else "asyncio"
    parser = "httptools" if runtime.get("httptools") else "h11"
    end = m.get("load_average_end")
    ruler_end = m.get("ruler_ms_end")
    return "\n".join(
        [
            "### Machine",
            "",
            "| | |",
            "|---|---|",
            f"| measured | {m['date']} |",
            f"| CPU | {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB |",
            f"| Python | {m['python']} (Linux {m['kernel']}) |",
            f"| server | `cds serve` (uvicorn, {loop}, {parser}) |",
            f"| packages | {packages} |",
            f"| load average (1/5/15 min) | start {m['load_average_start']}"
            + (f", end {end}" if end else "")
            + " |",
            f"| CPU ruler: {RULER_ADDITIONS:,} additions in Python, ms (fastest of 5) | start "
            f"{m.get('ruler_ms_start', '-')}" + (f", end {ruler_end}" if ruler_end else "") + " |",
        ]
    )


def _targets_md(t: list[dict[str, Any]]) -> str:
    lines = ["### Targets", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {row['target']} | {row['measured']} | {_ok(row['met'])} |" for row in t]
    return "\n".join(lines)


def _latency_md(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"### 1. End to end: {r['patients']} Synthea patients, patient-view, 1 worker, "
            "audit on SQLite",
            "",
            f"Sequential requests on one keep-alive HTTP/1.1 connection (httpx), prefetch filled "
            f"from the service's templates ({r['resources_median']:,} resources and "
            f"{r['body_kb_median']:,.0f} kB per request at the median, up to "
            f"{r['resources_max']:,} and {r['body_kb_max']:,.0f} kB); {r['warmup_passes']} "
            f"warm-up pass, then {r['passes']} timed passes ({r['n']} requests).",
            "",
            "| p50 ms | p90 ms | p99 ms | max ms | mean ms | requests/s | server CPU ms/request |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {_ms(r['p50'])} | {_ms(r['p90'])} | {_ms(r['p99'])} | {_ms(r['max'])} | "
            f"{_ms(r['mean'])} | {r['rps']:.0f} | {_ms(r['server_cpu_ms'])} |",
        ]
    )


def _scaling_md(r: dict[str, Any]) -> str:
    lines = [
        "### 2. Scaling: synthetic records sent as one prefetch Bundle",
        "",
        "Floor: `orjson.loads` of the request body in a fresh process, the goal's reference "
        "(GC off: the same parse with the garbage collector off). In process: `orjson.loads`"
        " + `call_service` (as_of fixed) + `orjson.dumps`, garbage collector as `cds serve` "
        "sets it. HTTP: median latency on the 1-worker server minus the median latency of an "
        f"empty request ({_ms(r['empty_ms'])} ms). Medians in milliseconds.",
        "",
        "| resources | body MB | floor | floor, GC off | in process | x floor | in process CPU "
        "| HTTP | x floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['resources']:,} | {row['body_mb']:.2f} | {_ms(row['floor_ms'])} | "
            f"{_ms(row.get('floor_gc_off_ms'))} | "
            f"{_ms(row['inprocess_ms'])} | {row['inprocess_ratio']:.2f} | "
            f"{_ms(row['inprocess_cpu_ms'])} | {_ms(row.get('http_ms'))} | "
            + (f"{row['http_ratio']:.2f}" if row.get("http_ratio") is not None else "-")
            + " |"
        )
    lines += ["", "![scaling](results/scaling.png)"]
    return "\n".join(lines)


def _throughput_md(rows: list[dict[str, Any]]) -> str:
    lines = [
        "### 3. Throughput: 2 workers, load from a second process",
        "",
        "`python -m bench.load`: closed-loop keep-alive connections cycling through the Synthea "
        "requests. Audit rows are counted in the database afterwards.",
        "",
        "| audit database | workers | connections | seconds | requests | errors | requests/s "
        "| p50 ms | p99 ms | workers busy | server CPU ms/request | CPU-bound capacity/s "
        "| audit rows = requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for row in rows:
        if row.get("skipped"):
            lines.append(f"| {row['database']} | skipped: {row['skipped']} |||||||||||")
            continue
        busy = " / ".join(f"{share:.0%}" for share in row.get("worker_cpu_share", []))
        lines.append(
            f"| {row['database']} | {row['workers']} | {row['concurrency']} | "
            f"{row['elapsed_s']:.1f} | {row['ok']:,} | {row['errors']} | {row['rps']:.0f} | "
            f"{_ms(row['p50'])} | {_ms(row['p99'])} | {busy or '-'} | "
            f"{_ms(row['server_cpu_ms'])} | "
            f"{row['capacity_rps']:.0f} | "
            f"{_ok(row['audit_ok'])} ({row['audit_rows']:,} / {row['audit_expected']:,}) |"
        )
    lines += [
        "",
        "Workers busy: each worker's CPU time over the run's duration. CPU-bound capacity: the"
        " machine's cores divided by the server's CPU time per request,"
        " what the workers would serve with the cores to themselves (no load generator, no"
        " database server, nothing else running).",
    ]
    return "\n".join(lines)


def _memory_md(r: dict[str, Any]) -> str:
    samples = ", ".join(f"{kib / 1024:.0f}" for _, kib in r["samples"])
    return "\n".join(
        [
            f"### 4. Memory over {r['requests']:,} requests (1 worker)",
            "",
            f"VmRSS of the server process (MiB), sampled every {r['every']:,} requests: {samples}.",
            "",
            f"| after warm-up | after {r['every']:,} | last | max | growth since {r['every']:,} "
            "| flat |",
            "|---:|---:|---:|---:|---:|---|",
            f"| {r['first_mib']:.1f} | {r['ref_mib']:.1f} | {r['last_mib']:.1f} | "
            f"{r['max_mib']:.1f} | {r['growth_pct']:+.1f} % | {_ok(r['flat'])} |",
        ]
    )


def _spool_md(r: dict[str, Any]) -> str:
    lines = [
        "### 6. The audit spool: what it adds to a call",
        "",
        "`AuditWriter.submit` timed in process (the row written to the worker's spool before "
        "the response), then the Synthea requests over HTTP (1 worker, SQLite, 2 passes) with "
        "the spool's fsync off (the default: the row survives the death of the worker) and on "
        "(`CDS_AUDIT_SPOOL_FSYNC=true`: it survives a power cut too).",
        "",
        "| fsync | rows | bytes/row | submit p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in r["submit"]:
        lines.append(
            f"| {'on' if row['fsync'] else 'off'} | {row['rows']:,} | {row['bytes_per_row']} | "
            f"{row['p50']:.3f} | {row['p99']:.3f} | {row['max']:.3f} |"
        )
    lines += [
        "",
        "| fsync | HTTP p50 ms | p90 ms | p99 ms | server CPU ms/request |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in r["http"]:
        lines.append(
            f"| {'on' if row['fsync'] else 'off'} | {_ms(row['p50'])} | {_ms(row['p90'])} | "
            f"{_ms(row['p99'])} | {_ms(row['server_cpu_ms'])} |"
        )
    return "\n".join(lines)


def write_readme(path: Path, results: dict[str, Any]) -> None:
    block = f"{START}\n\n{markdown(results)}\n\n{END}"
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n\n"
    if START in text and END in text:
        before = text[: text.index(START)]
        after = text[text.index(END) + len(END) :]
        text = before + block + after
    else:
        text = text.rstrip("\n")
        if not text.endswith("## Results"):
            text += "\n\n## Results"
        text += "\n\n" + block + "\n"
    path.write_text(text, "utf-8")
