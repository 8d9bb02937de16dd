"""`cds replay` end to end: exit status, diffs, reports, plain Synthea bundles and --url mode."""

from __future__ import annotations

import json
import shutil
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.cli import main
from cds.pipeline import Engine
from cds.settings import Settings
from tests.support.paths import FIXTURES, SYNTHEA_BUNDLES
from tests.support.served import served

# Fixtures this suite copies into tmp_path, so the CLI's own tests depend on a few known
# scenarios only, not on every fixture in the repository.
PASSING = (
    "diuretic-electrolytes--furosemide-k-3-49-warning",
    "diuretic-electrolytes--furosemide-k-3-5-no-card",
    "protocol--absent-prefetch-no-fhir-server",
)
# Not date-sensitive, so they give the same answer at the server's own clock.
UNDATED = ("protocol--absent-prefetch-no-fhir-server", "protocol--wrong-hook")
# Two of the smallest Synthea patients.
SYNTHEA = (
    "Dana_Feest_fc11f507-fd6d-4512-a77b-c997a24c5c10.json",
    "Barney_Abbott_3f228315-d2de-4292-a56a-b7c120c2875d.json",
)


def replay(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["replay", *(str(a) for a in args)], catch_exceptions=False)


def copy_fixtures(names: tuple[str, ...], into: Path) -> Path:
    for name in names:
        shutil.copytree(FIXTURES / name, into / name)
    return into


def test_passing_fixtures_exit_0(tmp_path: Path) -> None:
    result = replay(copy_fixtures(PASSING, tmp_path))
    assert result.exit_code == 0, result.output
    for name in PASSING:
        assert f"PASS  {name}" in result.output
    assert "diuretic-electrolytes:warning" in result.output
    assert "FAIL" not in result.output
    assert "Replay summary" in result.output


def test_wrong_expectation_exits_1_and_prints_the_diff(tmp_path: Path) -> None:
    folder = copy_fixtures(PASSING[:1], tmp_path) / PASSING[0]
    scenario = json.loads((folder / "scenario.json").read_text())
    scenario["expect"]["cards"][0]["indicator"] = "critical"
    scenario["expect"]["absent"] = ["diuretic-electrolytes-typo"]
    (folder / "scenario.json").write_text(json.dumps(scenario))

    result = replay(folder)

    assert result.exit_code == 1, result.output
    assert f"FAIL  {PASSING[0]}" in result.output
    assert "diuretic-electrolytes: expected critical, got warning" in result.output
    assert "expected: status 200; cards diuretic-electrolytes:critical" in result.output
    assert "1. diuretic-electrolytes:warning" in result.output
    assert "Low potassium (K 3.49 mmol/L)" in result.output


def test_junit_report(tmp_path: Path) -> None:
    folders = copy_fixtures(PASSING, tmp_path / "in")
    wrong = folders / PASSING[1] / "scenario.json"
    scenario = json.loads(wrong.read_text())
    scenario["expect"] = {
        "status": 200,
        "cards": [{"rule": "diuretic-electrolytes", "indicator": "info"}],
    }
    wrong.write_text(json.dumps(scenario))
    report = tmp_path / "replay.xml"

    result = replay(folders, "--report", report, "--quiet")

    assert result.exit_code == 1
    assert "PASS" not in result.output  # --quiet: only failures and the summary
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == set(PASSING)
    failure = cases[PASSING[1]].find("failure")
    assert failure is not None
    assert failure.get("message") == "missing card diuretic-electrolytes:info"
    assert "expected: status 200" in (failure.text or "")
    assert cases[PASSING[0]].find("failure") is None


def test_json_report(tmp_path: Path) -> None:
    report = tmp_path / "out.json"
    result = replay(copy_fixtures(PASSING, tmp_path / "in"), "--report", report)
    assert result.exit_code == 0, result.output
    body = json.loads(report.read_text())
    summary = body["summary"]
    assert (summary["scenarios"], summary["passed"], summary["failed"]) == (3, 3, 0)
    assert summary["cards_by_rule"] == {"diuretic-electrolytes": {"warning": 1}}
    assert summary["cards_per_chart"]["without_card"] == 1  # the 412 is not a chart
    by_name = {r["name"]: r for r in body["results"]}
    assert by_name[PASSING[0]]["cards"][0]["rule"] == "diuretic-electrolytes"
    assert by_name[PASSING[2]]["status"] == 412


