"""electrolyte-abnormality (clinical-content.md §3), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding, Fired, RuleVersion
from cds.rules.selection.v1 import POLICY
from tests.support.card_text import assert_short_and_plain
from tests.support.fhir import (
    ICD10,
    SNOMED,
    condition,
    encounter,
    medication_request,
    observation,
)
from tests.support.rules import fired_rule, registry, rule_fixture, run_rule, versions

K = "2823-3"
MG_MASS = "19123-9"  # mg/dL
MG_MOLES = "2601-3"  # mmol/L
NA = "2951-2"
CA_TOTAL = "17861-6"  # mg/dL
CA_TOTAL_MOLES = "2000-8"  # mmol/L
CA_CORRECTED = "29265-6"  # mmol/L
CA_IONIZED = "1995-0"  # mmol/L
ALBUMIN = "1751-7"

rule = rule_fixture("electrolyte-abnormality")


def cramp_complaint() -> dict[str, Any]:
    return condition("G47.62", system=ICD10, display="Sleep related leg cramps")


def diuretic_rule() -> RuleVersion:
    """The newest diuretic-electrolytes version: the card that can explain this one's results."""
    newest = versions("diuretic-electrolytes")[-1].values[0]
    assert isinstance(newest, RuleVersion)
    return newest


def fired_with_diuretic_card(rule: RuleVersion, *resources: dict[str, Any]) -> list[Fired]:
    """This card and the diuretic card on the same record, each stamped with its version."""
    return [
        Fired(version, finding)
        for version in (rule, diuretic_rule())
        if (finding := run_rule(version, *resources)) is not None
    ]


# -- potassium -------------------------------------------------------------------------------


def test_low_potassium_without_complaint_is_a_warning_finding(rule: RuleVersion) -> None:
    obs = observation(K, 3.1, "mmol/L", days_ago=10)
    finding = fired_rule(rule, obs)
    assert finding.severity == "warning"
    assert finding.summary == (
        "Serum potassium 3.1 mmol/L (low) can cause muscle cramps; review cause and replacement."
    )
    assert finding.labs == (("potassium", f"Observation/{obs['id']}"),)
    assert finding.evidence[0].value.startswith("3.1 mmol/L")
    assert [s.loinc for s in finding.suggestions] == ["51990-0", "19123-9"]
    assert not finding.involves_draft_order


@pytest.mark.parametrize(
    ("value", "severity"),
    [(2.4, "critical"), (2.5, "warning"), (3.49, "warning")],
)
def test_potassium_critical_boundary(rule: RuleVersion, value: float, severity: str) -> None:
    finding = fired_rule(rule, observation(K, value, "mmol/L"))
    assert finding.severity == severity


def test_potassium_at_default_limit_is_normal(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(K, 3.5, "mmol/L")) is None


def test_critical_summary_asks_for_review_today(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(K, 2.3, "mEq/L"))
    assert finding.severity == "critical"
    assert finding.summary.startswith("Serum potassium 2.3 mmol/L (critically low):")
    assert "review today" in finding.summary


def test_lab_reference_range_is_preferred_to_default(rule: RuleVersion) -> None:
    # The lab's range says 3.6 is low, though the default (3.5) would not.
    finding = fired_rule(rule, observation(K, 3.6, "mmol/L", low=3.7, high=5.2))
    assert finding.severity == "warning"
    # And a lab whose range starts at 3.3 does not call 3.4 low.
    assert run_rule(rule, observation(K, 3.4, "mmol/L", low=3.3, high=5.1)) is None


def test_interpretation_flag_is_preferred(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(K, 3.6, "mmol/L", interpretation="L"))
    assert finding.severity == "warning"


def test_high_potassium_by_range_is_a_warning(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(K, 5.9, "mmol/L", low=3.5, high=5.1))
    assert finding.severity == "warning"
    assert "(high)" in finding.summary
    assert "weakness or cramps" in finding.summary


def test_high_potassium_without_range_is_not_flagged(rule: RuleVersion) -> None:
    # No catalog default upper limit for K: only the lab's flag or range can call it high.
    assert run_rule(rule, observation(K, 5.9, "mmol/L")) is None


def test_censored_potassium_below_critical_is_critical(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(K, 2.0, "mmol/L", comparator="<"))
    assert finding.severity == "critical"
    assert "<2 mmol/L" in finding.summary


# -- windows -----------------------------------------------------------------------------------


