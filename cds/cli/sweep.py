"""`cds sweep`: evaluate a service over a whole population, offline, and write the report a
governance committee reads before a rule version is switched on.

The work is done by `cds.sweep`; this module reads the options, shows progress and writes the
files: `report.html`, `results.jsonl` (one line per chart, every card with its rule@version)
and `problems.jsonl` (input lines that were skipped, with file and line).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click
import orjson

from cds.cli.replay import parse_as_of

if TYPE_CHECKING:
    from rich.console import Console

    from cds.sweep.compare import Comparison
    from cds.sweep.evaluate import EvaluationSpec, Pins
    from cds.sweep.report import Burden
    from cds.sweep.run import SweepRun

REPORT_FILE = "report.html"
RESULTS_FILE = "results.jsonl"
PROBLEMS_FILE = "problems.jsonl"


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--service",
    "service_id",
    metavar="ID",
    help="The service to sweep (default: the one patient-view service of the hooks folder).",
)
@click.option(
    "--hooks",
    "hooks_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of service files holding the pins in force (default: CDS_HOOKS_DIR).",
)
@click.option(
    "--as-of",
    "as_of",
    callback=parse_as_of,
    metavar="ISO",
    help="Judge every chart at this instant (default: now).",
)
@click.option(
    "--shift-to-now",
    is_flag=True,
    help="Move each chart's dates by whole days so its latest date is the day before --as-of "
    "(old exports, synthetic patients).",
)
@click.option(
    "--with-complaint",
    is_flag=True,
    help="Add a sleep-related leg cramp (G47.62), coded a week before, to every chart: the "
    "burden of candidate-cause cards if every patient reported night cramps.",
)
@click.option(
    "--compare",
    "compare",
    multiple=True,
    metavar="DIR|RULE@VERSION",
    help="Candidate pins run on the same charts: another hooks folder, and/or rule@version "
    "overrides of the pins in force (rule@off leaves a rule out). Repeatable.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "spark"]),
    default="local",
    show_default=True,
    help="local: a process pool on this machine; spark: Apache Spark (pip install "
    "'legpain-cds[sweep]', Java 17+).",
)
@click.option("--workers", type=click.IntRange(1, 256), help="Local processes (default: cores).")
@click.option("--spark-master", default="local[*]", show_default=True, help="Spark master URL.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sweep-report"),
    show_default=True,
    help="Folder for report.html, results.jsonl and problems.jsonl.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def sweep(
    sources: tuple[Path, ...],
    service_id: str | None,
    hooks_dir: Path | None,
    as_of: datetime | None,
    shift_to_now: bool,
    with_complaint: bool,
    compare: tuple[str, ...],
    engine: Literal["local", "spark"],
    workers: int | None,
    spark_master: str,
    out_dir: Path,
    quiet: bool,
) -> None:
    """Evaluate a service over every chart in SOURCE... and report the alert burden.

    SOURCE is a FHIR Bulk Data export folder (NDJSON, one resource type per file, .ndjson or
    .ndjson.gz) or a folder of patient Bundles. Exit status 0 when the sweep ran (input lines
    that could not be read are reported and skipped), 2 when it could not start.
    """
    from rich.console import Console

    from cds.cli.serve import load_settings
    from cds.sweep.evaluate import EvaluationSpec, PinsError, pins_from_folder
    from cds.sweep.sources import SourceError

    console = Console(highlight=False, soft_wrap=True, stderr=True)
    if engine == "spark":
        from cds.sweep.spark import SparkUnavailable, check_can_start

        try:
            check_can_start(os.environ)
        except SparkUnavailable as exc:
            _fail(str(exc))
    try:
        baseline = pins_from_folder(hooks_dir or load_settings().hooks_dir, service_id)
        candidate = _candidate(baseline, compare, service_id) if compare else None
    except PinsError as exc:
        _fail(str(exc))
    spec = EvaluationSpec(
        baseline=baseline,
        candidate=candidate,
        as_of=as_of or datetime.now(UTC),
        shift_to_now=shift_to_now,
        with_complaint=with_complaint,
    )
    try:
        run = _run(console, list(sources), spec, engine, workers, spark_master, quiet)
    except (PinsError, SourceError) as exc:
        _fail(str(exc))
    findings = summarize(run)
    write_outputs(run, findings, out_dir, sources=[str(s) for s in sources])
    _print_summary(Console(highlight=False, soft_wrap=True), run, findings, out_dir)


def _fail(message: str) -> None:
    click.echo(f"cds sweep: {message}", err=True)
    sys.exit(2)


def _candidate(baseline: Pins, compare: tuple[str, ...], service_id: str | None) -> Pins:
    from cds.sweep.evaluate import PinsError, override_pins, pins_from_folder

    folders = [c for c in compare if "@" not in c]
    overrides = [c for c in compare if "@" in c]
    if len(folders) > 1:
        raise PinsError("--compare takes one hooks folder (and any number of rule@version)")
    candidate = baseline
    if folders:
        service = service_id or str(baseline.service.get("id"))
        candidate = pins_from_folder(Path(folders[0]), service)
    return override_pins(candidate, overrides) if overrides else candidate


def _run(
    console: Console,
    sources: list[Path],
    spec: EvaluationSpec,
    engine: Literal["local", "spark"],
    workers: int | None,
    spark_master: str,
    quiet: bool,
) -> SweepRun:
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from cds.sweep.run import sweep as run_sweep
    from cds.sweep.sources import SourcePlan

    # Refreshed by hand from the callbacks: no refresh thread alive when workers are forked.
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        auto_refresh=False,
        disable=quiet or not console.is_terminal,
    )
    started = time.perf_counter()
    tasks: dict[str, TaskID] = {}
    done = {"bytes": 0, "charts": 0}

    def on_plan(plan: SourcePlan) -> None:
        if plan.chart_files:
            tasks["bytes"] = progress.add_task(
                "grouping by patient", total=plan.chart_bytes, detail=""
            )
        tasks["charts"] = progress.add_task(
            "evaluating", total=len(plan.bundle_files) or None, detail=""
        )
        progress.refresh()

    def on_progress(kind: str, amount: int) -> None:
        done[kind] += amount
        task = tasks.get(kind)
        if task is None:
            return
        elapsed = max(time.perf_counter() - started, 1e-9)
        detail = (
            f"{done['bytes'] / 1e6:,.0f} MB"
            if kind == "bytes"
            else f"{done['charts']:,} charts, {done['charts'] / elapsed:,.0f} charts/s"
        )
        progress.update(task, advance=amount, detail=detail)
        progress.refresh()

    with progress:
        return run_sweep(
            sources,
            spec,
            engine=engine,
            workers=workers,
            spark_master=spark_master,
            progress=on_progress,
            on_plan=on_plan,
        )


def summarize(run: SweepRun) -> tuple[Burden, Burden | None, Comparison | None]:
    """The burden under each set of pins, and what the candidate changes."""
    from cds.sweep.compare import compare
    from cds.sweep.report import burden

    baseline = burden(r.baseline for r in run.results)
    if run.candidate_pins is None:
        return baseline, None, None
    candidates = {r.chart: r.candidate for r in run.results if r.candidate is not None}
    comparison = compare(
        {r.chart: r.baseline.cards for r in run.results},
        {chart: outcome.cards for chart, outcome in candidates.items()},
    )
    return baseline, burden(candidates.values()), comparison


def write_outputs(
    run: SweepRun,
    findings: tuple[Burden, Burden | None, Comparison | None],
    out_dir: Path,
    *,
    sources: list[str],
) -> None:
    """report.html, results.jsonl and problems.jsonl in `out_dir`."""
    from cds.sweep.report import ReportFacts, render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / RESULTS_FILE).open("wb") as results:
        for result in run.results:
            results.write(orjson.dumps(result.to_json()) + b"\n")
    with (out_dir / PROBLEMS_FILE).open("wb") as problems:
        for problem in run.problems:
            problems.write(orjson.dumps(problem.to_json()) + b"\n")
    baseline, candidate, comparison = findings
    facts = ReportFacts(
        title=f"Population sweep: {run.service_id}",
        sources=sources,
        as_of=run.as_of.isoformat(),
        shift_to_now=run.shift_to_now,
        with_complaint=run.with_complaint,
        engine=run.engine,
        seconds=run.seconds,
        baseline_label=run.baseline_label,
        baseline_pins=run.baseline_pins,
        candidate_label=run.candidate_label,
        candidate_pins=run.candidate_pins,
        unreleased=run.unreleased,
        skipped_files=[f"{path.name} ({kind})" for path, kind in run.plan.skipped_files],
    )
    page = render_html(facts, baseline, run.problems, candidate, comparison)
    (out_dir / REPORT_FILE).write_text(page, "utf-8")


def _print_summary(
    console: Console,
    run: SweepRun,
    findings: tuple[Burden, Burden | None, Comparison | None],
    out_dir: Path,
) -> None:
    from rich.table import Table

    base, _, comparison = findings
    console.print(
        f"{base.charts:,} charts in {run.seconds:.1f} s ({run.charts_per_second:,.0f} charts/s, "
        f"{run.engine}); {base.charts_with_cards:,} with a card, {base.cards:,} cards"
        + (f", {base.errors:,} could not be evaluated" if base.errors else ""),
        markup=False,
    )
    table = Table(title="Charts per rule", title_justify="left")
    for header in ("rule", "versions", "charts", "critical", "warning", "info"):
        table.add_column(header, justify="left" if header in ("rule", "versions") else "right")
    for rule in base.rules:
        table.add_row(
            rule.rule,
            ", ".join(rule.versions),
            f"{rule.charts:,}",
            *(f"{rule.by_indicator.get(i, 0):,}" for i in ("critical", "warning", "info")),
        )
    if base.rules:
        console.print(table)
    if comparison is not None:
        changes = Table(title="Candidate pins: what changes", title_justify="left")
        for header in ("rule", "gained", "lost", "indicator moves"):
            changes.add_column(header, justify="left" if header == "rule" else "right")
        for change in comparison.changed_rules:
            changes.add_row(
                change.rule,
                f"+{len(change.gained):,}",
                f"-{len(change.lost):,}",
                f"{change.moved:,}",
            )
        console.print(
            f"{len(comparison.changed_charts):,} of {comparison.charts:,} charts see different "
            "cards under the candidate pins",
            markup=False,
        )
        if comparison.changed_rules:
            console.print(changes)
    if run.problems:
        console.print(
            f"{len(run.problems):,} input problem(s) skipped, e.g. {run.problems[0]}", markup=False
        )
    console.print(f"report: {out_dir / REPORT_FILE}", markup=False)
