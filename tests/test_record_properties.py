"""Property tests for cds.record and cds.facts: odd but schema-shaped FHIR never breaks them.

Hypothesis generates Observations, Conditions, medication resources, Procedures, Encounters,
Patients and Medications whose optional fields are present or not, of the right JSON type or
of any other, with codes the rules read and codes they do not, units known and unknown, dates
full, partial, zoned, impossible or not dates at all, and numbers huge, negative, NaN or
infinite. Whatever comes:

- RecordBuilder.build never raises, is deterministic and leaves its input alone;
- every input resource ends up as at most one thing: an entry, or one skip count;
- what reaches an entry is normalised (aware UTC times, finite canonical values, labs newest
  first);
- every Facts question, for every value set, answers without raising.

Bounded (max_examples, small lists) so the module runs in a few seconds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds.facts import Facts, RecordFacts
from cds.fhirtime import parse_datetime
from cds.record import LAB_ANALYTES, PatientRecord, RecordBuilder
from cds.rules.lib.library import Library2026_11
from cds.terminology import ICD10CM, LOINC, RXNORM, SNOMED, Terminology, latest_release
from cds.terminology.units import CANONICAL_UNIT
from tests.test_record import SKIP_REASONS, ask_everything

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

TERMINOLOGY = Terminology.load(latest_release())
BUILDER = RecordBuilder(TERMINOLOGY)
BOUNDED = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- building blocks -------------------------------------------------------------------------

JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=2),
    st.dictionaries(st.text(max_size=3), st.one_of(st.none(), st.integers()), max_size=2),
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right shape, sometimes any other JSON value."""
    return st.one_of(strategy, strategy, strategy, JUNK)


def codes_of(*valuesets: str) -> list[tuple[str, str]]:
    """(system, code) pairs of value sets, as listed."""
    return sorted({pair for name in valuesets for pair in TERMINOLOGY.valueset(name).codes})


LAB_CODES = codes_of(*LAB_ANALYTES, "pregnancy-status", "smoking-status")
CONDITION_CODES = codes_of(
    "leg-complaint", "hypokalemia", "pregnancy", "ckd", "acute-dvt", "diabetes", "parkinsons"
)
DRUG_CODES = codes_of("loop-diuretics", "thiazide-diuretics", "statins", "neurotoxic-chemotherapy")
PROCEDURE_CODES = codes_of("delivery", "major-surgery", "dialysis")
INTERPRETATIONS = [
    ("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", code)
    for code in ("L", "LL", "H", "HH", "N", "<", ">")
]
OTHER_CODES = ["2093-3", "8302-2", "38341003", "G20.A1", "R25.2", "r252", " 4603 ", "316672"]

systems = st.sampled_from(
    [LOINC, SNOMED, ICD10CM, RXNORM, "urn:oid:2.16.840.1.113883.6.1", "http://example.org"]
)
texts = st.one_of(
    st.sampled_from(["Lasix 40mg", "furosemide", "simvastatin and magnesium", "Leg cramps"]),
    st.text(max_size=12),
)


def coding(pairs: list[tuple[str, str]]) -> st.SearchStrategy[Any]:
    """A coding of the set, as a real feed sends it; or one with any fields, of any type."""
    listed = st.sampled_from(pairs).map(lambda pair: {"system": pair[0], "code": pair[1]})
    odd = st.fixed_dictionaries(
        {},
        optional={
            "system": maybe(systems),
            "code": maybe(st.sampled_from([*(code for _, code in pairs), *OTHER_CODES])),
            "display": maybe(texts),
        },
    )
    return st.one_of(listed, listed, odd, JUNK)


def concept(pairs: list[tuple[str, str]]) -> st.SearchStrategy[Any]:
    return maybe(
        st.fixed_dictionaries(
            {"coding": maybe(st.lists(coding(pairs), min_size=1, max_size=3))},
            optional={"text": maybe(texts)},
        )
        | st.fixed_dictionaries({}, optional={"text": maybe(texts)})
    )


