"""`cds replay`: replay scenarios, hook requests and patient Bundles; show the cards that come back.

The work is done by `cds.replay`; this module is presentation only: discovery of the paths, a
progress bar, one line per scenario, diffs, a summary table and the JUnit / JSON reports.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

if TYPE_CHECKING:
    from rich.console import Console

    from cds.replay.runner import ReplayResult, Summary
    from cds.replay.scenario import Candidate
    from cds.replay.targets import Target

ReportFormat = Literal["junit", "json"]
VERDICT_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}


def parse_as_of(_: click.Context, __: click.Parameter, value: str | None) -> datetime | None:
    """An `--as-of` option: an ISO 8601 date-time with a UTC offset (replay, sweep)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 date-time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise click.BadParameter("needs a UTC offset, e.g. 2026-11-21T12:00:00Z")
    return parsed


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--url",
    help="Replay over HTTP against a running service (e.g. http://127.0.0.1:8080), "
    "instead of in process. The service then judges at its own clock: scenarios whose "
    "outcome in process differs at today's date are listed first and not judged.",
)
@click.option(
    "--as-of",
    "as_of",
    callback=parse_as_of,
    metavar="ISO",
    help="Judge bare requests and Bundles at this instant (default: now). Scenarios always "
    "use their own as_of. In process only.",
)
@click.option(
    "--service",
    "service_id",
    metavar="ID",
    help="Service for bare requests and Bundles (default: the one answering their hook; "
    "patient-view for Bundles). Scenarios name their own.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write a report: JUnit XML (.xml) or JSON (.json).",
)
@click.option(
    "--format",
    "report_format",
    type=click.Choice(["junit", "json"]),
    help="Report format (default: from the --report file name).",
)
@click.option(
    "--validate",
    is_flag=True,
    help="Also validate the inputs' FHIR resources against FHIR R4B and list the invalid ones "
    "(the service itself reads leniently: this does not change a verdict).",
)
@click.option("--show-cards", is_flag=True, help="Print every card's summary under its line.")
@click.option("--quiet", "-q", is_flag=True, help="Only failures, errors and the summary.")
def replay(
    paths: tuple[Path, ...],
    url: str | None,
    as_of: datetime | None,
    service_id: str | None,
    report: Path | None,
    report_format: ReportFormat | None,
    validate: bool,
    show_cards: bool,
    quiet: bool,
) -> None:
    """Replay PATH... and show which cards come back.

    PATH may be a scenario folder (fixtures/README.md), a folder holding scenario folders,
    hook requests or Bundles (searched recursively), a CDS Hooks request file, or a FHIR
    Bundle with one patient's record (e.g. a Synthea transaction bundle).

    Scenarios pass when the outcome is as expected; bare requests and Bundles pass when the
    service answers validly (200, valid cards). Exit status 1 on any failure or error.
    """
    from rich.console import Console  # heavy imports only when used
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from cds.errors import ReplayInputError
    from cds.replay.runner import Replayer, summarize
    from cds.replay.scenario import discover

    if url is not None and as_of is not None:
        raise click.UsageError("--as-of cannot be used with --url: the service uses its clock")
    if report is not None and report_format is None:
        report_format = _format_from_name(report)
    elif report is None and report_format is not None:
        raise click.UsageError("--format needs --report FILE")

    console = Console(highlight=False, soft_wrap=True)
    try:
        candidates = discover(paths)
    except ReplayInputError as exc:
        raise click.UsageError(str(exc)) from exc
    if not candidates:
        raise click.UsageError("nothing to replay: no scenario folder or JSON file found")

    target, reference = _targets(url)
    results: list[ReplayResult] = []
    skipped: list[str] = []
    started = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )
    with Replayer(
        target, as_of=as_of, service_id=service_id, reference=reference, validate=validate
    ) as replayer:
        not_judgeable = replayer.not_judgeable_over_http(candidates)
        if not_judgeable:
            _print_not_judgeable(console, candidates, not_judgeable)
        with progress:
            task = progress.add_task("replaying", total=len(candidates))
            for candidate in candidates:
                progress.update(task, description=_shorten(candidate.name, 40))
                result: ReplayResult | None
                if candidate.path in not_judgeable:
                    result = replayer.not_judged(candidate, not_judgeable[candidate.path])
                else:
                    result = replayer.replay_candidate(candidate)
                progress.advance(task)
                if result is None:
                    skipped.append(candidate.name)
                    continue
                results.append(result)
                _print_result(progress.console, result, show_cards=show_cards, quiet=quiet)
    summary = summarize(results, skipped=len(skipped), wall_seconds=time.perf_counter() - started)

    if skipped and not quiet:
        listed = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        console.print(
            f"skipped {len(skipped)} file(s): neither a hook request nor a patient Bundle "
            f"({listed})",
            markup=False,  # file names may hold [brackets]
        )
    _print_summary(console, summary)
    if report is not None and report_format is not None:
        _write_report(report, report_format, results, summary)
        console.print(f"report written to {report}", markup=False)
    if not summary.ok:
        raise SystemExit(1)


def _targets(url: str | None) -> tuple[Target, Target | None]:
    """Where requests are answered, and, over HTTP, the service in process as the reference
    that tells which scenarios can be judged at the service's clock."""
    from cds.cli.serve import load_settings
    from cds.errors import ServiceConfigError
    from cds.pipeline import Engine
    from cds.replay.targets import HttpTarget, InProcessTarget

    if url is not None and not url.startswith(("http://", "https://")):
        raise click.UsageError(f"--url must be an http(s) URL: {url!r}")
    settings = load_settings()
    try:
        engine = Engine.load(settings.hooks_dir)
    except ServiceConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    in_process = InProcessTarget(engine, settings)
    if url is None:
        return in_process, None
    return HttpTarget(url), in_process


