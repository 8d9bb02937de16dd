"""chemo-neuropathy (clinical-content.md §6), every version."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import (
    ICD10,
    PATIENT_ID,
    RXNORM,
    SNOMED,
    condition,
    draft_order,
    encounter,
    medication_request,
    observation,
    when,
)
from tests.support.rules import fired_rule, rule_fixture, run_rule

VINCRISTINE = "11202"
VINCRISTINE_PRODUCT = "1863343"  # 1 ML vincristine sulfate 1 MG/ML Injection
OXALIPLATIN = "32592"
B12 = "2132-9"
HBA1C = "4548-4"

_ids = itertools.count(1)

rule = rule_fixture("chemo-neuropathy")


def administration(code: str | None, display: str, *, days_ago: int) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": display}
    if code is not None:
        concept["coding"] = [{"system": RXNORM, "code": code, "display": display}]
    return {
        "resourceType": "MedicationAdministration",
        "id": f"ma-{next(_ids)}",
        "status": "completed",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": concept,
        "effectiveDateTime": when(days_ago),
    }


def vincristine_given(days_ago: int = 60) -> dict[str, Any]:
    return administration(VINCRISTINE, "vincristine", days_ago=days_ago)


def drug_neuropathy(**kwargs: Any) -> dict[str, Any]:
    return condition("G62.0", system=ICD10, display="Drug-induced polyneuropathy", **kwargs)


def leg_cramp() -> dict[str, Any]:
    return condition("R25.2", system=ICD10, display="Cramp and spasm")


@pytest.mark.rule_versions(until="1.0.0")
def test_neuropathy_coded_after_vincristine_is_a_warning_without_complaint(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, vincristine_given(60), drug_neuropathy())
    assert finding.severity == "warning"
    assert finding.summary == (
        "Peripheral neuropathy on record with vincristine in the last 12 months: "
        "chemotherapy-induced neuropathy may explain leg pain."
    )
    assert finding.evidence[0].value == "completed, last given 60 days ago"
    assert any("G62.0" in e.value for e in finding.evidence)
    assert not finding.involves_draft_order
    assert finding.specificity < 40


@pytest.mark.rule_versions(until="1.0.0")
def test_complaint_without_neuropathy_code_is_info_with_catalog_summary(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, vincristine_given(30), leg_cramp())
    assert finding.severity == "info"
    assert finding.summary == (
        "Recent vincristine can cause painful peripheral neuropathy; consider as cause of leg pain."
    )


def test_restless_legs_complaint_counts_as_neuropathic_context(rule: RuleVersion) -> None:
    rls = condition("32914008", system=SNOMED, display="Restless legs")
    assert fired_rule(rule, vincristine_given(30), rls).severity == "info"


def test_no_complaint_and_no_neuropathy_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, vincristine_given(30)) is None


def test_leg_swelling_alone_is_not_a_neuropathic_complaint(rule: RuleVersion) -> None:
    swelling = condition("R60.0", system=ICD10, display="Localized edema")
    assert run_rule(rule, vincristine_given(30), swelling) is None


def test_neuropathy_without_chemotherapy_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, drug_neuropathy(), leg_cramp()) is None


@pytest.mark.parametrize(("days_ago", "fires"), [(365, True), (366, False)])
def test_twelve_month_exposure_window(rule: RuleVersion, days_ago: int, fires: bool) -> None:
    finding = run_rule(rule, vincristine_given(days_ago), drug_neuropathy())
    assert (finding is not None) is fires


@pytest.mark.rule_versions(until="1.0.0")
def test_stopped_order_counts_while_within_twelve_months(rule: RuleVersion) -> None:
    order = medication_request(
        OXALIPLATIN, "oxaliplatin", status="stopped", days_ago=400, ended_days_ago=300
    )
    finding = fired_rule(rule, order, drug_neuropathy())
    assert finding.severity == "warning"
    assert "oxaliplatin" in finding.summary
    assert finding.evidence[0].value == "stopped, last ordered or taken 300 days ago"


def test_order_stopped_over_twelve_months_ago_is_ignored(rule: RuleVersion) -> None:
    order = medication_request(
        OXALIPLATIN, "oxaliplatin", status="stopped", days_ago=500, ended_days_ago=366
    )
    assert run_rule(rule, order, drug_neuropathy(), leg_cramp()) is None


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_or_erroneous_neuropathy_is_ignored(rule: RuleVersion, status: str) -> None:
    assert run_rule(rule, vincristine_given(), drug_neuropathy(verification_status=status)) is None


def test_resolved_neuropathy_does_not_make_a_warning(rule: RuleVersion) -> None:
    resolved = drug_neuropathy(clinical_status="resolved", onset_days_ago=400)
    assert run_rule(rule, vincristine_given(), resolved) is None


def test_product_code_is_matched_to_its_ingredient(rule: RuleVersion) -> None:
    product = administration(
        VINCRISTINE_PRODUCT, "1 ML vincristine sulfate 1 MG/ML Injection", days_ago=20
    )
    finding = fired_rule(rule, product, drug_neuropathy())
    assert "vincristine" in finding.summary
    assert not any("name only" in c for c in finding.cautions)


def test_text_only_match_is_flagged_low_confidence(rule: RuleVersion) -> None:
    uncoded = administration(None, "Vincristine infusion", days_ago=20)
    finding = fired_rule(rule, uncoded, drug_neuropathy())
    assert finding.evidence[0].note.startswith("matched by name only")
    assert any("Vincristine infusion" in c for c in finding.cautions)


def test_drafted_order_sets_involves_draft_order(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        drug_neuropathy(),
        draft_orders=[draft_order(VINCRISTINE, "vincristine")],
    )
    assert finding.severity == "warning"
    assert finding.involves_draft_order
    assert "being ordered" in finding.summary


def test_drafted_order_with_complaint_only_is_info(rule: RuleVersion) -> None:
    finding = fired_rule(rule, leg_cramp(), draft_orders=[draft_order(VINCRISTINE, "vincristine")])
    assert finding.severity == "info"
    assert finding.involves_draft_order
    assert finding.summary.startswith("Vincristine being ordered")


def test_cofactor_tests_suggested_only_when_missing(rule: RuleVersion) -> None:
    finding = fired_rule(rule, vincristine_given(), drug_neuropathy())
    assert [s.loinc for s in finding.suggestions] == [B12, HBA1C]
    measured = fired_rule(
        rule,
        vincristine_given(),
        drug_neuropathy(),
        observation(B12, 450, "pg/mL", days_ago=100),
        observation(HBA1C, 5.4, "%", days_ago=100),
    )
    assert measured.suggestions == ()


def test_diabetes_is_named_as_a_cofactor(rule: RuleVersion) -> None:
    diabetes = condition("44054006", display="Diabetes mellitus type 2 (disorder)")
    finding = fired_rule(rule, vincristine_given(), drug_neuropathy(), diabetes)
    assert any(c.startswith("Diabetes is also on record") for c in finding.cautions)


def test_chemotherapy_history_code_is_evidence_not_a_trigger(rule: RuleVersion) -> None:
    history = condition(
        "Z92.21", system=ICD10, display="Personal history of antineoplastic chemotherapy"
    )
    assert run_rule(rule, history, drug_neuropathy()) is None
    finding = fired_rule(rule, vincristine_given(), drug_neuropathy(), history)
    assert any("Z92.21" in e.value for e in finding.evidence)


def test_exam_caution_always_present(rule: RuleVersion) -> None:
    finding = fired_rule(rule, vincristine_given(), leg_cramp())
    assert any("cannot be assessed from the record" in c for c in finding.cautions)


# -- 1.1.0: §22.2 c, d, e, wording, short card -------------------------------------------------


def with_therapy_end(order: dict[str, Any], *, days_ago: float) -> dict[str, Any]:
    order["dosageInstruction"] = [
        {"timing": {"repeat": {"boundsPeriod": {"start": when(500), "end": when(days_ago)}}}}
    ]
    return order


@pytest.mark.rule_versions(since="1.1.0")
def test_coded_neuropathy_without_complaint_names_no_leg_pain(rule: RuleVersion) -> None:
    finding = fired_rule(rule, vincristine_given(60), drug_neuropathy())
    assert finding.severity == "warning"
    assert not finding.candidate
    assert finding.summary == (
        "Peripheral neuropathy on record with vincristine in the last 12 months: possibly "
        "chemotherapy-induced."
    )
    assert finding.evidence[0].value == "completed, last given 60 days ago"


@pytest.mark.rule_versions(since="1.1.0")
def test_coded_neuropathy_with_a_complaint_names_it(rule: RuleVersion) -> None:
    finding = fired_rule(rule, vincristine_given(60), drug_neuropathy(), leg_cramp())
    assert finding.summary.endswith("chemotherapy-induced neuropathy may explain the leg cramps.")
    assert not finding.candidate


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("complaint", "words"),
    [
        (("R25.2", "Cramp and spasm"), "the leg cramps."),
        (("M79.606", "Pain in leg, unspecified"), "the leg pain."),
        (("G25.81", "Restless legs syndrome"), "the restless legs."),
    ],
)
def test_candidate_card_names_the_complaint_on_record(
    rule: RuleVersion, complaint: tuple[str, str], words: str
) -> None:
    code, display = complaint
    finding = fired_rule(
        rule, vincristine_given(30), condition(code, system=ICD10, display=display)
    )
    assert finding.severity == "info"
    assert finding.candidate
    assert finding.summary == (
        "Recent vincristine can cause painful peripheral neuropathy; consider it as a cause of "
        + words
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_complaint_as_a_visit_reason_counts(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=10, reason=(ICD10, "M79.606"))
    assert fired_rule(rule, vincristine_given(30), visit).severity == "info"


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended_days_ago", "fires"), [(365, True), (366, False)])
def test_stopped_order_counts_for_twelve_months_after_its_therapy_end(
    rule: RuleVersion, ended_days_ago: int, fires: bool
) -> None:
    order = with_therapy_end(
        medication_request(OXALIPLATIN, "oxaliplatin", status="stopped", days_ago=500),
        days_ago=ended_days_ago,
    )
    finding = run_rule(rule, order, drug_neuropathy())
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.evidence[0].value == f"stopped, therapy ended {ended_days_ago} days ago"


@pytest.mark.rule_versions(since="1.1.0")
def test_dispensing_window_is_not_the_end_of_exposure(rule: RuleVersion) -> None:
    # Stopped, ordered 400 days ago, its dispensing window ended 300 days ago, no therapy end:
    # last ordered 400 days ago, beyond 12 months.
    stopped = medication_request(
        OXALIPLATIN, "oxaliplatin", status="stopped", days_ago=400, ended_days_ago=300
    )
    assert run_rule(rule, stopped, drug_neuropathy()) is None
    # Still active although its dispensing window ended long ago: exposure.
    active = medication_request(OXALIPLATIN, "oxaliplatin", days_ago=500, ended_days_ago=400)
    assert fired_rule(rule, active, drug_neuropathy()).severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_proposal_is_not_exposure(rule: RuleVersion) -> None:
    proposal = medication_request(OXALIPLATIN, "oxaliplatin", intent="proposal", days_ago=10)
    assert run_rule(rule, proposal, drug_neuropathy()) is None


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("code", "display"),
    [
        ("G62.2", "Polyneuropathy due to other toxic agents"),
        ("G61.9", "Inflammatory polyneuropathy, unspecified"),
    ],
)
def test_wider_neuropathy_codes_count(rule: RuleVersion, code: str, display: str) -> None:
    neuropathy = condition(code, system=ICD10, display=display)
    assert fired_rule(rule, vincristine_given(30), neuropathy).severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
def test_wider_cofactor_codes_are_named(rule: RuleVersion) -> None:
    alcohol = condition("F10.10", system=ICD10, display="Alcohol abuse, uncomplicated")
    finding = fired_rule(rule, vincristine_given(30), drug_neuropathy(), alcohol)
    assert any(c.startswith("Alcohol use disorder is also on record") for c in finding.cautions)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_course_of_infusions_is_one_evidence_line(rule: RuleVersion) -> None:
    course = [vincristine_given(days) for days in (14, 35, 56, 77, 98, 119)]
    oxaliplatin = administration(OXALIPLATIN, "oxaliplatin", days_ago=20)
    finding = fired_rule(
        rule,
        *course,
        oxaliplatin,
        drug_neuropathy(),
        condition("44054006", display="Diabetes mellitus type 2 (disorder)"),
        leg_cramp(),
        administration(None, "Paclitaxel infusion", days_ago=40),
    )
    labels = [e.label for e in finding.evidence]
    assert labels.count("vincristine") == 1
    assert finding.evidence[0].value == "completed, last given 14 days ago"
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    assert finding.explanation.count(". ") <= 1
    assert len(finding.explanation) <= 330


@pytest.mark.rule_versions(since="1.1.0")
def test_source_is_the_asco_guideline(rule: RuleVersion) -> None:
    assert rule.source_label == "ASCO CIPN guideline 2020"
    assert rule.provenance.url == "https://doi.org/10.1200/JCO.20.01399"
