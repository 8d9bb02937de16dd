"""statin-muscle-symptoms (clinical-content.md §4), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding, RuleVersion
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

CK = "2157-6"
TSH = "3016-3"
VITAMIN_D = "62292-8"
EGFR = "98979-8"

rule = rule_fixture("statin-muscle-symptoms")


def atorvastatin(**kwargs: Any) -> dict[str, Any]:
    return medication_request("617312", "atorvastatin 10 MG Oral Tablet", **kwargs)


def simvastatin(**kwargs: Any) -> dict[str, Any]:
    return medication_request("36567", "Simvastatin", **kwargs)


def leg_cramps() -> dict[str, Any]:
    return condition("G47.62", system=ICD10, display="Sleep related leg cramps")


def allergy(code: str, display: str, *, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": f"allergy-{code}",
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": status,
                }
            ]
        },
        "code": {"coding": [{"system": RXNORM, "code": code, "display": display}]},
    }


def loincs(finding: Finding) -> list[str | None]:
    return [s.loinc for s in finding.suggestions]


# -- CK ----------------------------------------------------------------------------------------


@pytest.mark.rule_versions(until="1.0.0")
def test_ck_over_ten_times_uln_is_critical_on_any_chart(rule: RuleVersion) -> None:
    ck = observation(CK, 2450, "U/L", days_ago=3, low=30, high=200)
    finding = fired_rule(rule, atorvastatin(), ck)
    assert finding.severity == "critical"
    assert finding.summary == (
        "CK 2,450 U/L (>10× ULN) on atorvastatin: possible statin myopathy or "
        "rhabdomyolysis; review urgently."
    )
    assert "urine for myoglobin" in finding.cautions[0]
    assert loincs(finding)[:1] == ["2157-6"]
    assert "51990-0" in loincs(finding)
    assert finding.labs == (("creatine-kinase", f"Observation/{ck['id']}"),)


@pytest.mark.parametrize(
    ("value", "severity"),
    [(2001, "critical"), (2000, "warning"), (201, "warning")],
)
def test_ck_multiples_of_uln(rule: RuleVersion, value: float, severity: str) -> None:
    ck = observation(CK, value, "U/L", low=30, high=200)
    assert fired_rule(rule, atorvastatin(), ck).severity == severity


def test_ck_at_uln_is_not_raised(rule: RuleVersion) -> None:
    assert run_rule(rule, atorvastatin(), observation(CK, 200, "U/L", high=200)) is None


def test_ck_warning_summary_names_uln(rule: RuleVersion) -> None:
    finding = fired_rule(rule, atorvastatin(), observation(CK, 650, "U/L", high=190))
    assert finding.severity == "warning"
    assert finding.summary.startswith("CK 650 U/L (above ULN 190) on atorvastatin:")


def test_ck_in_ukat_is_converted(rule: RuleVersion) -> None:
    # 40 µkat/L × 60 = 2,400 U/L against a ULN of 3.3 µkat/L (198 U/L): > 10× ULN.
    ck = observation(CK, 40, "ukat/L", high=3.3)
    finding = fired_rule(rule, atorvastatin(), ck)
    assert finding.severity == "critical"
    assert "CK 2,400 U/L" in finding.summary


def test_ck_without_range_uses_flag_and_cannot_be_critical(rule: RuleVersion) -> None:
    ck = observation(CK, 9000, "U/L", interpretation="HH")
    finding = fired_rule(rule, atorvastatin(), ck)
    assert finding.severity == "warning"
    assert any("no reference range" in c for c in finding.cautions)
    # Without a flag or a range there is no ULN to compare with.
    assert run_rule(rule, atorvastatin(), observation(CK, 9000, "U/L")) is None


def test_ck_window_is_30_days(rule: RuleVersion) -> None:
    at_30 = observation(CK, 900, "U/L", high=200, days_ago=30)
    at_31 = observation(CK, 900, "U/L", high=200, days_ago=31)
    assert fired_rule(rule, atorvastatin(), at_30).severity == "warning"
    assert run_rule(rule, atorvastatin(), at_31) is None


def test_raised_ck_without_a_statin_is_not_this_rule(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(CK, 5000, "U/L", high=200)) is None


# -- conditions ------------------------------------------------------------------------------


def test_rhabdomyolysis_code_on_a_statin_is_critical(rule: RuleVersion) -> None:
    rhabdo = condition("M62.82", system=ICD10, display="Rhabdomyolysis")
    finding = fired_rule(rule, simvastatin(), rhabdo)
    assert finding.severity == "critical"
    assert finding.summary.startswith("Rhabdomyolysis or myoglobinuria on record while on")
    assert "2157-6" in loincs(finding)


def test_sams_code_is_a_warning(rule: RuleVersion) -> None:
    sams = condition("16462851000119106", system=SNOMED, display="Myalgia caused by statin")
    finding = fired_rule(rule, atorvastatin(), sams)
    assert finding.severity == "warning"
    assert finding.summary.startswith("Statin muscle symptoms or myopathy on record")
    # Predisposing conditions are looked for when muscle symptoms are present.
    assert loincs(finding) == ["2157-6", "3016-3", "62292-8", "51990-0"]


def test_refuted_and_resolved_codes_are_ignored(rule: RuleVersion) -> None:
    refuted = condition("M62.82", system=ICD10, verification_status="refuted")
    error = condition("G72.0", system=ICD10, verification_status="entered-in-error")
    resolved = condition("G72.0", system=ICD10, clinical_status="resolved", abated_days_ago=200)
    assert run_rule(rule, atorvastatin(), refuted, error, resolved) is None


# -- intolerance -----------------------------------------------------------------------------


def test_intolerance_of_the_active_statin_is_a_warning(rule: RuleVersion) -> None:
    finding = fired_rule(rule, simvastatin(), allergy("36567", "Simvastatin"))
    assert finding.severity == "warning"
    assert finding.summary.startswith("Simvastatin intolerance is recorded, yet simvastatin")


def test_intolerance_of_another_statin_is_only_listed(rule: RuleVersion) -> None:
    # Switched to rosuvastatin after simvastatin intolerance: no card by itself ...
    rosuvastatin = medication_request("301542", "rosuvastatin")
    assert run_rule(rule, rosuvastatin, allergy("36567", "Simvastatin")) is None
    # ... but listed when the card fires for another reason.
    finding = fired_rule(
        rule,
        rosuvastatin,
        allergy("36567", "Simvastatin"),
        observation(CK, 500, "U/L", high=200),
    )
    assert any("Simvastatin" in e.label for e in finding.evidence)


# -- interactions ----------------------------------------------------------------------------


def test_simvastatin_with_clarithromycin_is_a_warning(rule: RuleVersion) -> None:
    clarithromycin = medication_request("21212", "Clarithromycin")
    finding = fired_rule(rule, simvastatin(), clarithromycin)
    assert finding.severity == "warning"
    assert finding.summary == (
        "Simvastatin with clarithromycin raises myopathy risk; muscle pain may be statin-related."
    )
    # An interaction alone is no indication for TSH or vitamin D testing.
    assert loincs(finding) == ["2157-6"]


def test_high_risk_combination_is_named_when_ck_leads(rule: RuleVersion) -> None:
    clarithromycin = medication_request("21212", "Clarithromycin")
    ck = observation(CK, 2600, "U/L", high=200)
    finding = fired_rule(rule, simvastatin(), clarithromycin, ck)
    assert finding.severity == "critical"
    assert "high-risk combination (simvastatin with clarithromycin)" in finding.explanation


def test_atorvastatin_with_clarithromycin_is_only_a_modifier(rule: RuleVersion) -> None:
    clarithromycin = medication_request("21212", "Clarithromycin")
    assert run_rule(rule, atorvastatin(), clarithromycin) is None
    finding = fired_rule(rule, atorvastatin(), clarithromycin, leg_cramps())
    assert finding.severity == "info"
    assert "interacting drug (clarithromycin)" in finding.explanation


def test_lovastatin_product_with_itraconazole_is_a_warning(rule: RuleVersion) -> None:
    """The CYP3A4-sensitive statins come from their value set, so a product code counts."""
    lovastatin = medication_request("197904", "lovastatin 20 MG Oral Tablet")
    itraconazole = medication_request("28031", "Itraconazole")
    finding = fired_rule(rule, lovastatin, itraconazole)
    assert finding.severity == "warning"
    assert finding.summary.startswith("Lovastatin with itraconazole raises myopathy risk")


def test_any_statin_with_gemfibrozil_is_a_warning(rule: RuleVersion) -> None:
    gemfibrozil = medication_request("4719", "Gemfibrozil")
    finding = fired_rule(rule, atorvastatin(), gemfibrozil)
    assert finding.severity == "warning"
    assert finding.summary.startswith("Atorvastatin with gemfibrozil raises myopathy risk")


def test_drafted_interacting_drug_involves_the_order(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        simvastatin(),
        draft_orders=[draft_order("21212", "Clarithromycin")],
    )
    assert finding.severity == "warning"
    assert finding.involves_draft_order


def test_combination_product_is_not_its_own_interaction(rule: RuleVersion) -> None:
    combo = medication_request("404011", "amlodipine 5 MG / atorvastatin 80 MG Oral Tablet")
    finding = fired_rule(rule, combo, leg_cramps())
    assert finding.severity == "info"
    assert "interacting drug" not in finding.explanation


# -- info: complaint, no CK ----------------------------------------------------------------


def test_statin_with_leg_cramps_and_no_ck_is_info(rule: RuleVersion) -> None:
    finding = fired_rule(rule, atorvastatin(), leg_cramps())
    assert finding.severity == "info"
    assert finding.summary == (
        "Leg cramps on atorvastatin with no CK in 90 days: statin muscle symptoms possible; "
        "consider a CK."
    )
    assert loincs(finding) == ["2157-6", "3016-3", "62292-8", "51990-0"]


def test_statin_without_complaint_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, atorvastatin()) is None


def test_restless_legs_is_not_a_cramp_complaint(rule: RuleVersion) -> None:
    rls = condition("32914008", system=SNOMED, display="Restless legs")
    assert run_rule(rule, atorvastatin(), rls) is None


def test_ck_within_90_days_silences_the_info_card(rule: RuleVersion) -> None:
    normal_ck_89 = observation(CK, 120, "U/L", high=200, days_ago=89)
    assert run_rule(rule, atorvastatin(), leg_cramps(), normal_ck_89) is None
    normal_ck_91 = observation(CK, 120, "U/L", high=200, days_ago=91)
    assert fired_rule(rule, atorvastatin(), leg_cramps(), normal_ck_91).severity == "info"


def test_drafted_statin_with_cramps_involves_the_order(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        leg_cramps(),
        draft_orders=[draft_order("83367", "atorvastatin")],
    )
    assert finding.severity == "info"
    assert finding.involves_draft_order


# -- active medication ---------------------------------------------------------------------


@pytest.mark.rule_versions(until="1.0.0")
def test_statin_ended_within_30_days_still_counts(rule: RuleVersion) -> None:
    ck = observation(CK, 900, "U/L", high=200)
    recent = atorvastatin(status="stopped", days_ago=200, ended_days_ago=30)
    assert fired_rule(rule, recent, ck).severity == "warning"
    old = atorvastatin(status="stopped", days_ago=200, ended_days_ago=31)
    assert run_rule(rule, old, ck) is None


def test_text_only_statin_is_flagged_low_confidence(rule: RuleVersion) -> None:
    by_name = medication_request(None, "Simvistatin 10 MG")
    finding = fired_rule(rule, by_name, leg_cramps())
    assert finding.severity == "info"
    assert any("name only" in c for c in finding.cautions)
    assert finding.evidence[0].note


# -- modifiers -------------------------------------------------------------------------------


def test_predisposing_factors_are_listed(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        atorvastatin(),
        observation(CK, 500, "U/L", high=200),
        observation(TSH, 8.2, "mIU/L", high=4.2),
        observation(VITAMIN_D, 30, "nmol/L"),  # 12.0 ng/mL
        observation(EGFR, 48, "mL/min/{1.73_m2}"),
    )
    assert finding.severity == "warning"
    assert "TSH above range (8.2 mIU/L)" in finding.explanation
    assert "25-OH vitamin D below 20 ng/mL (12 ng/mL)" in finding.explanation
    assert "eGFR below 60 (48)" in finding.explanation
    # Already measured: not suggested again.
    assert loincs(finding) == []


def test_egfr_at_60_is_not_a_modifier(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule, atorvastatin(), leg_cramps(), observation(EGFR, 60, "mL/min/{1.73_m2}")
    )
    assert "eGFR" not in finding.explanation


# -- 1.1.0: §22 ------------------------------------------------------------------------------


def with_therapy_end(order: dict[str, Any], *, days_ago: float) -> dict[str, Any]:
    """The order's therapy (dosage bounds) ended `days_ago` (§22.2 d: this, not the dispensing
    window, ends it)."""
    order["dosageInstruction"] = [
        {"timing": {"repeat": {"boundsPeriod": {"start": when(400), "end": when(days_ago)}}}}
    ]
    return order


def held(finding: Finding) -> list[tuple[str, str]]:
    return [(a.medication.reference, a.verb) for a in finding.medication_actions]


@pytest.mark.rule_versions(since="1.1.0")
def test_active_order_past_its_dispensing_window_with_ck_13x_uln_is_critical(
    rule: RuleVersion,
) -> None:
    """The review's missed card: the order is still active, its dispensing window ended weeks
    ago, and the CK is 13x the upper limit."""
    order = atorvastatin(days_ago=120, ended_days_ago=40)  # validityPeriod ended 40 days ago
    ck = observation(CK, 2600, "U/L", days_ago=2, low=30, high=200)
    finding = fired_rule(rule, order, ck)
    assert finding.severity == "critical"
    assert finding.summary.startswith("CK 2,600 U/L (>10× ULN) on atorvastatin")
    assert held(finding) == [(f"MedicationRequest/{order['id']}", "hold")]
    assert not finding.candidate


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended_days_ago", "fires"), [(30, True), (31, False)])
def test_therapy_end_counts_for_30_days(
    rule: RuleVersion, ended_days_ago: int, fires: bool
) -> None:
    ck = observation(CK, 900, "U/L", high=200)
    for status in ("active", "stopped"):
        order = with_therapy_end(atorvastatin(status=status, days_ago=200), days_ago=ended_days_ago)
        assert (run_rule(rule, order, ck) is not None) is fires, status


@pytest.mark.rule_versions(since="1.1.0")
def test_stopped_order_without_therapy_end_counts_from_when_it_was_ordered(
    rule: RuleVersion,
) -> None:
    ck = observation(CK, 900, "U/L", high=200)
    assert run_rule(rule, atorvastatin(status="stopped", days_ago=30), ck) is not None
    assert run_rule(rule, atorvastatin(status="stopped", days_ago=31), ck) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_proposed_statin_is_not_taken(rule: RuleVersion) -> None:
    ck = observation(CK, 2600, "U/L", high=200)
    assert run_rule(rule, atorvastatin(intent="proposal"), ck) is None
    assert fired_rule(rule, atorvastatin(intent="plan"), ck).severity == "critical"


@pytest.mark.rule_versions(since="1.1.0")
def test_critical_card_advises_holding_the_statin(rule: RuleVersion) -> None:
    ck = observation(CK, 2450, "U/L", days_ago=3, low=30, high=200)
    order = atorvastatin()
    finding = fired_rule(rule, order, ck)
    assert finding.severity == "critical"
    assert held(finding) == [(f"MedicationRequest/{order['id']}", "hold")]
    assert "hold the statin" in finding.explanation
    assert "urine myoglobin" in finding.cautions[0]
    # What holding the statin needs: the CK's course and renal function, nothing else.
    assert loincs(finding) == ["2157-6", "51990-0"]
    assert finding.labs == (("creatine-kinase", f"Observation/{ck['id']}"),)


@pytest.mark.rule_versions(since="1.1.0")
def test_drafted_statin_with_critical_ck_is_to_be_removed(rule: RuleVersion) -> None:
    ck = observation(CK, 2450, "U/L", low=30, high=200)
    finding = fired_rule(rule, ck, draft_orders=[draft_order("83367", "atorvastatin")])
    assert finding.severity == "critical"
    assert finding.involves_draft_order
    assert [a.medication.drafted for a in finding.medication_actions] == [True]


@pytest.mark.rule_versions(since="1.1.0")
def test_coded_rhabdomyolysis_advises_holding_too(rule: RuleVersion) -> None:
    rhabdo = condition("M62.82", system=ICD10, display="Rhabdomyolysis")
    finding = fired_rule(rule, simvastatin(), rhabdo)
    assert finding.severity == "critical"
    assert [verb for _, verb in held(finding)] == ["hold"]
    assert finding.explanation.startswith("Rhabdomyolysis or myoglobinuria on a statin")


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("value", "severity"), [(2001, "critical"), (2000, "warning")])
def test_only_a_critical_card_holds_the_statin(
    rule: RuleVersion, value: float, severity: str
) -> None:
    finding = fired_rule(rule, atorvastatin(), observation(CK, value, "U/L", high=200))
    assert finding.severity == severity
    assert bool(finding.medication_actions) is (severity == "critical")


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("comparator", "value", "severity", "shown"),
    [
        (">", 2000, "critical", "CK >2,000 U/L (>10× ULN)"),
        (">=", 2000, "warning", "CK >=2,000 U/L"),
    ],
)
def test_censored_ck_keeps_its_comparator(
    rule: RuleVersion, comparator: str, value: float, severity: str, shown: str
) -> None:
    ck = observation(CK, value, "U/L", high=200, comparator=comparator)
    finding = fired_rule(rule, atorvastatin(), ck)
    assert finding.severity == severity
    assert finding.summary.startswith(shown)
    ck_line = next(e for e in finding.evidence if e.label == "Creatine kinase")
    assert ck_line.value.startswith(f"{comparator}2,000 U/L")


@pytest.mark.rule_versions(since="1.1.0")
def test_censored_modifier_keeps_its_comparator(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        atorvastatin(),
        observation(CK, 500, "U/L", high=200),
        observation(VITAMIN_D, 5, "ng/mL", comparator="<"),
    )
    assert "25-OH vitamin D below 20 ng/mL (<5 ng/mL)" in finding.explanation
    assert any(e.value.startswith("<5 ng/mL") for e in finding.evidence)


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("complaint", "words"),
    [
        (("G47.62", "Sleep related leg cramps"), "Leg cramps on atorvastatin"),
        (("R25.2", "Cramp and spasm"), "Leg cramps on atorvastatin"),
        (("M79.606", "Pain in leg, unspecified"), "Leg pain on atorvastatin"),
    ],
)
def test_info_card_names_the_complaint_on_record(
    rule: RuleVersion, complaint: tuple[str, str], words: str
) -> None:
    code, display = complaint
    finding = fired_rule(rule, atorvastatin(), condition(code, system=ICD10, display=display))
    assert finding.severity == "info"
    assert finding.summary.startswith(words)
    assert finding.candidate


@pytest.mark.rule_versions(since="1.1.0")
def test_complaint_as_a_visit_reason_opens_the_info_card(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=20, reason=(ICD10, "G47.62"))
    finding = fired_rule(rule, atorvastatin(), visit)
    assert finding.severity == "info"
    assert finding.candidate
    assert (
        run_rule(rule, atorvastatin(), encounter(start_days_ago=91, reason=(ICD10, "G47.62")))
        is None
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_a_complaint_and_the_visit_for_it_are_listed_once(rule: RuleVersion) -> None:
    cramps = leg_cramps()
    visit = encounter(start_days_ago=20)
    visit["reasonReference"] = [{"reference": f"Condition/{cramps['id']}"}]
    finding = fired_rule(rule, atorvastatin(), cramps, visit)
    complaint_lines = [e for e in finding.evidence if e.label == "Sleep related leg cramps"]
    assert [e.reference for e in complaint_lines] == [f"Condition/{cramps['id']}"]


@pytest.mark.rule_versions(since="1.1.0")
def test_findings_are_not_candidate_causes(rule: RuleVersion) -> None:
    clarithromycin = medication_request("21212", "Clarithromycin")
    interaction = fired_rule(rule, simvastatin(), clarithromycin)
    sams = fired_rule(
        rule, atorvastatin(), condition("G72.0", system=ICD10, display="Drug-induced myopathy")
    )
    raised = fired_rule(rule, atorvastatin(), observation(CK, 650, "U/L", high=190))
    for finding in (interaction, sams, raised):
        assert finding.severity == "warning"
        assert not finding.candidate
        assert not finding.medication_actions


@pytest.mark.rule_versions(since="1.1.0")
def test_intolerance_of_the_statin_now_taken_is_muscle_evidence(rule: RuleVersion) -> None:
    finding = fired_rule(rule, simvastatin(), allergy("36567", "Simvastatin"))
    assert finding.severity == "warning"
    assert not finding.candidate
    line = next(e for e in finding.evidence if e.label.startswith("Intolerance recorded"))
    assert line.value == "a statin now taken"


@pytest.mark.rule_versions(since="1.1.0")
def test_intolerance_of_another_statin_is_context_only(rule: RuleVersion) -> None:
    rosuvastatin = medication_request("301542", "rosuvastatin")
    simvastatin_intolerance = allergy("36567", "Simvastatin")
    assert run_rule(rule, rosuvastatin, simvastatin_intolerance) is None
    # With a complaint the card is the info card it would be anyway, the intolerance as context.
    finding = fired_rule(rule, rosuvastatin, simvastatin_intolerance, leg_cramps())
    assert finding.severity == "info"
    line = next(e for e in finding.evidence if e.label.startswith("Intolerance recorded"))
    assert line.value == "another statin (context)"


@pytest.mark.rule_versions(since="1.1.0")
def test_critical_card_is_never_lowered(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        medication_request("301542", "rosuvastatin"),
        allergy("36567", "Simvastatin"),
        observation(CK, 4000, "U/L", high=200),
        observation(TSH, 8.2, "mIU/L", high=4.2),
        medication_request("2418", "Cholecalciferol"),
    )
    assert finding.severity == "critical"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_busy_chart_gives_a_short_card(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        simvastatin(),
        medication_request("21212", "Clarithromycin"),
        medication_request("17767", "Amlodipine"),
        medication_request(None, "Simvistatin 10 MG"),
        allergy("36567", "Simvastatin"),
        observation(CK, 2600, "U/L", high=200),
        condition("M62.82", system=ICD10, display="Rhabdomyolysis"),
        condition("G72.0", system=ICD10, display="Drug-induced myopathy"),
        observation(TSH, 8.2, "mIU/L", high=4.2),
        observation(VITAMIN_D, 9, "ng/mL"),
        observation(EGFR, 48, "mL/min/{1.73_m2}"),
        leg_cramps(),
    )
    assert finding.severity == "critical"
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    assert finding.explanation.count(". ") <= 1
    assert len(finding.explanation) <= 420
    assert finding.evidence[0].label.lower().startswith("simvastatin")


@pytest.mark.rule_versions(since="1.1.0")
def test_source_is_the_statin_guideline(rule: RuleVersion) -> None:
    assert rule.source_label == "EAS statin muscle symptoms consensus 2015"
    assert rule.provenance.url == "https://doi.org/10.1093/eurheartj/ehv043"
    assert rule.terminology == "2026.12"
