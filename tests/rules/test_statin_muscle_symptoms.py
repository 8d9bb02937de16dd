"""statin-muscle-symptoms 1.0.0 (clinical-content.md §4)."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding
from cds.rules.statin_muscle_symptoms.v1_0_0 import RULE
from cds.terminology import Terminology
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
from tests.support.rules import fired_rule, run_rule

CK = "2157-6"
TSH = "3016-3"
VITAMIN_D = "62292-8"
EGFR = "98979-8"


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


def run(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> Finding | None:
    return run_rule(RULE, terminology, *resources, **kwargs)


def fired(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> Finding:
    return fired_rule(RULE, terminology, *resources, **kwargs)


def loincs(finding: Finding) -> list[str]:
    return [s.loinc for s in finding.suggestions]


# -- CK ----------------------------------------------------------------------------------------


def test_ck_over_ten_times_uln_is_critical_on_any_chart(terminology: Terminology) -> None:
    ck = observation(CK, 2450, "U/L", days_ago=3, low=30, high=200)
    finding = fired(terminology, atorvastatin(), ck)
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
def test_ck_multiples_of_uln(terminology: Terminology, value: float, severity: str) -> None:
    ck = observation(CK, value, "U/L", low=30, high=200)
    assert fired(terminology, atorvastatin(), ck).severity == severity


def test_ck_at_uln_is_not_raised(terminology: Terminology) -> None:
    assert run(terminology, atorvastatin(), observation(CK, 200, "U/L", high=200)) is None


def test_ck_warning_summary_names_uln(terminology: Terminology) -> None:
    finding = fired(terminology, atorvastatin(), observation(CK, 650, "U/L", high=190))
    assert finding.severity == "warning"
    assert finding.summary.startswith("CK 650 U/L (above ULN 190) on atorvastatin:")


def test_ck_in_ukat_is_converted(terminology: Terminology) -> None:
    # 40 µkat/L × 60 = 2,400 U/L against a ULN of 3.3 µkat/L (198 U/L): > 10× ULN.
    ck = observation(CK, 40, "ukat/L", high=3.3)
    finding = fired(terminology, atorvastatin(), ck)
    assert finding.severity == "critical"
    assert "CK 2,400 U/L" in finding.summary


def test_ck_without_range_uses_flag_and_cannot_be_critical(terminology: Terminology) -> None:
    ck = observation(CK, 9000, "U/L", interpretation="HH")
    finding = fired(terminology, atorvastatin(), ck)
    assert finding.severity == "warning"
    assert any("no reference range" in c for c in finding.cautions)
    # Without a flag or a range there is no ULN to compare with.
    assert run(terminology, atorvastatin(), observation(CK, 9000, "U/L")) is None


def test_ck_window_is_30_days(terminology: Terminology) -> None:
    at_30 = observation(CK, 900, "U/L", high=200, days_ago=30)
    at_31 = observation(CK, 900, "U/L", high=200, days_ago=31)
    assert fired(terminology, atorvastatin(), at_30).severity == "warning"
    assert run(terminology, atorvastatin(), at_31) is None


def test_raised_ck_without_a_statin_is_not_this_rule(terminology: Terminology) -> None:
    assert run(terminology, observation(CK, 5000, "U/L", high=200)) is None


# -- conditions ------------------------------------------------------------------------------


def test_rhabdomyolysis_code_on_a_statin_is_critical(terminology: Terminology) -> None:
    rhabdo = condition("M62.82", system=ICD10, display="Rhabdomyolysis")
    finding = fired(terminology, simvastatin(), rhabdo)
    assert finding.severity == "critical"
    assert finding.summary.startswith("Rhabdomyolysis or myoglobinuria on record while on")
    assert "2157-6" in loincs(finding)


def test_sams_code_is_a_warning(terminology: Terminology) -> None:
    sams = condition("16462851000119106", system=SNOMED, display="Myalgia caused by statin")
    finding = fired(terminology, atorvastatin(), sams)
    assert finding.severity == "warning"
    assert finding.summary.startswith("Statin muscle symptoms or myopathy on record")
    # Predisposing conditions are looked for when muscle symptoms are present.
    assert loincs(finding) == ["2157-6", "3016-3", "62292-8", "51990-0"]


def test_refuted_and_resolved_codes_are_ignored(terminology: Terminology) -> None:
    refuted = condition("M62.82", system=ICD10, verification_status="refuted")
    error = condition("G72.0", system=ICD10, verification_status="entered-in-error")
    resolved = condition("G72.0", system=ICD10, clinical_status="resolved", abated_days_ago=200)
    assert run(terminology, atorvastatin(), refuted, error, resolved) is None


# -- intolerance -----------------------------------------------------------------------------


def test_intolerance_of_the_active_statin_is_a_warning(terminology: Terminology) -> None:
    finding = fired(terminology, simvastatin(), allergy("36567", "Simvastatin"))
    assert finding.severity == "warning"
    assert finding.summary.startswith("Simvastatin intolerance is recorded, yet simvastatin")


def test_intolerance_of_another_statin_is_only_listed(terminology: Terminology) -> None:
    # Switched to rosuvastatin after simvastatin intolerance: no card by itself ...
    rosuvastatin = medication_request("301542", "rosuvastatin")
    assert run(terminology, rosuvastatin, allergy("36567", "Simvastatin")) is None
    # ... but listed when the card fires for another reason.
    finding = fired(
        terminology,
        rosuvastatin,
        allergy("36567", "Simvastatin"),
        observation(CK, 500, "U/L", high=200),
    )
    assert any("Simvastatin" in e.label for e in finding.evidence)


# -- interactions ----------------------------------------------------------------------------


def test_simvastatin_with_clarithromycin_is_a_warning(terminology: Terminology) -> None:
    clarithromycin = medication_request("21212", "Clarithromycin")
    finding = fired(terminology, simvastatin(), clarithromycin)
    assert finding.severity == "warning"
    assert finding.summary == (
        "Simvastatin with clarithromycin raises myopathy risk; muscle pain may be statin-related."
    )
    # An interaction alone is no indication for TSH or vitamin D testing.
    assert loincs(finding) == ["2157-6"]


def test_high_risk_combination_is_named_when_ck_leads(terminology: Terminology) -> None:
    clarithromycin = medication_request("21212", "Clarithromycin")
    ck = observation(CK, 2600, "U/L", high=200)
    finding = fired(terminology, simvastatin(), clarithromycin, ck)
    assert finding.severity == "critical"
    assert "high-risk combination (simvastatin with clarithromycin)" in finding.explanation


def test_atorvastatin_with_clarithromycin_is_only_a_modifier(terminology: Terminology) -> None:
    clarithromycin = medication_request("21212", "Clarithromycin")
    assert run(terminology, atorvastatin(), clarithromycin) is None
    finding = fired(terminology, atorvastatin(), clarithromycin, leg_cramps())
    assert finding.severity == "info"
    assert "interacting drug (clarithromycin)" in finding.explanation


def test_lovastatin_product_with_itraconazole_is_a_warning(terminology: Terminology) -> None:
    """The CYP3A4-sensitive statins come from their value set, so a product code counts."""
    lovastatin = medication_request("197904", "lovastatin 20 MG Oral Tablet")
    itraconazole = medication_request("28031", "Itraconazole")
    finding = fired(terminology, lovastatin, itraconazole)
    assert finding.severity == "warning"
    assert finding.summary.startswith("Lovastatin with itraconazole raises myopathy risk")


def test_any_statin_with_gemfibrozil_is_a_warning(terminology: Terminology) -> None:
    gemfibrozil = medication_request("4719", "Gemfibrozil")
    finding = fired(terminology, atorvastatin(), gemfibrozil)
    assert finding.severity == "warning"
    assert finding.summary.startswith("Atorvastatin with gemfibrozil raises myopathy risk")


def test_drafted_interacting_drug_involves_the_order(terminology: Terminology) -> None:
    finding = fired(
        terminology,
        simvastatin(),
        draft_orders=[draft_order("21212", "Clarithromycin")],
        hook="order-select",
    )
    assert finding.severity == "warning"
    assert finding.involves_draft_order


def test_combination_product_is_not_its_own_interaction(terminology: Terminology) -> None:
    combo = medication_request("404011", "amlodipine 5 MG / atorvastatin 80 MG Oral Tablet")
    finding = fired(terminology, combo, leg_cramps())
    assert finding.severity == "info"
    assert "interacting drug" not in finding.explanation


# -- info: complaint, no CK ----------------------------------------------------------------


def test_statin_with_leg_cramps_and_no_ck_is_info(terminology: Terminology) -> None:
    finding = fired(terminology, atorvastatin(), leg_cramps())
    assert finding.severity == "info"
    assert finding.summary == (
        "Leg cramps on atorvastatin with no CK in 90 days: statin muscle symptoms possible; "
        "consider a CK."
    )
    assert loincs(finding) == ["2157-6", "3016-3", "62292-8", "51990-0"]


def test_statin_without_complaint_gives_no_card(terminology: Terminology) -> None:
    assert run(terminology, atorvastatin()) is None


def test_restless_legs_is_not_a_cramp_complaint(terminology: Terminology) -> None:
    rls = condition("32914008", system=SNOMED, display="Restless legs")
    assert run(terminology, atorvastatin(), rls) is None


def test_ck_within_90_days_silences_the_info_card(terminology: Terminology) -> None:
    normal_ck_89 = observation(CK, 120, "U/L", high=200, days_ago=89)
    assert run(terminology, atorvastatin(), leg_cramps(), normal_ck_89) is None
    normal_ck_91 = observation(CK, 120, "U/L", high=200, days_ago=91)
    assert fired(terminology, atorvastatin(), leg_cramps(), normal_ck_91).severity == "info"


def test_drafted_statin_with_cramps_involves_the_order(terminology: Terminology) -> None:
    finding = fired(
        terminology,
        leg_cramps(),
        draft_orders=[draft_order("83367", "atorvastatin")],
        hook="order-select",
    )
    assert finding.severity == "info"
    assert finding.involves_draft_order


# -- active medication ---------------------------------------------------------------------


def test_statin_ended_within_30_days_still_counts(terminology: Terminology) -> None:
    ck = observation(CK, 900, "U/L", high=200)
    recent = atorvastatin(status="stopped", days_ago=200, ended_days_ago=30)
    assert fired(terminology, recent, ck).severity == "warning"
    old = atorvastatin(status="stopped", days_ago=200, ended_days_ago=31)
    assert run(terminology, old, ck) is None


def test_text_only_statin_is_flagged_low_confidence(terminology: Terminology) -> None:
    by_name = medication_request(None, "Simvistatin 10 MG")
    finding = fired(terminology, by_name, leg_cramps())
    assert finding.severity == "info"
    assert any("name only" in c for c in finding.cautions)
    assert finding.evidence[0].note


# -- modifiers -------------------------------------------------------------------------------


def test_predisposing_factors_are_listed(terminology: Terminology) -> None:
    finding = fired(
        terminology,
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


def test_egfr_at_60_is_not_a_modifier(terminology: Terminology) -> None:
    finding = fired(
        terminology, atorvastatin(), leg_cramps(), observation(EGFR, 60, "mL/min/{1.73_m2}")
    )
    assert "eGFR" not in finding.explanation
