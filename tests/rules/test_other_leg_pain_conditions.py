"""other-leg-pain-conditions (§17), every version: documented alternatives, one info card."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import ICD10, condition, observation
from tests.support.rules import fired_rule, rule_fixture, run_rule

LUMBAR_RADICULOPATHY = ("M54.16", ICD10)
LUMBAR_STENOSIS = ("M48.062", ICD10)
BAKERS_CYST_LEFT = ("M71.22", ICD10)
FIBROMYALGIA = "95417003"
KNEE_OSTEOARTHRITIS = "239873007"
ADDISONS = "363732003"
PARKINSONS = ("G20", ICD10)  # FY2023 category; FY2024+ leaves match it as a prefix
ACHILLES_TENDINITIS = ("M76.60", ICD10)
LEG_PAIN_LEFT = ("M79.605", ICD10)

rule = rule_fixture("other-leg-pain-conditions")


def icd(code: tuple[str, str], **kwargs: Any) -> dict[str, Any]:
    return condition(code[0], system=code[1], **kwargs)


def pain() -> dict[str, Any]:
    return icd(LEG_PAIN_LEFT, onset_days_ago=6)


def test_single_condition_summary(rule: RuleVersion) -> None:
    radiculopathy = icd(LUMBAR_RADICULOPATHY, display="Lumbar radiculopathy")
    finding = run_rule(rule, radiculopathy, pain())
    assert finding is not None
    assert finding.severity == "info"
    assert finding.summary == (
        "Documented Lumbar radiculopathy (M54.16) may explain leg pain; worse with position, "
        "not lying still."
    )


def test_no_card_without_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, icd(LUMBAR_RADICULOPATHY)) is None


def test_one_card_lists_every_condition_with_stenosis_last(rule: RuleVersion) -> None:
    resources = [
        icd(LUMBAR_STENOSIS, display="Spinal stenosis, lumbar region with neurogenic claudication"),
        condition(FIBROMYALGIA, display="Primary fibromyalgia syndrome"),
        condition(KNEE_OSTEOARTHRITIS, display="Osteoarthritis of knee"),
        pain(),
    ]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert finding.summary == (
        "Documented Primary fibromyalgia syndrome (95417003) and 2 other conditions may explain "
        "leg pain; see the notes for each."
    )
    explanation = finding.explanation
    assert explanation.index("fibromyalgia") < explanation.index("osteoarthritis")
    assert explanation.index("osteoarthritis") < explanation.index("M48.062")
    assert "weaker explanation for pain that is nocturnal or at rest" in explanation


def test_lumbar_stenosis_alone_says_it_is_a_weaker_fit(rule: RuleVersion) -> None:
    finding = run_rule(rule, icd(LUMBAR_STENOSIS), pain())
    assert finding is not None
    assert "weaker fit for pain at rest or at night" in finding.summary


def test_bakers_cyst_carries_the_dvt_caution(rule: RuleVersion) -> None:
    finding = run_rule(rule, icd(BAKERS_CYST_LEFT), pain())
    assert finding is not None
    assert "mimic DVT" in finding.summary
    assert any("assess for DVT" in c for c in finding.cautions)


def test_parkinsons(rule: RuleVersion) -> None:
    finding = run_rule(rule, icd(PARKINSONS, display="Parkinson's disease"), pain())
    assert finding is not None
    assert finding.summary == (
        "Documented Parkinson's disease (G20) may explain leg pain; off-period dystonia or cramps."
    )


def test_addisons_shows_sodium_and_potassium(rule: RuleVersion) -> None:
    resources = [
        condition(ADDISONS, display="Addison's disease"),
        observation("2951-2", 129, "meq/L", days_ago=20),
        observation("2823-3", 5.6, "mmol/L", days_ago=20),
        pain(),
    ]
    finding = run_rule(rule, *resources)
    assert finding is not None
    labels = {e.label: e.value for e in finding.evidence}
    assert labels["Sodium"].startswith("129 mmol/L")
    assert labels["Potassium"].startswith("5.6 mmol/L")
    assert "check sodium and potassium" in finding.summary


@pytest.mark.parametrize(
    ("clinical", "verification"),
    [("active", "refuted"), ("active", "entered-in-error"), ("resolved", "confirmed")],
)
def test_refuted_erroneous_or_resolved_is_ignored(
    rule: RuleVersion, clinical: str, verification: str
) -> None:
    tendinitis = icd(
        ACHILLES_TENDINITIS, clinical_status=clinical, verification_status=verification
    )
    assert run_rule(rule, tendinitis, pain()) is None


def test_wording(rule: RuleVersion) -> None:
    resources = [
        icd(LUMBAR_RADICULOPATHY, display="Radiculopathy, lumbar region " * 4),
        icd(BAKERS_CYST_LEFT),
        icd(LUMBAR_STENOSIS),
        condition(ADDISONS),
        icd(ACHILLES_TENDINITIS),
        pain(),
    ]
    fired_rule(rule, *resources)  # fits the summary limit, never rules a cause out
    assert rule.severities == ("info",)
