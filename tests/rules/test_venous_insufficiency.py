"""venous-insufficiency (§17), every version: documented venous disease or lymphoedema, info
only."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import ICD10, condition, encounter
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
