"""cds.record: raw FHIR R4 JSON -> PatientRecord (clinical-content.md §1.2, §1.3, §19).

Statuses, units, reference ranges, times and references as the rules see them through Facts;
then robustness: every HL7 R4 example and every Synthea bundle goes through, and garbage is
skipped and counted without costing the rest of the record.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from cds.facts import Facts, RecordFacts
from cds.fhir.bundles import iter_resources
from cds.record import LAB_ANALYTES, PatientRecord, RecordBuilder
from cds.rules.lib.library import Library2026_11
from cds.terminology import Terminology
from tests.support.fhir import (
    AS_OF,
    ICD10,
    LOINC,
    PATIENT_ID,
    RXNORM,
    SNOMED,
    condition,
    draft_order,
    encounter,
    facts_for,
    medication_request,
    observation,
    patient,
    procedure,
    when,
)
from tests.support.paths import HL7_EXAMPLES, SYNTHEA_BUNDLES

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

K = "2823-3"  # potassium, mmol/L
MG_MASS = "19123-9"  # magnesium, mg/dL
CREATININE = "2160-0"
VITAMIN_D = "1989-3"
HBA1C = "4548-4"
FUROSEMIDE = "4603"  # RxNorm ingredient, loop-diuretics
HYPERTENSION = "38341003"  # SNOMED, hypertension
DELIVERY = "236973005"  # SNOMED "Delivery procedure" (value set `delivery`)

# Every key a record may count under (cds/record/builder.py's table), besides "malformed:<Type>".
SKIP_REASONS = frozenset(
    {
        "duplicate",
        "other-patient",
        "other-patient-data",
        "unknown-unit",
        "observation-status",
        "observation-no-value",
        "condition-refuted-or-error",
        "medication-not-taken",
        "medication-not-ordered",
        "medication-unresolved-reference",
        "procedure-not-done",
    }
)


def build(terminology: Terminology, *resources: Any, **kwargs: Any) -> PatientRecord:
    return RecordBuilder(terminology).build(list(resources), **kwargs)


def facts(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> Facts:
    return facts_for(terminology, resources, **kwargs)


def record_of(f: Facts) -> PatientRecord:
    """The record behind a Facts view (rules never see it; record tests do)."""
    return f._shared.record


def furosemide(**kwargs: Any) -> dict[str, Any]:
    return medication_request(FUROSEMIDE, "Furosemide 40 MG Oral Tablet", **kwargs)


def loop_diuretics(f: Facts) -> list[str]:
    return [m.reference for m in LIBRARY.active_medications(f, "loop-diuretics")]


def statement(status: str, *, start: float = 100, end: float | None = None) -> dict[str, Any]:
    period: dict[str, Any] = {"start": when(start)}
    if end is not None:
        period["end"] = when(end)
    return {
        "resourceType": "MedicationStatement",
        "id": f"ms-{status}-{start}-{end}",
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": FUROSEMIDE, "display": "Furosemide"}]
        },
        "effectivePeriod": period,
    }


# -- medications: what is active (§1.2, §19: active, or ended <= 30 days ago) ----------------


@pytest.mark.parametrize("status", ["active", "on-hold"])
def test_medication_request_active_or_on_hold_is_active(
    terminology: Terminology, status: str
) -> None:
    mr = furosemide(status=status)
    assert loop_diuretics(facts(terminology, mr)) == [f"MedicationRequest/{mr['id']}"]


def test_medication_request_intent_plan_counts_but_a_proposal_does_not(
    terminology: Terminology,
) -> None:
    plan, proposal, option = (furosemide(intent=i) for i in ("plan", "proposal", "option"))
    f = facts(terminology, plan, proposal, option)
    assert loop_diuretics(f) == [f"MedicationRequest/{plan['id']}"]
    assert record_of(f).skipped["medication-not-ordered"] == 2


def test_medication_statement_active_is_active(terminology: Terminology) -> None:
    ms = statement("active")
    assert loop_diuretics(facts(terminology, ms)) == [f"MedicationStatement/{ms['id']}"]


@pytest.mark.parametrize(("ended_days_ago", "active"), [(0, True), (30, True), (31, False)])
@pytest.mark.parametrize("status", ["completed", "stopped"])
def test_a_request_that_ended_within_30_days_still_counts(
    terminology: Terminology, status: str, ended_days_ago: int, active: bool
) -> None:
    mr = furosemide(status=status, days_ago=200, ended_days_ago=ended_days_ago)
    assert bool(loop_diuretics(facts(terminology, mr))) is active


@pytest.mark.parametrize(("ended_days_ago", "active"), [(30, True), (31, False)])
def test_a_statement_period_that_ended_within_30_days_still_counts(
    terminology: Terminology, ended_days_ago: int, active: bool
) -> None:
    ms = statement("completed", end=ended_days_ago)
    assert bool(loop_diuretics(facts(terminology, ms))) is active


def test_an_active_request_whose_period_ended_31_days_ago_is_not_active(
    terminology: Terminology,
) -> None:
    # Status never updated, but the validity period says it ended beyond the grace period.
    assert not loop_diuretics(facts(terminology, furosemide(days_ago=400, ended_days_ago=31)))
    assert loop_diuretics(facts(terminology, furosemide(days_ago=400, ended_days_ago=-10)))


def test_a_completed_request_without_an_end_is_not_active(terminology: Terminology) -> None:
    assert not loop_diuretics(facts(terminology, furosemide(status="completed")))


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_a_draft_order_counts_as_active(terminology: Terminology, hook: str) -> None:
    draft = draft_order(FUROSEMIDE, "Furosemide 20 MG Oral Tablet")
    f = facts(terminology, draft_orders=[draft])
    [med] = LIBRARY.active_medications(f, "loop-diuretics")
    assert med.drafted
    assert med.status == "active"
    assert LIBRARY.drafted([med]) == [med]


def test_a_draft_in_the_chart_is_not_active_nor_exposure(terminology: Terminology) -> None:
    # A draft MedicationRequest in the prefetch is someone's unsigned order, not a drug taken.
    f = facts(terminology, furosemide(status="draft", days_ago=3))
    assert not LIBRARY.active_medications(f, "loop-diuretics")
    assert not LIBRARY.medications_within(f, "loop-diuretics", 365)


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "not-taken"])
def test_medications_never_taken_are_ignored_and_counted(
    terminology: Terminology, status: str
) -> None:
    f = facts(terminology, furosemide(status=status))
    assert not record_of(f).medications
    assert record_of(f).skipped["medication-not-taken"] == 1


def test_a_drug_no_value_set_lists_is_left_out_without_a_count(terminology: Terminology) -> None:
    record = build(terminology, medication_request("313782", "Acetaminophen 325 MG Oral Tablet"))
    assert not record.medications
    assert not record.skipped


def test_medications_within_counts_recent_exposure(terminology: Terminology) -> None:
    f = facts(terminology, furosemide(status="completed", days_ago=200, ended_days_ago=100))
    assert not LIBRARY.active_medications(f, "loop-diuretics")
    assert len(LIBRARY.medications_within(f, "loop-diuretics", 120)) == 1
    assert not LIBRARY.medications_within(f, "loop-diuretics", 99)


def test_a_text_matched_drug_is_low_confidence(terminology: Terminology) -> None:
    mr = medication_request(None, "Lasix 40mg")  # Synthea spelling, no code: matched by text
    [med] = LIBRARY.active_medications(facts(terminology, mr), "loop-diuretics")
    assert med.low_confidence
    assert med.names == ("furosemide",)


# -- medicationReference ------------------------------------------------------------------


def by_reference(reference: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"mr-ref-{abs(hash(reference))}",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationReference": {"reference": reference},
        "authoredOn": when(10),
        **extra,
    }


def medication(mid: str, code: str = FUROSEMIDE) -> dict[str, Any]:
    return {
        "resourceType": "Medication",
        "id": mid,
        "code": {"coding": [{"system": RXNORM, "code": code, "display": "Furosemide"}]},
    }


def test_a_contained_medication_is_resolved(terminology: Terminology) -> None:
    contained = medication("med1")
    mr = by_reference("#med1", contained=[contained])
    [med] = LIBRARY.active_medications(facts(terminology, mr), "loop-diuretics")
    assert med.display == "Furosemide"


@pytest.mark.parametrize(
    "reference",
    [
        "Medication/med7",
        "https://ehr.example.org/fhir/Medication/med7",
        "Medication/med7/_history/3",
        "urn:uuid:med7",  # a transaction bundle's fullUrl (Synthea)
    ],
)
def test_a_medication_elsewhere_in_the_prefetch_is_resolved(
    terminology: Terminology, reference: str
) -> None:
    # The Medication may come after the request that references it.
    f = facts(terminology, by_reference(reference), medication("med7"))
    assert len(LIBRARY.active_medications(f, "loop-diuretics")) == 1
    assert not record_of(f).skipped


@pytest.mark.parametrize(
    ("mr", "extra"),
    [
        (by_reference("Medication/missing"), []),
        (by_reference("#absent", contained=[medication("other")]), []),
        (by_reference("Substance/med7"), [medication("med7")]),  # names another type
        ({**furosemide(), "medicationCodeableConcept": None}, []),  # no drug at all
    ],
    ids=["missing", "contained-absent", "other-type", "no-medication"],
)
def test_an_unresolved_medication_is_skipped_and_counted(
    terminology: Terminology, mr: dict[str, Any], extra: list[dict[str, Any]]
) -> None:
    record = build(terminology, mr, *extra)
    assert not record.medications
    assert record.skipped == {"medication-unresolved-reference": 1}


# -- conditions: clinicalStatus and verificationStatus (§1.2) -------------------------------


@pytest.mark.parametrize(
    ("clinical", "active", "history"),
    [
        ("active", True, True),
        ("recurrence", True, True),
        ("relapse", True, True),
        ("inactive", False, True),
        ("remission", False, True),
        ("resolved", False, True),
    ],
)
def test_condition_clinical_status(
    terminology: Terminology, clinical: str, active: bool, history: bool
) -> None:
    f = facts(terminology, condition(HYPERTENSION, clinical_status=clinical))
    assert LIBRARY.has_condition(f, "hypertension") is active
    assert LIBRARY.has_condition(f, "hypertension", include_history=True) is history


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_or_erroneous_conditions_are_ignored_and_counted(
    terminology: Terminology, verification: str
) -> None:
    f = facts(terminology, condition(HYPERTENSION, verification_status=verification))
    assert not record_of(f).conditions
    assert not LIBRARY.has_condition(f, "hypertension", include_history=True)
    assert record_of(f).skipped["condition-refuted-or-error"] == 1


@pytest.mark.parametrize("verification", ["unconfirmed", "provisional", "differential", None])
def test_other_verification_statuses_still_count(
    terminology: Terminology, verification: str | None
) -> None:
    f = facts(terminology, condition(HYPERTENSION, verification_status=verification))
    assert LIBRARY.has_condition(f, "hypertension")


def test_a_condition_without_clinical_status_counts_until_it_abates(
    terminology: Terminology,
) -> None:
    open_ended = condition(HYPERTENSION, clinical_status=None)
    abated = condition(HYPERTENSION, clinical_status=None, abated_days_ago=5)
    assert LIBRARY.has_condition(facts(terminology, open_ended), "hypertension")
    assert not LIBRARY.has_condition(facts(terminology, abated), "hypertension")


def test_a_bare_string_status_is_read_too(terminology: Terminology) -> None:
    # STU3 shape ("verificationStatus": "refuted"): a refuted diagnosis must not count.
    refuted = {**condition(HYPERTENSION), "verificationStatus": "refuted"}
    resolved = {**condition(HYPERTENSION), "clinicalStatus": "resolved"}
    assert not LIBRARY.has_condition(
        facts(terminology, refuted), "hypertension", include_history=True
    )
    assert not LIBRARY.has_condition(facts(terminology, resolved), "hypertension")


def test_conditions_match_icd10_with_or_without_the_dot(terminology: Terminology) -> None:
    for code in ("E87.6", "E876", "e87.6"):
        assert LIBRARY.has_condition(
            facts(terminology, condition(code, system=ICD10)), "hypokalemia"
        )


def test_condition_times(terminology: Terminology) -> None:
    c = condition(HYPERTENSION, onset_days_ago=20, abated_days_ago=3)
    c["onsetPeriod"] = {"start": when(99)}  # onsetDateTime wins
    del c["abatementDateTime"]
    c["abatementPeriod"] = {"start": when(9), "end": when(3)}
    [entry] = build(terminology, c).conditions
    assert entry.onset == datetime.fromisoformat(when(20))
    assert entry.abatement == datetime.fromisoformat(when(3))
    assert entry.recorded == datetime.fromisoformat(when(20))
    f = facts(terminology, c)
    assert LIBRARY.conditions_within(f, "hypertension", 20)
    assert not LIBRARY.conditions_within(f, "hypertension", 19)


# -- observations: status, value, unit, range, interpretation, time (§1.2, §1.3) --------------


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_usable_observation_statuses(terminology: Terminology, status: str) -> None:
    f = facts(terminology, observation(K, 3.1, "mmol/L", status=status))
    assert LIBRARY.latest_lab(f, "potassium", within_days=30) is not None


@pytest.mark.parametrize(
    "status", ["registered", "preliminary", "cancelled", "entered-in-error", "unknown", None]
)
def test_other_observation_statuses_are_ignored_and_counted(
    terminology: Terminology, status: str | None
) -> None:
    obs = observation(K, 3.1, "mmol/L", status=status or "final")
    if status is None:
        del obs["status"]
    f = facts(terminology, obs)
    assert LIBRARY.latest_lab(f, "potassium", within_days=30) is None
    assert record_of(f).skipped["observation-status"] == 1


@pytest.mark.parametrize(
    ("loinc", "analyte", "value", "unit", "canonical"),
    [
        (K, "potassium", 3.1, "mmol/L", 3.1),
        (K, "potassium", 3.1, "mEq/L", 3.1),
        (K, "potassium", 3.1, "meq/L", 3.1),
        (MG_MASS, "magnesium", 1.7, "mg/dL", 0.69938),  # §1.3: 1.7 mg/dL ≈ 0.70 mmol/L
        (MG_MASS, "magnesium", 1.6, "mEq/L", 0.8),  # divalent: 2 mEq = 1 mmol
        ("17861-6", "calcium-total", 2.12, "mmol/L", 8.4970),  # §1.3: 8.5 mg/dL ≈ 2.12
        (CREATININE, "creatinine", 88.4, "umol/L", 1.0),
        (VITAMIN_D, "vitamin-d-25oh", 49.92, "nmol/L", 20.0),  # §1.3: 20 ng/mL ≈ 50 nmol/L
        (HBA1C, "hba1c", 6.5, "%", 6.5),
        ("59261-8", "hba1c", 48.0, "mmol/mol", 6.5420),  # IFCC -> NGSP
        ("49051-6", "gestational-age", 140, "d", 20.0),
    ],
)
def test_values_are_converted_to_the_canonical_unit(
    terminology: Terminology,
    loinc: str,
    analyte: str,
    value: float,
    unit: str,
    canonical: float,
) -> None:
    lab = LIBRARY.latest_lab(
        facts(terminology, observation(loinc, value, unit)), analyte, within_days=30
    )
    assert lab is not None
    assert lab.value == pytest.approx(canonical, abs=1e-3)
    assert (lab.raw_value, lab.raw_unit, lab.unit) == (value, unit, unit)


def test_the_unit_text_is_used_when_there_is_no_ucum_code(terminology: Terminology) -> None:
    obs = observation(K, 3.1, "mmol/L")
    del obs["valueQuantity"]["code"]
    assert LIBRARY.latest_lab(facts(terminology, obs), "potassium", within_days=30) is not None


@pytest.mark.parametrize("unit", ["mg/dL", "g/L", "furlongs", "", None])
def test_an_unknown_or_missing_unit_is_ignored_and_counted(
    terminology: Terminology, unit: str | None
) -> None:
    obs = observation(K, 3.1, unit)
    f = facts(terminology, obs, observation(K, 4.2, "mmol/L", days_ago=40))
    lab = LIBRARY.latest_lab(f, "potassium", within_days=90)
    assert lab is not None
    assert lab.value == 4.2  # the older result in a known unit, never a guessed one
    assert record_of(f).skipped["unknown-unit"] == 1


def test_the_reference_range_is_converted_too(terminology: Terminology) -> None:
    obs = observation(MG_MASS, 1.5, "mg/dL", low=1.7, high=2.2)
    lab = LIBRARY.latest_lab(facts(terminology, obs), "magnesium", within_days=30)
    assert lab is not None
    assert lab.reference_low == pytest.approx(0.69938)
    assert lab.reference_high == pytest.approx(0.90508)
    assert LIBRARY.is_low(lab)


def test_a_reference_range_in_its_own_unit(terminology: Terminology) -> None:
    obs = observation(MG_MASS, 0.6, "mmol/L")
    obs["referenceRange"] = [
        {"text": "see report"},  # no bounds: the next range is used
        {"low": {"value": 1.7, "unit": "mg/dL"}, "high": {"value": 2.2, "code": "mg/dL"}},
    ]
    lab = LIBRARY.latest_lab(facts(terminology, obs), "magnesium", within_days=30)
    assert lab is not None
    assert (lab.reference_low, lab.reference_high) == pytest.approx((0.69938, 0.90508))


def test_a_reference_range_in_an_unknown_unit_is_not_used(terminology: Terminology) -> None:
    obs = observation(K, 3.4, "mmol/L")
    obs["referenceRange"] = [{"low": {"value": 3.5, "unit": "bananas"}}]
    lab = LIBRARY.latest_lab(facts(terminology, obs), "potassium", within_days=30)
    assert lab is not None
    assert lab.reference_low is None


def test_interpretation_is_kept_and_read_first(terminology: Terminology) -> None:
    low = observation(K, 3.6, "mmol/L", interpretation="L")  # a lab with its own, higher range
    high = observation(K, 5.0, "mmol/L", interpretation="HH", days_ago=20)
    f = facts(terminology, low, high)
    newest, older = LIBRARY.lab_results(f, "potassium")
    assert newest.interpretation == ("L",)
    assert LIBRARY.is_low(newest, 3.5)
    assert LIBRARY.is_high(older)


def test_a_coded_observation_keeps_its_answer(terminology: Terminology) -> None:
    obs = observation("82810-3", None, value_code=(SNOMED, "77386006"))
    [lab] = LIBRARY.lab_results(facts(terminology, obs), "pregnancy-status")
    assert lab.value is None
    assert lab.value_codings == ({"system": SNOMED, "code": "77386006"},)


def test_an_observation_without_any_value_is_counted(terminology: Terminology) -> None:
    record = build(terminology, observation(K, None))
    assert not record.labs
    assert record.skipped == {"observation-no-value": 1}


def test_loinc_by_its_oid_is_read(terminology: Terminology) -> None:
    obs = observation(K, 3.1, "mmol/L")
    obs["code"]["coding"][0]["system"] = "urn:oid:2.16.840.1.113883.6.1"
    assert LIBRARY.latest_lab(facts(terminology, obs), "potassium", within_days=30) is not None


def test_a_lab_code_in_another_system_is_not_read(terminology: Terminology) -> None:
    obs = observation(K, 3.1, "mmol/L")
    obs["code"]["coding"][0]["system"] = SNOMED
    assert not build(terminology, obs).labs


def test_observations_no_rule_reads_are_dropped_unread(terminology: Terminology) -> None:
    cholesterol = observation("2093-3", 180, "mg/dL")
    record = build(terminology, cholesterol)
    assert not record.labs
    assert not record.skipped


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("effectiveDateTime", "2026-11-01T08:30:00+00:00", datetime(2026, 11, 1, 8, 30)),
        ("effectiveDateTime", "2026-11-01T08:30:00Z", datetime(2026, 11, 1, 8, 30)),
        ("effectiveDateTime", "2026-11-01T03:30:00-05:00", datetime(2026, 11, 1, 8, 30)),
        ("effectiveDateTime", "2026-11-01", datetime(2026, 11, 1)),
        ("effectiveDateTime", "2026-11", datetime(2026, 11, 1)),
        ("effectiveDateTime", "2026", datetime(2026, 1, 1)),
        ("effectiveInstant", "2026-11-01T08:30:00.123Z", datetime(2026, 11, 1, 8, 30, 0, 123000)),
        (
            "effectivePeriod",
            {"start": "2026-10-30T08:00:00Z", "end": "2026-11-01T08:30:00Z"},
            datetime(2026, 11, 1, 8, 30),
        ),
        ("effectivePeriod", {"start": "2026-11-01T08:30:00Z"}, datetime(2026, 11, 1, 8, 30)),
        ("issued", "2026-11-01T08:30:00Z", datetime(2026, 11, 1, 8, 30)),
        ("effectiveDateTime", "2026-02-30", None),
        ("effectiveDateTime", 20261101, None),
    ],
)
def test_effective_time_shapes(
    terminology: Terminology, field: str, value: Any, expected: datetime | None
) -> None:
    obs = observation(K, 3.1, "mmol/L")
    del obs["effectiveDateTime"]
    obs[field] = value
    [lab] = build(terminology, obs).labs["potassium"]
    assert lab.effective == (expected.replace(tzinfo=UTC) if expected else None)


def test_labs_are_newest_first_and_undated_last(terminology: Terminology) -> None:
    undated = observation(K, 4.0, "mmol/L")
    del undated["effectiveDateTime"]
    old, new = observation(K, 3.0, "mmol/L", days_ago=50), observation(K, 3.5, "mmol/L", days_ago=2)
    entries = build(terminology, old, undated, new).labs["potassium"]
    assert [e.value for e in entries] == [3.5, 3.0, 4.0]


def test_latest_lab_window_and_future_results(terminology: Terminology) -> None:
    future = observation(K, 2.0, "mmol/L", days_ago=-3)  # a clock error, not a result yet
    f = facts(terminology, future, observation(K, 3.3, "mmol/L", days_ago=90))
    lab = LIBRARY.latest_lab(f, "potassium", within_days=90)
    assert lab is not None
    assert lab.value == 3.3
    assert LIBRARY.latest_lab(f, "potassium", within_days=89) is None
    assert [e.value for e in LIBRARY.lab_results(f, "potassium")] == [3.3]


@pytest.mark.parametrize("comparator", ["<", "<=", ">", ">="])
def test_comparator_results_are_kept_with_their_comparator(
    terminology: Terminology, comparator: str
) -> None:
    obs = observation(VITAMIN_D, 10, "ng/mL", comparator=comparator)
    lab = LIBRARY.latest_lab(facts(terminology, obs), "vitamin-d-25oh", within_days=30)
    assert lab is not None
    assert (lab.value, lab.comparator) == (10.0, comparator)


def test_a_leg_complaint_coded_as_an_observation(terminology: Terminology) -> None:
    finding = {
        "resourceType": "Observation",
        "id": "complaint-1",
        "status": "preliminary",  # complaints are findings, not results: any status but errors
        "code": {"coding": [{"system": ICD10, "code": "R25.2", "display": "Cramp and spasm"}]},
        "effectiveDateTime": when(10),
    }
    cancelled = {**finding, "id": "complaint-2", "status": "cancelled"}
    answer = {
        **finding,
        "id": "complaint-3",
        "code": {"text": "Chief complaint"},
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "32914008"}]},
    }
    f = facts(terminology, finding, cancelled, answer)
    assert [c.reference for c in LIBRARY.leg_complaints(f)] == [
        "Observation/complaint-1",
        "Observation/complaint-3",
    ]
    assert all(c.source == "Observation" for c in LIBRARY.leg_complaints(f))


# -- procedures and encounters --------------------------------------------------------------


def test_procedure_performed_period_and_date_time(terminology: Terminology) -> None:
    period = procedure(DELIVERY, days_ago=10)
    period["performedPeriod"] = {"start": when(12), "end": when(10)}
    instant = procedure(DELIVERY)
    del instant["performedPeriod"]
    instant["performedDateTime"] = when(20)
    started = procedure(DELIVERY)
    started["performedPeriod"] = {"start": when(30)}
    entries = {p.reference: p for p in build(terminology, period, instant, started).procedures}
    p, i, s = (entries[f"Procedure/{r['id']}"] for r in (period, instant, started))
    assert (p.start, p.end) == (datetime.fromisoformat(when(12)), datetime.fromisoformat(when(10)))
    assert i.start == i.end == datetime.fromisoformat(when(20))
    assert s.start == s.end == datetime.fromisoformat(when(30))
    f = facts(terminology, period, instant, started)
    assert [x.reference for x in LIBRARY.procedures_within(f, "delivery", 25)] == [
        p.reference,
        i.reference,
    ]


@pytest.mark.parametrize("status", ["entered-in-error", "not-done", "preparation"])
def test_procedures_not_done_are_ignored_and_counted(terminology: Terminology, status: str) -> None:
    record = build(terminology, procedure(DELIVERY, status=status))
    assert not record.procedures
    assert record.skipped == {"procedure-not-done": 1}


def test_encounter_class_period_and_reason(terminology: Terminology) -> None:
    enc = encounter(class_code="IMP", start_days_ago=12, end_days_ago=8, reason=(ICD10, "R25.2"))
    [entry] = build(terminology, enc).encounters
    assert entry.class_code == "IMP"
    assert entry.status == "finished"
    assert (entry.start, entry.end) == (
        datetime.fromisoformat(when(12)),
        datetime.fromisoformat(when(8)),
    )
    assert entry.reason_codings == ({"system": ICD10, "code": "R25.2"},)


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_cancelled_encounters_are_ignored(terminology: Terminology, status: str) -> None:
    assert not build(terminology, {**encounter(), "status": status}).encounters


# -- patient --------------------------------------------------------------------------------


def test_patient_birth_date_and_sex(terminology: Terminology) -> None:
    record = build(terminology, patient(birth_date="1955-03-02", gender="female"))
    assert record.patient.id == PATIENT_ID
    assert record.patient.birth_date is not None
    assert record.patient.birth_date.isoformat() == "1955-03-02"
    assert record.patient.gender == "female"


def test_patient_id_from_the_context_keeps_what_the_resource_says(
    terminology: Terminology,
) -> None:
    anonymous = {"resourceType": "Patient", "birthDate": "1970-01-01", "gender": "male"}
    record = build(terminology, anonymous, patient_id="ctx-1")
    assert record.patient.id == "ctx-1"
    assert record.patient.gender == "male"
    assert record.patient.birth_date is not None
    assert build(terminology, patient_id="ctx-2").patient.id == "ctx-2"


def test_the_patient_the_request_is_about_wins(terminology: Terminology) -> None:
    other = {"resourceType": "Patient", "id": "someone-else", "gender": "male"}
    record = build(terminology, other, patient(), patient_id=PATIENT_ID)
    assert (record.patient.id, record.patient.gender) == (PATIENT_ID, "female")
    assert record.skipped == {"other-patient-data": 1}


def test_data_about_another_patient_is_never_used(terminology: Terminology) -> None:
    mine = observation(K, 3.1, "mmol/L")
    theirs = observation(K, 2.1, "mmol/L")
    theirs["subject"] = {"reference": "Patient/someone-else"}
    absolute = observation(K, 2.2, "mmol/L")
    absolute["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/someone-else"}
    unresolvable = observation(K, 3.3, "mmol/L")
    unresolvable["subject"] = {"reference": "urn:uuid:0f8a6a1e-2f4c-4b53-9d58-5d3b7c1f2e10"}
    record = build(terminology, mine, theirs, absolute, unresolvable, patient_id=PATIENT_ID)
    assert sorted(lab.value or 0.0 for lab in record.labs["potassium"]) == [3.1, 3.3]
    assert record.skipped == {"other-patient-data": 2}


def test_a_deceased_patient_is_marked(terminology: Terminology) -> None:
    dead = {**patient(), "deceasedDateTime": "2020-01-01"}
    assert build(terminology, dead, patient_id=PATIENT_ID).patient.deceased
    assert not build(terminology, patient(), patient_id=PATIENT_ID).patient.deceased


# -- building: duplicates, bundles, order ----------------------------------------------------


def test_a_resource_seen_twice_is_read_once(terminology: Terminology) -> None:
    obs = observation(K, 3.1, "mmol/L")
    record = build(terminology, obs, dict(obs), obs)
    assert len(record.labs["potassium"]) == 1
    assert record.skipped == {"duplicate": 2}


def test_resources_without_an_id_are_never_duplicates(terminology: Terminology) -> None:
    a, b = observation(K, 3.1, "mmol/L"), observation(K, 3.2, "mmol/L")
    del a["id"], b["id"]
    assert len(build(terminology, a, b).labs["potassium"]) == 2


def test_iter_resources_flattens_nested_bundles_in_order() -> None:
    def bundle(*items: Any) -> dict[str, Any]:
        return {"resourceType": "Bundle", "entry": [{"resource": i} for i in items]}

    a, b, c, d = ({"resourceType": "Observation", "id": x} for x in "abcd")
    nested = bundle(a, bundle(b, bundle(c)), "junk", {"no": "type"}, d)
    nested["entry"].append(["not an entry"])
    assert [r["id"] for r in iter_resources(nested)] == ["a", "b", "c", "d"]
    assert list(iter_resources(a)) == [a]
    assert list(iter_resources(None)) == []
    assert list(iter_resources({"resourceType": "Bundle", "entry": "x"})) == []


def test_iter_resources_survives_deep_and_cyclic_nesting() -> None:
    deep: dict[str, Any] = {"resourceType": "Observation", "id": "leaf"}
    for _ in range(5_000):  # deeper than the recursion limit
        deep = {"resourceType": "Bundle", "entry": [{"resource": deep}]}
    assert [r["id"] for r in iter_resources(deep)] == ["leaf"]
    cyclic: dict[str, Any] = {"resourceType": "Bundle", "entry": []}
    cyclic["entry"] += [{"resource": cyclic}, {"resource": {"resourceType": "Patient"}}]
    assert len(list(iter_resources(cyclic))) == 1


# -- robustness: garbage is skipped and counted, the rest still counts --------------------------


GARBAGE: list[Any] = [
    "Observation",
    42,
    None,
    3.5,
    True,
    [],
    [[{"resourceType": "Observation"}]],
    {},
    {"resourceType": 7},
    {"resourceType": ["Observation"]},
    {"resourceType": None, "id": "x"},
    {"resourceType": "Observation"},
    {"resourceType": "Observation", "id": {"a": 1}, "code": "2823-3"},
    {"resourceType": "Observation", "code": {"coding": "2823-3"}},
    {"resourceType": "Observation", "code": {"coding": [["2823-3"]]}},
    {"resourceType": "Observation", "code": {"coding": [{"system": LOINC, "code": [K]}]}},
    {"resourceType": "Observation", "code": {"coding": [{"system": [LOINC], "code": K}]}},
    {
        "resourceType": "Observation",
        "id": "garbage-k-1",
        "status": ["final"],
        "code": {"coding": [{"system": LOINC, "code": K}]},
        "valueQuantity": {"value": 3.0, "unit": "mmol/L"},
    },
    {
        "resourceType": "Observation",
        "id": "garbage-k-2",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": K}]},
        "valueQuantity": "3.1 mmol/L",
        "effectiveDateTime": 20261101,
        "interpretation": "L",
        "referenceRange": {"low": 3.5},
    },
    {
        "resourceType": "Observation",
        "id": "garbage-k-3",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": K}]},
        "valueQuantity": {"value": "3.1", "unit": 5, "comparator": ["<"]},
        "effectivePeriod": "yesterday",
        "interpretation": [{"coding": [{"code": {"x": "L"}}]}, "H", [None]],
        "referenceRange": [None, "3.5-5.1", {"low": {"value": [3.5]}}],
    },
    {
        "resourceType": "Observation",
        "id": "garbage-k-4",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": K}]},
        "valueQuantity": {"value": 10**400, "unit": "mmol/L"},
        "effectiveDateTime": "0001-01-01T00:00:00+05:00",
    },
    {
        "resourceType": "Observation",
        "id": "garbage-k-5",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": K}]},
        "valueQuantity": {"value": math.nan, "unit": "mmol/L"},
        "effectiveDateTime": "9999-12-31T23:59:59-05:00",
    },
    {"resourceType": "Condition", "code": [], "clinicalStatus": 7, "onsetDateTime": {"a": 1}},
    {"resourceType": "Condition", "verificationStatus": {"coding": [{"code": ["refuted"]}]}},
    {"resourceType": "Condition", "code": {"coding": [{"system": SNOMED, "code": 38341003}]}},
    {"resourceType": "MedicationRequest", "medicationCodeableConcept": "furosemide"},
    {"resourceType": "MedicationRequest", "status": ["active"], "intent": {"x": 1}},
    {"resourceType": "MedicationRequest", "medicationReference": "Medication/1"},
    {"resourceType": "MedicationRequest", "medicationReference": {"reference": ["#a"]}},
    {
        "resourceType": "MedicationRequest",
        "medicationReference": {"reference": "#a"},
        "contained": "not a list",
    },
    {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": 4603}], "text": 5},
        "effectivePeriod": [when(3)],
    },
    {"resourceType": "Medication", "id": ["m"], "code": "furosemide"},
    {"resourceType": "Medication", "id": "m2", "code": [{"coding": []}]},
    {"resourceType": "Patient", "birthDate": 19550302, "gender": {"x": 1}, "id": 3},
    {"resourceType": "Encounter", "class": "IMP", "period": ["2020"], "status": 5},
    {"resourceType": "Encounter", "class": [{"code": "IMP"}], "reasonCode": {"coding": []}},
    {"resourceType": "Procedure", "performedPeriod": {"start": [], "end": {}}, "code": "x"},
    {"resourceType": "Procedure", "performedDateTime": 2026, "status": {"s": 1}},
    {"resourceType": "AllergyIntolerance", "code": "penicillin", "clinicalStatus": []},
    {"resourceType": "FamilyMemberHistory", "condition": "diabetes"},
    {"resourceType": "FamilyMemberHistory", "condition": [None, {"code": "x"}]},
    {"resourceType": "Bundle", "entry": "x"},
    {"resourceType": "OperationOutcome", "issue": "everything"},
]


def test_garbage_is_skipped_and_the_valid_result_still_counts(terminology: Terminology) -> None:
    valid = observation(K, 3.1, "mmol/L", days_ago=5, low=3.5, high=5.1)
    resources = [*GARBAGE[:20], valid, *GARBAGE[20:]]
    garbage_drafts: list[Any] = ["x", None, {"resourceType": "MedicationRequest", "status": 1}]
    record = RecordBuilder(terminology).build(
        resources, draft_orders=garbage_drafts, patient_id=PATIENT_ID
    )
    f = every_question(record, terminology)
    lab = LIBRARY.latest_lab(f, "potassium", within_days=90)
    assert lab is not None
    assert lab.reference == f"Observation/{valid['id']}"
    assert lab.value == 3.1
    assert LIBRARY.is_low(lab)
    # The non-objects and objects without a string resourceType are counted as such.
    assert record.skipped["malformed:not-a-resource"] == 11
    assert record.skipped["malformed:draftOrder"] == 2
    assert set(record.skipped) - SKIP_REASONS <= {
        k for k in record.skipped if k.startswith("malformed:")
    }
    assert record.patient.id == PATIENT_ID
    ask_everything(f, terminology)


def test_one_resource_that_breaks_a_reader_costs_only_itself(
    terminology: Terminology, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever a reader trips over (here: a value set lookup that raises), the rest is read.
    builder = RecordBuilder(terminology)

    def explode(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(builder, "_handlers", {**builder._handlers, "Procedure": explode})
    obs = observation(K, 3.1, "mmol/L")
    record = builder.build([procedure(DELIVERY), obs])
    assert record.skipped == {"malformed:Procedure": 1}
    assert len(record.labs["potassium"]) == 1


# -- real data: every HL7 R4 example and every Synthea bundle --------------------------------


def ask_everything(f: Facts, terminology: Terminology) -> None:
    """Every question Facts answers, for every value set (or analyte) it can be asked about."""
    for name in terminology.valueset_names:
        LIBRARY.active_medications(f, name)
        LIBRARY.medications_within(f, name, 365)
        LIBRARY.coded_conditions(f, name)
        LIBRARY.coded_conditions(f, name, include_history=True)
        LIBRARY.conditions_within(f, name, 90)
        LIBRARY.has_condition(f, name)
        LIBRARY.complaints_in(f, name)
        LIBRARY.procedures_within(f, name, 84)
        LIBRARY.allergies_to(f, name)
        LIBRARY.family_history_of(f, name)
    for analyte in (*LAB_ANALYTES, "pregnancy-status", "smoking-status"):
        for lab in LIBRARY.lab_results(f, analyte):
            LIBRARY.is_low(lab, 1.0)
            LIBRARY.is_high(lab, 1.0)
        LIBRARY.lab_results(f, analyte, within_days=90)
        LIBRARY.latest_lab(f, analyte, within_days=365)
    LIBRARY.drafted(record_of(f).medications)
    for med in record_of(f).medications:
        LIBRARY.is_active(f, med)
    assert f.age_years is None or f.age_years >= 0
    LIBRARY.inpatient_stays(f, min_days=3, ended_within_days=28)
    LIBRARY.current_pregnancy(f)
    LIBRARY.has_leg_complaint(f)


def every_question(record: PatientRecord, terminology: Terminology) -> Facts:
    """Facts that may ask about every value set of the terminology."""
    shared = RecordFacts(record, as_of=AS_OF, terminology=terminology)
    return Facts(shared, valuesets=terminology.valueset_names, reader="test")


def _json_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.json"))
    assert files, f"no test data in {directory}"
    return files


def _resources(path: Path) -> Iterator[Mapping[str, Any]]:
    return iter_resources(orjson.loads(path.read_bytes()))


@pytest.mark.parametrize("path", _json_files(HL7_EXAMPLES), ids=lambda p: p.stem)
def test_every_hl7_r4_example_builds(terminology: Terminology, path: Path) -> None:
    record = RecordBuilder(terminology).build(list(_resources(path)))
    ask_everything(every_question(record, terminology), terminology)


def test_all_hl7_r4_examples_at_once(terminology: Terminology) -> None:
    resources = [r for path in _json_files(HL7_EXAMPLES) for r in _resources(path)]
    record = RecordBuilder(terminology).build(resources, draft_orders=resources)
    assert not [k for k in record.skipped if k.startswith("malformed")]
    # The examples are valid FHIR: what is dropped is dropped for a clinical reason.
    assert set(record.skipped) <= SKIP_REASONS
    ask_everything(every_question(record, terminology), terminology)


@pytest.mark.parametrize("path", _json_files(SYNTHEA_BUNDLES), ids=lambda p: p.stem[:30])
def test_every_synthea_bundle_builds(terminology: Terminology, path: Path) -> None:
    resources = list(_resources(path))
    record = RecordBuilder(terminology).build(resources)
    assert not [k for k in record.skipped if k.startswith("malformed")]
    assert record.patient.birth_date is not None
    # Synthea writes every vital-sign panel: the index must find the BMI results.
    bmi = sum(
        1
        for r in resources
        if r.get("resourceType") == "Observation"
        and any(c.get("code") == "39156-5" for c in r["code"]["coding"])
    )
    assert len(record.labs.get("bmi", [])) == bmi
    ask_everything(every_question(record, terminology), terminology)


def test_synthetic_bundles_build(terminology: Terminology) -> None:
    from bench.synthetic import synthetic_bundle

    bundle = synthetic_bundle(2_000, seed=7)
    assert bundle == synthetic_bundle(2_000, seed=7)  # deterministic
    record = RecordBuilder(terminology).build(list(iter_resources(bundle)))
    assert record.labs["potassium"]
    assert record.medications
    assert record.skipped["unknown-unit"] > 0
    ask_everything(every_question(record, terminology), terminology)
