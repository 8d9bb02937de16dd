"""Partial data: a prefetch key that cannot be had stops only what needs it.

Over real HTTP both ways: the service's app served by uvicorn on loopback
(tests/support/served.py), and a real loopback FHIR server (tests/support/fhir_server.py) that
refuses chosen resource types the ways EHR FHIR servers do (400 "not supported", 401, 403, 404,
no answer, 5xx). Checked each time: the status, the cards that still come back, the response's
`legpain-cds-rules-not-evaluated` extension and data warnings, the audit row, and the one
WARNING log line per key lost.

With the pinned (released 1.0.0) rules, which declare everything essential; and with test-only
versions shaped as the 1.1.0 versions will be (tests/support/rules.py `trial_version`): some
requirements non-essential, candidate-cause findings marked `candidate=True`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cds.api.app import create_app
from cds.audit.store import InvocationRecord, MemoryAuditStore, RuleNotEvaluated
from cds.facts import Facts
from cds.pipeline import DATA_WARNINGS_EXTENSION, RULES_NOT_EVALUATED_EXTENSION, Engine
from cds.replay.hook_request import build_hook_request
from cds.rules.base import Finding, RuleVersion
from cds.rules.diuretic_electrolytes.v1_0_0 import RULE as DIURETIC_1_0_0
from cds.rules.quinine_for_cramps.v1_0_0 import RULE as QUININE_1_0_0
from cds.rules.statin_muscle_symptoms.v1_0_0 import RULE as STATIN_1_0_0
from cds.rules.statin_muscle_symptoms.v1_0_0 import StatinMuscleSymptoms
from cds.rules.venous_insufficiency.v1_0_0 import RULE as VENOUS_1_0_0
from cds.settings import Settings
from tests.support.fhir_server import FhirTestServer, sha256
from tests.support.rules import service_with, trial_version
from tests.support.served import served

PATIENT_VIEW = "leg-pain-patient-view"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
NOW = datetime.now(UTC)  # the served app judges at its own clock
TOKEN = "tok-" + uuid.uuid4().hex + "-secret"  # never printed by these tests
FHIR_TIMEOUT = 1.0  # CDS_FHIR_TIMEOUT_SECONDS: the refused-by-silence case waits this long
SLACK = 2.0  # thread and server overhead on a loaded machine


def _ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def _patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1950-04-02"}


def _order(pid: str, rid: str, code: str, display: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": _ago(60),
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "display": display}],
            "text": display,
        },
    }


def _lab(
    pid: str, rid: str, loinc: str, value: float, unit: str, *, days: float, high: float | None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": _ago(days),
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }
    if high is not None:
        resource["referenceRange"] = [{"high": {"value": high, "unit": unit, "code": unit}}]
    return resource


# Patient A: furosemide with K 3.1 (the diuretic card, a warning), atorvastatin with CK 2,450 U/L
# at an upper limit of 200 (12x: the statin card, critical) and quinine (a warning). None of
# these needs a leg complaint, a Condition or a family history.
PID_A = "partial-a"
PATIENT_A = [
    _patient(PID_A),
    _order(PID_A, "partial-a-furosemide", "4603", "furosemide 40 MG Oral Tablet"),
    _lab(PID_A, "partial-a-k", "2823-3", 3.1, "mmol/L", days=10, high=5.1),
    _order(PID_A, "partial-a-atorvastatin", "617312", "atorvastatin 10 MG Oral Tablet"),
    _lab(PID_A, "partial-a-ck", "2157-6", 2450, "U/L", days=3, high=200),
    _order(PID_A, "partial-a-quinine", "9071", "Quinine"),
]
# Patient B: atorvastatin and sleep-related leg cramps as the reason of a visit 20 days ago, no
# CK: the statin as a candidate cause (info), which needs the complaint.
PID_B = "partial-b"
PATIENT_B = [
    _patient(PID_B),
    _order(PID_B, "partial-b-atorvastatin", "617312", "atorvastatin 10 MG Oral Tablet"),
    {
        "resourceType": "Encounter",
        "id": "partial-b-visit",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": f"Patient/{PID_B}"},
        "period": {"start": _ago(20), "end": _ago(20)},
        "reasonCode": [{"coding": [{"system": ICD10, "code": "G47.62"}]}],
    },
]

# How the loopback server refuses a type, what the service calls that, and the FHIR issue type
# of the 412 it would answer with.
REFUSALS = [
    pytest.param("400", "unsupported", "not-supported", id="400-not-supported"),
    pytest.param("401", "not-permitted", "security", id="401"),
    pytest.param("403", "not-permitted", "security", id="403"),
    pytest.param("404", "not-found", "not-found", id="404"),
    pytest.param("timeout", "timeout", "timeout", id="timeout"),
    pytest.param("500", "server-error", "transient", id="500"),
    pytest.param("503", "server-error", "transient", id="503"),
]


@pytest.fixture(scope="module")
def fhir() -> Iterator[FhirTestServer]:
    with FhirTestServer() as server:
        server.data.add([*PATIENT_A, *PATIENT_B])
        yield server


@dataclass
class Service:
    """The app served on loopback, its audit store and the engine it runs."""

    url: str
    store: MemoryAuditStore
    engine: Engine

    def call(self, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.url}/cds-services/{PATIENT_VIEW}", json=body, timeout=30)

    @property
    def audited(self) -> InvocationRecord:
        return self.store.invocations[-1]


def _serve(engine: Engine, tmp_path: Any, fhir: FhirTestServer) -> Iterator[Service]:
    """Allowed to fetch from the loopback FHIR server (loopback servers are contacted only when
    listed), every failure mode of it."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cds.db'}",
        fhir_timeout_seconds=FHIR_TIMEOUT,
        allowed_fhir_servers=[f"http://127.0.0.1:{fhir.port}"],
    )
    store = MemoryAuditStore()
    with served(create_app(settings, engine=engine, store=store)) as url:
        yield Service(url, store, engine)