def test_lab_window_is_90_days(rule: RuleVersion) -> None:
    assert fired_rule(rule, observation(K, 3.0, "mmol/L", days_ago=90)).severity == "warning"
    assert run_rule(rule, observation(K, 3.0, "mmol/L", days_ago=91)) is None


def test_latest_result_decides(rule: RuleVersion) -> None:
    old_low = observation(K, 3.0, "mmol/L", days_ago=40)
    new_normal = observation(K, 4.2, "mmol/L", days_ago=5)
    assert run_rule(rule, old_low, new_normal) is None


def test_non_final_result_is_ignored(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(K, 2.2, "mmol/L", status="preliminary")) is None


# -- magnesium, units ------------------------------------------------------------------------


def test_magnesium_mg_dl_is_converted(rule: RuleVersion) -> None:
    # 1.4 mg/dL × 0.4114 = 0.58 mmol/L: the catalog's example card.
    finding = fired_rule(rule, observation(MG_MASS, 1.4, "mg/dL"))
    assert finding.severity == "warning"
    assert finding.summary == (
        "Serum magnesium 0.58 mmol/L (low) can cause muscle cramps; review cause and replacement."
    )
    assert "reported as 1.4 mg/dL" in finding.evidence[0].value
    assert "19123-9" in [s.loinc for s in finding.suggestions]


@pytest.mark.parametrize(
    ("value", "severity"),
    [(0.49, "critical"), (0.50, "warning"), (0.69, "warning")],
)
def test_magnesium_thresholds(rule: RuleVersion, value: float, severity: str) -> None:
    assert fired_rule(rule, observation(MG_MOLES, value, "mmol/L")).severity == severity


def test_magnesium_at_default_limit_is_normal(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(MG_MOLES, 0.70, "mmol/L")) is None


def test_magnesium_meq_is_divalent(rule: RuleVersion) -> None:
    # 0.9 mEq/L = 0.45 mmol/L: critical.
    assert fired_rule(rule, observation(MG_MOLES, 0.9, "mEq/L")).severity == "critical"


def test_unknown_unit_is_not_read(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(MG_MOLES, 0.2, "g/L")) is None


# -- sodium ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        (124, "critical"),
        (125, "warning"),
        (134, "warning"),
        (146, "warning"),
        (159, "warning"),
        (160, "critical"),
    ],
)
def test_sodium_thresholds(rule: RuleVersion, value: float, severity: str) -> None:
    assert fired_rule(rule, observation(NA, value, "mmol/L")).severity == severity


@pytest.mark.parametrize("value", [135, 145])
def test_sodium_at_limits_is_normal(rule: RuleVersion, value: float) -> None:
    assert run_rule(rule, observation(NA, value, "mmol/L")) is None


def test_sodium_134_is_a_warning_even_if_lab_range_starts_at_133(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, observation(NA, 134, "mmol/L", low=133, high=146))
    assert finding.severity == "warning"


# -- calcium ---------------------------------------------------------------------------------


def test_calcium_corrected_with_albumin(rule: RuleVersion) -> None:
    # 7.0 + 0.8 × (4.0 - 3.0) = 7.8 mg/dL: low, not critical.
    total = observation(CA_TOTAL, 7.0, "mg/dL", days_ago=3)
    finding = fired_rule(rule, total, observation(ALBUMIN, 3.0, "g/dL", days_ago=3))
    assert finding.severity == "warning"
    assert "7.8 mg/dL (low)" in finding.summary
    assert finding.labs == (("calcium", f"Observation/{total['id']}"),)
    assert "24323-8" in [s.loinc for s in finding.suggestions]


def test_calcium_correction_can_normalise_a_low_total(rule: RuleVersion) -> None:
    # 8.0 + 0.8 × (4.0 - 2.5) = 9.2 mg/dL: normal, though the total is flagged low.
    total = observation(CA_TOTAL, 8.0, "mg/dL", low=8.5, high=10.5, interpretation="L")
    assert run_rule(rule, total, observation(ALBUMIN, 25, "g/L")) is None


@pytest.mark.parametrize(
    ("total", "severity"),
    [(6.7, "critical"), (6.8, "warning"), (13.2, "critical"), (13.1, "warning")],
)
def test_corrected_calcium_critical_limits(rule: RuleVersion, total: float, severity: str) -> None:
    # Albumin 3.0 adds 0.8: 6.7 -> 7.5 (< 7.6), 6.8 -> 7.6, 13.2 -> 14.0 (>= 14), 13.1 -> 13.9.
    finding = fired_rule(
        rule, observation(CA_TOTAL, total, "mg/dL"), observation(ALBUMIN, 3.0, "g/dL")
    )
    assert finding.severity == severity


