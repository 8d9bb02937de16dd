"""Shadow versions in the audit (cds.audit.shadow), on SQLite and PostgreSQL: the `shadow`
column written whole by the store and by the app, its migration, and the figures of
`cds audit shadow` on a small set of rows whose answers are known."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cds.api.app import create_app
from cds.audit.connection import make_engine
from cds.audit.database import SqlAuditStore, open_store, upgrade
from cds.audit.models import invocation_table
from cds.audit.shadow import ShadowCall, ShadowCard, ShadowRecord, build_shadow_report, summarise
from cds.audit.store import InvocationRecord, IssuedCard
from cds.cli import main
from cds.settings import Settings
from cds.sweep.results import CardResult
from tests.support.databases import postgres_database, sqlite_url, table_rows
from tests.support.paths import FIXTURES
from tests.support.served import served
from tests.support.shadow import (
    FIRST_PINS,
    STRICTER_DIURETIC,
    TEST_VERSIONS,
    engine_with,
    fixture_call,
    shadow_hooks,
)

SERVICE = "leg-pain-patient-view"
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
VERSIONS = {"dvt-risk": "1.1.0", "new-rule": "0.1.0"}
PINNED = {"dvt-risk": "1.0.0"}
LACKING = {"new-rule": ("FamilyMemberHistory",)}

Card = tuple[str, str, str]  # (rule, version, indicator)


def shadow(
    *cards: Card, errors: tuple[str, ...] = (), ms: float = 1.0, skipped: str | None = None
) -> ShadowRecord:
    return ShadowRecord(
        versions=VERSIONS,
        pinned=PINNED,
        cards=None
        if skipped
        else tuple(
            ShadowCard(rule, version, indicator, f"{rule} {indicator}", f"u-{rule}-{version}")
            for rule, version, indicator in cards
        ),
        errors=errors,
        lacking=LACKING,
        ms=ms,
        skipped=skipped,
    )


def row(
    n: int,
    patient: str,
    live: tuple[Card, ...],
    record: ShadowRecord | None,
    status: int = 200,
) -> InvocationRecord:
    return InvocationRecord(
        hook_instance=f"hi-{n}",
        service_id=SERVICE,
        hook="patient-view",
        ruleset_release="2026.11.1",
        patient_id=patient,
        started_at=T0 + timedelta(minutes=n),
        duration_ms=5.0,
        status=status,
        cards=tuple(IssuedCard(f"u{n}-{r}", r, v, i) for r, v, i in live),
        shadow=record,
    )


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "fresh")
        return
    with postgres_database() as url:
        yield url


DVT_WARNING = ("dvt-risk", "1.0.0", "warning")
PAD = ("pad-rest-pain", "1.0.0", "info")
# The known set: what live showed and what the shadow versions would have shown.
ROWS = (
    # p1: dvt-risk moves from warning to critical; then, on another call, agrees.
    row(1, "p1", (DVT_WARNING,), shadow(("dvt-risk", "1.1.0", "critical"), ms=1.0)),
    row(2, "p1", (DVT_WARNING,), shadow(("dvt-risk", "1.1.0", "warning"), ms=2.0)),
    # p2: dvt-risk gained.
    row(3, "p2", (), shadow(("dvt-risk", "1.1.0", "info"), ms=3.0)),
    # p3: dvt-risk lost, new-rule gained, pad-rest-pain (not shadowed) unchanged.
    row(4, "p3", (DVT_WARNING, PAD), shadow(PAD, ("new-rule", "0.1.0", "info"), ms=4.0)),
    # p4: nothing either side, new-rule raised.
    row(5, "p4", (), shadow(errors=("new-rule",), ms=5.0)),
    # Not compared: shadow versions timed out; a refused call; a service without shadows.
    row(6, "p5", (DVT_WARNING,), shadow(skipped="timeout")),
    row(7, "p6", (), None, status=412),
    row(8, "p7", (DVT_WARNING,), None),
)


def check_known_figures(report: Any) -> None:
    assert (report.calls, report.charts, report.changed_charts) == (5, 4, 3)
    assert report.skipped == {"timeout": 1}
    assert (report.ms_median, report.ms_max) == (3.0, 5.0)
    dvt, new = report.rules  # pad-rest-pain: not shadowed, and agrees: not listed
    assert (dvt.rule, dvt.live_versions, dvt.shadow_versions) == (
        "dvt-risk",
        ("1.0.0",),
        ("1.1.0",),
    )
    assert (dvt.live.charts, dvt.live.cards, dvt.live.per_1000_calls) == (2, 3, 600.0)
    assert dict(dvt.live.indicators) == {"warning": 3}
    assert (dvt.shadow.charts, dvt.shadow.cards, dvt.shadow.per_1000_calls) == (2, 3, 600.0)
    assert list(dvt.shadow.indicators.items()) == [("critical", 1), ("warning", 1), ("info", 1)]
    assert [(d.change, d.calls, d.charts) for d in dvt.disagreements] == [
        ("gained", 1, ("p2",)),
        ("lost", 1, ("p3",)),
        ("warning -> critical", 1, ("p1",)),
    ]
    assert (dvt.failed_calls, dvt.lacking) == (0, ())
    assert (new.rule, new.live_versions, new.shadow_versions) == ("new-rule", (), ("0.1.0",))
    assert (new.live.cards, new.shadow.charts, new.shadow.per_1000_calls) == (0, 1, 200.0)
    assert [(d.change, d.charts) for d in new.disagreements] == [("gained", ("p3",))]
    assert (new.failed_calls, new.lacking) == (1, ("FamilyMemberHistory",))


def test_the_figures_of_a_known_set_of_calls() -> None:
    calls = [
        ShadowCall(
            key=r.hook_instance,
            patient_id=r.patient_id,
            live=tuple(CardResult(c.rule_id, c.rule_version, c.indicator, "") for c in r.cards),
            shadow=r.shadow,
        )
        for r in ROWS
        if r.shadow is not None and r.status == 200
    ]
    check_known_figures(summarise(calls))


def _report(database_url: str, since: datetime | None = None) -> Any:
    engine = make_engine(database_url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            return build_shadow_report(connection, since=since)
    finally:
        engine.dispose()


def test_the_report_reads_the_same_figures_from_the_database(
    store: SqlAuditStore, database_url: str
) -> None:
    store.record_invocations(list(ROWS))
    check_known_figures(_report(database_url))
    later = _report(database_url, since=T0 + timedelta(minutes=3))
    assert later.calls == 3  # calls 3, 4 and 5


@pytest.mark.parametrize("one_batch", [False, True], ids=["after", "same-batch"])
def test_what_shadow_versions_would_show_is_added_to_the_row_already_kept(
    store: SqlAuditStore, database_url: str, one_batch: bool
) -> None:
    """The call's row is kept before the answer, its shadow record comes after, with the same
    record_id: one row, its cards once, the shadow record on it, whether the two reach the
    database in one batch or one after the other (and a third copy changes nothing)."""
    with_shadow = ROWS[3]
    live = replace(with_shadow, shadow=None)
    if one_batch:
        store.record_invocations([live, with_shadow])
    else:
        store.record_invocations([live])
        assert table_rows(database_url)["invocation"][0]["shadow"] is None
        store.record_invocations([with_shadow])
    store.record_invocations([replace(with_shadow, shadow=ROWS[0].shadow)])
    rows = table_rows(database_url)
    (invocation,) = rows["invocation"]
    assert ShadowRecord.from_json(invocation["shadow"]) == with_shadow.shadow
    assert len(rows["issued_card"]) == len(with_shadow.cards)


def test_the_shadow_column_holds_the_record_whole_and_null_without_one(
    store: SqlAuditStore, database_url: str
) -> None:
    store.record_invocations([ROWS[3], ROWS[7]])
    rows = {r["hook_instance"]: r for r in table_rows(database_url)["invocation"]}
    assert rows["hi-8"]["shadow"] is None  # SQL NULL, not JSON null
    stored = rows["hi-4"]["shadow"]
    assert stored == ROWS[3].shadow.to_json()  # type: ignore[union-attr]
    assert ShadowRecord.from_json(stored) == ROWS[3].shadow
    assert stored["cards"][1] == {
        "rule": "new-rule",
        "version": "0.1.0",
        "indicator": "info",
        "summary": "new-rule info",
        "uuid": "u-new-rule-0.1.0",
    }
    engine = make_engine(database_url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            with_shadow = connection.execute(
                sa.select(sa.func.count())
                .select_from(invocation_table)
                .where(invocation_table.c.shadow.is_not(None))
            ).scalar_one()
    finally:
        engine.dispose()
    assert with_shadow == 1


def test_the_migration_adds_the_column_to_existing_rows_and_takes_it_away(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, "0001")
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO invocation (hook_instance, service_id, hook, ruleset_release, "
                    "patient_id, started_at, duration_ms, status) VALUES ('hi-old', :service, "
                    "'patient-view', '2026.11.1', 'p1', :at, 3.0, 200)"
                ),
                {"service": SERVICE, "at": T0.replace(tzinfo=None)},
            )
    finally:
        engine.dispose()
    upgrade(empty_database_url)
    (old,) = table_rows(empty_database_url)["invocation"]
    assert (old["hook_instance"], old["shadow"]) == ("hi-old", None)

    from alembic import command

    from cds.audit.database import alembic_config

    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0001")
    finally:
        engine.dispose()
    (old,) = table_rows(empty_database_url)["invocation"]
    assert "shadow" not in old
    assert old["hook_instance"] == "hi-old"
    upgrade(empty_database_url)


def test_the_app_writes_shadow_rows_through_its_audit_writer(
    database_url: str, tmp_path: Path
) -> None:
    """Real HTTP calls to the app on the real database: the answer, then the row with both
    the live cards and the would-be ones."""
    hooks = shadow_hooks(tmp_path / "hooks", {STRICTER_DIURETIC.id: "9.1.0"}, rules=FIRST_PINS)
    engine = engine_with(hooks, *TEST_VERSIONS)
    app = create_app(Settings(database_url=database_url), engine=engine)
    service_id, body = fixture_call(
        FIXTURES / "diuretic-electrolytes--furosemide-k-3-49-warning", engine
    )
    with served(app) as url:
        answer = httpx.post(f"{url}/cds-services/{service_id}", json=body, timeout=30)
        assert answer.status_code == 200
        deadline = time.monotonic() + 10
        # The row is kept before the answer; what its shadows would have shown comes after.
        while not [r for r in table_rows(database_url)["invocation"] if r["shadow"]]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert app.state.cds.audit_writer.flush(10)
    rows = table_rows(database_url)
    (invocation,) = rows["invocation"]
    assert [(c["rule_version"], c["indicator"]) for c in rows["issued_card"]] == [
        ("1.0.0", "warning")
    ]
    record = ShadowRecord.from_json(invocation["shadow"])
    assert record.cards is not None
    assert [(c.rule, c.version, c.indicator) for c in record.cards] == [
        ("diuretic-electrolytes", "9.1.0", "critical")
    ]
    assert "9.1.0" not in answer.text


# ---------------------------------------------------------------------------------------------
# `cds audit shadow`


def _audit(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    upgrade(url)
    audit = open_store(url)
    audit.record_invocations(
        [*ROWS, row(9, "a-patient-id-as-long-as-some-ehrs-make-them-0123456789", (), shadow())]
    )
    audit.close()
    return url


def test_cds_audit_shadow_fits_80_columns(tmp_path: Path) -> None:
    url = _audit(tmp_path)
    result = CliRunner().invoke(
        main, ["audit", "shadow", "--database-url", url], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, result.output
    text = result.output
    assert "Shadow versions against live: 6 call(s), 5 chart(s)" in text
    assert "not compared: 1 timed out" in text
    assert "dvt-risk: live 1.0.0, shadow 1.1.0" in text
    assert "live:   2 chart(s), 500.0 per 1,000 calls (warning 3)" in text
    assert "shadow: 2 chart(s), 500.0 per 1,000 calls (critical 1, warning 1, info 1)" in text
    assert "warning -> critical: 1 chart(s) (1 call(s)): p1" in text
    assert "new-rule: live not pinned, shadow 0.1.0" in text
    assert "failed on 1 call(s)" in text
    assert "reads data the service does not prefetch: FamilyMemberHistory" in text
    # The default sections are what they were.
    default = CliRunner().invoke(main, ["audit", "--database-url", url])
    assert "Shadow versions" not in default.output


def test_cds_audit_shadow_json_says_the_same(tmp_path: Path) -> None:
    url = _audit(tmp_path)
    result = CliRunner().invoke(main, ["audit", "shadow", "--json", "--database-url", url])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["shadow"]
    assert (report["calls"], report["charts"], report["skipped"]) == (6, 5, {"timeout": 1})
    dvt = next(r for r in report["rules"] if r["rule"] == "dvt-risk")
    assert dvt["agrees"] is False
    assert dvt["shadow"]["indicators"] == {"critical": 1, "warning": 1, "info": 1}
    assert [(d["change"], d["charts"]) for d in dvt["disagreements"]] == [
        ("gained", ["p2"]),
        ("lost", ["p3"]),
        ("warning -> critical", ["p1"]),
    ]


def test_an_audit_without_shadow_rows_says_so(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    upgrade(url)
    result = CliRunner().invoke(main, ["audit", "shadow", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "Shadow versions against live: 0 call(s), 0 chart(s): none" in result.output


def test_a_spooled_row_comes_back_whole_with_its_shadow_record() -> None:
    """The spool keeps rows as JSON lines: what shadow versions would have shown survives it."""
    for original in (ROWS[3], ROWS[7]):
        assert InvocationRecord.from_json(original.to_json()) == original
