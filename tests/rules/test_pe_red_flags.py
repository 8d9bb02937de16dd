"""pe-red-flags (§11), every version: DVT signal plus a PE red flag gives a critical card."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Fired, RuleVersion
from cds.rules.pe_red_flags.v1_0_0 import PeRedFlags
from cds.rules.selection.v1 import POLICY
from tests.support.fhir import (
    ICD10,
    condition,
    medication_request,
    observation,
    procedure,
)
from tests.support.rules import fired_rule, registry, rule_facts, rule_fixture, run_rule

HOUR = 1 / 24

SWELLING_LEFT_LEG = ("R22.42", ICD10)
LEG_PAIN_LEFT = ("M79.605", ICD10)
DYSPNOEA = "267036007"
CHEST_PAIN_ICD = ("R07.9", ICD10)
HAEMOPTYSIS_ICD = ("R04.2", ICD10)
ACUTE_DVT = "132281000119108"
COPD = "13645005"
HIP_REPLACEMENT = "52734007"
HISTORY_OF_VTE = ("Z86.718", ICD10)
PULMONARY_EMBOLISM = "59282003"


def swelling(**kwargs: Any) -> dict[str, Any]:
    return condition(SWELLING_LEFT_LEG[0], system=ICD10, onset_days_ago=3, **kwargs)


def dyspnoea(days_ago: float = 1, **kwargs: Any) -> dict[str, Any]:
    return condition(DYSPNOEA, display="Dyspnea", onset_days_ago=days_ago, **kwargs)


def heart_rate(value: float, hours_ago: float = 2, unit: str = "/min", **kw: Any) -> dict[str, Any]:
    return observation("8867-4", value, unit, days_ago=hours_ago * HOUR, **kw)


def spo2(value: float, hours_ago: float = 2, **kw: Any) -> dict[str, Any]:
    return observation("59408-5", value, "%", days_ago=hours_ago * HOUR, **kw)


rule = rule_fixture("pe-red-flags")


def dvt_risk_version(rule: RuleVersion) -> RuleVersion | None:
    """The dvt-risk version whose record scoring this version of the PE card runs (the card it
    replaces), if that scoring is a dvt-risk version's."""
    assert isinstance(rule.logic, PeRedFlags)
    scoring = rule.logic.dvt_risk
    return next((v for v in registry().versions_of("dvt-risk") if v.logic == scoring), None)


def test_leg_swelling_with_new_dyspnoea_is_critical(rule: RuleVersion) -> None:
    finding = run_rule(rule, swelling(), dyspnoea())
    assert finding is not None
    assert finding.severity == "critical"
    assert finding.summary == (
        "Leg swelling with dyspnea: possible pulmonary embolism. Evaluate urgently."
    )
    refs = [e.reference for e in finding.evidence]
    assert len(refs) == len(set(refs))  # the swelling is listed once
    assert any("PE pathway" in c for c in finding.cautions)
    assert [s.loinc for s in finding.suggestions] == ["39420-5"]
    assert finding.suggestions[0].reason.startswith("Optional")


def test_no_card_without_a_red_flag(rule: RuleVersion) -> None:
    assert run_rule(rule, swelling(), heart_rate(88), spo2(98)) is None


def test_no_card_without_a_dvt_signal(rule: RuleVersion) -> None:
    # Leg pain is not a DVT signal in §11 (swelling, an active DVT or the dvt-risk warning are).
    pain = condition(LEG_PAIN_LEFT[0], system=ICD10, onset_days_ago=3)
    assert run_rule(rule, pain, dyspnoea(), heart_rate(120), spo2(90)) is None


@pytest.mark.parametrize(("days_ago", "fires"), [(7, True), (8, False)])
def test_symptom_window_is_seven_days(rule: RuleVersion, days_ago: int, fires: bool) -> None:
    assert (run_rule(rule, swelling(), dyspnoea(days_ago)) is not None) is fires


def test_chronic_stable_dyspnoea_alone_does_not_fire(rule: RuleVersion) -> None:
    # Known COPD with a years-old dyspnoea code and no new codes or abnormal vitals.
    resources = [swelling(), condition(COPD, onset_days_ago=2000), dyspnoea(days_ago=900)]
    assert run_rule(rule, *resources) is None


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_symptom_codes_are_ignored(rule: RuleVersion, status: str) -> None:
    assert run_rule(rule, swelling(), dyspnoea(verification_status=status)) is None


@pytest.mark.parametrize(("value", "fires"), [(100, True), (99, False)])
def test_heart_rate_threshold(rule: RuleVersion, value: float, fires: bool) -> None:
    finding = run_rule(rule, swelling(), heart_rate(value))
    assert (finding is not None) is fires
    if finding is not None:
        assert "HR 100/min" in finding.summary


@pytest.mark.parametrize(("value", "fires"), [(94, True), (95, False)])
def test_oxygen_saturation_threshold(rule: RuleVersion, value: float, fires: bool) -> None:
    finding = run_rule(rule, swelling(), spo2(value))
    assert (finding is not None) is fires
    if finding is not None:
        assert "SpO2 94%" in finding.summary


