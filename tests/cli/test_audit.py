"""`cds audit` as a person reads it (cds.cli.audit): readable in an 80-column terminal, a refused
call shown as refused, a repeat as a repeat; and the same in --json."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from cds.audit.database import open_store, upgrade
from cds.cli import main
from tests.audit.test_report import DIURETIC, NOT_EVALUATED, SERVICE, STATIN, T0, call, feedback
from tests.support.databases import sqlite_url
from tests.support.processes import free_port

CARD = "0a9c3c1e-4b6f-5a8e-9d2b-7c1f0e3a5b61"
LONG_PATIENT = "a-patient-id-as-long-as-some-ehrs-make-them-0123456789"


def _audit(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    upgrade(url)
    store = open_store(url)
    store.record_invocations(
        [
            call("hi-1", 0, (CARD, DIURETIC), ("b-1", STATIN)),
            call("hi-2", 4, ("a-2", DIURETIC), ("b-2", STATIN)),
            call("hi-3", 300, status=412),
            call("hi-4", 400, ("a-4", STATIN), patient=LONG_PATIENT),
            call("hi-5", 500, ("a-5", DIURETIC), not_evaluated=NOT_EVALUATED),
        ]
    )
    store.record_feedback(
        SERVICE,
        [feedback(CARD, "accepted", 1), feedback(CARD, "overridden", 2)],
        T0 + timedelta(minutes=3),
    )
    store.close()
    return url


def test_the_report_fits_80_columns_without_breaking_an_id(tmp_path: Path) -> None:
    url = _audit(tmp_path)
    result = CliRunner().invoke(main, ["audit", "--database-url", url], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, result.output
    for whole in (CARD, LONG_PATIENT, "statin-muscle-symptoms@1.0.0", "2026-11-21 12:00:04"):
        assert any(whole in line for line in lines), whole


def test_the_rules_a_call_could_not_evaluate_are_listed_under_it(tmp_path: Path) -> None:
    url = _audit(tmp_path)
    result = CliRunner().invoke(
        main, ["audit", "invocations", "--database-url", url], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # as read, whatever the wrapping
    assert (
        "1 card(s) (10 ms): diuretic-electrolytes@1.0.0 "
        "not evaluated (FamilyMemberHistory unsupported): dvt-risk@1.0.0 "
        "not evaluated (FamilyMemberHistory unsupported, Procedure timeout): pad-rest-pain@1.0.0"
    ) in text
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert text.count("not evaluated") == 2  # the other calls ran every rule


def test_a_refused_call_is_shown_as_refused_and_a_repeat_as_a_repeat(tmp_path: Path) -> None:
    url = _audit(tmp_path)
    result = CliRunner().invoke(main, ["audit", "invocations", "--database-url", url])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "refused: HTTP 412, no card" in text
    assert "0 card" not in text
    assert text.count("repeat, not counted") == 1
    assert "1 call(s) repeated the call just before" in text


def test_the_json_report_says_the_same(tmp_path: Path) -> None:
    url = _audit(tmp_path)
    result = CliRunner().invoke(main, ["audit", "--json", "--database-url", url])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["repeats"] == 1
    by_instance = {i["hook_instance"]: i for i in report["invocations"]}
    assert by_instance["hi-3"]["refused"] is True
    assert [n["rule_id"] for n in by_instance["hi-5"]["not_evaluated"]] == [
        "dvt-risk",
        "pad-rest-pain",
    ]
    assert by_instance["hi-5"]["not_evaluated"][1]["missing"] == [
        ["FamilyMemberHistory", "unsupported"],
        ["Procedure", "timeout"],
    ]
    assert by_instance["hi-1"]["not_evaluated"] == []
    assert by_instance["hi-2"]["repeat"] is True
    assert by_instance["hi-1"]["repeat"] is False
    rules = {r["rule"]: (r["issued"], r["accepted"], r["overridden"]) for r in report["rules"]}
    assert rules == {
        "diuretic-electrolytes@1.0.0": (2, 0, 1),
        "statin-muscle-symptoms@1.0.0": (2, 0, 0),
    }


def test_an_unreachable_audit_database_is_one_line() -> None:
    url = f"postgresql://cds:secret@127.0.0.1:{free_port()}/cds"
    result = CliRunner().invoke(main, ["audit", "--database-url", url])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert "Connection refused" in result.output
    assert "secret" not in result.output