def _format_from_name(report: Path) -> ReportFormat:
    if report.suffix.lower() == ".xml":
        return "junit"
    if report.suffix.lower() == ".json":
        return "json"
    raise click.UsageError("cannot tell the report format from its name: pass --format")


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


# ---------------------------------------------------------------------------------------------
# Console output


def _print_not_judgeable(
    console: Console, candidates: Sequence[Candidate], reasons: dict[Path, str]
) -> None:
    from rich.text import Text

    console.print(
        f"[yellow]{len(reasons)} scenario(s) cannot be judged over HTTP[/]: the service judges at "
        "its own clock, and in process at today's date they do not get what they expect at "
        "their as_of (their data has aged out of a rule's window). Not judged here; replay "
        "them in process:"
    )
    for candidate in candidates:
        if candidate.path in reasons:
            console.print(Text(f"  {candidate.name}: {reasons[candidate.path]}", style="dim"))


def _print_result(console: Console, result: ReplayResult, *, show_cards: bool, quiet: bool) -> None:
    from rich.text import Text

    if quiet and result.verdict in ("pass", "skip") and not result.invalid_fhir:
        return  # a skip was listed before the run
    line = Text()
    line.append(f"{result.verdict.upper():5}", style=f"bold {VERDICT_STYLE[result.verdict]}")
    line.append(f" {result.name}")
    if result.status is not None and result.status != 200:
        line.append(f"  [{result.status}]", style="dim")
    cards = " ".join(c.label for c in result.cards) or ("no card" if result.answered else "")
    if cards:
        line.append(f"  {cards}", style="cyan")
    if result.verdict in ("pass", "fail"):
        line.append(f"  {_ms(result.seconds)}", style="dim")
    if result.verdict == "skip":
        line.append("  not judged over HTTP (listed above)", style="dim")
    console.print(line)
    for invalid in result.invalid_fhir:
        console.print(Text(f"        invalid FHIR {invalid}", style="yellow"))
    if show_cards:
        for card in result.cards:
            console.print(Text(f"        {card.label}: {card.summary}", style="dim"))
    if result.diff:
        console.print(Text(result.diff))


def _print_summary(console: Console, summary: Summary) -> None:
    from rich.table import Table

    totals = Table(title="Replay summary", show_header=False, title_justify="left")
    totals.add_column(style="bold")
    totals.add_column()
    totals.add_row("scenarios", str(summary.total))
    totals.add_row("passed", f"[green]{summary.passed}[/]")
    totals.add_row("failed", f"[red]{summary.failed}[/]" if summary.failed else "0")
    totals.add_row("errors", f"[magenta]{summary.errors}[/]" if summary.errors else "0")
    if summary.not_judged:
        totals.add_row("not judged over HTTP", f"[yellow]{summary.not_judged}[/]")
    if summary.skipped:
        totals.add_row("skipped files", str(summary.skipped))
    if summary.invalid_fhir:
        totals.add_row("inputs with invalid FHIR", f"[yellow]{summary.invalid_fhir}[/]")
    if summary.charts:
        share = summary.charts_without_card / summary.charts
        totals.add_row(
            "cards per patient",
            f"median {summary.cards_median:g}, max {summary.cards_max}",
        )
        totals.add_row(
            "charts with no card",
            f"{summary.charts_without_card} of {summary.charts} ({share:.0%})",
        )
    totals.add_row("total time", f"{summary.wall_seconds:.2f} s")
    totals.add_row(
        "time per scenario",
        f"mean {_ms(summary.call_seconds_mean)}, median {_ms(summary.call_seconds_median)}, "
        f"max {_ms(summary.call_seconds_max)}",
    )
    console.print(totals)
    if summary.cards_by_rule:
        rules = Table(title="Cards per rule", title_justify="left")
        rules.add_column("rule")
        for header in ("cards", "critical", "warning", "info"):
            rules.add_column(header, justify="right")
        for rule, counts in summary.cards_by_rule.items():
            rules.add_row(
                rule,
                str(sum(counts.values())),
                *(str(counts.get(i, 0)) for i in ("critical", "warning", "info")),
            )
        console.print(rules)


# ---------------------------------------------------------------------------------------------
# Reports


def _write_report(
    path: Path, fmt: ReportFormat, results: Sequence[ReplayResult], summary: Summary
) -> None:
    if fmt == "junit":
        path.write_bytes(junit_xml(results, summary))
    else:
        body = {"summary": summary.to_json(), "results": [r.to_json() for r in results]}
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", "utf-8")


def junit_xml(results: Sequence[ReplayResult], summary: Summary) -> bytes:
    """One testcase per scenario; a failure's message is its first problem, its text the diff."""
    suite = ET.Element(
        "testsuite",
        {
            "name": "cds replay",
            "tests": str(summary.total),
            "failures": str(summary.failed),
            "errors": str(summary.errors),
            "skipped": str(summary.not_judged),
            "time": f"{summary.wall_seconds:.3f}",
        },
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"replay.{result.service or 'unknown'}",
                "name": result.name,
                "file": str(result.path),
                "time": f"{result.seconds:.4f}",
            },
        )
        if result.verdict == "skip":
            ET.SubElement(case, "skipped", {"message": "; ".join(result.problems)})
        elif result.verdict != "pass":
            tag = "failure" if result.verdict == "fail" else "error"
            # The message carries every mismatch on one line; the text, the full diff.
            message = "; ".join(result.problems) or result.verdict
            element = ET.SubElement(case, tag, {"message": message})
            element.text = result.diff
        cards = "\n".join(f"{c.label}  {c.summary}" for c in result.cards)
        if cards:
            ET.SubElement(case, "system-out").text = cards
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    xml: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return xml
