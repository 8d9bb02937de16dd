"""One sweep, start to end: plan the sources, run an engine, put the results in order.

`sweep()` is what the CLI, the tests and the benchmark call; the engines differ in where the
work runs, never in what it computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cds.sweep import local
from cds.sweep.evaluate import EvaluationSpec, Evaluator
from cds.sweep.local import Progress
from cds.sweep.results import ChartResult, Problem
from cds.sweep.sources import SourcePlan, cores, plan_sources, read_medications

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

EngineName = Literal["local", "spark"]


@dataclass(frozen=True)
class SweepRun:
    results: list[ChartResult]  # one per chart, sorted by patient id
    problems: list[Problem]  # sorted by file and line
    plan: SourcePlan
    service_id: str
    engine: str  # "local, 2 processes" / "spark local[2]"
    as_of: datetime
    shift_to_now: bool
    with_complaint: bool
    baseline_label: str
    candidate_label: str | None
    baseline_pins: tuple[str, ...]  # rule@version
    candidate_pins: tuple[str, ...] | None
    unreleased: tuple[str, ...]
    seconds: float

    @property
    def charts_per_second(self) -> float:
        return len(self.results) / self.seconds if self.seconds > 0 else 0.0


def _ignore(_: str, __: int) -> None:
    return None


def sweep(
    sources: Sequence[Path],
    spec: EvaluationSpec,
    *,
    engine: EngineName = "local",
    workers: int | None = None,
    spark_master: str = "local[*]",
    spark_session: SparkSession | None = None,
    progress: Progress = _ignore,
    on_plan: Callable[[SourcePlan], None] | None = None,
) -> SweepRun:
    """Evaluate every chart of `sources` under `spec`. Raises PinsError, SourceError and, for
    Spark, SparkUnavailable before any chart is read."""
    started = time.perf_counter()
    evaluator = Evaluator(spec)
    plan = plan_sources(sources, evaluator.read_types)
    if on_plan is not None:
        on_plan(plan)
    medications, problems = read_medications(plan)
    if engine == "spark":
        from cds.sweep import spark

        session = spark_session
        if session is None:
            session = spark.start_session(spark_master)
        try:
            output = spark.run(plan, spec, medications, session=session, progress=progress)
            label = f"spark {session.sparkContext.master}"
        finally:
            if spark_session is None:
                session.stop()
    else:
        processes = max(1, workers or cores())
        output = local.run(plan, evaluator, medications, workers=processes, progress=progress)
        label = f"local, {processes} process{'es' if processes > 1 else ''}"
    results, duplicates = _one_per_chart(output.results)
    baseline_pins, candidate_pins = evaluator.pinned()
    return SweepRun(
        results=results,
        problems=sorted([*problems, *output.problems, *duplicates], key=lambda p: p.sort_key),
        plan=plan,
        service_id=str(spec.baseline.service.get("id")),
        engine=label,
        as_of=spec.as_of,
        shift_to_now=spec.shift_to_now,
        with_complaint=spec.with_complaint,
        baseline_label=spec.baseline.label,
        candidate_label=None if spec.candidate is None else spec.candidate.label,
        baseline_pins=baseline_pins,
        candidate_pins=candidate_pins,
        unreleased=evaluator.unreleased,
        seconds=time.perf_counter() - started,
    )


def _one_per_chart(results: list[ChartResult]) -> tuple[list[ChartResult], list[Problem]]:
    """Sorted by patient; a patient found in two Bundles keeps one chart (the same whatever the
    order the engine finished in) and is reported."""
    by_chart: dict[str, list[ChartResult]] = {}
    for result in results:
        by_chart.setdefault(result.chart, []).append(result)
    kept: list[ChartResult] = []
    problems: list[Problem] = []
    for chart in sorted(by_chart):
        found = sorted(by_chart[chart], key=repr)
        kept.append(found[0])
        if len(found) > 1:
            problems.append(
                Problem(
                    f"Patient/{chart}",
                    None,
                    f"found in {len(found)} Bundles: one chart per patient, the others skipped",
                )
            )
    return kept, problems