def test_reported_corrected_calcium_in_mmol_l(rule: RuleVersion) -> None:
    # 1.8 mmol/L = 7.2 mg/dL: critical (Society for Endocrinology: < 1.9 mmol/L).
    finding = fired_rule(rule, observation(CA_CORRECTED, 1.8, "mmol/L"))
    assert finding.severity == "critical"
    assert "7.2 mg/dL" in finding.summary


def test_total_calcium_without_albumin_is_judged_as_measured(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(CA_TOTAL_MOLES, 2.0, "mmol/L"))
    assert finding.severity == "warning"  # 8.0 mg/dL
    assert any("not corrected for albumin" in c for c in finding.cautions)


@pytest.mark.parametrize(
    ("mmol_l", "severity"),
    [(1.7, "warning"), (3.5, "critical"), (3.4, "warning")],
)
def test_uncorrected_total_calcium_is_critical_only_when_high(
    rule: RuleVersion, mmol_l: float, severity: str
) -> None:
    # 1.7 mmol/L = 6.8 mg/dL: may be low albumin alone, so not critical without a correction.
    # 3.5 mmol/L = 14.03 mg/dL: severe hypercalcaemia whatever the albumin (unless > 4 g/dL).
    finding = fired_rule(rule, observation(CA_TOTAL_MOLES, mmol_l, "mmol/L"))
    assert finding.severity == severity


def test_ionized_calcium_uses_lab_range_only(rule: RuleVersion) -> None:
    flagged = observation(CA_IONIZED, 1.0, "mmol/L", low=1.12, high=1.32)
    assert fired_rule(rule, flagged).severity == "warning"
    assert run_rule(rule, observation(CA_IONIZED, 1.0, "mmol/L")) is None


# -- several results, suppression ------------------------------------------------------------


def test_several_abnormal_results_in_one_card(rule: RuleVersion) -> None:
    k = observation(K, 3.2, "mmol/L")
    mg = observation(MG_MOLES, 0.45, "mmol/L")
    finding = fired_rule(rule, k, mg)
    assert finding.severity == "critical"
    assert finding.summary.startswith("Serum magnesium 0.45 mmol/L (critically low) and 1 other")
    assert set(finding.labs) == {
        ("potassium", f"Observation/{k['id']}"),
        ("magnesium", f"Observation/{mg['id']}"),
    }


def test_suppressed_when_diuretic_card_explains_the_same_lab(rule: RuleVersion) -> None:
    resources = [
        medication_request("4603", "furosemide"),
        observation(K, 3.1, "mmol/L"),
    ]
    findings = fired_with_diuretic_card(rule, *resources)
    assert {f.rule_id for f in findings} == {"electrolyte-abnormality", "diuretic-electrolytes"}
    shown = POLICY.select(findings, hook="patient-view")
    assert [f.rule_id for f in shown] == ["diuretic-electrolytes"]


@pytest.mark.parametrize(
    "resources",
    [
        # corrected here from total and albumin (7.0 + 0.8 x 1.0 = 7.8 mg/dL)
        [observation(CA_TOTAL, 7.0, "mg/dL", days_ago=3), observation(ALBUMIN, 3.0, "g/dL")],
        # reported as corrected (1.9 mmol/L = 7.6 mg/dL)
        [observation(CA_CORRECTED, 1.9, "mmol/L", days_ago=3)],
        # a censored total with albumin: corrected value "<7.8"
        [
            observation(CA_TOTAL, 7.0, "mg/dL", comparator="<", days_ago=3),
            observation(ALBUMIN, 3.0, "g/dL"),
        ],
    ],
)
def test_both_cards_judge_the_same_calcium_so_the_diuretic_card_suppresses(
    rule: RuleVersion, resources: list[dict[str, Any]]
) -> None:
    findings = fired_with_diuretic_card(rule, medication_request("4603", "furosemide"), *resources)
    assert [f.rule_id for f in findings] == ["electrolyte-abnormality", "diuretic-electrolytes"]
    electrolyte, diuretic = findings
    assert electrolyte.finding.labs == diuretic.finding.labs
    assert [f.rule_id for f in POLICY.select(findings, hook="patient-view")] == [
        "diuretic-electrolytes"
    ]


