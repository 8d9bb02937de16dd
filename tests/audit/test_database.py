"""Persistence of invocations and feedback: the same tests on SQLite (a file) and on the real
PostgreSQL server (a fresh database per test session), through the store and through the app."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from cds.api.app import create_app
from cds.audit.connection import make_engine, normalise_url
from cds.audit.database import SqlAuditStore, current_revision, head_revision, open_store, upgrade
from cds.audit.models import TABLES, feedback_table, invocation_table, issued_card_table
from cds.audit.store import FeedbackResult, InvocationRecord, IssuedCard
from cds.cdshooks import FeedbackItem
from cds.cli import main
from cds.cli.audit import parse_since
from cds.pipeline import Engine
from cds.services import ServiceDefinition
from cds.settings import Settings
from tests.support.databases import (
    postgres_database,
    sqlite_url,
    table_rows,
    unreachable_postgres_url,
)
from tests.support.fhir import bundle, medication_request, observation
from tests.support.jwt_keys import ISSUER
from tests.support.security import SERVICE_PATH, Harness

SERVICE = "leg-pain-patient-view"
FUROSEMIDE = ("197732", "furosemide 80 MG Oral Tablet")  # a loop diuretic
POTASSIUM = "2823-3"  # LOINC, serum or plasma
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Databases


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it (for SQLite, not even its directory)."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "not" / "yet")
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def unusable_database_url(backend: str, tmp_path: Path) -> str:
    """Writes fail: SQLite without its tables (never migrated), PostgreSQL down."""
    return sqlite_url(tmp_path) if backend == "sqlite" else unreachable_postgres_url()


@pytest.fixture
def service(engine: Engine) -> ServiceDefinition:
    return engine.services[SERVICE]


@dataclass
class Audit:
    invocations: list[sa.Row[Any]]
    cards: list[sa.Row[Any]]
    feedback: list[sa.Row[Any]]


def read_audit(url: str) -> Audit:
    """The audit rows, read through the models' types (times come back as aware UTC)."""
    engine = make_engine(url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            rows = [
                list(connection.execute(sa.select(table).order_by(table.c.id)))
                for table in (invocation_table, issued_card_table, feedback_table)
            ]
    finally:
        engine.dispose()
    return Audit(*rows)


def failures(record: str) -> float:
    value = REGISTRY.get_sample_value("cds_audit_write_failures_total", {"record": record})
    return value or 0.0


# ---------------------------------------------------------------------------------------------
# Requests and feedback


def hook_request(
    prefetch_templates: Mapping[str, str],
    *,
    patient_id: str = "patient-1",
    on_diuretic: bool = True,
) -> dict[str, Any]:
    """A minimal valid patient-view request that needs no FHIR server: every prefetch key is
    given, null or a Bundle. With `on_diuretic`, furosemide and a low potassium 10 days ago:
    the diuretic-electrolytes card fires (on any chart: an abnormal result)."""
    prefetch: dict[str, Any] = dict.fromkeys(prefetch_templates)
    medications: list[dict[str, Any]] = []
    labs: list[dict[str, Any]] = []
    if on_diuretic:
        # Dated from now: the service evaluates at the time of the call.
        now = datetime.now(UTC)
        medications.append(medication_request(*FUROSEMIDE))
        medications[0]["authoredOn"] = (now - timedelta(days=30)).isoformat()
        labs.append(observation(POTASSIUM, 3.1, "mmol/L"))
        labs[0]["effectiveDateTime"] = (now - timedelta(days=10)).isoformat()
    for resource in medications + labs:
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
    prefetch[_key(prefetch_templates, "MedicationRequest")] = bundle(medications)
    prefetch[_key(prefetch_templates, "Observation")] = bundle(labs)
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": patient_id},
        "prefetch": prefetch,
    }


def _key(prefetch_templates: Mapping[str, str], resource_type: str) -> str:
    return next(k for k, t in prefetch_templates.items() if t.startswith(f"{resource_type}?"))


def accepted(card: str, at: datetime = T0, suggestion: str = "s-1") -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": at.isoformat(),
    }


