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
    medication_request,
    observation,
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