def test_censored_calcium_counts_only_when_its_bound_settles_it(
    rule: RuleVersion,
) -> None:
    albumin = observation(ALBUMIN, 2.0, "g/dL")
    # "<7.0" total with albumin 2.0: corrected below 8.6, which may be normal.
    total = observation(CA_TOTAL, 7.0, "mg/dL", comparator="<", days_ago=3)
    assert run_rule(rule, total, albumin) is None
    # ">12" total with albumin 2.0: corrected above 13.6, certainly high.
    high = observation(CA_TOTAL, 12.0, "mg/dL", comparator=">", days_ago=3)
    finding = fired_rule(rule, high, albumin)
    assert finding.summary.startswith("Serum calcium (albumin-corrected) >13.6 mg/dL (high)")
    assert finding.evidence[0].value.startswith(">13.6 mg/dL (total >12 mg/dL, albumin 2 g/dL")


def test_not_suppressed_when_another_lab_is_unexplained(rule: RuleVersion) -> None:
    resources = [
        medication_request("4603", "furosemide"),
        observation(K, 3.1, "mmol/L"),
        observation(NA, 128, "mmol/L"),  # low sodium is not a loop-diuretic finding (§2)
    ]
    findings = fired_with_diuretic_card(rule, *resources)
    shown = POLICY.select(findings, hook="patient-view")
    assert {f.rule_id for f in shown} == {"diuretic-electrolytes", "electrolyte-abnormality"}


# -- coded disorder without a result (info) --------------------------------------------------


def test_coded_hypokalaemia_without_result_needs_complaint(rule: RuleVersion) -> None:
    coded = condition("E87.6", system=ICD10, display="Hypokalemia", onset_days_ago=10)
    assert run_rule(rule, coded) is None
    finding = fired_rule(rule, coded, cramp_complaint())
    assert finding.severity == "info"
    assert "hypokalaemia" in finding.summary
    assert [s.loinc for s in finding.suggestions] == ["51990-0"]


def test_coded_disorder_window_is_30_days(rule: RuleVersion) -> None:
    at_30 = condition("190855004", system=SNOMED, display="Hypomagnesemia", onset_days_ago=30)
    at_31 = condition("190855004", system=SNOMED, display="Hypomagnesemia", onset_days_ago=31)
    finding = fired_rule(rule, at_30, cramp_complaint())
    assert finding.severity == "info"
    assert "19123-9" in [s.loinc for s in finding.suggestions]
    assert run_rule(rule, at_31, cramp_complaint()) is None


def test_coded_disorder_with_a_normal_result_gives_no_card(rule: RuleVersion) -> None:
    coded = condition("E87.6", system=ICD10, onset_days_ago=10)
    assert run_rule(rule, coded, cramp_complaint(), observation(K, 4.0, "mmol/L")) is None


def test_coded_calcium_and_dehydration(rule: RuleVersion) -> None:
    hypo_ca = condition("E83.51", system=ICD10, display="Hypocalcemia", onset_days_ago=5)
    dehydration = condition("E86.0", system=ICD10, display="Dehydration", onset_days_ago=5)
    finding = fired_rule(rule, hypo_ca, dehydration, cramp_complaint())
    assert "hypocalcaemia and dehydration" in finding.summary
    assert [s.loinc for s in finding.suggestions] == ["51990-0", "24323-8"]


def test_refuted_or_entered_in_error_condition_is_ignored(rule: RuleVersion) -> None:
    refuted = condition("E87.6", system=ICD10, onset_days_ago=5, verification_status="refuted")
    error = condition(
        "E87.6", system=ICD10, onset_days_ago=5, verification_status="entered-in-error"
    )
    assert run_rule(rule, refuted, error, cramp_complaint()) is None


def test_complaint_of_another_code_does_not_count(rule: RuleVersion) -> None:
    coded = condition("E87.6", system=ICD10, onset_days_ago=5)
    not_a_leg_complaint = condition("999999", system=ICD10, display="Unrelated finding")
    assert run_rule(rule, coded, not_a_leg_complaint) is None


def test_nothing_on_an_empty_chart(rule: RuleVersion) -> None:
    assert run_rule(rule) is None


def test_sodium_summary_shows_the_whole_value(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(NA, 160, "mmol/L"))
    assert finding.summary.startswith("Serum sodium 160 mmol/L (critically high):")
    finding = fired_rule(rule, observation(NA, 122, "mmol/L"))
    assert finding.summary.startswith("Serum sodium 122 mmol/L (critically low):")


# == 1.1.0 (§22) ===============================================================================