def status_concept(codes: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda c: {"coding": [{"code": c}]}, st.sampled_from(codes)),
        st.sampled_from(codes),  # the STU3 bare string
        JUNK,
    )


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
moments = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.one_of(st.none(), offsets),
)
recent = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.one_of(st.just(UTC), offsets),
)
partial = st.one_of(
    st.integers(min_value=0, max_value=10_000).map(lambda y: f"{y:04d}"),
    st.tuples(st.integers(0, 9999), st.integers(0, 13)).map(lambda t: f"{t[0]:04d}-{t[1]:02d}"),
    st.tuples(st.integers(1900, 2100), st.integers(0, 13), st.integers(0, 32)).map(
        lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"
    ),
)
dates: st.SearchStrategy[Any] = st.one_of(
    recent.map(lambda d: d.isoformat()),
    recent.map(lambda d: d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
    moments.map(lambda d: d.isoformat()),
    partial,
    st.sampled_from(
        [
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2026-02-29",
            "2026-11-21T24:00:00Z",
            "2026-11-21T12:00:00+25:00",
            "yesterday",
            "",
        ]
    ),
    JUNK,
)
numbers: st.SearchStrategy[Any] = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=200),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=10**300, max_value=10**400),  # too big for a float
    st.booleans(),
    st.text(max_size=4),
)
UNIT_SPELLINGS = ["mmol/L", "mEq/L", "mg/dL", "g/L", "g/dL", "%", "/min", "ng/mL", "nmol/L"]
UNIT_SPELLINGS += ["umol/L", "U/L", "wk", "d", "kg/m2"]
ODD_UNIT_SPELLINGS = ["mL/min", "mmol/mol", "MMOL/L", " mg / dL ", "µmol/L", "{score}"]
units = st.one_of(st.sampled_from([*UNIT_SPELLINGS, *ODD_UNIT_SPELLINGS]), st.text(max_size=6))


def period() -> st.SearchStrategy[Any]:
    return maybe(st.fixed_dictionaries({}, optional={"start": dates, "end": dates}))


def quantity() -> st.SearchStrategy[Any]:
    usual = st.fixed_dictionaries(
        {"value": st.floats(min_value=0, max_value=200), "code": canonical_units}
    )
    return usual | maybe(
        st.fixed_dictionaries(
            {},
            optional={
                "value": numbers,
                "unit": maybe(units),
                "code": maybe(units),
                "comparator": maybe(st.sampled_from(["<", "<=", ">", ">=", "ad"])),
            },
        )
    )


canonical_units = st.sampled_from(sorted(set(CANONICAL_UNIT.values())))
ids = maybe(st.sampled_from(["a", "b", "c", "d", "m1"]))


def listed(pairs: list[tuple[str, str]]) -> st.SearchStrategy[dict[str, Any]]:
    """A well-formed CodeableConcept with one coding of the set."""
    return st.sampled_from(pairs).map(
        lambda pair: {"coding": [{"system": pair[0], "code": pair[1]}], "text": pair[1]}
    )


def shaped(
    kind: str | st.SearchStrategy[str],
    usual: dict[str, st.SearchStrategy[Any]],
    odd: dict[str, st.SearchStrategy[Any]],
) -> st.SearchStrategy[Any]:
    """Half the time a plausible resource (the `usual` fields, well-formed) with odd extra
    fields; half the time every field optional and any shape. Either way schema-shaped."""
    kinds = st.just(kind) if isinstance(kind, str) else kind
    extras = {k: v for k, v in odd.items() if k not in usual}
    plausible = st.fixed_dictionaries({"resourceType": kinds, "id": ids, **usual}, optional=extras)
    anything = st.fixed_dictionaries({"resourceType": kinds}, optional={"id": ids, **odd})
    return st.one_of(plausible, anything)


