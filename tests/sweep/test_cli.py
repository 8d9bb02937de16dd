"""`cds sweep` end to end: the committee report, the per-chart results, a comparison of two sets
of pins that finds exactly the charts the change touches, and clear refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from cds.cli import main
from cds.sweep.compare import compare
from cds.sweep.evaluate import pins_from_folder
from cds.sweep.results import CardResult, ChartResult, Outcome
from tests.support.paths import FIXTURES, HOOKS, REPO
from tests.sweep.conftest import AS_OF, scenario_as_of

DROPPED = ("hypothyroidism", "vitamin-d-deficiency")


def run_cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["sweep", *(str(a) for a in args)], catch_exceptions=False)


def read_results(folder: Path) -> list[ChartResult]:
    lines = (folder / "results.jsonl").read_text().splitlines()
    return [ChartResult.from_json(json.loads(line)) for line in lines]


def charts_expecting(rules: tuple[str, ...]) -> set[str]:
    """Patients whose scenario says patient-view shows a card of one of `rules`."""
    found = set()
    for folder in FIXTURES.iterdir():
        if not (folder / "bundle.json").is_file() or scenario_as_of(folder) != AS_OF:
            continue
        scenario = json.loads((folder / "scenario.json").read_text())
        cards = scenario["expect"].get("cards", [])
        if scenario["service"] == "leg-pain-patient-view" and any(
            c["rule"] in rules for c in cards
        ):
            bundle = json.loads((folder / "bundle.json").read_text())
            found |= {
                e["resource"]["id"]
                for e in bundle["entry"]
                if e["resource"]["resourceType"] == "Patient"
            }
    return found


def test_comparing_two_hooks_folders_finds_exactly_the_charts_the_change_touches(
    fixture_export: Path, tmp_path: Path
) -> None:
    candidate = tmp_path / "candidate-hooks"
    shutil.copytree(HOOKS, candidate)
    service_file = candidate / "leg-pain-patient-view.json"
    service = json.loads(service_file.read_text())
    for rule in DROPPED:
        del service["rules"][rule]
    service_file.write_text(json.dumps(service))
    out = tmp_path / "report"

    result = run_cli(
        fixture_export, "--as-of", AS_OF.isoformat(), "--compare", candidate, "--out", out
    )

    assert result.exit_code == 0, result.output
    results = read_results(out)
    comparison = compare(
        {r.chart: r.baseline.cards for r in results},
        {r.chart: r.candidate.cards for r in results if r.candidate is not None},
    )
    assert set(comparison.changed_charts) == charts_expecting(DROPPED)
    assert [c.rule for c in comparison.changed_rules] == sorted(DROPPED)
    assert all(not c.gained and not c.moves for c in comparison.rules)
    assert (
        f"{len(charts_expecting(DROPPED))} of {len(results)} charts see different cards"
        in result.output
    )
    page = (out / "report.html").read_text()
    assert "What the candidate pins change" in page
    assert "vitamin-d-deficiency" in page


def test_the_report_and_results_of_one_set_of_pins(fixture_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run_cli(fixture_export, "--as-of", AS_OF.isoformat(), "--out", out, "--workers", "1")

    assert result.exit_code == 0, result.output
    results = read_results(out)
    assert [r.chart for r in results] == sorted(r.chart for r in results)
    cards = [c for r in results for c in r.baseline.cards]
    assert cards
    pinned = pins_from_folder(HOOKS).rules
    assert all(c.version == pinned[c.rule] for c in cards)  # rule@version on every card
    assert all(r.candidate is None for r in results)
    assert (out / "problems.jsonl").read_text() == ""
    page = (out / "report.html").read_text()
    for heading in ("Alert burden", "Cards per chart", "Charts per rule and indicator", "<svg"):
        assert heading in page
    assert "What the candidate pins change" not in page
    assert "charts/s" in result.output
    assert "pad-rest-pain" in result.output


def test_with_complaint_the_report_says_so_and_candidate_cards_appear(
    fixture_export: Path, tmp_path: Path
) -> None:
    plain, cramps = tmp_path / "plain", tmp_path / "cramps"
    common = ("--as-of", AS_OF.isoformat(), "--workers", "1")
    assert run_cli(fixture_export, *common, "--out", plain).exit_code == 0
    result = run_cli(fixture_export, *common, "--with-complaint", "--out", cramps)

    assert result.exit_code == 0, result.output
    before = {r.chart: r.baseline.cards for r in read_results(plain)}
    after = {r.chart: r.baseline.cards for r in read_results(cramps)}
    comparison = compare(before, after)
    # A complaint only opens candidate-cause cards: charts gain cards, none loses one.
    assert comparison.changed_charts
    assert all(not c.lost for c in comparison.rules)
    assert "complaint added" in (cramps / "report.html").read_text()
    assert "complaint added" not in (plain / "report.html").read_text()


def test_refusals_are_one_line_and_exit_2(fixture_export: Path, tmp_path: Path) -> None:
    unknown = run_cli(fixture_export, "--compare", "dvt-risk@7.0.0", "--out", tmp_path)
    assert unknown.exit_code == 2
    assert "unknown rule version dvt-risk@7.0.0" in unknown.output
    order_hook = run_cli(fixture_export, "--service", "leg-pain-order-sign", "--out", tmp_path)
    assert order_hook.exit_code == 2
    assert "only patient-view services can be swept" in order_hook.output


def test_spark_without_java_says_so_in_one_line(fixture_export: Path, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    environment["PATH"] = str(tmp_path)  # no java there
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cds.cli import main; main()",
            "sweep",
            str(fixture_export),
            "--engine",
            "spark",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "cds sweep: --engine spark needs Java 17 or later: no java in JAVA_HOME or on PATH "
        "(install a JDK, e.g. openjdk-17-jre-headless, or use --engine local)"
    ]
    assert not (tmp_path / "out").exists()


def test_results_round_trip() -> None:
    card = CardResult("dvt-risk", "1.0.0", "warning", "Possible DVT")
    outcome = Outcome((card,), ("a warning",))
    result = ChartResult("p", outcome, Outcome((), error="KeyError: 'x'"))
    assert ChartResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    assert card.key == "dvt-risk@1.0.0"