@pytest.fixture
def pinned(engine: Engine, tmp_path: Any, fhir: FhirTestServer) -> Iterator[Service]:
    """The service with its pinned (released) rules."""
    yield from _serve(engine, tmp_path, fhir)


# Test-only versions shaped as the 1.1.0 versions will be. The statin's candidate cause (a
# complaint and no CK: info) is marked `candidate=True`, as 1.1.0 will mark it.
@dataclass(frozen=True)
class StatinMarkingCandidates(StatinMuscleSymptoms):
    def evaluate(self, facts: Facts) -> Finding | None:
        finding = super().evaluate(facts)
        if finding is not None and finding.severity == "info":
            return replace(finding, candidate=True)
        return finding


TRIAL = "1.1.0-test"
TRIAL_RULES: tuple[RuleVersion, ...] = (
    trial_version(DIURETIC_1_0_0, TRIAL, non_essential=("Condition",)),
    trial_version(
        STATIN_1_0_0,
        TRIAL,
        non_essential=("Condition", "AllergyIntolerance", "Encounter"),
        logic=StatinMarkingCandidates(),
    ),
    trial_version(QUININE_1_0_0, TRIAL, non_essential=("Condition",)),
    VENOUS_1_0_0,  # released: Condition and Encounter essential
)


@pytest.fixture
def trial(engine: Engine, tmp_path: Any, fhir: FhirTestServer) -> Iterator[Service]:
    """The patient-view service running TRIAL_RULES."""
    yield from _serve(service_with(engine, PATIENT_VIEW, TRIAL_RULES), tmp_path, fhir)


def _body(
    engine: Engine,
    resources: list[dict[str, Any]],
    *,
    drop: tuple[str, ...] = (),
    fhir_server: str | None = None,
) -> dict[str, Any]:
    """A patient-view request with the prefetch filled from `resources`, minus `drop`; with a
    fhirServer, the EHR's token too."""
    entries = [{"resource": r} for r in resources]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    body = build_hook_request(bundle, engine.services[PATIENT_VIEW], hook_instance=uuid.uuid4())
    for key in drop:
        del body["prefetch"][key]
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "legpain-cds",
        }
    return body


def _cards(response: httpx.Response) -> list[tuple[str, str]]:
    return [(c["source"]["topic"]["code"], c["indicator"]) for c in response.json()["cards"]]


def _extension(response: httpx.Response) -> dict[str, Any]:
    extension: dict[str, Any] = response.json().get("extension", {})
    return extension


def _not_evaluated(response: httpx.Response) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = _extension(response).get(RULES_NOT_EVALUATED_EXTENSION, [])
    return entries


def _warnings(response: httpx.Response) -> list[str]:
    warnings: list[str] = _extension(response).get(DATA_WARNINGS_EXTENSION, [])
    return warnings


