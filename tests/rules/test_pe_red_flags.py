"""pe-red-flags (§11), every version: DVT signal plus a PE red flag gives a critical card."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding, Fired, RuleVersion
from cds.rules.pe_red_flags.v1_0_0 import PeRedFlags
from cds.rules.selection.v1 import POLICY
from tests.support.fhir import (
    ICD10,
    condition,
    encounter,
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


@pytest.mark.rule_versions(until="1.0.0")
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


@pytest.mark.rule_versions(until="1.0.0")
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


@pytest.mark.rule_versions(until="1.0.0")
def test_unambiguous_comparator_saturation_counts(rule: RuleVersion) -> None:
    finding = run_rule(rule, swelling(), spo2(90, comparator="<"))
    assert finding is not None
    assert "SpO2 <90%" in finding.summary
    assert run_rule(rule, swelling(), spo2(90, comparator=">")) is None


@pytest.mark.rule_versions(until="1.0.0")
def test_active_dvt_code_is_a_signal(rule: RuleVersion) -> None:
    finding = run_rule(rule, condition(ACUTE_DVT, onset_days_ago=4), spo2(92))
    assert finding is not None
    assert finding.summary.startswith("Active DVT with SpO2 92%")


def test_resolved_dvt_alone_is_not_a_signal(rule: RuleVersion) -> None:
    old_dvt = condition(ACUTE_DVT, clinical_status="resolved", onset_days_ago=700)
    assert run_rule(rule, old_dvt, spo2(92)) is None


@pytest.mark.rule_versions(until="1.0.0")
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


@pytest.mark.rule_versions(until="1.0.0")
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


# -- 1.1.0: §22.2 e (visit reasons, Observations), g (as reported), k (a known PE) ---------------

SHORTNESS_OF_BREATH = (ICD10, "R06.02")  # (system, code), as a visit reason
SWELLING_RIGHT_LEG = ("R22.41", ICD10)


def emergency_visit(days_ago: float = 0.1, **reason: Any) -> dict[str, Any]:
    visit = encounter(class_code="EMER", start_days_ago=days_ago, **reason)
    visit["status"] = "in-progress"
    return visit


def active_dvt() -> dict[str, Any]:
    return condition(ACUTE_DVT, onset_days_ago=5)


def short_details(finding: Finding) -> None:
    assert finding.explanation.count(". ") <= 1
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    assert finding.candidate is False  # a red flag: shown on any chart


@pytest.mark.rule_versions(since="1.1.0")
def test_an_emergency_visit_today_for_breathlessness_with_an_active_dvt_is_critical(
    rule: RuleVersion,
) -> None:
    # The review's chart: 1.0.0 read symptoms from Conditions only and gave no card.
    visit = emergency_visit(reason=SHORTNESS_OF_BREATH)
    finding = fired_rule(rule, active_dvt(), visit)
    assert finding.severity == "critical"
    assert finding.summary == (
        "Active DVT with shortness of breath: possible pulmonary embolism. Evaluate urgently."
    )
    assert f"Encounter/{visit['id']}" in {e.reference for e in finding.evidence}
    short_details(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_visit_whose_reason_references_a_symptom_condition_counts(rule: RuleVersion) -> None:
    old = condition(DYSPNOEA, display="Dyspnea", clinical_status="resolved", onset_days_ago=400)
    visit = emergency_visit()
    visit["reasonReference"] = [{"reference": f"Condition/{old['id']}"}]
    assert run_rule(rule, active_dvt(), old) is None  # the old Condition alone is not new
    finding = fired_rule(rule, active_dvt(), old, visit)
    assert "dyspnea" in finding.summary


@pytest.mark.rule_versions(since="1.1.0")
def test_a_symptom_coded_as_an_observation_value_counts(rule: RuleVersion) -> None:
    symptom = observation("75325-1", None, days_ago=1, value_code=(ICD10, "R07.9"))
    finding = fired_rule(rule, swelling(), symptom)
    assert "chest pain" in finding.summary


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("days_ago", "fires"), [(7, True), (8, False)])
def test_a_visit_for_a_symptom_counts_for_seven_days(
    rule: RuleVersion, days_ago: int, fires: bool
) -> None:
    visit = emergency_visit(days_ago=days_ago, reason=SHORTNESS_OF_BREATH)
    assert (run_rule(rule, active_dvt(), visit) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize("code", [PULMONARY_EMBOLISM, "706870000"])
def test_a_known_active_pulmonary_embolism_is_not_a_suspicion(rule: RuleVersion, code: str) -> None:
    resources = [swelling(), dyspnoea(), spo2(88), condition(code, onset_days_ago=10)]
    assert run_rule(rule, *resources) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_a_resolved_pulmonary_embolism_does_not_stop_the_card(rule: RuleVersion) -> None:
    past = condition(PULMONARY_EMBOLISM, clinical_status="resolved", onset_days_ago=700)
    finding = fired_rule(rule, swelling(), dyspnoea(), past)
    assert finding.severity == "critical"


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("value", "comparator", "shown"), [(94, None, "94 %"), (90, "<", "<90 %")])
def test_saturation_is_shown_as_reported(
    rule: RuleVersion, value: float, comparator: str | None, shown: str
) -> None:
    finding = fired_rule(rule, swelling(), spo2(value, comparator=comparator))
    assert f"SpO2 {shown}" in finding.summary
    lines = {e.label: e.value for e in finding.evidence}
    assert lines["Oxygen saturation"] == shown
    assert run_rule(rule, swelling(), spo2(95)) is None
    assert run_rule(rule, swelling(), spo2(90, comparator=">")) is None


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("onset_days_ago", "fires"), [(90, True), (91, False)])
def test_a_swelling_signal_counts_for_90_days(
    rule: RuleVersion, onset_days_ago: int, fires: bool
) -> None:
    # Still active, but recorded 91 days ago: not a new DVT sign (1.0.0 counted it).
    old_swelling = condition(SWELLING_LEFT_LEG[0], system=ICD10, onset_days_ago=onset_days_ago)
    assert (run_rule(rule, old_swelling, dyspnoea()) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
def test_a_cesarean_with_one_swollen_leg_is_a_dvt_signal(rule: RuleVersion) -> None:
    # dvt-risk 1.1.0's warning (cesarean = Wells surgery item, with one-sided swelling) is the
    # signal even when the swelling itself is older than 90 days.
    old_swelling = condition(SWELLING_RIGHT_LEG[0], system=ICD10, onset_days_ago=120)
    finding = fired_rule(rule, old_swelling, procedure("11466000", days_ago=21), heart_rate(104))
    assert "DVT risk (record Wells 1)" in finding.summary
    # The DVT evidence is on this card, which replaces the dvt-risk card.
    refs = {e.reference.split("/")[0] for e in finding.evidence}
    assert {"Procedure", "Condition", "Observation"} <= refs
    assert finding.cautions[1].startswith("The vital-sign triggers")


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("code", "loinc"), [(SWELLING_LEFT_LEG, "39432-0"), (SWELLING_RIGHT_LEG, "39443-7")]
)
def test_the_optional_duplex_is_of_the_swollen_leg(
    rule: RuleVersion, code: tuple[str, str], loinc: str
) -> None:
    swollen = condition(code[0], system=ICD10, onset_days_ago=3)
    finding = fired_rule(rule, swollen, dyspnoea())
    assert [s.loinc for s in finding.suggestions] == [loinc]
    assert finding.suggestions[0].reason.startswith("Optional")


@pytest.mark.rule_versions(since="1.1.0")
def test_busy_record_keeps_details_short(rule: RuleVersion) -> None:
    resources = [
        swelling(),
        active_dvt(),
        procedure(HIP_REPLACEMENT, days_ago=14),
        condition(HISTORY_OF_VTE[0], system=ICD10, clinical_status="resolved", onset_days_ago=900),
        dyspnoea(),
        condition(
            CHEST_PAIN_ICD[0], system=ICD10, display="Chest pain, unspecified", onset_days_ago=1
        ),
        emergency_visit(reason=SHORTNESS_OF_BREATH),
        heart_rate(131),
        spo2(88),
        observation("9279-1", 28, "/min", days_ago=2 * HOUR),
        medication_request("1364430", "apixaban 5 MG"),
    ]
    finding = fired_rule(rule, *resources)
    short_details(finding)
    assert finding.cautions[0].startswith("Nothing is ordered automatically")
    assert "apixaban" in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
def test_rule_1_1_0_runs_dvt_risk_1_1_0(rule: RuleVersion) -> None:
    dvt_rule = dvt_risk_version(rule)
    assert dvt_rule is not None
    assert dvt_rule.version == "1.1.0"
    assert rule.terminology == "2026.12"
    assert any(
        r.resource_type == "Observation" and "pe-symptoms" in (r.valuesets or ())
        for r in rule.requires
    )