def overridden(
    card: str,
    at: datetime = T0,
    code: str = "not-relevant",
    display: str = "Not relevant for this patient",
    comment: str | None = None,
) -> dict[str, Any]:
    reason: dict[str, Any] = {
        "reason": {"system": "urn:legpain-cds:override-reason", "code": code, "display": display}
    }
    if comment:
        reason["userComment"] = comment
    return {
        "card": card,
        "outcome": "overridden",
        "overrideReason": reason,
        "outcomeTimestamp": at.isoformat(),
    }


def items(*raw: dict[str, Any]) -> list[FeedbackItem]:
    return [FeedbackItem.model_validate(r) for r in raw]


def invocation(
    hook_instance: str = "hi-1",
    *cards: tuple[str, str, str],
    service_id: str = SERVICE,
    patient_id: str | None = "patient-1",
    started_at: datetime = T0,
) -> InvocationRecord:
    """cards: (uuid, rule id, rule version)."""
    return InvocationRecord(
        hook_instance=hook_instance,
        service_id=service_id,
        hook="patient-view",
        ruleset_release="2026.11.0",
        patient_id=patient_id,
        started_at=started_at,
        duration_ms=12.5,
        status=200,
        cards=tuple(IssuedCard(u, rule, version, "warning") for u, rule, version in cards),
    )


# ---------------------------------------------------------------------------------------------
# Schema and connections


def test_upgrade_takes_an_empty_database_to_head(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini here: the configuration is built in code
    upgrade(empty_database_url)
    upgrade(empty_database_url)  # at head already: nothing to do, no error

    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert {"invocation", "issued_card", "feedback", "alembic_version"} <= tables


def test_models_match_the_migrations(empty_database_url: str) -> None:
    """What `alembic check` does: autogenerate against the migrated schema finds nothing."""
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, TABLES[0].metadata) == []
    finally:
        engine.dispose()


def test_rows_written_before_rules_not_evaluated_was_added_read_as_every_rule_run(
    empty_database_url: str,
) -> None:
    """0001 -> 0002 on a database with rows: they keep them, with no rules not evaluated."""
    upgrade(empty_database_url, "0001")
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO invocation (hook_instance, service_id, hook, ruleset_release, "
                    "patient_id, started_at, duration_ms, status) VALUES ('hi-old', "
                    "'leg-pain-patient-view', 'patient-view', '2026.11.0', 'p-1', "
                    "'2026-11-21 12:00:00', 1.5, 200)"
                )
            )
        upgrade(empty_database_url)
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            rows = connection.execute(
                sa.select(invocation_table.c.hook_instance, invocation_table.c.rules_not_evaluated)
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("hi-old", None)]


def test_sqlite_is_a_wal_file_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "var")
    upgrade(url)
    assert (tmp_path / "var" / "audit.db").is_file()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:

            def pragma(name: str) -> Any:
                return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") >= 1000
    finally:
        engine.dispose()