usual_status = st.sampled_from(["final", "final", "amended", "corrected", "preliminary"])
# (LOINC coding, the analyte's canonical unit): a lab result the record reads.
LAB_RESULTS = [
    ((system, code), unit)
    for analyte, unit in CANONICAL_UNIT.items()
    for system, code in TERMINOLOGY.valueset(analyte).codes
    if system == LOINC
]
lab_code_and_value = st.sampled_from(LAB_RESULTS).flatmap(
    lambda result: st.fixed_dictionaries(
        {
            "code": st.just({"coding": [{"system": result[0][0], "code": result[0][1]}]}),
            "valueQuantity": st.fixed_dictionaries(
                {
                    "value": st.floats(min_value=0, max_value=500),
                    "code": st.just(result[1]) | st.just(result[1]) | units,
                },
                optional={"comparator": st.sampled_from(["<", "<=", ">", ">="])},
            ),
        }
    )
)
OBSERVATION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "status": maybe(st.sampled_from(["final", "amended", "corrected", "preliminary", "cancelled"])),
    "code": concept(LAB_CODES + CONDITION_CODES),
    "valueQuantity": quantity(),
    "valueCodeableConcept": concept(CONDITION_CODES),
    "effectiveDateTime": dates,
    "effectiveInstant": dates,
    "effectivePeriod": period(),
    "issued": dates,
    "interpretation": maybe(st.lists(concept(INTERPRETATIONS), max_size=2)),
    "referenceRange": maybe(
        st.lists(
            maybe(st.fixed_dictionaries({}, optional={"low": quantity(), "high": quantity()})),
            max_size=2,
        )
    ),
}
usual_dates = recent.map(lambda d: d.isoformat())
labs = st.tuples(
    shaped(
        "Observation",
        {"status": usual_status, "effectiveDateTime": usual_dates},
        {k: v for k, v in OBSERVATION_FIELDS.items() if k not in ("code", "valueQuantity")},
    ),
    lab_code_and_value,
).map(lambda t: {**t[0], **t[1]})
coded_answers = shaped(
    "Observation",
    {
        "status": usual_status,
        "code": listed(codes_of("pregnancy-status", "smoking-status", "leg-complaint")),
        "valueCodeableConcept": listed(CONDITION_CODES),
        "effectiveDateTime": usual_dates,
    },
    OBSERVATION_FIELDS,
)
observations = shaped("Observation", {}, OBSERVATION_FIELDS)