def test_plain_synthea_bundles_replay(tmp_path: Path) -> None:
    report = tmp_path / "synthea.json"
    paths = [SYNTHEA_BUNDLES / name for name in SYNTHEA]
    result = replay(*paths, "--as-of", "2021-06-01T00:00:00Z", "--show-cards", "--report", report)
    assert result.exit_code == 0, result.output
    body = json.loads(report.read_text())
    assert body["summary"]["passed"] == 2
    for item in body["results"]:
        assert item["kind"] == "bundle"
        assert item["status"] == 200
        assert item["patient"]  # taken from the Patient resource
    again = replay(*paths, "--as-of", "2021-06-01T00:00:00Z", "--report", tmp_path / "b.json")
    assert again.exit_code == 0

    def outcome(report: Path) -> list[tuple[str, str, object]]:
        results = json.loads(report.read_text())["results"]
        return [(r["name"], r["patient"], r["cards"]) for r in results]

    assert outcome(tmp_path / "b.json") == outcome(report)


def test_unreadable_input_is_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = replay(broken)
    assert result.exit_code == 1
    assert "ERROR broken.json" in result.output
    assert "not valid JSON" in result.output


def test_as_of_cannot_be_used_over_http() -> None:
    result = replay(FIXTURES, "--url", "http://127.0.0.1:9", "--as-of", "2026-11-21T12:00:00Z")
    assert result.exit_code == 2
    assert "--as-of cannot be used with --url" in result.output


@pytest.fixture
def server_url(engine: Engine, settings: Settings) -> Iterator[str]:
    """The real app served by uvicorn on a loopback port."""
    with served(create_app(settings, engine=engine, store=MemoryAuditStore())) as url:
        yield url


def test_url_mode_against_a_running_server(tmp_path: Path, server_url: str) -> None:
    folders = copy_fixtures(UNDATED, tmp_path / "in")
    shutil.copy(SYNTHEA_BUNDLES / SYNTHEA[0], folders / SYNTHEA[0])
    report = tmp_path / "http.json"

    result = replay(folders, "--url", server_url, "--report", report)

    assert result.exit_code == 0, result.output
    assert "cannot be judged over HTTP" not in result.output  # neither depends on the date
    body = json.loads(report.read_text())
    statuses = {r["name"]: r["status"] for r in body["results"]}
    assert statuses == {UNDATED[0]: 412, UNDATED[1]: 400, SYNTHEA[0]: 200}


def test_url_mode_gives_the_in_process_verdicts_for_every_fixture(server_url: str) -> None:
    """The service judges at today's date: the scenarios that in process get what they expect
    at their as_of but not today are listed before the run and not judged; every other one
    gets its in-process verdict. (Which ones those are depends on the day the test runs.)"""
    result = replay(FIXTURES, "--url", server_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    verdicts = [line.split()[0] for line in lines if line.startswith(("PASS", "SKIP", "FAIL"))]
    assert "FAIL" not in verdicts
    assert len(verdicts) == len([p for p in FIXTURES.iterdir() if p.is_dir()])
    skipped = verdicts.count("SKIP")
    if skipped:
        statement = next(i for i, line in enumerate(lines) if "cannot be judged over HTTP" in line)
        first_result = next(i for i, line in enumerate(lines) if line.startswith(("PASS", "SKIP")))
        assert statement < first_result
        assert f"{skipped} scenario(s) cannot be judged over HTTP" in lines[statement]


def test_validate_reports_invalid_fhir_without_failing(tmp_path: Path) -> None:
    folders = copy_fixtures(("protocol--malformed-resources-skipped",), tmp_path)
    result = replay(folders, "--validate")
    assert result.exit_code == 0, result.output
    assert "invalid FHIR Observation/k-garbage-date: effectiveDateTime" in result.output
    assert "inputs with invalid FHIR" in result.output


def test_url_mode_when_nothing_listens(tmp_path: Path) -> None:
    folders = copy_fixtures(UNDATED[:1], tmp_path)
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = replay(folders, "--url", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert f"ERROR {UNDATED[0]}" in result.output
    assert "failed" in result.output