def test_cds_migrate_upgrades_the_configured_database(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    result = CliRunner().invoke(main, ["migrate"], env={"CDS_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    migrated = open_store(url)
    assert migrated.check_schema()
    migrated.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/cds", "postgresql+psycopg://u:p@db:5432/cds"),
        ("postgresql://u@db/cds", "postgresql+psycopg://u@db/cds"),
        ("postgresql+psycopg://u@db/cds", "postgresql+psycopg://u@db/cds"),
        ("sqlite:////srv/cds.db", "sqlite:////srv/cds.db"),
    ],
)
def test_database_urls_are_normalised(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == expected


# ---------------------------------------------------------------------------------------------
# The store


def test_invocations_and_their_cards_are_stored(store: SqlAuditStore, database_url: str) -> None:
    started = datetime(2026, 11, 21, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    store.record_invocation(
        invocation(
            "hi-1", ("c-1", "rule-a", "1.0.0"), ("c-2", "rule-b", "2.1.0"), started_at=started
        )
    )
    store.record_invocation(invocation("hi-2", patient_id=None))

    audit = read_audit(database_url)
    assert [(i.hook_instance, i.patient_id, i.status) for i in audit.invocations] == [
        ("hi-1", "patient-1", 200),
        ("hi-2", None, 200),
    ]
    first = audit.invocations[0]
    assert (first.service_id, first.hook, first.ruleset_release) == (
        SERVICE,
        "patient-view",
        "2026.11.0",
    )
    assert first.duration_ms == pytest.approx(12.5)
    assert first.started_at == started
    assert first.started_at.tzinfo == UTC
    assert [
        (c.invocation_id, c.uuid, c.rule_id, c.rule_version, c.indicator) for c in audit.cards
    ] == [
        (first.id, "c-1", "rule-a", "1.0.0", "warning"),
        (first.id, "c-2", "rule-b", "2.1.0", "warning"),
    ]


def test_the_same_feedback_twice_is_stored_once(store: SqlAuditStore, database_url: str) -> None:
    store.record_invocation(invocation("hi-1", ("c-1", "rule-a", "1.0.0")))
    first = accepted("c-1", T0)

    assert store.record_feedback(SERVICE, items(first), T0) == FeedbackResult(1, 0)
    assert store.record_feedback(
        SERVICE, items(first), T0 + timedelta(minutes=1)
    ) == FeedbackResult(0, 1)
    # The same instant written with another offset is the same feedback.
    later_offset = accepted("c-1", T0.astimezone(timezone(timedelta(hours=-5))))
    assert store.record_feedback(SERVICE, items(later_offset), T0) == FeedbackResult(0, 1)
    # A different outcome for the same card is another piece of feedback.
    assert store.record_feedback(SERVICE, items(overridden("c-1", T0)), T0) == FeedbackResult(1, 0)
    # Twice within one post: once.
    again = overridden("c-1", T0 + timedelta(hours=1), code="other")
    assert store.record_feedback(SERVICE, items(again, again), T0) == FeedbackResult(1, 1)
    # The same item for another service is not a duplicate.
    assert store.record_feedback("leg-pain-order-sign", items(first), T0) == FeedbackResult(1, 0)

    rows = read_audit(database_url).feedback
    assert [(r.service_id, r.card_uuid, r.outcome, r.override_code) for r in rows] == [
        (SERVICE, "c-1", "accepted", None),
        (SERVICE, "c-1", "overridden", "not-relevant"),
        (SERVICE, "c-1", "overridden", "other"),
        ("leg-pain-order-sign", "c-1", "accepted", None),
    ]


def test_feedback_is_stored_whole_with_utc_times(store: SqlAuditStore, database_url: str) -> None:
    outcome_at = datetime(2026, 11, 21, 9, 15, 30, 250000, tzinfo=timezone(timedelta(hours=-5)))
    received_at = datetime(2026, 11, 21, 14, 16, tzinfo=UTC)
    feedback = overridden("c-1", outcome_at, comment="Already on potassium supplements")
    store.record_feedback(SERVICE, items(feedback, accepted("c-2", suggestion="s-9")), received_at)

    first, second = read_audit(database_url).feedback
    assert first.outcome_at == outcome_at
    assert first.outcome_at.tzinfo == UTC
    assert first.received_at == received_at
    assert (first.override_system, first.override_code, first.override_display) == (
        "urn:legpain-cds:override-reason",
        "not-relevant",
        "Not relevant for this patient",
    )
    assert first.user_comment == "Already on potassium supplements"
    assert first.accepted_suggestions == []
    assert second.accepted_suggestions == ["s-9"]
    assert len(first.dedup_key) == 64


def test_an_override_reason_sent_by_code_alone_is_stored_with_its_display(
    store: SqlAuditStore, database_url: str
) -> None:
    """The CDS Hooks 2.0 feedback example names the reason by system and code only: the display
    stored is then the one this service offered on the card. An EHR's own wording is kept."""
    by_code = overridden("c-1", code="already-addressed")
    del by_code["overrideReason"]["reason"]["display"]
    worded = overridden("c-2", code="not-relevant", display="Not relevant (EHR's own words)")
    foreign = overridden("c-3", code="ehr-specific-code")
    foreign["overrideReason"]["reason"] = {"system": "urn:ehr:reasons", "code": "x"}
    store.record_feedback(SERVICE, items(by_code, worded, foreign), T0)

    displays = {r.card_uuid: r.override_display for r in read_audit(database_url).feedback}
    assert displays == {
        "c-1": "Already known and being addressed",
        "c-2": "Not relevant (EHR's own words)",
        "c-3": None,  # not one of this service's reasons: nothing to name it by
    }


def test_feedback_joins_the_invocation_that_issued_its_card(
    store: SqlAuditStore, database_url: str
) -> None:
    store.record_invocation(invocation("hi-1", ("c-1", "rule-a", "1.0.0")))
    # Feedback may arrive before its invocation is written (that happens after the response).
    store.record_feedback(SERVICE, items(accepted("c-2")), T0)
    store.record_invocation(invocation("hi-2", ("c-2", "rule-a", "1.0.0")))
    store.record_feedback(SERVICE, items(accepted("c-1"), accepted("unknown-card")), T0)
    # A card uuid another service issued is not this service's card.
    store.record_feedback("leg-pain-order-sign", items(overridden("c-1")), T0)

    audit = read_audit(database_url)
    invocation_of = {i.hook_instance: i.id for i in audit.invocations}
    linked = {(f.service_id, f.card_uuid): f.invocation_id for f in audit.feedback}
    assert linked == {
        (SERVICE, "c-2"): invocation_of["hi-2"],
        (SERVICE, "c-1"): invocation_of["hi-1"],
        (SERVICE, "unknown-card"): None,
        ("leg-pain-order-sign", "c-1"): None,
    }


def test_feedback_racing_its_invocation_is_still_joined(
    store: SqlAuditStore, database_url: str
) -> None:
    """The invocation is written after the response, so its feedback can be written at the same
    moment. Whichever commits second must link the two (without the card locks, most of these
    pairs ended unlinked on PostgreSQL: each transaction missed the other's uncommitted row)."""
    pairs = 40

    def write_invocation(card: str, start: threading.Barrier) -> None:
        start.wait()
        store.record_invocation(invocation(f"hi-{card}", (card, "rule-a", "1.0.0")))

    def write_feedback(card: str, start: threading.Barrier) -> None:
        start.wait()
        store.record_feedback(SERVICE, items(accepted(card)), T0)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for i in range(pairs):
            start = threading.Barrier(2)
            both = [
                pool.submit(write, f"race-{i}", start)
                for write in (write_invocation, write_feedback)
            ]
            for future in both:
                future.result()

    audit = read_audit(database_url)
    issued_by = {c.uuid: c.invocation_id for c in audit.cards}
    assert len(audit.feedback) == pairs
    assert {f.card_uuid: f.invocation_id for f in audit.feedback} == issued_by


# ---------------------------------------------------------------------------------------------
# Through the app


def test_nothing_stored_contains_the_token_the_jwt_or_the_prefetch(
    database_url: str, engine: Engine, service: ServiceDefinition, tmp_path: Path
) -> None:
    token = f"access-token-{secrets.token_hex(16)}"
    jwt = f"eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJlaHIifQ.{secrets.token_hex(24)}"
    marker = f"prefetch-marker-{secrets.token_hex(8)}"
    body = hook_request(service.prefetch)
    body["fhirServer"] = "https://ehr.example.org/fhir"
    body["fhirAuthorization"] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }
    order = body["prefetch"][_key(service.prefetch, "MedicationRequest")]["entry"][0]["resource"]
    order["id"] = marker
    order["note"] = [{"text": marker}]

    app = create_app(
        Settings(database_url=database_url, audit_spool_dir=tmp_path / "spool"), engine=engine
    )
    with TestClient(app) as client:
        response = client.post(
            f"/cds-services/{SERVICE}", json=body, headers={"Authorization": f"Bearer {jwt}"}
        )
        assert response.status_code == 200, response.text
        cards = response.json()["cards"]
        assert cards, "the diuretic card should fire (so there is something to audit)"
        posted = client.post(
            f"/cds-services/{SERVICE}/feedback",
            json={"feedback": [overridden(cards[0]["uuid"], comment="seen")]},
            headers={"Authorization": f"Bearer {jwt}"},
        )
        assert posted.status_code == 200, posted.text

    rows = table_rows(database_url)
    assert len(rows["invocation"]) == len(rows["feedback"]) == 1
    assert len(rows["issued_card"]) == len(cards)
    stored = json.dumps(rows, default=str)
    assert body["hookInstance"] in stored
    for secret in (token, jwt, jwt.split(".")[2], marker):
        assert secret not in stored


def test_an_audit_write_failure_holds_back_neither_the_cards_nor_loses_the_row(
    unusable_database_url: str,
    backend: str,
    engine: Engine,
    service: ServiceDefinition,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database cannot be written: the cards go out, and the row waits in the spool, not
    lost. Once the cause is fixed (here: SQLite migrated), the next start writes it."""
    settings = Settings(database_url=unusable_database_url, audit_spool_dir=tmp_path / "spool")
    before = failures("invocation")
    body = hook_request(service.prefetch)
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200
    assert response.json()["cards"]
    assert failures("invocation") == before
    assert "stay in the spool" in caplog.text
    if backend != "sqlite":
        return  # a server down for good; tests/audit/test_faults.py brings one back
    upgrade(unusable_database_url)
    with TestClient(create_app(settings, engine=engine)):
        deadline = time.monotonic() + 10
        while not read_audit(unusable_database_url).invocations:
            assert time.monotonic() < deadline, "the spooled row was not written"
            time.sleep(0.05)
    (row,) = read_audit(unusable_database_url).invocations
    assert row.hook_instance == body["hookInstance"]
    assert len(read_audit(unusable_database_url).cards) == len(response.json()["cards"])


def test_each_call_records_the_ehr_that_made_it(
    harness: Harness, database_url: str, tmp_path: Path
) -> None:
    """With authentication on, the JWT's `iss`; off, nothing (no EHR proved who it is)."""
    settings = harness.settings(database_url=database_url, audit_spool_dir=tmp_path / "spool")
    refused = harness.hook_request(hook="not-a-hook")  # refused calls are audited too
    with TestClient(create_app(settings, engine=harness.engine)) as client:
        for body, status in ((harness.hook_request(), 200), (refused, 400)):
            response = client.post(SERVICE_PATH, json=body, headers=harness.auth(SERVICE_PATH))
            assert response.status_code == status, response.text
    unauthenticated = harness.settings(
        jwt_required=False, database_url=database_url, audit_spool_dir=tmp_path / "spool"
    )
    with TestClient(create_app(unauthenticated, engine=harness.engine)) as client:
        assert client.post(SERVICE_PATH, json=harness.hook_request()).status_code == 200
    assert [(i.status, i.ehr_issuer) for i in read_audit(database_url).invocations] == [
        (200, ISSUER),
        (400, ISSUER),
        (200, None),
    ]


def test_a_deleted_sqlite_file_is_seen_and_the_audit_recovers_when_it_is_back(
    engine: Engine, service: ServiceDefinition, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database folder removed under a running service: SQLite would go on writing into the
    unlinked file, and nobody would ever read it. Readiness says so, feedback gets 503, rows
    wait in the spool; once the database is back (restored, migrated), all of it resumes."""
    folder = tmp_path / "var"
    url = sqlite_url(folder)
    upgrade(url)
    settings = Settings(database_url=url, audit_spool_dir=tmp_path / "spool")
    with TestClient(create_app(settings, engine=engine)) as client:
        assert client.get("/ready").status_code == 200
        shutil.rmtree(folder)
        ready = client.get("/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["database"].startswith("unreachable")
        feedback = client.post(
            f"/cds-services/{SERVICE}/feedback", json={"feedback": [accepted("c-1")]}
        )
        assert feedback.status_code == 503
        body = hook_request(service.prefetch)
        assert client.post(f"/cds-services/{SERVICE}", json=body).status_code == 200
        time.sleep(0.3)  # the writer tries, and is told the file is gone
        upgrade(url)  # the operator restores the database (here: a new one)
        deadline = time.monotonic() + 10
        while not read_audit(url).invocations:
            assert time.monotonic() < deadline, "the row that waited was not written"
            time.sleep(0.05)
        assert client.get("/ready").status_code == 200
        again = client.post(
            f"/cds-services/{SERVICE}/feedback", json={"feedback": [accepted("c-1")]}
        )
        assert again.json() == {"stored": 1, "duplicates": 0}
    assert [i.hook_instance for i in read_audit(url).invocations] == [body["hookInstance"]]
    assert "was deleted" in caplog.text


def test_feedback_that_cannot_be_stored_is_a_503(
    unusable_database_url: str, engine: Engine, tmp_path: Path
) -> None:
    before = failures("feedback")
    settings = Settings(database_url=unusable_database_url, audit_spool_dir=tmp_path / "spool")
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        response = client.post(
            f"/cds-services/{SERVICE}/feedback", json={"feedback": [accepted("c-1")]}
        )
    assert response.status_code == 503
    assert failures("feedback") == before + 1


# ---------------------------------------------------------------------------------------------
# `cds audit`


def test_cds_audit_reports_per_rule_acceptance_and_override_reasons(
    store: SqlAuditStore, database_url: str
) -> None:
    rule_a = ("diuretic-electrolytes", "1.0.0")
    store.record_invocation(invocation("hi-1", ("a-1", *rule_a), ("b-1", "statin-muscle", "1.0.0")))
    store.record_invocation(
        invocation("hi-2", ("a-2", *rule_a), started_at=T0 + timedelta(hours=1))
    )
    store.record_invocation(
        invocation("hi-3", ("a-3", *rule_a), started_at=T0 + timedelta(hours=2))
    )
    store.record_invocation(invocation("hi-3", ("a-3", *rule_a)))  # the EHR retried: same card
    store.record_feedback(
        SERVICE,
        items(
            accepted("a-1"),
            overridden("a-2", code="not-relevant"),
            overridden("a-3", code="already-addressed", display="Already addressed"),
            overridden("b-1", code="not-relevant", comment="on holiday"),
            accepted("not-ours"),
        ),
        T0 + timedelta(hours=3),
    )

    result = CliRunner().invoke(main, ["audit", "--json", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    rules = {r["rule"]: r for r in report["rules"]}
    assert rules["diuretic-electrolytes@1.0.0"] | {"override_reasons": None} == {
        "rule_id": "diuretic-electrolytes",
        "rule_version": "1.0.0",
        "rule": "diuretic-electrolytes@1.0.0",
        "issued": 3,
        "accepted": 1,
        "overridden": 2,
        "acceptance_rate": pytest.approx(1 / 3),
        "override_reasons": None,
    }
    assert [
        (r["code"], r["cards"]) for r in rules["diuretic-electrolytes@1.0.0"]["override_reasons"]
    ] == [
        ("already-addressed", 1),
        ("not-relevant", 1),
    ]
    assert rules["statin-muscle@1.0.0"]["acceptance_rate"] == 0
    assert report["unmatched_feedback"] == 1
    assert len(report["invocations"]) == 4
    assert report["invocations"][0]["hook_instance"] == "hi-3"  # most recent first
    assert report["invocations"][0]["rules"] == ["diuretic-electrolytes@1.0.0"]
    assert {f["card_uuid"]: f["rule"] for f in report["feedback"]}["not-ours"] is None

    since = (T0 + timedelta(minutes=30)).isoformat()
    later = CliRunner().invoke(
        main, ["audit", "rules", "--json", "--since", since, "--database-url", database_url]
    )
    assert later.exit_code == 0, later.output
    assert [(r["rule"], r["issued"]) for r in json.loads(later.output)["rules"]] == [
        ("diuretic-electrolytes@1.0.0", 2)
    ]

    tables = CliRunner().invoke(main, ["audit", "--limit", "2", "--database-url", database_url])
    assert tables.exit_code == 0, tables.output
    for heading in ("Recent invocations", "Recent feedback", "Per rule version", "33%"):
        assert heading in tables.output


def test_cds_audit_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "--database-url", sqlite_url(tmp_path)])
    assert result.exit_code == 1
    assert "run `cds migrate`" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T08:00:00+02:00", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ],
)
def test_since_accepts_dates_and_datetimes(text: str, expected: datetime) -> None:
    assert parse_since(None, None, text) == expected  # type: ignore[arg-type]


def test_since_accepts_an_age() -> None:
    since = parse_since(None, None, "7d")  # type: ignore[arg-type]
    assert since is not None
    assert abs(datetime.now(UTC) - timedelta(days=7) - since) < timedelta(seconds=5)


# ---------------------------------------------------------------------------------------------
# Concurrency on loopback: the real service, many calls and feedback posts at once

CALLS = 200
CONCURRENCY = 16


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """uvicorn in a background thread on an ephemeral 127.0.0.1 port. On exit it shuts down
    gracefully: in-flight requests and their background tasks (the audit writes) finish."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start in time"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()
        assert not thread.is_alive(), "the server did not stop"


@dataclass
class Sent:
    calls: dict[str, tuple[str, list[dict[str, Any]]]]  # hookInstance -> (patient, cards)
    feedback_posts: int
    unique_feedback: dict[str, dict[str, Any]]  # "card|outcome" -> the item
    stored: int
    duplicates: int
    seconds: float


async def hammer(base_url: str) -> Sent:
    """CALLS hook calls, each followed at once by its feedback: one item per card, plus on every
    tenth call a concurrent duplicate post and on another tenth a second, different outcome."""
    limit = asyncio.Semaphore(CONCURRENCY)
    sent = Sent({}, 0, {}, 0, 0, 0.0)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        discovery = (await client.get("/cds-services")).json()
        templates = next(s for s in discovery["services"] if s["id"] == SERVICE)["prefetch"]

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            async with limit:
                response = await client.post(path, json=body)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

        async def call_then_feedback(i: int) -> None:
            patient = f"patient-{i % 37}"
            body = hook_request(templates, patient_id=patient, on_diuretic=i % 5 != 4)
            cards = (await post(f"/cds-services/{SERVICE}", body))["cards"]
            sent.calls[body["hookInstance"]] = (patient, cards)
            posts = []
            for card in cards:
                reason = card["overrideReasons"][0]
                first = (
                    accepted(card["uuid"], suggestion=card["suggestions"][0]["uuid"])
                    if i % 2 == 0
                    else overridden(card["uuid"], code=reason["code"], display=reason["display"])
                )
                posts.append(first)
                if i % 10 == 1:
                    posts.append(first)  # the EHR posting the same feedback twice, at once
                if i % 10 == 2:
                    posts.append(overridden(card["uuid"], T0 + timedelta(minutes=5)))
            for item in posts:
                sent.unique_feedback[f"{item['card']}|{item['outcome']}"] = item
            sent.feedback_posts += len(posts)
            results = await asyncio.gather(
                *(post(f"/cds-services/{SERVICE}/feedback", {"feedback": [p]}) for p in posts)
            )
            sent.stored += sum(r["stored"] for r in results)
            sent.duplicates += sum(r["duplicates"] for r in results)

        await asyncio.gather(*(call_then_feedback(i) for i in range(CALLS)))
    sent.seconds = time.perf_counter() - started
    return sent


def test_concurrent_calls_and_feedback_lose_nothing_and_double_nothing(
    backend: str, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, audit_spool_dir=tmp_path / "spool")
    app = create_app(settings, engine=engine)
    with live_server(app) as base_url:
        sent = asyncio.run(hammer(base_url))
    audit = read_audit(database_url)

    # Every call, once, as sent.
    assert len(audit.invocations) == len(sent.calls) == CALLS
    assert {i.hook_instance: i.patient_id for i in audit.invocations} == {
        hook_instance: patient for hook_instance, (patient, _) in sent.calls.items()
    }
    # Every card, once, with its invocation and rule version.
    hook_instance_of = {i.id: i.hook_instance for i in audit.invocations}
    cards_sent = {
        (hook_instance, c["uuid"], c["extension"]["legpain-cds-rule"]["version"])
        for hook_instance, (_, cards) in sent.calls.items()
        for c in cards
    }
    assert len(cards_sent) >= CALLS * 4 // 5  # the diuretic card fired on 4 calls in 5
    assert len(audit.cards) == len(cards_sent)
    assert {(hook_instance_of[c.invocation_id], c.uuid, c.rule_version) for c in audit.cards} == (
        cards_sent
    )
    # Every distinct piece of feedback, once; each duplicate post answered as a duplicate.
    assert sent.feedback_posts == CALLS
    assert len(audit.feedback) == len(sent.unique_feedback) == sent.stored
    assert sent.duplicates == sent.feedback_posts - len(sent.unique_feedback) > 0
    assert {f"{f.card_uuid}|{f.outcome}" for f in audit.feedback} == set(sent.unique_feedback)
    # ...each joined to the invocation that issued its card, whichever was written first.
    issued_by = {c.uuid: c.invocation_id for c in audit.cards}
    assert {f.card_uuid: f.invocation_id for f in audit.feedback} == {
        f.card_uuid: issued_by[f.card_uuid] for f in audit.feedback
    }
    print(
        f"\n[{backend}] {CALLS} calls + {sent.feedback_posts} feedback posts "
        f"(concurrency {CONCURRENCY}) in {sent.seconds:.2f} s; rows checked: "
        f"{len(audit.invocations)} invocations, {len(audit.cards)} cards, "
        f"{len(audit.feedback)} feedback"
    )