usual_period = st.tuples(recent, st.integers(0, 20)).map(
    lambda t: {"start": t[0].isoformat(), "end": (t[0] + timedelta(days=t[1])).isoformat()}
)
conditions = shaped(
    "Condition",
    {
        "clinicalStatus": st.sampled_from(["active", "resolved", "inactive"]).map(
            lambda c: {"coding": [{"code": c}]}
        ),
        "verificationStatus": st.sampled_from(["confirmed", "unconfirmed", "refuted"]).map(
            lambda c: {"coding": [{"code": c}]}
        ),
        "code": listed(CONDITION_CODES),
        "onsetDateTime": usual_dates,
    },
    {
        "clinicalStatus": status_concept(["active", "recurrence", "relapse", "resolved"]),
        "verificationStatus": status_concept(["confirmed", "refuted", "entered-in-error"]),
        "code": concept(CONDITION_CODES),
        "onsetDateTime": dates,
        "onsetPeriod": period(),
        "abatementDateTime": dates,
        "abatementPeriod": period(),
        "recordedDate": dates,
    },
)
REFERENCES = ["#m1", "Medication/m1", "urn:uuid:m1", "Medication/m1/_history/2"]
ODD_REFERENCES = ["Substance/m1", "Medication/", "#", "/"]
medications = shaped("Medication", {"code": listed(DRUG_CODES)}, {"code": concept(DRUG_CODES)})
medication_resources = shaped(
    st.sampled_from(["MedicationRequest", "MedicationStatement", "MedicationAdministration"]),
    {
        "status": st.sampled_from(["active", "on-hold", "completed", "stopped"]),
        "intent": st.sampled_from(["order", "plan", "proposal"]),
        "medicationCodeableConcept": listed(DRUG_CODES),
        "authoredOn": usual_dates,
    },
    {
        "status": maybe(
            st.sampled_from(["active", "on-hold", "completed", "stopped", "draft", "cancelled"])
        ),
        "intent": maybe(st.sampled_from(["order", "plan", "proposal", "option"])),
        "medicationCodeableConcept": concept(DRUG_CODES),
        "medicationReference": maybe(
            st.fixed_dictionaries(
                {},
                optional={"reference": maybe(st.sampled_from([*REFERENCES, *ODD_REFERENCES]))},
            )
        ),
        "contained": maybe(st.lists(maybe(medications), max_size=2)),
        "authoredOn": dates,
        "dispenseRequest": maybe(st.fixed_dictionaries({}, optional={"validityPeriod": period()})),
        "effectiveDateTime": dates,
        "effectivePeriod": period(),
    },
)
procedures = shaped(
    "Procedure",
    {
        "status": st.sampled_from(["completed", "in-progress"]),
        "code": listed(PROCEDURE_CODES),
        "performedPeriod": usual_period,
    },
    {
        "status": maybe(st.sampled_from(["completed", "in-progress", "not-done", "preparation"])),
        "code": concept(PROCEDURE_CODES),
        "performedDateTime": dates,
        "performedPeriod": period(),
    },
)
encounter_classes = st.sampled_from(["IMP", "AMB", "ACUTE"])
encounters = shaped(
    "Encounter",
    {
        "status": st.sampled_from(["finished", "in-progress"]),
        "class": encounter_classes.map(lambda c: {"code": c}),
        "period": usual_period,
    },
    {
        "status": maybe(st.sampled_from(["finished", "in-progress", "planned", "cancelled"])),
        "class": maybe(st.fixed_dictionaries({}, optional={"code": maybe(encounter_classes)})),
        "period": period(),
        "reasonCode": maybe(st.lists(concept(CONDITION_CODES), max_size=2)),
    },
)
patients = shaped(
    "Patient",
    {
        "birthDate": recent.map(lambda d: (d - timedelta(days=50 * 365)).date().isoformat()),
        "gender": st.sampled_from(["female", "male"]),
    },
    {"birthDate": dates, "gender": maybe(st.sampled_from(["female", "male", "other"]))},
)
others = shaped(
    st.sampled_from(["AllergyIntolerance", "FamilyMemberHistory", "Claim", "Bundle"]),
    {},
    {
        "code": concept(DRUG_CODES),
        "condition": maybe(
            st.lists(maybe(st.fixed_dictionaries({"code": concept(CONDITION_CODES)})))
        ),
        "clinicalStatus": status_concept(["active", "inactive"]),
        "verificationStatus": status_concept(["confirmed", "refuted"]),
    },
)
any_resource = st.one_of(
    labs,
    labs,
    coded_answers,
    observations,
    conditions,
    medication_resources,
    medications,
    procedures,
    encounters,
    patients,
    others,
)
as_of = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2060, 1, 1),
    timezones=st.one_of(st.just(UTC), offsets),
)


# -- properties --------------------------------------------------------------------------------


def produced(record: PatientRecord) -> int:
    return (
        len(record.medications)
        + len(record.conditions)
        + sum(len(entries) for entries in record.labs.values())
        + len(record.complaint_observations)
        + len(record.procedures)
        + len(record.encounters)
        + len(record.allergies)
        + len(record.family_history)
    )


