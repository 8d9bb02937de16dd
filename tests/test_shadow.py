"""Shadow rule versions on live traffic (cds.shadow, cds.services): real HTTP calls to the app
served on a loopback port, with shadow versions that fire, raise, read data the call lacks, read
another terminology release, or are slow; none of them ever changes an answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from prometheus_client import REGISTRY

from cds.api.app import create_app
from cds.audit.shadow import ShadowRecord
from cds.audit.store import InvocationRecord, MemoryAuditStore
from cds.cli import main
from cds.errors import ServiceConfigError
from cds.pipeline import Engine
from cds.replay.scenario import is_scenario_folder
from cds.settings import Settings
from cds.shadow import ShadowRunner
from tests.support.paths import FIXTURES, HOOKS
from tests.support.served import served
from tests.support.shadow import (
    FIRST_PINS,
    NEEDS_D_DIMER,
    NEWER_TERMINOLOGY,
    RAISES,
    SLOW,
    SLOW_SECONDS,
    STRICTER_DIURETIC,
    TEST_VERSIONS,
    engine_with,
    fixture_call,
    shadow_hooks,
)

FIXTURE_DIRS = sorted(p for p in FIXTURES.iterdir() if is_scenario_folder(p))
PATIENT_VIEW = "leg-pain-patient-view"
ORDER_SELECT = "leg-pain-order-select"
# Fire, raise, lack data, another terminology release: every kind but the slow one.
SHADOWS = (STRICTER_DIURETIC, RAISES, NEEDS_D_DIMER, NEWER_TERMINOLOGY)
ROW_WAIT_SECONDS = 10.0


def _shadow_map(*versions: Any) -> dict[str, str]:
    return {v.id: v.version for v in versions}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The service pinning FIRST_PINS, no shadow versions."""
    return engine_with(shadow_hooks(tmp_path_factory.mktemp("plain"), {}, rules=FIRST_PINS))


@pytest.fixture(scope="module")
def shadow_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    hooks = shadow_hooks(
        tmp_path_factory.mktemp("shadow") / "hooks", _shadow_map(*SHADOWS), rules=FIRST_PINS
    )
    return engine_with(hooks, *TEST_VERSIONS)


def _app(engine: Engine, store: MemoryAuditStore, tmp_path: Path, **runner: Any) -> FastAPI:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}")
    app = create_app(settings, engine=engine, store=store)
    if runner:
        app.state.cds.shadows = ShadowRunner(engine, **runner)
    return app


def rows_once(store: MemoryAuditStore, count: int) -> list[InvocationRecord]:
    """The audit rows, once `count` are in and each answered one has what its shadow versions
    would have shown: a call's row is kept before its response is sent, and its shadow cards
    are added to it after."""
    wait_until(
        lambda: (
            len(store.invocations) >= count
            and all(row.shadow is not None for row in store.invocations if row.status == 200)
        )
    )
    return list(store.invocations)


