"""How long building the patient record takes, next to parsing the same bytes with orjson.

    .venv/bin/python -m bench.record_speed [--runs N] [--profile]

For the largest Synthea patient (by bundle entries) and a synthetic 10,000-resource record
(`bench.synthetic`), it times, as the request path does them:

- `orjson.loads(data)`: parsing the prefetch bytes;
- build: `iter_resources` over the parsed Bundle, `RecordBuilder.build(...)` and `Facts(...)`
  (everything between the parsed JSON and the first rule).

and prints the median of `--runs` runs of each and the ratio build / orjson (design.md: the
record must not cost much more than parsing; the goal is at most 3x). The garbage collector
stays on, as in the service. `--profile` runs the synthetic build under pyinstrument and prints
where the time goes. Numbers, not assertions: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.synthetic import SYNTHETIC_AS_OF, synthetic_bundle
from cds.facts import RecordFacts
from cds.fhir.bundles import iter_resources
from cds.record import RecordBuilder
from cds.terminology import Terminology, latest_release

SYNTHEA_BUNDLES = Path(__file__).resolve().parents[1].parent / "shared/external/synthea/bundles"
SYNTHETIC_RESOURCES = 10_000
SYNTHETIC_SEED = 20261121
GOAL_RATIO = 3.0


@dataclass(frozen=True)
class Dataset:
    name: str
    data: bytes
    resources: int


def largest_synthea_patient(directory: Path = SYNTHEA_BUNDLES) -> Dataset:
    """The Synthea bundle with the most entries."""
    best: tuple[int, Path, bytes] | None = None
    for path in sorted(directory.glob("*.json")):
        data = path.read_bytes()
        entries = len(orjson.loads(data).get("entry") or [])
        if best is None or entries > best[0]:
            best = (entries, path, data)
    if best is None:
        raise SystemExit(f"no Synthea bundles in {directory}")
    entries, path, data = best
    return Dataset(f"Synthea {path.stem.split('_')[0]} {path.stem.split('_')[1]}", data, entries)


def synthetic(n_resources: int = SYNTHETIC_RESOURCES) -> Dataset:
    data = orjson.dumps(synthetic_bundle(n_resources, seed=SYNTHETIC_SEED))
    return Dataset(f"synthetic {n_resources:,}", data, n_resources)


def build(builder: RecordBuilder, terminology: Terminology, parsed: Any) -> RecordFacts:
    record = builder.build(list(iter_resources(parsed)))
    return RecordFacts(record, as_of=SYNTHETIC_AS_OF, terminology=terminology)


@dataclass(frozen=True)
class Timing:
    wall_ms: float  # median wall-clock time
    cpu_ms: float  # median CPU time of this process: steadier on a busy machine


def timed(action: Callable[[], object], runs: int) -> Timing:
    action()  # warm-up: first-touch allocations, caches
    wall, cpu = [], []
    for _ in range(runs):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return Timing(statistics.median(wall) * 1000, statistics.median(cpu) * 1000)


Row = tuple[Dataset, Timing, Timing]


def measure(datasets: list[Dataset], runs: int) -> list[Row]:
    terminology = Terminology.load(latest_release())
    builder = RecordBuilder(terminology)
    rows = []
    for dataset in datasets:
        parsed = orjson.loads(dataset.data)
        loads = timed(lambda d=dataset.data: orjson.loads(d), runs)  # type: ignore[misc]
        built = timed(lambda p=parsed: build(builder, terminology, p), runs)  # type: ignore[misc]
        rows.append((dataset, loads, built))
    return rows


def table(rows: list[Row], runs: int) -> str:
    header = (
        f"{'dataset':<24} {'resources':>9} {'MB':>5} | {'orjson.loads':>12} {'build+Facts':>11} "
        f"{'ratio':>5} | {'orjson cpu':>10} {'build cpu':>9} {'ratio':>5}"
    )
    lines = [
        f"median of {runs} runs, milliseconds (wall clock | CPU time); "
        f"goal: ratio <= {GOAL_RATIO:g}",
        header,
        "-" * len(header),
    ]
    for dataset, loads, built in rows:
        wall_ratio, cpu_ratio = built.wall_ms / loads.wall_ms, built.cpu_ms / loads.cpu_ms
        lines.append(
            f"{dataset.name:<24} {dataset.resources:>9,} {len(dataset.data) / 1e6:>5.1f} | "
            f"{loads.wall_ms:>12.1f} {built.wall_ms:>11.1f} {wall_ratio:>5.2f} | "
            f"{loads.cpu_ms:>10.1f} {built.cpu_ms:>9.1f} {cpu_ratio:>5.2f}"
        )
    return "\n".join(lines)


def profile(dataset: Dataset) -> str:
    from pyinstrument import Profiler

    terminology = Terminology.load(latest_release())
    builder = RecordBuilder(terminology)
    parsed = orjson.loads(dataset.data)
    profiler = Profiler(interval=0.0002)
    with profiler:
        for _ in range(10):
            build(builder, terminology, parsed)
    return str(profiler.output_text(unicode=False, color=False, show_all=False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per measurement")
    parser.add_argument("--profile", action="store_true", help="profile the synthetic build")
    args = parser.parse_args(argv)
    datasets = [largest_synthea_patient(), synthetic()]
    print(table(measure(datasets, args.runs), args.runs))
    if args.profile:
        print(profile(datasets[1]))


if __name__ == "__main__":
    main()