@BOUNDED
@given(
    resources=st.lists(st.one_of(any_resource, any_resource, any_resource, JUNK), max_size=8),
    drafts=st.lists(st.one_of(medication_resources, JUNK), max_size=2),
    patient_id=st.one_of(st.none(), st.sampled_from(["a", "b"])),
)
def test_build_never_raises_and_accounts_for_every_resource(
    resources: list[Any], drafts: list[Any], patient_id: str | None
) -> None:
    before = repr((resources, drafts))
    record = BUILDER.build(resources, draft_orders=drafts, patient_id=patient_id)
    assert repr((resources, drafts)) == before  # the input is read, never changed
    again = BUILDER.build(resources, draft_orders=drafts, patient_id=patient_id)
    assert again == record  # deterministic

    assert all(count > 0 for count in record.skipped.values())
    assert all(k in SKIP_REASONS or k.startswith("malformed:") for k in record.skipped)
    # Each resource (and draft) became at most one thing: an entry, the Patient, or a count.
    patients = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Patient"]
    # A Patient plainly naming someone else is counted (other-patient-data), not kept.
    others = [
        p
        for p in patients
        if patient_id and isinstance(p.get("id"), str) and p["id"] not in ("", patient_id)
    ]
    kept_patient = 1 if len(patients) > len(others) else 0
    assert produced(record) + kept_patient + record.skipped.total() <= len(resources) + len(drafts)
    if patient_id:
        assert record.patient.id is not None


@BOUNDED
@given(resources=st.lists(any_resource, max_size=8))
def test_what_reaches_an_entry_is_normalised(resources: list[Any]) -> None:
    record = BUILDER.build(resources)
    for analyte, entries in record.labs.items():
        assert analyte in (*LAB_ANALYTES, "pregnancy-status", "smoking-status")
        stamps = [e.effective for e in entries]
        dated = [s for s in stamps if s is not None]
        assert stamps == [*dated, *[None] * (len(stamps) - len(dated))]  # undated last
        assert dated == sorted(dated, reverse=True)  # newest first
        for entry in entries:
            assert entry.analyte == analyte
            assert entry.value is None or (math.isfinite(entry.value) and entry.value >= 0)
            assert entry.raw_value is None or math.isfinite(entry.raw_value)
            for bound in (entry.reference_low, entry.reference_high):
                assert bound is None or math.isfinite(bound)
            assert all(isinstance(code, str) and code for code in entry.interpretation)
    times = [
        *(t for m in record.medications for t in (m.start, m.end)),
        *(t for c in record.conditions for t in (c.onset, c.recorded, c.abatement)),
        *(t for p in record.procedures for t in (p.start, p.end)),
        *(t for e in record.encounters for t in (e.start, e.end)),
        *(e.effective for entries in record.labs.values() for e in entries),
    ]
    assert all(t is None or t.utcoffset() == timedelta(0) for t in times)
    for med in record.medications:
        assert med.ingredients  # only drugs some value set knows
        assert med.status not in ("entered-in-error", "cancelled", "not-taken") or med.drafted


@BOUNDED
@given(
    resources=st.lists(any_resource, max_size=6),
    drafts=st.lists(medication_resources, max_size=1),
    when=as_of,
)
def test_every_facts_question_answers(
    resources: list[Any], drafts: list[Any], when: datetime
) -> None:
    record = BUILDER.build(resources, draft_orders=drafts)
    shared = RecordFacts(record, as_of=when, terminology=TERMINOLOGY)
    facts = Facts(shared, valuesets=TERMINOLOGY.valueset_names, reader="test")
    ask_everything(facts, TERMINOLOGY)
    pregnancy = LIBRARY.current_pregnancy(facts)
    if pregnancy is not None:
        assert pregnancy.gestational_weeks is None or pregnancy.gestational_weeks <= 42
    for stay in LIBRARY.inpatient_stays(facts, min_days=3, ended_within_days=28):
        assert stay.class_code in ("IMP", "ACUTE", "NONAC")


@BOUNDED
@given(value=st.one_of(dates, moments.map(lambda d: d.isoformat()), st.text()))
def test_parse_datetime_is_total_and_utc(value: Any) -> None:
    parsed = parse_datetime(value)
    assert parsed is None or parsed.utcoffset() == timedelta(0)


@BOUNDED
@given(moment=moments)
def test_parse_datetime_reads_back_any_datetime_it_can_hold(moment: datetime) -> None:
    parsed = parse_datetime(moment.isoformat())
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        expected = aware.astimezone(UTC)
    except OverflowError:  # outside years 1-9999 once in UTC
        assert parsed is None
    else:
        assert parsed == expected