LAB_LIMITS = ("Laboratory reference limits", None)
HYPONATRAEMIA_GUIDELINE = (
    "ESE/ESICM/ERA-EDTA hyponatraemia guideline 2014",
    "https://doi.org/10.1530/EJE-13-1020",
)
HYPOCALCAEMIA_GUIDANCE = ("Society for Endocrinology acute hypocalcaemia guidance 2016", None)


def source_of(finding: Finding) -> tuple[str, str | None]:
    assert finding.source is not None
    return finding.source.label, finding.source.url


# -- §22.2 h: hyperkalaemia --------------------------------------------------------------------


@pytest.mark.rule_versions(until="1.0.0")
def test_1_0_0_called_a_potassium_of_6_2_only_a_warning(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(K, 6.2, "mmol/L", low=3.5, high=5.1))
    assert finding.severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("value", "severity", "shown"),
    [(5.99, "warning", "5.99 mmol/L (high)"), (6.0, "critical", "6 mmol/L (critically high)")],
)
def test_potassium_of_6_or_more_is_critical(
    rule: RuleVersion, value: float, severity: str, shown: str
) -> None:
    finding = fired_rule(rule, observation(K, value, "mmol/L", low=3.5, high=5.1))
    assert finding.severity == severity
    assert finding.summary.startswith(f"Serum potassium {shown}")
    assert not finding.candidate
    assert source_of(finding) == LAB_LIMITS
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_critical_hyperkalaemia_says_review_today(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(K, 6.4, "mmol/L"))
    assert finding.summary == (
        "Serum potassium 6.4 mmol/L (critically high): risk of arrhythmia; review today."
    )
    assert "ECG" in finding.explanation
    assert [s.loinc for s in finding.suggestions] == ["51990-0"]
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_without_a_range_a_potassium_below_6_is_not_flagged(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(K, 5.99, "mmol/L")) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_a_potassium_flagged_hh_is_critical_below_6(rule: RuleVersion) -> None:
    flagged = observation(K, 5.8, "mmol/L", low=3.5, high=5.1, interpretation="HH")
    finding = fired_rule(rule, flagged)
    assert finding.severity == "critical"
    assert finding.summary.startswith("Serum potassium 5.8 mmol/L (critically high)")
    only_high = observation(K, 5.8, "mmol/L", low=3.5, high=5.1, interpretation="H")
    assert fired_rule(rule, only_high).severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("comparator", "value", "severity"),
    [(">", 6.0, "critical"), (">=", 6.0, "critical"), (">", 5.5, "warning")],
)
def test_a_censored_high_potassium_is_critical_when_its_bound_settles_it(
    rule: RuleVersion, comparator: str, value: float, severity: str
) -> None:
    obs = observation(K, value, "mmol/L", low=3.5, high=5.1, comparator=comparator)
    finding = fired_rule(rule, obs)
    assert finding.severity == severity
    assert f"potassium {comparator}{value:g} mmol/L" in finding.summary
    assert finding.evidence[0].value.startswith(f"{comparator}{value:g} mmol/L")
    assert not finding.cautions  # the comparator is shown: no caution needed


@pytest.mark.rule_versions(since="1.1.0")
def test_a_high_potassium_outranks_other_abnormal_results(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(NA, 131, "mmol/L"), observation(K, 6.1, "mmol/L"))
    assert finding.summary.startswith(
        "Serum potassium 6.1 mmol/L (critically high) and 1 other abnormal result:"
    )


# -- each finding cites its own source -----------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_each_finding_cites_its_own_source(rule: RuleVersion) -> None:
    assert source_of(fired_rule(rule, observation(K, 3.1, "mmol/L"))) == LAB_LIMITS
    assert source_of(fired_rule(rule, observation(MG_MOLES, 0.6, "mmol/L"))) == LAB_LIMITS
    assert source_of(fired_rule(rule, observation(NA, 131, "mmol/L"))) == HYPONATRAEMIA_GUIDELINE
    assert source_of(fired_rule(rule, observation(NA, 150, "mmol/L"))) == LAB_LIMITS
    low_calcium = fired_rule(rule, observation(CA_CORRECTED, 1.95, "mmol/L"))
    assert source_of(low_calcium) == HYPOCALCAEMIA_GUIDANCE


@pytest.mark.rule_versions(since="1.1.0")
def test_a_low_potassium_card_never_cites_the_hyponatraemia_guideline(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(K, 3.0, "mmol/L"), observation(NA, 131, "mmol/L"))
    assert source_of(finding) == LAB_LIMITS


