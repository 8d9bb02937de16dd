"""The pipeline's own decisions: which rules run, and what the response says about the data."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cds import service_call
from cds.audit.store import MemoryAuditStore
from cds.cdshooks import HookRequest
from cds.errors import MissingData, PrefetchUnavailable, Unavailability
from cds.facts import Facts
from cds.fhir.access import FhirAccess
from cds.pipeline import (
    DATA_WARNINGS_EXTENSION,
    RULES_NOT_EVALUATED_EXTENSION,
    Engine,
    evaluate,
    partial_data,
)
from cds.replay.hook_request import build_hook_request
from cds.rules.base import DataRequirement, Finding, Provenance, RuleLogic, RuleVersion
from cds.settings import Settings
from tests.support.fhir import AS_OF, PATIENT_ID, bundle, medication_request, observation, patient
from tests.support.rules import service_with

SERVICE = "leg-pain-patient-view"


def _request() -> HookRequest:
    return HookRequest.model_validate(
        {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": PATIENT_ID},
        }
    )


def _run(engine: Engine, resources: list[dict[str, Any]]) -> dict[str, Any]:
    service = engine.services[SERVICE]
    result = evaluate(engine, service, _request(), {"all": bundle(resources)}, as_of=AS_OF)
    return result.response.to_wire()


def _low_potassium_on_furosemide() -> list[dict[str, Any]]:
    # Furosemide 4603 and potassium 2823-3 are in shared/clinical-codes/codes.tsv.
    return [
        medication_request("4603", "furosemide"),
        observation("2823-3", 3.1, "mmol/L", days_ago=10),
    ]


def test_a_living_patient_gets_the_card(engine: Engine) -> None:
    wire = _run(engine, [patient(), *_low_potassium_on_furosemide()])
    assert [c["source"]["topic"]["code"] for c in wire["cards"]] == ["diuretic-electrolytes"]
    assert DATA_WARNINGS_EXTENSION not in wire["extension"]


def test_a_deceased_patient_gets_no_cards_and_is_told_why(engine: Engine) -> None:
    dead = {**patient(), "deceasedBoolean": True}
    wire = _run(engine, [dead, *_low_potassium_on_furosemide()])
    assert wire["cards"] == []
    assert any("deceased" in w for w in wire["extension"][DATA_WARNINGS_EXTENSION])


def test_another_patients_results_are_ignored_and_reported(engine: Engine) -> None:
    theirs = observation("2823-3", 2.1, "mmol/L", days_ago=1)
    theirs["subject"] = {"reference": "Patient/someone-else"}
    wire = _run(engine, [patient(), medication_request("4603", "furosemide"), theirs])
    assert wire["cards"] == []
    assert any("another patient" in w for w in wire["extension"][DATA_WARNINGS_EXTENSION])


def test_a_refused_call_is_audited_with_its_status(
    client: TestClient, memory_store: MemoryAuditStore
) -> None:
    hook_instance = str(uuid.uuid4())
    body = {
        "hook": "patient-view",
        "hookInstance": hook_instance,
        "context": {"userId": "Practitioner/1", "patientId": PATIENT_ID},
    }
    response = client.post(f"/cds-services/{SERVICE}", json=body)  # no prefetch, no fhirServer
    assert response.status_code == 412
    [audited] = memory_store.invocations
    assert (audited.hook_instance, audited.status, audited.cards) == (hook_instance, 412, ())
    assert audited.patient_id == PATIENT_ID


def test_a_call_without_a_usable_hook_instance_is_not_audited(
    client: TestClient, memory_store: MemoryAuditStore
) -> None:
    body = {"hook": "patient-view", "hookInstance": "not-a-uuid", "context": {}}
    assert client.post(f"/cds-services/{SERVICE}", json=body).status_code == 400
    assert memory_store.invocations == []


# ---------------------------------------------------------------------------------------------
# Partial data: what keys that could not be had stop (tests/test_partial_data.py: over HTTP)


@dataclasses.dataclass(frozen=True)
class Says(RuleLogic):
    """A test rule's logic: always the same finding."""

    candidate: bool = False

    def evaluate(self, facts: Facts) -> Finding | None:
        kind = "candidate" if self.candidate else "finding"
        return Finding(
            severity="warning",
            summary=f"A {kind} of a test rule",
            explanation="Test.",
            specificity=50,
            candidate=self.candidate,
        )


def _rule(rule_id: str, *requires: DataRequirement, candidate: bool = False) -> RuleVersion:
    return RuleVersion(
        id=rule_id,
        version="1.1.0-test",
        title=rule_id,
        severities=("warning",),
        logic=Says(candidate=candidate),
        requires=requires,
        valuesets=(),
        terminology="2026.11",
        provenance=Provenance(
            guideline="test", url="https://example.org", released="-", changes="-"
        ),
    )


def _lost(resource_type: str, why: Unavailability = "not-permitted") -> MissingData:
    return MissingData(
        resource_type, f"{resource_type}?patient=p", "refused", "security", why, resource_type
    )