def wait_until(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + ROW_WAIT_SECONDS
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def shadow_of(row: InvocationRecord) -> ShadowRecord:
    assert row.shadow is not None
    return row.shadow


def failures(service: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "cds_shadow_failures_total", {"service": service, "reason": reason}
    )
    return value or 0.0


@pytest.fixture
def two_apps(
    engine: Engine, shadow_engine: Engine, tmp_path: Path
) -> Iterator[tuple[str, str, MemoryAuditStore]]:
    """The shipped service and the same service with shadow versions, both served."""
    store = MemoryAuditStore()
    plain = _app(engine, MemoryAuditStore(), tmp_path)
    shadowed = _app(shadow_engine, store, tmp_path)
    with served(plain) as plain_url, served(shadowed) as shadow_url:
        yield plain_url, shadow_url, store


# ---------------------------------------------------------------------------------------------
# The answer never changes


def test_every_fixture_gets_byte_identical_answers_with_and_without_shadows(
    two_apps: tuple[str, str, MemoryAuditStore], engine: Engine
) -> None:
    plain_url, shadow_url, store = two_apps
    answered = 0
    with httpx.Client(timeout=30) as client:
        plain_discovery = client.get(f"{plain_url}/cds-services")
        assert client.get(f"{shadow_url}/cds-services").content == plain_discovery.content
        for folder in FIXTURE_DIRS:
            service_id, body = fixture_call(folder, engine)
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            live = client.post(
                f"{plain_url}/cds-services/{service_id}", content=data, headers=headers
            )
            with_shadows = client.post(
                f"{shadow_url}/cds-services/{service_id}", content=data, headers=headers
            )
            assert (with_shadows.status_code, with_shadows.content) == (
                live.status_code,
                live.content,
            ), folder.name
            assert with_shadows.headers["content-type"] == live.headers["content-type"]
            answered += live.status_code == 200
    # Every answered call has its shadow record; refused calls (400, 412) have none.
    wait_until(
        lambda: (
            sum(row.status == 200 and row.shadow is not None for row in store.invocations)
            >= answered
        )
    )
    rows = list(store.invocations)
    answered_rows = [row for row in rows if row.status == 200]
    assert len(answered_rows) == answered
    assert all(row.shadow is not None and row.shadow.cards is not None for row in answered_rows)
    assert all(row.shadow is None for row in rows if row.status != 200)


def test_shadow_versions_add_nothing_to_discovery_or_prefetch(
    engine: Engine, shadow_engine: Engine
) -> None:
    for service_id, service in engine.services.items():
        shadowed = shadow_engine.services[service_id]
        assert shadowed.descriptor() == service.descriptor()
        assert [s.rule.key for s in shadowed.shadow] == sorted(v.key for v in SHADOWS)


# ---------------------------------------------------------------------------------------------
# What the audit gets


def test_a_shadow_version_that_fires_is_audited_with_its_indicator_and_never_returned(
    two_apps: tuple[str, str, MemoryAuditStore], engine: Engine
) -> None:
    _, shadow_url, store = two_apps
    folder = FIXTURES / "diuretic-electrolytes--furosemide-k-3-49-warning"
    service_id, body = fixture_call(folder, engine)
    answer = httpx.post(f"{shadow_url}/cds-services/{service_id}", json=body, timeout=30)

    assert answer.status_code == 200
    cards = answer.json()["cards"]
    assert [(c["extension"]["legpain-cds-rule"]["version"], c["indicator"]) for c in cards] == [
        ("1.0.0", "warning")
    ]
    assert "9.1.0" not in answer.text
    assert "shadow" not in answer.text
    (row,) = rows_once(store, 1)
    assert [(c.rule_version, c.indicator) for c in row.cards] == [("1.0.0", "warning")]
    shadow = shadow_of(row)
    assert shadow.versions == _shadow_map(*SHADOWS)
    assert shadow.pinned == {"diuretic-electrolytes": "1.0.0", "electrolyte-abnormality": "1.0.0"}
    assert shadow.cards is not None
    (card,) = shadow.cards
    assert (card.rule, card.version, card.indicator) == (
        "diuretic-electrolytes",
        "9.1.0",
        "critical",
    )
    assert "K 3.49" in card.summary
    assert card.uuid
    assert card.uuid != cards[0]["uuid"]
    assert shadow.skipped is None
    assert shadow.ms > 0


def test_a_shadow_version_that_raises_is_an_error_in_the_row_counted_and_logged(
    two_apps: tuple[str, str, MemoryAuditStore], engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _, shadow_url, store = two_apps
    before = failures(PATIENT_VIEW, "error")
    service_id, body = fixture_call(FIXTURES / "quinine-for-cramps--quinine-active-warning", engine)
    with caplog.at_level("WARNING", logger="cds.shadow"):
        answer = httpx.post(f"{shadow_url}/cds-services/{service_id}", json=body, timeout=30)
        (row,) = rows_once(store, 1)
    assert answer.status_code == 200
    shadow = shadow_of(row)
    assert shadow.errors == ("shadow-probe-raises",)
    # The other shadow versions still ran, and the live cards are in the would-be answer.
    assert shadow.cards is not None
    assert [(c.rule, c.version, c.uuid) for c in shadow.cards] == [
        (c.rule_id, c.rule_version, c.uuid) for c in row.cards
    ]
    assert "quinine-for-cramps" in [c.rule for c in shadow.cards]
    assert failures(PATIENT_VIEW, "error") >= before + 1  # once per test process and interval
    logged = [r for r in caplog.records if "shadow-probe-raises@0.1.0" in r.getMessage()]
    assert len(logged) == 1  # then at most once a minute, with a count of the rest


def test_a_shadow_version_lacking_prefetched_data_runs_on_what_the_call_has_and_says_so(
    two_apps: tuple[str, str, MemoryAuditStore], engine: Engine
) -> None:
    _, shadow_url, store = two_apps
    folder = FIXTURES / "electrolyte-abnormality--sodium-122-critical"
    service_id, body = fixture_call(folder, engine)
    answer = httpx.post(f"{shadow_url}/cds-services/{service_id}", json=body, timeout=30)
    assert answer.status_code == 200
    (row,) = rows_once(store, 1)
    shadow = shadow_of(row)
    assert shadow.lacking["shadow-probe-d-dimer"] == ("Observation: d-dimer",)
    # At terminology 2026.12 the lab value sets hold codes the 2026.11 templates do not ask for.
    assert "Observation: sodium" in shadow.lacking["electrolyte-abnormality"]
    # ... and the version still ran on its own release's record, and fired.
    assert shadow.cards is not None
    assert [(c.rule, c.version, c.indicator) for c in shadow.cards] == [
        ("electrolyte-abnormality", "9.0.0", "critical")
    ]
    assert [(c.rule_id, c.rule_version) for c in row.cards] == [
        ("electrolyte-abnormality", "1.0.0")
    ]


def test_a_shadow_version_whose_data_could_not_be_had_is_not_run_as_live(
    two_apps: tuple[str, str, MemoryAuditStore], engine: Engine
) -> None:
    """A key the EHR did not send (and no fhirServer to fetch it from) stops the pinned version
    that needs it, and its shadow version alike: the shadow answer is not made from a record
    the live one was not allowed to use. What the version lacked is in the row."""
    _, shadow_url, store = two_apps
    folder = FIXTURES / "diuretic-electrolytes--furosemide-k-3-49-warning"
    service_id, body = fixture_call(folder, engine)
    del body["prefetch"]["MedicationStatement"]
    answer = httpx.post(f"{shadow_url}/cds-services/{service_id}", json=body, timeout=30)
    assert answer.status_code == 200
    not_evaluated = answer.json()["extension"]["legpain-cds-rules-not-evaluated"]
    assert "diuretic-electrolytes" in {n["rule"] for n in not_evaluated}
    (row,) = rows_once(store, 1)
    shadow = shadow_of(row)
    assert shadow.cards is not None
    assert "diuretic-electrolytes" not in {c.rule for c in shadow.cards}
    assert "MedicationStatement (not-sent)" in shadow.lacking["diuretic-electrolytes"]


def test_an_order_hook_applies_its_card_selection_to_the_shadow_set(
    two_apps: tuple[str, str, MemoryAuditStore], engine: Engine
) -> None:
    _, shadow_url, store = two_apps
    folder = FIXTURES / "diuretic-electrolytes--order-select-furosemide-k-3-2"
    service_id, body = fixture_call(folder, engine)
    assert service_id == ORDER_SELECT
    answer = httpx.post(f"{shadow_url}/cds-services/{service_id}", json=body, timeout=30)
    (row,) = rows_once(store, 1)
    assert [c["indicator"] for c in answer.json()["cards"]] == ["warning"]
    shadow = shadow_of(row)
    assert shadow.cards is not None
    assert [(c.rule, c.version, c.indicator) for c in shadow.cards] == [
        ("diuretic-electrolytes", "9.1.0", "critical")
    ]


# ---------------------------------------------------------------------------------------------
# Slow shadow versions, and too many


def _slow_app(engine: Engine, tmp_path: Path, store: MemoryAuditStore, **runner: Any) -> FastAPI:
    hooks = shadow_hooks(tmp_path / "hooks", _shadow_map(SLOW), rules=FIRST_PINS)
    slow_engine = engine_with(hooks, *TEST_VERSIONS)
    assert slow_engine.services.keys() == engine.services.keys()
    return _app(slow_engine, store, tmp_path, **runner)


def test_a_slow_shadow_version_never_delays_the_answer(engine: Engine, tmp_path: Path) -> None:
    store = MemoryAuditStore()
    app = _slow_app(engine, tmp_path, store, budget_seconds=0.1)
    folder = FIXTURES / "diuretic-electrolytes--furosemide-k-3-49-warning"
    service_id, body = fixture_call(folder, engine)
    timeouts = failures(PATIENT_VIEW, "timeout")
    slow = failures(PATIENT_VIEW, "slow")
    with served(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.post(f"/cds-services/{service_id}", json=body)  # warm
        started = time.perf_counter()
        answer = client.post(f"/cds-services/{service_id}", json=body)
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200
        assert elapsed < SLOW_SECONDS, f"the answer waited for the shadow version: {elapsed:.2f} s"
        rows = rows_once(store, 2)
        # Past its budget the call's row is written without shadow cards, and says why.
        assert [shadow_of(row).skipped for row in rows] == ["timeout", "timeout"]
        assert all(shadow_of(row).cards is None for row in rows)
        assert [c.rule_id for c in rows[1].cards] == ["diuretic-electrolytes"]
        assert failures(PATIENT_VIEW, "timeout") == timeouts + 2

        # Within a budget it is done, and named as slow.
        app.state.cds.shadows = ShadowRunner(app.state.cds.engine, budget_seconds=5.0)
        client.post(f"/cds-services/{service_id}", json=body)
        row = rows_once(store, 3)[2]
    shadow = shadow_of(row)
    assert shadow.cards is not None
    assert [c.version for c in shadow.cards] == ["1.0.0"]
    assert shadow.slow["shadow-probe-slow"] >= SLOW_SECONDS * 1000
    assert failures(PATIENT_VIEW, "slow") == slow + 1


def test_calls_finding_the_shadow_thread_busy_skip_their_shadow_versions(
    engine: Engine, tmp_path: Path
) -> None:
    store = MemoryAuditStore()
    app = _slow_app(engine, tmp_path, store, budget_seconds=5.0, max_waiting=1)
    service_id, body = fixture_call(FIXTURES / "quinine-for-cramps--quinine-active-warning", engine)
    with served(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        answers = []
        for _ in range(3):  # one evaluating (0.5 s), one waiting, one turned away
            answers.append(client.post(f"/cds-services/{service_id}", json=body))
            time.sleep(0.02)
        rows = rows_once(store, 3)
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert sorted(str(shadow_of(row).skipped) for row in rows) == ["None", "None", "busy"]


def test_a_deceased_patient_gets_no_shadow_cards_either(
    shadow_engine: Engine, tmp_path: Path
) -> None:
    store = MemoryAuditStore()
    service_id, body = fixture_call(
        FIXTURES / "diuretic-electrolytes--furosemide-k-3-49-warning", shadow_engine
    )
    body["prefetch"]["Patient"] = {**body["prefetch"]["Patient"], "deceasedBoolean": True}
    with served(_app(shadow_engine, store, tmp_path)) as url:
        answer = httpx.post(f"{url}/cds-services/{service_id}", json=body, timeout=30)
        (row,) = rows_once(store, 1)
    assert answer.json()["cards"] == []
    assert shadow_of(row).cards == ()


# ---------------------------------------------------------------------------------------------
# The hooks file


def _hooks_with(tmp_path: Path, **change: Any) -> Path:
    hooks = shadow_hooks(tmp_path / "hooks", {})
    path = hooks / "leg-pain-order-sign.json"
    spec = json.loads(path.read_text("utf-8"))
    spec.update(change)
    path.write_text(json.dumps(spec), "utf-8")
    return hooks


@pytest.mark.parametrize(
    ("shadow", "message"),
    [
        ({"dvt-risk": "7.7.7"}, "unknown rule version dvt-risk@7.7.7"),
        ({"no-such-rule": "1.0.0"}, "unknown rule version no-such-rule@1.0.0"),
    ],
)
def test_an_unknown_shadow_version_refuses_to_start_naming_the_file(
    tmp_path: Path, shadow: dict[str, str], message: str
) -> None:
    hooks = _hooks_with(tmp_path, shadow=shadow)
    with pytest.raises(ServiceConfigError) as raised:
        Engine.load(hooks)
    assert "leg-pain-order-sign.json: shadow: " in str(raised.value)
    assert message in str(raised.value)
    result = CliRunner().invoke(main, ["check"], env={"CDS_HOOKS_DIR": str(hooks)})
    assert result.exit_code != 0
    assert "leg-pain-order-sign.json" in result.output
    assert message in result.output


def test_an_unreleased_version_may_be_a_shadow_but_not_a_pin(tmp_path: Path) -> None:
    hooks = shadow_hooks(tmp_path / "shadow", _shadow_map(STRICTER_DIURETIC), rules=FIRST_PINS)
    service = engine_with(hooks, STRICTER_DIURETIC).services[PATIENT_VIEW]
    (shadow,) = service.shadow
    assert shadow.rule.key == "diuretic-electrolytes@9.1.0"
    assert shadow.pinned is not None
    assert shadow.pinned.key == "diuretic-electrolytes@1.0.0"
    assert shadow.lacking == ()
    assert [r.key for r in service.shadow_rules if r.id == "diuretic-electrolytes"] == [
        "diuretic-electrolytes@9.1.0"
    ]
    assert len(service.shadow_rules) == len(service.rules)

    pins = {rule.id: rule.version for rule in service.rules} | _shadow_map(STRICTER_DIURETIC)
    pinned = shadow_hooks(tmp_path / "pinned", {}, rules=pins)
    with pytest.raises(ServiceConfigError, match=r"diuretic-electrolytes@9\.1\.0 is not released"):
        engine_with(pinned, STRICTER_DIURETIC)


def test_cds_check_names_the_shadow_versions(tmp_path: Path) -> None:
    hooks = _hooks_with(tmp_path, shadow={"dvt-risk": "1.0.0", "quinine-for-cramps": "1.0.0"})
    result = CliRunner().invoke(main, ["check"], env={"CDS_HOOKS_DIR": str(hooks)})
    assert result.exit_code == 0, result.output
    assert "18 rules, 2 shadow" in result.output


def test_the_shipped_hooks_have_no_shadow_versions() -> None:
    # Shadows are a site's choice; the shipped files run their pins only.
    service = Engine.load(HOOKS).services[PATIENT_VIEW]
    assert service.shadow == ()
    assert replace(service, shadow=()).shadow_rules == service.rules