def _readers(engine: Engine, resource_type: str) -> list[RuleVersion]:
    return [
        rule
        for rule in engine.services[PATIENT_VIEW].rules
        if any(r.resource_type == resource_type for r in rule.requires)
    ]


def _needing(engine: Engine, resource_type: str) -> list[RuleVersion]:
    """The pinned rules that cannot run without `resource_type`."""
    return [
        rule
        for rule in engine.services[PATIENT_VIEW].rules
        if any(r.resource_type == resource_type and r.essential for r in rule.requires)
    ]


def _lost_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The WARNING lines saying a key could not be had."""
    return [
        r
        for r in caplog.records
        if r.name == "cds.fhir.gather" and r.levelno == logging.WARNING and "unavailable" in r.msg
    ]


def _missing(key: str, reason: str) -> dict[str, str]:
    return {"prefetchKey": key, "resourceType": key, "reason": reason}


# ---------------------------------------------------------------------------------------------
# The pinned rules


def test_a_400_for_family_member_history_does_not_blank_every_card(
    engine: Engine, fhir: FhirTestServer, pinned: Service
) -> None:
    """The reported defect: the EHR's FHIR server answers 400 for FamilyMemberHistory (it does
    not expose that type), which only two rules read; the diuretic card must still come back."""
    body = _body(
        engine,
        PATIENT_A,
        drop=("FamilyMemberHistory",),
        fhir_server=fhir.url("refuse/FamilyMemberHistory=400"),
    )
    response = pinned.call(body)
    assert response.status_code == 200, response.text
    assert ("diuretic-electrolytes", "warning") in _cards(response)


@pytest.mark.parametrize(("how", "reason", "_code"), REFUSALS)
def test_a_type_refused_stops_only_the_rules_that_read_it(
    engine: Engine,
    fhir: FhirTestServer,
    pinned: Service,
    caplog: pytest.LogCaptureFixture,
    how: str,
    reason: str,
    _code: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    fhir.clear_requests()
    body = _body(
        engine,
        PATIENT_A,
        drop=("FamilyMemberHistory",),
        fhir_server=fhir.url(f"refuse/FamilyMemberHistory={how}"),
    )
    started = time.monotonic()
    response = pinned.call(body)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed < FHIR_TIMEOUT + SLACK
    # The rules that had their data answer, critical and warning cards included.
    cards = _cards(response)
    assert ("diuretic-electrolytes", "warning") in cards
    assert ("statin-muscle-symptoms", "critical") in cards
    assert ("quinine-for-cramps", "warning") in cards
    # The two that read FamilyMemberHistory are named, with their version and why.
    readers = _readers(engine, "FamilyMemberHistory")
    assert sorted(r.id for r in readers) == ["pad-rest-pain", "rls-secondary-causes"]
    assert _not_evaluated(response) == [
        {
            "rule": rule.id,
            "version": rule.version,
            "missing": [_missing("FamilyMemberHistory", reason)],
        }
        for rule in readers
    ]
    assert not {rule.id for rule in readers} & {rule for rule, _ in cards}
    (warning,) = [w for w in _warnings(response) if "'FamilyMemberHistory'" in w]
    assert f"could not be had ({reason}: " in warning
    assert warning.endswith(f"not evaluated: {', '.join(r.key for r in readers)}")
    # The audit row: the cards issued and the rules not evaluated.
    audited = pinned.audited
    assert (audited.hook_instance, audited.status) == (body["hookInstance"], 200)
    assert {c.rule_id for c in audited.cards} == {rule for rule, _ in cards}
    assert audited.rules_not_evaluated == tuple(
        RuleNotEvaluated(r.id, r.version, (("FamilyMemberHistory", reason),)) for r in readers
    )
    # One WARNING line with the class; the token only ever went to the FHIR server.
    (line,) = _lost_lines(caplog)
    assert line.getMessage().startswith(
        f"prefetch 'FamilyMemberHistory' (FamilyMemberHistory) unavailable: {reason}"
    )
    if how.isdigit():
        assert line.getMessage().endswith(f", HTTP {how}")
    assert getattr(line, "hookInstance", None) == body["hookInstance"]
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.__dict__)
    assert TOKEN not in response.text
    assert TOKEN not in repr(pinned.store.invocations)
    assert [r.fhir_path for r in fhir.requests] == ["FamilyMemberHistory"]
    assert fhir.requests[0].token_sha256 == sha256(TOKEN)


def test_keys_not_sent_with_no_fhir_server_stop_only_the_rules_that_read_them(
    engine: Engine, pinned: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    body = _body(engine, PATIENT_A, drop=("FamilyMemberHistory", "Procedure"))
    response = pinned.call(body)
    assert response.status_code == 200, response.text
    assert ("statin-muscle-symptoms", "critical") in _cards(response)
    stopped = {e["rule"]: e["missing"] for e in _not_evaluated(response)}
    expected = {
        rule.id
        for rule in (*_readers(engine, "FamilyMemberHistory"), *_readers(engine, "Procedure"))
    }
    assert set(stopped) == expected
    assert stopped["pad-rest-pain"] == [_missing("FamilyMemberHistory", "not-sent")]
    assert stopped["rls-secondary-causes"] == [
        _missing("FamilyMemberHistory", "not-sent"),
        _missing("Procedure", "not-sent"),
    ]
    assert {m["reason"] for e in stopped.values() for m in e} == {"not-sent"}
    assert any("no fhirServer" in w for w in _warnings(response))
    assert sorted(line.getMessage() for line in _lost_lines(caplog)) == [
        "prefetch 'FamilyMemberHistory' (FamilyMemberHistory) unavailable: not-sent",
        "prefetch 'Procedure' (Procedure) unavailable: not-sent",
    ]
    assert {r.rule_id for r in pinned.audited.rules_not_evaluated} == expected


@pytest.mark.parametrize(("how", "reason", "_code"), REFUSALS)
def test_without_conditions_the_pinned_rules_still_give_their_findings(
    engine: Engine,
    fhir: FhirTestServer,
    pinned: Service,
    caplog: pytest.LogCaptureFixture,
    how: str,
    reason: str,
    _code: str,
) -> None:
    """The issue's example on the pinned rules: with diagnoses refused, the findings that need
    only medications and results come back (a low potassium on furosemide, a CK far above its
    limit on a statin, quinine); the rules that need diagnoses are named, not run; candidate
    causes are withheld, as no complaint could be looked for."""
    caplog.set_level(logging.WARNING)
    body = _body(
        engine, PATIENT_A, drop=("Condition",), fhir_server=fhir.url(f"refuse/Condition={how}")
    )
    response = pinned.call(body)
    assert response.status_code == 200, response.text
    cards = _cards(response)
    assert ("diuretic-electrolytes", "warning") in cards
    assert ("statin-muscle-symptoms", "critical") in cards
    assert ("quinine-for-cramps", "warning") in cards
    needing = {rule.id for rule in _needing(engine, "Condition")}
    assert {"dvt-risk", "pad-rest-pain", "pe-red-flags"} <= needing
    stopped = {e["rule"]: e["missing"] for e in _not_evaluated(response)}
    assert set(stopped) == needing
    assert {m["reason"] for e in stopped.values() for m in e} == {reason}
    assert any("candidate-cause" in w for w in _warnings(response))
    assert {r.rule_id for r in pinned.audited.rules_not_evaluated} == needing
    assert len(_lost_lines(caplog)) == 1


@pytest.mark.parametrize("how", ["403", "500", "timeout"])
def test_the_patient_unavailable_is_a_412_whatever_else_could_run(
    engine: Engine, fhir: FhirTestServer, pinned: Service, how: str
) -> None:
    body = _body(
        engine,
        PATIENT_A,
        drop=("Patient", "FamilyMemberHistory"),
        fhir_server=fhir.url(f"refuse/Patient={how},FamilyMemberHistory=timeout"),
    )
    response = pinned.call(body)
    assert response.status_code == 412, response.text
    issues = response.json()["issue"]
    # Every key lost, in the service's template order whichever failed first.
    assert [i["expression"][0] for i in issues] == [
        "prefetch.FamilyMemberHistory",
        "prefetch.Patient",
    ]
    assert pinned.audited.status == 412


# ---------------------------------------------------------------------------------------------
# Test-only versions with non-essential requirements and candidate findings (1.1.0's shape)


def test_with_every_type_the_trial_rules_give_their_cards(
    trial: Service, fhir: FhirTestServer
) -> None:
    """The control: with nothing missing, the candidate cause shows, nothing is named."""
    response = trial.call(_body(trial.engine, PATIENT_A))
    assert response.status_code == 200, response.text
    assert sorted(_cards(response)) == [
        ("diuretic-electrolytes", "warning"),
        ("quinine-for-cramps", "warning"),
        ("statin-muscle-symptoms", "critical"),
    ]
    assert RULES_NOT_EVALUATED_EXTENSION not in _extension(response)
    response = trial.call(_body(trial.engine, PATIENT_B))
    assert _cards(response) == [("statin-muscle-symptoms", "info")]  # the complaint is on record


@pytest.mark.parametrize(("how", "reason", "_code"), REFUSALS)
def test_without_conditions_findings_come_back_and_candidate_causes_are_withheld(
    trial: Service, fhir: FhirTestServer, how: str, reason: str, _code: str
) -> None:
    """The issue's example: Conditions unavailable, a CK at 12x on a statin, a low potassium on
    furosemide and quinine still come back; a candidate cause cannot be considered."""
    server = fhir.url(f"refuse/Condition={how}")
    response = trial.call(_body(trial.engine, PATIENT_A, drop=("Condition",), fhir_server=server))
    assert response.status_code == 200, response.text
    assert sorted(_cards(response)) == [
        ("diuretic-electrolytes", "warning"),
        ("quinine-for-cramps", "warning"),
        ("statin-muscle-symptoms", "critical"),
    ]
    # The released venous-insufficiency declares Conditions essential: not evaluated.
    assert _not_evaluated(response) == [
        {
            "rule": "venous-insufficiency",
            "version": "1.0.0",
            "missing": [_missing("Condition", reason)],
        }
    ]
    warnings = _warnings(response)
    (condition,) = [w for w in warnings if "'Condition'" in w]
    assert condition.endswith(
        "; not evaluated: venous-insufficiency@1.0.0; evaluated without it: "
        f"diuretic-electrolytes@{TRIAL}, statin-muscle-symptoms@{TRIAL}, "
        f"quinine-for-cramps@{TRIAL}"
    )
    assert (
        "candidate-cause cards could not be considered: a leg complaint could not be looked "
        f"for without Condition ({reason})"
    ) in warnings
    assert trial.audited.rules_not_evaluated == (
        RuleNotEvaluated("venous-insufficiency", "1.0.0", (("Condition", reason),)),
    )
    # Patient B's complaint is a visit's reason, which was had: the statin finds it, but a
    # complaint recorded as a Condition could not be looked for, so the candidate is withheld.
    response = trial.call(_body(trial.engine, PATIENT_B, drop=("Condition",), fhir_server=server))
    assert response.status_code == 200, response.text
    assert _cards(response) == []
    assert any(w.startswith("candidate-cause cards could not be considered") for w in warnings)


def test_a_non_essential_type_missing_is_noted_and_withholds_nothing(
    trial: Service, fhir: FhirTestServer
) -> None:
    """AllergyIntolerance is context for the statin (1.1.0 shape): it runs without it, and it
    is not complaint data, so the candidate cause still shows."""
    server = fhir.url("refuse/AllergyIntolerance=403")
    for patient, cards in (
        (PATIENT_A, ("statin-muscle-symptoms", "critical")),
        (PATIENT_B, ("statin-muscle-symptoms", "info")),
    ):
        body = _body(trial.engine, patient, drop=("AllergyIntolerance",), fhir_server=server)
        response = trial.call(body)
        assert response.status_code == 200, response.text
        assert cards in _cards(response)
        assert RULES_NOT_EVALUATED_EXTENSION not in _extension(response)
        assert _warnings(response)[0] == (
            "prefetch 'AllergyIntolerance' could not be had (not-permitted: the FHIR server "
            f"refused access (HTTP 403)); evaluated without it: statin-muscle-symptoms@{TRIAL}"
        )
        assert trial.audited.rules_not_evaluated == ()


def test_when_no_trial_rule_can_run_it_is_a_412(trial: Service, fhir: FhirTestServer) -> None:
    server = fhir.url("refuse/MedicationRequest=401,Encounter=400")
    body = _body(
        trial.engine, PATIENT_A, drop=("MedicationRequest", "Encounter"), fhir_server=server
    )
    response = trial.call(body)
    assert response.status_code == 412, response.text
    codes = {i["expression"][0]: i["code"] for i in response.json()["issue"]}
    assert codes == {
        "prefetch.MedicationRequest": "security",
        "prefetch.Encounter": "not-supported",
    }
