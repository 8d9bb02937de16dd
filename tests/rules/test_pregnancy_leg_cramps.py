"""pregnancy-leg-cramps (§13), every version: pregnant at 14 weeks or more, a leg complaint."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import (
    ICD10,
    SNOMED,
    condition,
    encounter,
    observation,
    patient,
    procedure,
)
from tests.support.rules import fired_rule, rule_fixture, run_rule

PREGNANT = (SNOMED, "77386006")
SLEEP_LEG_CRAMPS = ("G47.62", ICD10)
RESTLESS_LEGS = ("G25.81", ICD10)
SWELLING_LEFT_LEG = ("R22.42", ICD10)
CHILDBIRTH = "66348005"
NOT_PREGNANT_ANSWER = (SNOMED, "60001007")  # a deliberately non-matching answer code

rule = rule_fixture("pregnancy-leg-cramps")


def cramps(code: tuple[str, str] = SLEEP_LEG_CRAMPS) -> dict[str, Any]:
    return condition(code[0], system=code[1], onset_days_ago=7)


def pregnancy_status(days_ago: float = 20, answer: tuple[str, str] = PREGNANT) -> dict[str, Any]:
    return observation("82810-3", None, value_code=answer, days_ago=days_ago)


def gestational_age(value: float, unit: str = "wk", days_ago: float = 0) -> dict[str, Any]:
    return observation("49051-6", value, unit, days_ago=days_ago)


@pytest.mark.rule_versions(until="1.0.0")
def test_pregnant_at_24_weeks_with_cramps(rule: RuleVersion) -> None:
    finding = run_rule(rule, cramps(), pregnancy_status(), gestational_age(24))
    assert finding is not None
    assert finding.severity == "info"
    assert finding.summary == (
        "Pregnant at 24 weeks: night leg cramps are common in mid/late pregnancy; check for DVT "
        "if one leg swells."
    )
    assert any("DVT" in c for c in finding.cautions)  # always the DVT check
    assert "second trimester" in finding.explanation
    assert [s.loinc for s in finding.suggestions] == ["19123-9"]  # no magnesium on record


@pytest.mark.parametrize(("weeks", "fires"), [(14.0, True), (13.9, False)])
def test_second_trimester_starts_at_14_weeks(rule: RuleVersion, weeks: float, fires: bool) -> None:
    finding = run_rule(rule, cramps(), pregnancy_status(), gestational_age(weeks))
    assert (finding is not None) is fires


def test_gestational_age_is_advanced_to_today(rule: RuleVersion) -> None:
    # 13 weeks measured 7 days ago is 14 weeks today.
    measured = gestational_age(13, days_ago=7)
    finding = run_rule(rule, cramps(), pregnancy_status(), measured)
    assert finding is not None
    assert "Pregnant at 14 weeks" in finding.summary


def test_gestational_age_in_days_is_converted(rule: RuleVersion) -> None:
    finding = run_rule(rule, cramps(), pregnancy_status(), gestational_age(203, unit="d"))
    assert finding is not None
    assert "Pregnant at 29 weeks" in finding.summary
    assert "third trimester" in finding.explanation


def test_pregnancy_condition_is_explicit_evidence(rule: RuleVersion) -> None:
    pregnant = condition("77386006", onset_days_ago=150)
    finding = run_rule(rule, cramps(), pregnant, gestational_age(30))
    assert finding is not None


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_pregnancy_condition_is_ignored(rule: RuleVersion, status: str) -> None:
    pregnant = condition("77386006", onset_days_ago=150, verification_status=status)
    assert run_rule(rule, cramps(), pregnant, gestational_age(30)) is None


def test_newest_status_not_pregnant_wins(rule: RuleVersion) -> None:
    resources = [
        cramps(),
        pregnancy_status(days_ago=100),
        pregnancy_status(days_ago=5, answer=NOT_PREGNANT_ANSWER),
        gestational_age(24),
    ]
    assert run_rule(rule, *resources) is None


def test_never_inferred_from_sex_or_age(rule: RuleVersion) -> None:
    young_woman = patient(birth_date="1998-04-01", gender="female")
    assert run_rule(rule, young_woman, cramps(), gestational_age(24)) is None


def test_no_card_without_gestational_age(rule: RuleVersion) -> None:
    assert run_rule(rule, cramps(), pregnancy_status()) is None


def test_no_card_without_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, pregnancy_status(), gestational_age(24)) is None


def test_restless_legs_alone_is_not_this_card(rule: RuleVersion) -> None:
    assert run_rule(rule, cramps(RESTLESS_LEGS), pregnancy_status(), gestational_age(24)) is None


def test_one_sided_swelling_leads_with_dvt(rule: RuleVersion) -> None:
    finding = run_rule(rule, cramps(SWELLING_LEFT_LEG), pregnancy_status(), gestational_age(31))
    assert finding is not None
    assert finding.summary.startswith("Pregnant at 31 weeks with one leg swollen on record: assess")


def test_delivery_after_the_pregnancy_evidence_ends_it(rule: RuleVersion) -> None:
    resources = [
        cramps(),
        pregnancy_status(days_ago=40),
        gestational_age(36, days_ago=40),
        procedure(CHILDBIRTH, days_ago=10),
    ]
    assert run_rule(rule, *resources) is None


@pytest.mark.parametrize(("weeks", "fires"), [(42.0, True), (42.5, False)])
def test_gestational_age_past_42_weeks_is_stale(
    rule: RuleVersion, weeks: float, fires: bool
) -> None:
    finding = run_rule(rule, cramps(), pregnancy_status(), gestational_age(weeks))
    assert (finding is not None) is fires


def test_low_magnesium_in_mg_dl_is_shown_and_no_order_suggested(rule: RuleVersion) -> None:
    magnesium = observation("19123-9", 1.5, "mg/dL", days_ago=10)  # 0.62 mmol/L
    finding = run_rule(rule, cramps(), pregnancy_status(), gestational_age(24), magnesium)
    assert finding is not None
    assert finding.suggestions == ()
    assert "magnesium is low" in finding.explanation
    mg = next(e for e in finding.evidence if e.label == "Magnesium")
    assert mg.value.startswith("0.62 mmol/L")


def test_normal_magnesium_is_not_called_low(rule: RuleVersion) -> None:
    magnesium = observation("19123-9", 0.85, "mmol/L", days_ago=10, low=0.7, high=1.0)
    finding = run_rule(rule, cramps(), pregnancy_status(), gestational_age(24), magnesium)
    assert finding is not None
    assert "low" not in finding.explanation


def test_wording(rule: RuleVersion) -> None:
    # Fits the summary limit and never rules a cause out.
    fired_rule(rule, cramps(SWELLING_LEFT_LEG), pregnancy_status(), gestational_age(41))
    assert rule.severities == ("info",)


# -- 1.1.0: the wider pregnancy set, corrected calcium, wording from the record -----------------

NORMAL_PREGNANCY = "72892002"
LEG_PAIN_LEFT = ("M79.605", ICD10)
CALCIUM_TOTAL = "17861-6"
ALBUMIN = "1751-7"
MAGNESIUM = "19123-9"


@pytest.mark.rule_versions(since="1.1.0")
def test_pregnant_with_cramps_on_record(rule: RuleVersion) -> None:
    finding = fired_rule(rule, cramps(), pregnancy_status(), gestational_age(24))
    assert finding.summary == (
        "Pregnant at 24 weeks with leg cramps on record: cramps are common in mid/late "
        "pregnancy; check for DVT if one leg swells."
    )
    assert finding.candidate
    assert any("DVT" in c for c in finding.cautions)
    assert [s.loinc for s in finding.suggestions] == [MAGNESIUM]


@pytest.mark.rule_versions(since="1.1.0")
def test_leg_pain_without_a_cramp_code_leads_with_dvt(rule: RuleVersion) -> None:
    finding = fired_rule(rule, cramps(LEG_PAIN_LEFT), pregnancy_status(), gestational_age(24))
    assert finding.summary == (
        "Pregnant at 24 weeks with leg pain on record: check for DVT; leg cramps are also "
        "common in mid/late pregnancy."
    )
    assert finding.suggestions == ()  # magnesium is for cramps


@pytest.mark.rule_versions(since="1.1.0")
def test_a_normal_pregnancy_code_of_the_wider_set_is_a_pregnancy(rule: RuleVersion) -> None:
    # 72892002 is on 91 of 615 Synthea patients; 1.0.0's set held 77386006 only.
    pregnant = condition(NORMAL_PREGNANCY, display="Normal pregnancy", onset_days_ago=150)
    finding = fired_rule(rule, cramps(), pregnant, gestational_age(22))
    assert finding.summary.startswith("Pregnant at 22 weeks with leg cramps on record")


def test_a_normal_pregnancy_code_without_gestational_age_gives_no_card(rule: RuleVersion) -> None:
    pregnant = condition(NORMAL_PREGNANCY, display="Normal pregnancy", onset_days_ago=150)
    assert run_rule(rule, cramps(), pregnant) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_calcium_is_judged_albumin_corrected(rule: RuleVersion) -> None:
    # Total 8.2 mg/dL below the lab's 8.6, but albumin 3.0 g/dL: corrected 9.0, not low.
    total = observation(CALCIUM_TOTAL, 8.2, "mg/dL", days_ago=10, low=8.6, high=10.2)
    albumin = observation(ALBUMIN, 3.0, "g/dL", days_ago=10)
    base = (cramps(), pregnancy_status(), gestational_age(24))
    finding = fired_rule(rule, *base, total, albumin)
    assert "low" not in finding.explanation
    line = next(e for e in finding.evidence if e.label == "Calcium, albumin-corrected")
    assert line.value.startswith("9 mg/dL (total 8.2 mg/dL, albumin 3 g/dL; lower limit 8.6)")
    # Total 7.6 with albumin 3.5: corrected 8.0, below 8.6.
    low_total = observation(CALCIUM_TOTAL, 7.6, "mg/dL", days_ago=10, low=8.6, high=10.2)
    low_albumin = observation(ALBUMIN, 3.5, "g/dL", days_ago=10)
    low = fired_rule(rule, *base, low_total, low_albumin)
    assert "The latest calcium is low and may add to them." in low.explanation


@pytest.mark.rule_versions(until="1.0.0")
def test_1_0_0_called_a_low_total_calcium_low_whatever_the_albumin(rule: RuleVersion) -> None:
    total = observation(CALCIUM_TOTAL, 8.2, "mg/dL", days_ago=10, low=8.6, high=10.2)
    finding = fired_rule(rule, cramps(), pregnancy_status(), gestational_age(24), total)
    assert "total calcium is below the lab's range" in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
def test_a_censored_magnesium_keeps_its_comparator(rule: RuleVersion) -> None:
    magnesium = observation("2601-3", 0.5, "mmol/L", days_ago=10, comparator="<")
    finding = fired_rule(rule, cramps(), pregnancy_status(), gestational_age(24), magnesium)
    line = next(e for e in finding.evidence if e.label == "Magnesium")
    assert line.value.startswith("<0.5 mmol/L")
    assert "magnesium is low" in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
def test_cramps_as_the_reason_of_a_visit(rule: RuleVersion) -> None:
    old = condition("G47.62", system=ICD10, clinical_status="resolved", onset_days_ago=200)
    visit = encounter(start_days_ago=4)
    visit["reasonReference"] = [{"reference": f"Condition/{old['id']}"}]
    finding = fired_rule(rule, old, visit, pregnancy_status(), gestational_age(30))
    assert finding.summary.startswith("Pregnant at 30 weeks with leg cramps on record")


@pytest.mark.rule_versions(since="1.1.0")
def test_details_stay_short(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        cramps(),
        cramps(SWELLING_LEFT_LEG),
        cramps(LEG_PAIN_LEFT),
        pregnancy_status(),
        gestational_age(31),
        observation(MAGNESIUM, 1.5, "mg/dL", days_ago=10),
        observation(CALCIUM_TOTAL, 7.6, "mg/dL", days_ago=10, low=8.6, high=10.2),
        observation(ALBUMIN, 3.5, "g/dL", days_ago=10),
    )
    assert finding.summary.startswith("Pregnant at 31 weeks with one leg swollen on record")
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    assert len(finding.explanation) <= 300
    assert finding.explanation.count(". ") <= 1
