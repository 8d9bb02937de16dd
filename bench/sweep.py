"""The sweep benchmark: `cds sweep` over populations made from the 90 Synthea patients.

Each population is a Bulk Data export (one NDJSON file per type, the types the patient-view
service reads, as `$export?_type=...` gives them) of the Synthea patients cloned with new ids
(`bench.population`) to about 1,000, 10,000 and 50,000 charts. On each:

- the local engine with one process per core: charts per second, per core, and the CPU time
  per chart of all its processes;
- Spark `local[2]` (one session, started once; its start-up is reported apart) on the same
  files, against the local engine's time;
- time against charts: seconds per 1,000 charts at each size, and CPU time per chart (linear
  when it stays level: on a machine shared with other work, wall time is not a steady ruler);
- the cost of `--shift-to-now` (local engine, the two smaller sizes).

Results are checked equal between the engines on the smallest population.
"""

from __future__ import annotations

import math
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.population import write_export

AS_OF = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TARGET_PER_CORE = 300.0  # charts per second per core, local engine
TARGET_SPARK_RATIO = 2.0  # Spark local[2] time within this factor of the local engine's
LINEAR_TOLERANCE = 1.25  # CPU per chart at the largest size within this of the smallest


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(
    sizes: tuple[int, ...],
    bundles_dir: Path,
    *,
    workers: int,
    spark: bool,
    log: Callable[[str], None],
    work_dir: Path | None = None,
) -> dict[str, Any]:
    from cds.settings import Settings
    from cds.sweep.evaluate import EvaluationSpec, Evaluator, pins_from_folder
    from cds.sweep.run import sweep

    spec = EvaluationSpec(pins_from_folder(Settings().hooks_dir), AS_OF)
    shifted = EvaluationSpec(spec.baseline, AS_OF, shift_to_now=True)
    types = Evaluator(spec).read_types | {"Patient"}
    paths = sorted(bundles_dir.glob("*.json"))
    bundles = [orjson.loads(p.read_bytes()) for p in paths]
    rows: list[dict[str, Any]] = []
    session = None
    spark_start_s = None
    try:
        for size in sizes:
            copies = math.ceil(size / len(bundles))
            with tempfile.TemporaryDirectory(prefix="cds-bench-sweep-", dir=work_dir) as tmp:
                folder = Path(tmp) / "export"
                log(f"sweep: writing {copies * len(bundles):,} charts as NDJSON")
                started = time.perf_counter()
                charts = write_export(bundles, folder, copies=copies, types=types)
                written_s = time.perf_counter() - started
                size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
                log(f"sweep: local engine, {workers} processes, {charts:,} charts")
                cpu_before = _children_cpu() + _own_cpu()
                local = sweep([folder], spec, workers=workers)
                cpu_s = _children_cpu() + _own_cpu() - cpu_before
                assert len(local.results) == charts, (len(local.results), charts)
                row: dict[str, Any] = {
                    "charts": charts,
                    "export_mb": size_mb,
                    "write_s": written_s,
                    "local_s": local.seconds,
                    "local_per_s": local.charts_per_second,
                    "local_per_core": local.charts_per_second / workers,
                    "local_cpu_ms": cpu_s * 1000 / charts,
                    "charts_with_cards": sum(bool(r.baseline.cards) for r in local.results),
                    "problems": len(local.problems),
                }
                if size in sizes[:2]:
                    log(f"sweep: local engine with --shift-to-now, {charts:,} charts")
                    row["shift_s"] = sweep([folder], shifted, workers=workers).seconds
                if spark:
                    if session is None:
                        from cds.sweep.spark import start_session

                        log("sweep: starting Spark local[2]")
                        started = time.perf_counter()
                        session = start_session("local[2]")
                        spark_start_s = time.perf_counter() - started
                    log(f"sweep: Spark local[2], {charts:,} charts")
                    on_spark = sweep([folder], spec, engine="spark", spark_session=session)
                    row["spark_s"] = on_spark.seconds
                    row["spark_ratio"] = on_spark.seconds / local.seconds
                    if size == sizes[0]:
                        row["same_results"] = on_spark.results == local.results
                rows.append(row)
                shutil.rmtree(folder)
    finally:
        if session is not None:
            session.stop()
    return {
        "workers": workers,
        "patients": len(bundles),
        "spark_start_s": spark_start_s,
        "rows": rows,
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = result["rows"]
    largest = rows[-1]
    cpu_ratio = largest["local_cpu_ms"] / rows[0]["local_cpu_ms"]
    wall_ratio = (largest["local_s"] / largest["charts"]) / (rows[0]["local_s"] / rows[0]["charts"])
    found = [
        {
            "target": f">= {TARGET_PER_CORE:g} charts/s per core, local engine "
            f"({result['workers']} processes, {largest['charts']:,} charts)",
            "measured": f"{largest['local_per_core']:.0f}/s per core "
            f"({largest['local_cpu_ms']:.2f} ms CPU per chart: "
            f"{1000 / largest['local_cpu_ms']:.0f}/s per core of CPU)",
            "met": largest["local_per_core"] >= TARGET_PER_CORE,
        },
        {
            "target": f"time linear in charts (CPU per chart at {largest['charts']:,} within "
            f"{LINEAR_TOLERANCE:g} x of {rows[0]['charts']:,})",
            "measured": f"{cpu_ratio:.2f} x CPU ({wall_ratio:.2f} x wall)",
            "met": cpu_ratio <= LINEAR_TOLERANCE,
        },
    ]
    spark_rows = [r for r in rows if "spark_s" in r]
    if spark_rows:
        worst = max(r["spark_ratio"] for r in spark_rows)
        found.append(
            {
                "target": f"Spark local[2] within {TARGET_SPARK_RATIO:g} x of the local engine",
                "measured": ", ".join(
                    f"{r['spark_ratio']:.2f} x at {r['charts']:,}" for r in spark_rows
                ),
                "met": worst <= TARGET_SPARK_RATIO,
            }
        )
        same = spark_rows[0].get("same_results")
        verdict = "identical" if same else "DIFFER"
        found.append(
            {
                "target": "Spark and local engines give identical per-chart results",
                "measured": f"{spark_rows[0]['charts']:,} charts: {verdict}",
                "met": bool(same),
            }
        )
    return found


def markdown(result: dict[str, Any]) -> str:
    start = result.get("spark_start_s")
    lines = [
        "### 5. Sweep: cloned Synthea populations, NDJSON export, patient-view",
        "",
        f"The {result['patients']} Synthea patients cloned with new ids, written as a Bulk Data "
        "export of the types the service reads (`bench/population.py`). Local engine: "
        f"{result['workers']} processes (one per core); per core = charts/s / processes; CPU: "
        "all its processes, grouping and evaluating. Spark `local[2]` on the same files"
        + (f" (session start-up {start:.1f} s, not counted)" if start is not None else "")
        + ".",
        "",
        "| charts | export MB | local s | charts/s | per core | CPU ms/chart | s per 1,000 "
        "| with --shift-to-now s | Spark s | Spark / local |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        spark_s = row.get("spark_s")
        lines.append(
            f"| {row['charts']:,} | {row['export_mb']:,.0f} | {row['local_s']:.1f} | "
            f"{row['local_per_s']:.0f} | {row['local_per_core']:.0f} | "
            f"{row['local_cpu_ms']:.2f} | {row['local_s'] * 1000 / row['charts']:.2f} | "
            + (f"{row['shift_s']:.1f}" if "shift_s" in row else "-")
            + " | "
            + ("-" if spark_s is None else f"{spark_s:.1f}")
            + " | "
            + ("-" if spark_s is None else f"{row['spark_ratio']:.2f}")
            + " |"
        )
    lines += ["", "![sweep](results/sweep.png)"]
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    charts = [r["charts"] for r in rows]
    fig, axis = plt.subplots(figsize=(8, 5))
    axis.plot(charts, [r["local_s"] for r in rows], "o-", label="local engine")
    spark = [(r["charts"], r["spark_s"]) for r in rows if "spark_s" in r]
    if spark:
        axis.plot([c for c, _ in spark], [s for _, s in spark], "s-", label="Spark local[2]")
    slope = rows[0]["local_s"] / rows[0]["charts"]
    axis.plot(charts, [c * slope for c in charts], ":", color="grey", label="linear from the first")
    axis.set_xlabel("charts")
    axis.set_ylabel("seconds")
    axis.set_title(title, fontsize=9)
    axis.legend()
    axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
