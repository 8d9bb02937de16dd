"""venous-insufficiency (§17), every version: documented venous disease or lymphoedema, info
only."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import ICD10, condition, encounter, observation
from tests.support.rules import fired_rule, rule_fixture, run_rule

VENOUS_INSUFFICIENCY = ("I87.2", ICD10)
PAINFUL_VARICOSE_VEINS_LEFT = ("I83.812", ICD10)
POST_THROMBOTIC = ("I87.009", ICD10)
LYMPHOEDEMA = "234097001"
LEG_PAIN_LEFT = ("M79.605", ICD10)
SWELLING_BOTH_LEGS = ("R22.43", ICD10)

rule = rule_fixture("venous-insufficiency")


def icd(code: tuple[str, str], **kwargs: Any) -> dict[str, Any]:
    return condition(code[0], system=code[1], **kwargs)


def complaint(code: tuple[str, str] = LEG_PAIN_LEFT) -> dict[str, Any]:
    return icd(code, onset_days_ago=6)


@pytest.mark.rule_versions(until="1.0.0")
def test_venous_insufficiency_with_leg_pain(rule: RuleVersion) -> None:
    venous = icd(VENOUS_INSUFFICIENCY, display="Venous insufficiency (chronic) (peripheral)")
    finding = run_rule(rule, venous, complaint())
    assert finding is not None
    assert finding.severity == "info"
    assert finding.summary == (
        "Documented Venous insufficiency (chronic) (peripheral) (I87.2) may explain aching legs "
        "and night cramps; worse after standing."
    )
    assert any("DVT assessment" in c for c in finding.cautions)
    assert finding.suggestions == ()


def test_painful_varicose_veins(rule: RuleVersion) -> None:
    finding = run_rule(rule, icd(PAINFUL_VARICOSE_VEINS_LEFT), complaint())
    assert finding is not None
    assert "I83.812" in finding.summary


def test_no_card_without_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, icd(VENOUS_INSUFFICIENCY)) is None


def test_complaint_as_encounter_reason_counts(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=20, reason=(ICD10, "G47.62"))
    assert run_rule(rule, icd(VENOUS_INSUFFICIENCY), visit) is not None


def test_post_thrombotic_syndrome_implies_prior_dvt(rule: RuleVersion) -> None:
    finding = run_rule(rule, icd(POST_THROMBOTIC), complaint())
    assert finding is not None
    assert finding.summary.startswith(
        "Post-thrombotic syndrome documented (I87.009): implies prior DVT"
    )
    assert any("previously documented DVT" in c for c in finding.cautions)


def test_lymphoedema_needs_a_swelling_complaint(rule: RuleVersion) -> None:
    lymph = condition(LYMPHOEDEMA, display="Lymphedema")
    assert run_rule(rule, lymph, complaint()) is None
    finding = run_rule(rule, lymph, complaint(SWELLING_BOTH_LEGS))
    assert finding is not None
    assert finding.summary.startswith("Lymphoedema documented (234097001)")


@pytest.mark.parametrize(
    ("clinical", "verification"),
    [("active", "refuted"), ("active", "entered-in-error"), ("resolved", "confirmed")],
)
def test_refuted_erroneous_or_resolved_is_ignored(
    rule: RuleVersion, clinical: str, verification: str
) -> None:
    venous = icd(VENOUS_INSUFFICIENCY, clinical_status=clinical, verification_status=verification)
    assert run_rule(rule, venous, complaint()) is None


def test_wording(rule: RuleVersion) -> None:
    long_display = "Varicose veins of bilateral lower extremities with pain " * 3
    resources = [icd(("I83.813", ICD10), display=long_display), complaint()]
    fired_rule(rule, *resources)  # fits the summary limit, never rules a cause out
    assert rule.severities == ("info",)


# -- 1.1.0: complaints from visits and Observations, kinds it explains, worded as recorded ---------

LEG_CRAMPS = ("G47.62", ICD10)
RESTLESS_LEGS = ("G25.81", ICD10)
SWELLING_LEFT_LEG = ("R22.42", ICD10)


@pytest.mark.rule_versions(since="1.1.0")
def test_venous_insufficiency_with_leg_pain_says_pain(rule: RuleVersion) -> None:
    venous = icd(VENOUS_INSUFFICIENCY, display="Venous insufficiency (chronic) (peripheral)")
    finding = fired_rule(rule, venous, complaint())
    assert finding.severity == "info"
    assert finding.candidate is True
    assert finding.summary == (
        "Documented Venous insufficiency (chronic) (peripheral) (I87.2) may explain the leg "
        "pain on record; typically worse after standing."
    )
    assert finding.explanation.count(". ") <= 1
    assert finding.suggestions == ()


@pytest.mark.rule_versions(since="1.1.0")
def test_a_coded_cramp_is_called_cramps_never_pain(rule: RuleVersion) -> None:
    finding = fired_rule(rule, icd(VENOUS_INSUFFICIENCY), complaint(LEG_CRAMPS))
    assert "may explain the leg cramps on record" in finding.summary
    assert "leg pain" not in finding.summary + finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
def test_restless_legs_alone_do_not_open_the_card(rule: RuleVersion) -> None:
    assert run_rule(rule, icd(VENOUS_INSUFFICIENCY), complaint(RESTLESS_LEGS)) is None
    both = fired_rule(rule, icd(VENOUS_INSUFFICIENCY), complaint(RESTLESS_LEGS), complaint())
    assert "the leg pain on record" in both.summary


@pytest.mark.rule_versions(since="1.1.0")
def test_a_complaint_as_a_visit_reason_reference_counts(rule: RuleVersion) -> None:
    cramps = icd(LEG_CRAMPS, clinical_status="resolved", onset_days_ago=300)
    visit = encounter(start_days_ago=12)
    visit["reasonReference"] = [{"reference": f"Condition/{cramps['id']}"}]
    assert run_rule(rule, icd(VENOUS_INSUFFICIENCY), cramps) is None
    assert run_rule(rule, icd(VENOUS_INSUFFICIENCY), cramps, visit) is not None


@pytest.mark.rule_versions(since="1.1.0")
def test_a_complaint_coded_as_an_observation_value_counts(rule: RuleVersion) -> None:
    reported = observation("75325-1", None, days_ago=10, value_code=(ICD10, "M79.605"))
    finding = fired_rule(rule, icd(VENOUS_INSUFFICIENCY), reported)
    assert "leg pain" in finding.summary


@pytest.mark.rule_versions(since="1.1.0")
def test_lymphoedema_with_swelling_says_swelling(rule: RuleVersion) -> None:
    lymph = condition(LYMPHOEDEMA, display="Lymphedema")
    assert run_rule(rule, lymph, complaint(LEG_CRAMPS)) is None
    finding = fired_rule(rule, lymph, complaint(SWELLING_LEFT_LEG))
    assert finding.summary == (
        "Lymphoedema documented (234097001) may explain the leg swelling on record."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_details_stay_short(rule: RuleVersion) -> None:
    resources = [
        icd(("I83.813", ICD10), display="Varicose veins of bilateral lower extremities with pain"),
        icd(VENOUS_INSUFFICIENCY),
        icd(POST_THROMBOTIC),
        icd(PAINFUL_VARICOSE_VEINS_LEFT),
        condition(LYMPHOEDEMA),
        complaint(),
        complaint(LEG_CRAMPS),
        complaint(SWELLING_LEFT_LEG),
    ]
    finding = fired_rule(rule, *resources)
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    assert finding.summary.startswith("Post-thrombotic syndrome documented (I87.009)")


@pytest.mark.rule_versions(since="1.1.0")
def test_lymphoedema_alone_does_not_cite_the_venous_guideline(rule: RuleVersion) -> None:
    venous = fired_rule(rule, icd(VENOUS_INSUFFICIENCY), complaint(SWELLING_LEFT_LEG))
    assert venous.source is None  # the rule's own: the SVS/AVF guideline
    lymph = fired_rule(rule, condition(LYMPHOEDEMA), complaint(SWELLING_LEFT_LEG))
    assert lymph.source is not None
    assert lymph.source.url is None
