"""pad-rest-pain (§12), every version: rest pain critical, PAD warning, at risk info; no ABI."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import ICD10, SNOMED, condition, encounter, observation, patient
from tests.support.rules import fired_rule, rule_fixture, run_rule

REST_PAIN_LEFT = ("I70.222", ICD10)
PAD_UNSPECIFIED = ("I73.9", ICD10)
CLAUDICATION = "63491006"
LEG_PAIN_RIGHT = ("M79.604", ICD10)
RESTLESS_LEGS = ("G25.81", ICD10)
SWELLING_LEFT_LEG = ("R22.42", ICD10)
DIABETES = "44054006"
SMOKER = "65568007"
NICOTINE_HISTORY = ("Z87.891", ICD10)
HYPERTENSION = "59621000"
HYPERLIPIDAEMIA = "55822004"
MI = "22298006"

rule = rule_fixture("pad-rest-pain")


def born_years_ago(years: int) -> dict[str, Any]:
    """A patient who turned `years` old today (2026-11-21)."""
    return patient(birth_date=f"{2026 - years}-11-21")


def icd(code: tuple[str, str], **kwargs: Any) -> dict[str, Any]:
    return condition(code[0], system=code[1], **kwargs)


def pain(**kwargs: Any) -> dict[str, Any]:
    return icd(LEG_PAIN_RIGHT, onset_days_ago=10, **kwargs)


def test_rest_pain_code_is_critical_on_any_chart(rule: RuleVersion) -> None:
    finding = run_rule(rule, icd(REST_PAIN_LEFT))  # no complaint on record
    assert finding is not None
    assert finding.severity == "critical"
    assert finding.summary == (
        "PAD with rest pain on record (I70.222): possible critical limb ischaemia. "
        "Urgent vascular assessment."
    )
    assert finding.suggestions == ()  # ABI cannot be ordered as a LOINC suggestion
    assert any("ABI results are not read" in c for c in finding.cautions)


def test_resolved_rest_pain_is_not_critical(rule: RuleVersion) -> None:
    # Revascularised: only the at-risk card for a 71-year-old with leg pain remains.
    finding = run_rule(rule, icd(REST_PAIN_LEFT, clinical_status="resolved"), pain())
    assert finding is not None
    assert finding.severity == "info"


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_rest_pain_is_ignored(rule: RuleVersion, status: str) -> None:
    assert run_rule(rule, icd(REST_PAIN_LEFT, verification_status=status)) is None


def test_known_pad_with_leg_pain_is_a_warning(rule: RuleVersion) -> None:
    finding = run_rule(rule, icd(PAD_UNSPECIFIED), pain())
    assert finding is not None
    assert finding.severity == "warning"
    assert finding.summary.startswith("PAD on record (I73.9) with leg pain")
    assert "ABI" in finding.summary


def test_claudication_snomed_counts_as_pad(rule: RuleVersion) -> None:
    finding = run_rule(rule, condition(CLAUDICATION), pain())
    assert finding is not None
    assert finding.severity == "warning"


def test_known_pad_without_a_complaint_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, icd(PAD_UNSPECIFIED)) is None


@pytest.mark.parametrize("complaint", [RESTLESS_LEGS, SWELLING_LEFT_LEG])
def test_restless_legs_or_swelling_alone_are_not_ischaemic_pain(
    rule: RuleVersion, complaint: tuple[str, str]
) -> None:
    assert run_rule(rule, icd(PAD_UNSPECIFIED), icd(complaint, onset_days_ago=5)) is None


@pytest.mark.parametrize(("age", "fires"), [(65, True), (64, False)])
def test_age_65_alone_is_at_risk(rule: RuleVersion, age: int, fires: bool) -> None:
    finding = run_rule(rule, born_years_ago(age), pain())
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.severity == "info"
        assert finding.summary == (
            "PAD risk (age 65) with leg pain. Consider an ankle-brachial index (ABI)."
        )


@pytest.mark.parametrize(("age", "fires"), [(50, True), (49, False)])
def test_age_50_to_64_needs_one_risk_factor(rule: RuleVersion, age: int, fires: bool) -> None:
    finding = run_rule(rule, born_years_ago(age), condition(SMOKER), pain())
    assert (finding is not None) is fires


def test_smoking_history_code_counts_as_smoking(rule: RuleVersion) -> None:
    finding = run_rule(rule, born_years_ago(58), icd(NICOTINE_HISTORY), pain())
    assert finding is not None
    assert "smoker" in finding.summary


def test_under_50_needs_diabetes_and_one_more(rule: RuleVersion) -> None:
    with_two = [born_years_ago(45), condition(DIABETES), condition(HYPERLIPIDAEMIA), pain()]
    assert run_rule(rule, *with_two) is not None
    diabetes_only = [born_years_ago(45), condition(DIABETES), pain()]
    assert run_rule(rule, *diabetes_only) is None
    no_diabetes = [born_years_ago(45), condition(SMOKER), condition(HYPERTENSION), pain()]
    assert run_rule(rule, *no_diabetes) is None


def test_family_history_of_pad_counts_from_50(rule: RuleVersion) -> None:
    family = {
        "resourceType": "FamilyMemberHistory",
        "id": "fmh-1",
        "status": "completed",
        "patient": {"reference": "Patient/patient-1"},
        "relationship": {"text": "father"},
        "condition": [{"code": {"coding": [{"system": ICD10, "code": "I73.9"}]}}],
    }
    finding = run_rule(rule, born_years_ago(55), family, pain())
    assert finding is not None
    assert "family history" in finding.summary


def test_prior_mi_is_atherosclerosis_in_another_bed(rule: RuleVersion) -> None:
    old_mi = condition(MI, clinical_status="resolved", onset_days_ago=2000)
    finding = run_rule(rule, born_years_ago(40), old_mi, pain())
    assert finding is not None
    assert "prior MI" in finding.summary


def test_unknown_age_without_other_bed_gives_no_card(rule: RuleVersion) -> None:
    no_birth_date = {"resourceType": "Patient", "id": "patient-1"}
    assert run_rule(rule, no_birth_date, condition(SMOKER), pain()) is None


def test_summary_fits_and_never_rules_out(rule: RuleVersion) -> None:
    resources = [
        born_years_ago(71),
        condition(SMOKER),
        condition(DIABETES),
        condition(HYPERTENSION),
        condition(HYPERLIPIDAEMIA),
        condition(MI, onset_days_ago=800),
        pain(),
    ]
    fired_rule(rule, *resources)  # fits the summary limit, never rules a cause out


def test_rule_metadata(rule: RuleVersion) -> None:
    assert rule.severities == ("info", "warning", "critical")
    assert "ABI" in rule.provenance.rationale
    assert "cannot run" in rule.provenance.rationale


# -- 1.1.0: wording from the record, the at-risk card opens with leg pain, §22.2 e and f ---------

SLEEP_LEG_CRAMPS = ("G47.62", ICD10)
SMOKING_STATUS = "72166-2"
SMOKES_DAILY = (SNOMED, "449868002")
# An answer outside the `smoker` set, as an ex-smoker or never-smoker answer is.
NOT_A_SMOKER = (SNOMED, "answer-not-in-the-smoker-set")


def cramps() -> dict[str, Any]:
    return icd(SLEEP_LEG_CRAMPS, display="Sleep related leg cramps", onset_days_ago=7)


def smoking_status(answer: tuple[str, str], days_ago: float) -> dict[str, Any]:
    return observation(SMOKING_STATUS, None, days_ago=days_ago, value_code=answer)


@pytest.mark.rule_versions(since="1.1.0")
def test_known_pad_with_coded_cramps_says_leg_cramps(rule: RuleVersion) -> None:
    # The review's card: a coded "sleep related leg cramps" and the card said "leg pain".
    finding = fired_rule(rule, icd(PAD_UNSPECIFIED), cramps())
    assert finding.severity == "warning"
    assert finding.summary == (
        "PAD on record (I73.9) with leg cramps: ischaemia may be the cause. Ask about rest pain; "
        "consider an ABI."
    )
    assert "leg pain" not in (finding.summary + finding.explanation).lower()
    assert "with leg cramps on record" in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
def test_known_pad_with_pain_and_cramps_names_both(rule: RuleVersion) -> None:
    finding = fired_rule(rule, icd(PAD_UNSPECIFIED), cramps(), pain())
    assert "with leg pain and cramps:" in finding.summary


@pytest.mark.rule_versions(since="1.1.0")
def test_the_at_risk_card_needs_leg_pain_not_cramps(rule: RuleVersion) -> None:
    assert run_rule(rule, born_years_ago(70), condition(DIABETES), cramps()) is None
    finding = fired_rule(rule, born_years_ago(70), condition(DIABETES), cramps(), pain())
    assert finding.severity == "info"
    assert finding.summary == (
        "PAD risk (diabetes, age 70) with leg pain. Consider an ankle-brachial index (ABI)."
    )


@pytest.mark.rule_versions(until="1.0.0")
def test_1_0_0_opened_the_at_risk_card_on_cramps(rule: RuleVersion) -> None:
    finding = run_rule(rule, born_years_ago(70), cramps())
    assert finding is not None
    assert "with leg pain" in finding.summary  # the wording the review found


def test_leg_pain_as_a_visit_reason_opens_the_at_risk_card(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=3, reason=(ICD10, "M79.605"))
    finding = fired_rule(rule, born_years_ago(66), visit)
    assert finding.summary.startswith("PAD risk (age 66) with leg pain.")


@pytest.mark.rule_versions(since="1.1.0")
def test_a_smoker_recorded_only_by_the_smoking_status_answer(rule: RuleVersion) -> None:
    # The review's chart: 58, smoker only as a 72166-2 answer, leg pain: at risk (50-64 + smoker).
    finding = fired_rule(rule, born_years_ago(58), smoking_status(SMOKES_DAILY, 30), pain())
    assert finding.summary.startswith("PAD risk (smoker, age 58) with leg pain.")
    line = next(e for e in finding.evidence if e.label == "Smoking status")
    assert line.value == "Smokes tobacco daily (finding)"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_later_non_smoker_answer_makes_a_former_smoker(rule: RuleVersion) -> None:
    resources = [born_years_ago(58), pain()]
    answers = [smoking_status(SMOKES_DAILY, 400), smoking_status(NOT_A_SMOKER, 30)]
    finding = fired_rule(rule, *resources, *answers)
    assert finding.summary.startswith("PAD risk (former smoker, age 58)")
    smoker = condition(SMOKER, onset_days_ago=800)
    finding = fired_rule(rule, *resources, smoker, smoking_status(NOT_A_SMOKER, 30))
    assert finding.summary.startswith("PAD risk (former smoker, age 58)")
    # Never a smoker on record: 58 with no risk factor is not at risk.
    assert run_rule(rule, *resources, smoking_status(NOT_A_SMOKER, 30)) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_only_rest_pain_stands_on_its_own(rule: RuleVersion) -> None:
    assert not fired_rule(rule, icd(REST_PAIN_LEFT)).candidate
    assert fired_rule(rule, icd(PAD_UNSPECIFIED), cramps()).candidate
    assert fired_rule(rule, born_years_ago(70), pain()).candidate


@pytest.mark.rule_versions(since="1.1.0")
def test_details_stay_short(rule: RuleVersion) -> None:
    family = {
        "resourceType": "FamilyMemberHistory",
        "id": "fmh-2",
        "status": "completed",
        "patient": {"reference": "Patient/patient-1"},
        "relationship": {"text": "father"},
        "condition": [{"code": {"coding": [{"system": ICD10, "code": "I73.9"}]}}],
    }
    resources = [
        born_years_ago(71),
        smoking_status(SMOKES_DAILY, 10),
        condition(DIABETES),
        condition(HYPERTENSION),
        condition(HYPERLIPIDAEMIA),
        condition(MI, onset_days_ago=800),
        family,
        pain(),
        cramps(),
    ]
    for finding in (
        fired_rule(rule, *resources),
        fired_rule(rule, *resources, icd(PAD_UNSPECIFIED), condition(CLAUDICATION)),
        fired_rule(rule, *resources, icd(REST_PAIN_LEFT)),
    ):
        assert len(finding.evidence) <= 6
        assert len(finding.cautions) <= 2
        assert len(finding.explanation) <= 300
        assert finding.explanation.count(". ") <= 1