MEDS = DataRequirement("MedicationRequest")
CONDITIONS = DataRequirement("Condition")
CONTEXT_CONDITIONS = DataRequirement("Condition", essential=False)
FAMILY = DataRequirement("FamilyMemberHistory")
CONTEXT_FAMILY = DataRequirement("FamilyMemberHistory", essential=False)
RULES = (
    _rule("meds-only", MEDS, CONTEXT_CONDITIONS),
    _rule("needs-family", MEDS, FAMILY),
    # Conditions both for context and essential elsewhere: essential wins.
    _rule("needs-conditions", CONTEXT_CONDITIONS, CONDITIONS),
    _rule("candidate", MEDS, CONTEXT_FAMILY, candidate=True),
)


@pytest.fixture
def trial_engine(engine: Engine) -> Engine:
    return service_with(engine, SERVICE, RULES)


def test_partial_data_decides_rule_by_rule_from_what_each_declares_essential(
    trial_engine: Engine,
) -> None:
    condition, family = _lost("Condition"), _lost("FamilyMemberHistory", "unsupported")
    gaps = partial_data(trial_engine.services[SERVICE], [condition, family])
    assert [(n.rule.id, n.missing) for n in gaps.not_evaluated] == [
        ("needs-family", (family,)),
        ("needs-conditions", (condition,)),
    ]
    assert [(rule.id, gone) for rule, gone in gaps.run_without] == [
        ("meds-only", (condition,)),
        ("candidate", (family,)),
    ]
    assert gaps.complaint_missing == (condition,)  # Condition is complaint data
    assert gaps.skipped == {"needs-family@1.1.0-test", "needs-conditions@1.1.0-test"}


def test_missing_data_that_is_not_complaint_data_withholds_no_candidate(
    trial_engine: Engine,
) -> None:
    gaps = partial_data(trial_engine.services[SERVICE], [_lost("FamilyMemberHistory")])
    assert gaps.complaint_missing == ()
    wire = evaluate(
        trial_engine,
        trial_engine.services[SERVICE],
        _request(),
        {"all": bundle([patient()])},
        as_of=AS_OF,
        gaps=gaps,
    ).response.to_wire()
    assert sorted(c["source"]["topic"]["code"] for c in wire["cards"]) == [
        "candidate",
        "meds-only",
        "needs-conditions",
    ]
    assert [e["rule"] for e in wire["extension"][RULES_NOT_EVALUATED_EXTENSION]] == ["needs-family"]


def test_missing_complaint_data_withholds_every_candidate_finding(trial_engine: Engine) -> None:
    service = trial_engine.services[SERVICE]
    gaps = partial_data(service, [_lost("Encounter", "timeout")])
    assert [n.rule.id for n in gaps.not_evaluated] == []  # no rule here reads Encounters
    result = evaluate(
        trial_engine, service, _request(), {"all": bundle([patient()])}, as_of=AS_OF, gaps=gaps
    )
    wire = result.response.to_wire()
    assert "candidate" not in [c["source"]["topic"]["code"] for c in wire["cards"]]
    assert [f.rule.id for f in result.fired if f.finding.candidate] == []
    assert RULES_NOT_EVALUATED_EXTENSION not in wire["extension"]
    assert wire["extension"][DATA_WARNINGS_EXTENSION][-1] == (
        "candidate-cause cards could not be considered: a leg complaint could not be looked "
        "for without Encounter (timeout)"
    )


def test_the_patient_missing_is_a_412_even_when_every_rule_could_run(
    trial_engine: Engine,
) -> None:
    with pytest.raises(PrefetchUnavailable) as raised:
        partial_data(trial_engine.services[SERVICE], [_lost("Patient")])
    assert [m.prefetch_key for m in raised.value.missing] == ["Patient"]


def test_no_rule_able_to_run_is_a_412_naming_every_key(trial_engine: Engine) -> None:
    lost = [_lost("MedicationRequest"), _lost("Condition", "timeout")]
    with pytest.raises(PrefetchUnavailable) as raised:
        partial_data(trial_engine.services[SERVICE], lost)
    assert raised.value.missing == lost
    assert raised.value.log_reason() == (
        "required data unavailable: MedicationRequest (not-permitted), Condition (timeout)"
    )


def test_a_call_with_every_key_never_asks_what_missing_data_stops(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request path stays as lean as before when nothing is missing."""

    def must_not_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("partial_data called with every key had")

    monkeypatch.setattr(service_call, "partial_data", must_not_run)
    service = engine.services[SERVICE]
    resources = [{**patient(), "id": PATIENT_ID}, *_low_potassium_on_furosemide()]
    body = build_hook_request(bundle(resources), service, hook_instance=uuid.uuid4())
    result = asyncio.run(
        service_call.call_service(
            engine, service, body, as_of=AS_OF, fhir=FhirAccess.from_settings(Settings())
        )
    )
    assert [c["source"]["topic"]["code"] for c in result.wire["cards"]] == ["diuretic-electrolytes"]
    assert result.evaluation.not_evaluated == ()
    assert RULES_NOT_EVALUATED_EXTENSION not in result.wire["extension"]
