"""peripheral-neuropathy (clinical-content.md §9), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding, RuleVersion
from tests.support.fhir import ICD10, condition, observation
from tests.support.rules import fired_rule, rule_fixture, run_rule

HBA1C = "4548-4"  # %
HBA1C_IFCC = "59261-8"  # mmol/mol
B12 = "2132-9"
GLUCOSE = "2345-7"

rule = rule_fixture("peripheral-neuropathy")


def a1c(value: float, *, days_ago: float = 20, **kwargs: Any) -> dict[str, Any]:
    return observation(HBA1C, value, "%", days_ago=days_ago, **kwargs)


def type2_diabetes(**kwargs: Any) -> dict[str, Any]:
    return condition("44054006", display="Diabetes mellitus type 2 (disorder)", **kwargs)


def diabetic_polyneuropathy(**kwargs: Any) -> dict[str, Any]:
    return condition(
        "E11.42",
        system=ICD10,
        display="Type 2 diabetes mellitus with diabetic polyneuropathy",
        **kwargs,
    )


def leg_pain() -> dict[str, Any]:
    return condition("M79.604", system=ICD10, display="Pain in right leg", onset_days_ago=10)


def leg_swelling() -> dict[str, Any]:
    return condition("R60.0", system=ICD10, display="Localized edema", onset_days_ago=10)


def fired(rule: RuleVersion, *resources: dict[str, Any], **kwargs: Any) -> Finding:
    finding = fired_rule(rule, *resources, **kwargs)
    assert not finding.involves_draft_order
    return finding


# -- possible undiagnosed diabetes (finding) --------------------------------------------------


def test_high_a1c_without_diagnosis_is_a_warning_on_any_chart(rule: RuleVersion) -> None:
    finding = fired(rule, a1c(7.1))
    assert finding.severity == "warning"
    assert finding.summary == (
        "HbA1c 7.1% (≥6.5%) without a diabetes diagnosis: possible undiagnosed diabetes; "
        "repeat the test to confirm (ADA)."
    )
    assert "ADA asks for a confirming repeat test" in finding.explanation
    assert [s.loinc for s in finding.suggestions] == [HBA1C]


@pytest.mark.rule_versions(until="1.0.0")
def test_with_leg_complaint_neuropathy_is_named_and_b12_suggested(
    rule: RuleVersion,
) -> None:
    finding = fired(rule, a1c(7.1), leg_pain())
    assert finding.summary == (
        "HbA1c 7.1% without a diabetes diagnosis; diabetic neuropathy may explain the leg "
        "symptoms. Repeat to confirm (ADA)."
    )
    assert [s.loinc for s in finding.suggestions] == [HBA1C, B12]


@pytest.mark.parametrize(("value", "fires"), [(6.5, True), (6.49, False)])
def test_a1c_threshold(rule: RuleVersion, value: float, fires: bool) -> None:
    assert (run_rule(rule, a1c(value)) is not None) is fires


@pytest.mark.parametrize(("mmol_mol", "fires"), [(48, True), (47, False)])
def test_ifcc_units_are_converted(rule: RuleVersion, mmol_mol: float, fires: bool) -> None:
    # 48 mmol/mol = 6.54 %; 47 mmol/mol = 6.45 %.
    finding = run_rule(rule, observation(HBA1C_IFCC, mmol_mol, "mmol/mol"))
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.summary.startswith("HbA1c 48 mmol/mol (6.5%, ≥6.5%) without")


@pytest.mark.parametrize(("days_ago", "fires"), [(365, True), (366, False)])
def test_twelve_month_window(rule: RuleVersion, days_ago: int, fires: bool) -> None:
    assert (run_rule(rule, a1c(7.0, days_ago=days_ago)) is not None) is fires


def test_known_diabetes_means_no_undiagnosed_warning(rule: RuleVersion) -> None:
    assert run_rule(rule, a1c(8.2), type2_diabetes()) is None


def test_resolved_diabetes_is_still_a_diagnosis(rule: RuleVersion) -> None:
    assert run_rule(rule, a1c(8.2), type2_diabetes(clinical_status="resolved")) is None


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_diabetes_is_not_a_diagnosis(rule: RuleVersion, status: str) -> None:
    finding = fired(rule, a1c(8.2), type2_diabetes(verification_status=status))
    assert finding.severity == "warning"


def test_two_raised_results_meet_the_ada_criterion(rule: RuleVersion) -> None:
    finding = fired(rule, a1c(7.0, days_ago=10), a1c(6.8, days_ago=120))
    assert finding.summary == (
        "HbA1c ≥6.5% on two dates (latest 7.0%) without a diabetes diagnosis: meets ADA "
        "criteria for diabetes."
    )
    assert finding.suggestions == ()


def test_latest_result_decides(rule: RuleVersion) -> None:
    assert run_rule(rule, a1c(6.1, days_ago=10), a1c(6.9, days_ago=100)) is None


def test_censored_high_result_counts(rule: RuleVersion) -> None:
    finding = fired(rule, a1c(14, comparator=">"))
    assert finding.summary.startswith("HbA1c >14.0% (≥6.5%)")


def test_glucose_is_shown_as_context(rule: RuleVersion) -> None:
    finding = fired(rule, a1c(7.1), observation(GLUCOSE, 162, "mg/dL"))
    assert any(e.label == "Glucose (fasting state not known)" for e in finding.evidence)


# -- candidate causes and monitoring gap (need a complaint) -----------------------------------


@pytest.mark.rule_versions(until="1.0.0")
def test_diabetes_with_leg_pain_is_info(rule: RuleVersion) -> None:
    finding = fired(rule, type2_diabetes(), a1c(7.4, days_ago=30), leg_pain())
    assert finding.severity == "info"
    assert finding.summary == (
        "Diabetes on record: diabetic neuropathy may explain the burning or night-time leg pain."
    )
    assert [s.loinc for s in finding.suggestions] == [B12]


def test_diabetes_without_complaint_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, type2_diabetes(), diabetic_polyneuropathy()) is None


@pytest.mark.parametrize(("a1c_days_ago", "gap"), [(183, False), (184, True)])
def test_six_month_a1c_gap_for_diabetic_neuropathy(
    rule: RuleVersion, a1c_days_ago: int, gap: bool
) -> None:
    finding = fired(
        rule,
        diabetic_polyneuropathy(),
        a1c(7.4, days_ago=a1c_days_ago),
        observation(B12, 400, "pg/mL", days_ago=30),
        leg_pain(),
    )
    assert finding.severity == "info"
    if gap:
        assert finding.summary == (
            "Diabetic neuropathy on record may explain the leg pain; no HbA1c in 6 months, "
            "consider checking."
        )
        assert [s.loinc for s in finding.suggestions] == [HBA1C]
    else:
        assert "no HbA1c" not in finding.summary
        assert finding.suggestions == ()


def test_gap_with_swelling_complaint_only(rule: RuleVersion) -> None:
    finding = fired(rule, diabetic_polyneuropathy(), leg_swelling())
    assert finding.summary == (
        "Diabetic neuropathy on record; no HbA1c in 6 months. Consider checking glycaemic control."
    )


def test_swelling_only_and_recent_a1c_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, diabetic_polyneuropathy(), a1c(7.0), leg_swelling()) is None


def test_alcohol_use_disorder_with_leg_pain(rule: RuleVersion) -> None:
    alcohol = condition("F10.20", system=ICD10, display="Alcohol dependence, uncomplicated")
    finding = fired(rule, alcohol, leg_pain())
    assert finding.severity == "info"
    assert finding.summary.startswith("Alcohol use disorder on record: alcohol-related neuropathy")
    assert [s.loinc for s in finding.suggestions] == [B12]


def test_alcoholic_polyneuropathy_named(rule: RuleVersion) -> None:
    neuropathy = condition("G62.1", system=ICD10, display="Alcoholic polyneuropathy")
    finding = fired(rule, neuropathy, leg_pain())
    assert finding.summary.startswith("Alcohol-related neuropathy on record")


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_neuropathy_is_ignored(rule: RuleVersion, status: str) -> None:
    assert run_rule(rule, diabetic_polyneuropathy(verification_status=status), leg_pain()) is None


def test_unspecified_polyneuropathy_alone_does_not_fire(rule: RuleVersion) -> None:
    neuropathy = condition("G62.9", system=ICD10, display="Polyneuropathy, unspecified")
    assert run_rule(rule, neuropathy, leg_pain()) is None


# -- 1.1.0: wider sets, the complaint on record named, comparators, candidate causes -------------

SLEEP_LEG_CRAMPS = "G47.62"
FASTING_GLUCOSE = "1558-6"
HBA1C_DBS = "96595-4"


def cramps() -> dict[str, Any]:
    return condition(
        SLEEP_LEG_CRAMPS, system=ICD10, display="Sleep related leg cramps", onset_days_ago=7
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_the_named_cause_says_the_complaint_on_record(rule: RuleVersion) -> None:
    finding = fired(rule, type2_diabetes(), a1c(7.4, days_ago=30), cramps())
    assert finding.summary == (
        "Diabetes on record: diabetic neuropathy may explain the leg cramps."
    )
    pain = fired(rule, type2_diabetes(), a1c(7.4, days_ago=30), leg_pain())
    assert pain.summary == "Diabetes on record: diabetic neuropathy may explain the leg pain."
    assert pain.severity == "info"
    assert [s.loinc for s in pain.suggestions] == [B12]


@pytest.mark.rule_versions(since="1.1.0")
def test_undiagnosed_diabetes_says_the_complaint_on_record(rule: RuleVersion) -> None:
    finding = fired(rule, a1c(7.1), cramps())
    assert finding.summary == (
        "HbA1c 7.1% without a diabetes diagnosis; diabetic neuropathy may explain the leg "
        "cramps. Repeat to confirm (ADA)."
    )
    assert [s.loinc for s in finding.suggestions] == [HBA1C, B12]


@pytest.mark.rule_versions(since="1.1.0")
def test_a_neuropathy_is_called_diabetic_only_when_coded_so(rule: RuleVersion) -> None:
    other = condition("G62.9", system=ICD10, display="Polyneuropathy, unspecified")
    finding = fired(rule, type2_diabetes(), other, a1c(7.0), leg_pain())
    assert finding.summary == "Diabetes and a neuropathy on record may explain the leg pain."
    coded = fired(rule, diabetic_polyneuropathy(), a1c(7.0), leg_pain())
    assert coded.summary == "Diabetic neuropathy on record may explain the leg pain."


@pytest.mark.rule_versions(since="1.1.0")
def test_codes_of_the_wider_sets(rule: RuleVersion) -> None:
    diabetes = condition("E11.9", system=ICD10, display="Type 2 diabetes mellitus")
    assert fired(rule, diabetes, a1c(7.0), leg_pain()).summary.startswith("Diabetes on record")
    abuse = condition("F10.10", system=ICD10, display="Alcohol abuse, uncomplicated")
    assert fired(rule, abuse, leg_pain()).summary.startswith("Alcohol use disorder on record")
    dbs = fired(rule, observation(HBA1C_DBS, 6.8, "%"))
    assert dbs.severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_censored_a1c_keeps_its_comparator_in_the_evidence(rule: RuleVersion) -> None:
    finding = fired(rule, a1c(14, comparator=">"))
    line = next(e for e in finding.evidence if e.label == "HbA1c")
    assert line.value.startswith(">14 %")


@pytest.mark.rule_versions(since="1.1.0")
def test_a_fasting_glucose_is_labelled_so(rule: RuleVersion) -> None:
    fasting = observation(FASTING_GLUCOSE, 131, "mg/dL")
    fasting["code"]["coding"][0]["display"] = "Fasting glucose [Mass/volume] in Serum or Plasma"
    finding = fired(rule, a1c(7.1), fasting)
    assert any(e.label == "Glucose, fasting" for e in finding.evidence)
    random = fired(rule, a1c(7.1), observation(GLUCOSE, 162, "mg/dL"))
    assert any(e.label == "Glucose (fasting state not known)" for e in random.evidence)


@pytest.mark.rule_versions(since="1.1.0")
def test_only_undiagnosed_diabetes_stands_on_its_own(rule: RuleVersion) -> None:
    assert not fired(rule, a1c(7.1)).candidate
    assert not fired(rule, a1c(7.1), leg_pain()).candidate
    assert fired(rule, type2_diabetes(), a1c(7.0), leg_pain()).candidate
    assert fired(rule, diabetic_polyneuropathy(), leg_swelling()).candidate  # the HbA1c gap


@pytest.mark.rule_versions(since="1.1.0")
def test_details_stay_short(rule: RuleVersion) -> None:
    alcohol = condition("F10.20", system=ICD10, display="Alcohol dependence, uncomplicated")
    for finding in (
        fired(rule, a1c(7.1), a1c(6.9, days_ago=200), alcohol, leg_pain(), cramps()),
        fired(rule, a1c(7.1), leg_pain()),
        fired(rule, diabetic_polyneuropathy(), type2_diabetes(), alcohol, leg_pain(), cramps()),
    ):
        assert len(finding.evidence) <= 6
        assert len(finding.cautions) <= 2
        assert len(finding.explanation) <= 300
        assert finding.explanation.count(". ") <= 1