# -- suggestions follow the card's message --------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_magnesium_is_suggested_only_on_a_potassium_or_magnesium_card(rule: RuleVersion) -> None:
    sodium = fired_rule(rule, observation(NA, 131, "mmol/L"))
    assert [s.loinc for s in sodium.suggestions] == ["51990-0"]
    potassium = fired_rule(rule, observation(K, 3.1, "mmol/L"))
    assert [s.loinc for s in potassium.suggestions] == ["51990-0", "19123-9"]


# -- the coded disorder without a result: a candidate cause --------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_a_coded_disorder_card_is_a_candidate_naming_the_complaint(rule: RuleVersion) -> None:
    coded = condition("E87.1", system=ICD10, display="Hypo-osmolality", onset_days_ago=10)
    pain = condition("M79.605", system=ICD10, display="Pain in left leg")
    finding = fired_rule(rule, coded, pain)
    assert finding.candidate
    assert finding.summary == (
        "Recently coded hyponatraemia, no result in 90 days: may explain the leg pain; consider "
        "checking."
    )
    assert source_of(finding) == HYPONATRAEMIA_GUIDELINE
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_swollen_leg_alone_does_not_open_the_coded_disorder_card(rule: RuleVersion) -> None:
    coded = condition("E87.6", system=ICD10, display="Hypokalemia", onset_days_ago=10)
    swelling = condition("R60.0", system=ICD10, display="Localized edema")
    assert run_rule(rule, coded, swelling) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_a_cramp_coded_as_a_visit_reason_opens_the_coded_disorder_card(rule: RuleVersion) -> None:
    coded = condition("E87.6", system=ICD10, display="Hypokalemia", onset_days_ago=10)
    visit = encounter(start_days_ago=3, reason=(ICD10, "G47.62"))
    finding = fired_rule(rule, coded, visit)
    assert "may explain the leg cramps" in finding.summary
    assert finding.evidence[-1].value.startswith("encounter")


# -- calcium: both cards judge it alike, at the lab's own range ----------------------------------


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("total", "fires"), [(9.9, True), (9.8, False)])
def test_both_cards_judge_a_corrected_calcium_against_the_labs_range_alike(
    rule: RuleVersion, total: float, fires: bool
) -> None:
    # + 0.8 x (4.0 - 3.5): 9.9 -> 10.3 (above the lab's 10.2); 9.8 -> 10.2 (at it, not above,
    # though float arithmetic makes it 10.200000000000001).
    resources = [
        medication_request("5487", "hydrochlorothiazide"),
        observation(CA_TOTAL, total, "mg/dL", low=8.6, high=10.2),
        observation(ALBUMIN, 3.5, "g/dL"),
    ]
    findings = fired_with_diuretic_card(rule, *resources)
    assert len(findings) == (2 if fires else 0)
    if fires:
        assert findings[0].finding.labs == findings[1].finding.labs
        shown = POLICY.select(findings, hook="patient-view")
        assert [f.rule_id for f in shown] == ["diuretic-electrolytes"]


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("diuretic", "result"),
    [
        # a thiazide and a sodium below 125 mmol/L (§3 critical; the diuretic card: warning)
        (("5487", "hydrochlorothiazide"), (NA, 120, "mmol/L")),
        # a loop diuretic and a corrected calcium below 7.6 mg/dL (1.85 mmol/L reported corrected)
        (("4603", "furosemide"), (CA_CORRECTED, 1.7, "mmol/L")),
    ],
)
def test_a_critical_electrolyte_card_is_never_lowered_by_the_diuretic_card(
    rule: RuleVersion, diuretic: tuple[str, str], result: tuple[str, float, str]
) -> None:
    """§22.2 b: a critical card is never lowered. The diuretic card names the same result as a
    warning (its job is the drug), so it must not stand in for the critical card: both show,
    the critical one first."""
    code, value, unit = result
    findings = fired_with_diuretic_card(
        rule, medication_request(*diuretic), observation(code, value, unit, days_ago=2)
    )
    severities = {f.rule_id: f.finding.severity for f in findings}
    assert severities == {"electrolyte-abnormality": "critical", "diuretic-electrolytes": "warning"}
    assert findings[0].finding.labs == findings[1].finding.labs
    shown = registry().policy.select(findings, hook="patient-view")
    assert [f.rule_id for f in shown] == ["electrolyte-abnormality", "diuretic-electrolytes"]