@pytest.mark.parametrize(("hours_ago", "fires"), [(23.5, True), (24, True), (25, False)])
def test_vitals_window_is_24_hours(rule: RuleVersion, hours_ago: float, fires: bool) -> None:
    finding = run_rule(rule, swelling(), heart_rate(118, hours_ago=hours_ago))
    assert (finding is not None) is fires


def test_latest_vital_in_the_window_decides(rule: RuleVersion) -> None:
    resources = [swelling(), heart_rate(125, hours_ago=20), heart_rate(82, hours_ago=1)]
    assert run_rule(rule, *resources) is None


def test_heart_rate_in_beats_per_minute_is_read(rule: RuleVersion) -> None:
    finding = run_rule(rule, swelling(), heart_rate(112, unit="beats/min"))
    assert finding is not None
    assert "HR 112/min" in finding.summary


def test_unambiguous_comparator_saturation_counts(rule: RuleVersion) -> None:
    finding = run_rule(rule, swelling(), spo2(90, comparator="<"))
    assert finding is not None
    assert "SpO2 <90%" in finding.summary
    assert run_rule(rule, swelling(), spo2(90, comparator=">")) is None


def test_active_dvt_code_is_a_signal(rule: RuleVersion) -> None:
    finding = run_rule(rule, condition(ACUTE_DVT, onset_days_ago=4), spo2(92))
    assert finding is not None
    assert finding.summary.startswith("Active DVT with SpO2 92%")


def test_resolved_dvt_alone_is_not_a_signal(rule: RuleVersion) -> None:
    old_dvt = condition(ACUTE_DVT, clinical_status="resolved", onset_days_ago=700)
    assert run_rule(rule, old_dvt, spo2(92)) is None


def test_dvt_risk_warning_is_a_signal_without_a_complaint(rule: RuleVersion) -> None:
    resources = [
        procedure(HIP_REPLACEMENT, days_ago=14),
        condition(HISTORY_OF_VTE[0], system=ICD10, clinical_status="resolved", onset_days_ago=900),
        heart_rate(110),
        condition(
            CHEST_PAIN_ICD[0], system=ICD10, display="Chest pain, unspecified", onset_days_ago=0
        ),
    ]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert finding.severity == "critical"
    assert "DVT risk (record Wells 2)" in finding.summary
    # The DVT evidence is on this card, which replaces the dvt-risk card.
    refs = {e.reference.split("/")[0] for e in finding.evidence}
    assert {"Procedure", "Condition", "Observation"} <= refs
    assert any(
        c.startswith("Exam items cannot be assessed from the record") for c in finding.cautions
    )


def test_anticoagulation_never_lowers_the_severity(rule: RuleVersion) -> None:
    resources = [swelling(), dyspnoea(), medication_request("1364430", "apixaban 5 MG")]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert finding.severity == "critical"
    assert "apixaban" in finding.explanation


def test_known_pulmonary_embolism_is_noted(rule: RuleVersion) -> None:
    resources = [swelling(), dyspnoea(), condition(PULMONARY_EMBOLISM, onset_days_ago=30)]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert any("already on record" in c for c in finding.cautions)


def test_dvt_risk_card_is_replaced_by_the_pe_card(rule: RuleVersion) -> None:
    dvt_rule = dvt_risk_version(rule)
    assert dvt_rule is not None
    resources = [
        swelling(),
        procedure(HIP_REPLACEMENT, days_ago=14),
        condition(HISTORY_OF_VTE[0], system=ICD10, clinical_status="resolved", onset_days_ago=900),
        dyspnoea(),
    ]
    dvt = dvt_rule.logic.evaluate(rule_facts(dvt_rule, *resources))
    pe = rule.logic.evaluate(rule_facts(rule, *resources))
    assert dvt is not None
    assert pe is not None
    shown = POLICY.select([Fired(dvt_rule, dvt), Fired(rule, pe)], hook="patient-view")
    assert [f.rule_id for f in shown] == ["pe-red-flags"]
    # Everything the dvt-risk card listed is on the PE card.
    assert {e.reference for e in dvt.evidence} <= {e.reference for e in pe.evidence}


def test_busy_record_summary_fits_and_never_rules_out(rule: RuleVersion) -> None:
    resources = [
        swelling(),
        condition(ACUTE_DVT, onset_days_ago=4),
        procedure(HIP_REPLACEMENT, days_ago=14),
        condition(HISTORY_OF_VTE[0], system=ICD10, clinical_status="resolved", onset_days_ago=900),
        dyspnoea(),
        condition(
            CHEST_PAIN_ICD[0], system=ICD10, display="Chest pain, unspecified", onset_days_ago=1
        ),
        condition(HAEMOPTYSIS_ICD[0], system=ICD10, display="Hemoptysis", onset_days_ago=1),
        heart_rate(131),
        spo2(88),
        observation("9279-1", 28, "/min", days_ago=2 * HOUR),
    ]
    finding = fired_rule(rule, *resources)  # fits the summary limit, never rules a cause out
    assert any(e.label == "Respiratory rate" for e in finding.evidence)


def test_reuses_dvt_risk_scoring(rule: RuleVersion) -> None:
    dvt_rule = dvt_risk_version(rule)
    assert dvt_rule is not None
    assert rule.severities == ("critical",)
    assert set(dvt_rule.valuesets) <= set(rule.valuesets)
