"""diuretic-electrolytes (clinical-content.md §2), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.card_text import assert_short_and_plain
from tests.support.fhir import (
    ICD10,
    condition,
    draft_order,
    encounter,
    medication_request,
    observation,
    when,
)
from tests.support.rules import fired_rule, rule_fixture, run_rule

FUROSEMIDE = ("4603", "Furosemide 40 MG Oral Tablet")
HCTZ = ("5487", "Hydrochlorothiazide 25 MG Oral Tablet")
POTASSIUM_CHLORIDE = ("8591", "Potassium Chloride 20 MEQ")
K, MG_MASS, MG_MOLES, NA = "2823-3", "19123-9", "2601-3", "2951-2"
CA_TOTAL, ALBUMIN = "17861-6", "1751-7"

rule = rule_fixture("diuretic-electrolytes")


def furosemide(**kwargs: Any) -> dict[str, Any]:
    return medication_request(*FUROSEMIDE, **kwargs)


def hctz(**kwargs: Any) -> dict[str, Any]:
    return medication_request(*HCTZ, **kwargs)


def cramps() -> dict[str, Any]:
    return condition("G47.62", system=ICD10, display="Sleep related leg cramps", onset_days_ago=7)


# -- no diuretic, no card --------------------------------------------------------------------


def test_low_potassium_without_a_diuretic_is_not_this_card(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(K, 3.0, "mmol/L"), cramps()) is None


def test_a_diuretic_stopped_more_than_30_days_ago_does_not_count(rule: RuleVersion) -> None:
    stopped = furosemide(status="stopped", days_ago=100, ended_days_ago=31)
    assert run_rule(rule, stopped, observation(K, 3.0, "mmol/L")) is None


@pytest.mark.rule_versions(until="1.0.0")
def test_a_diuretic_stopped_30_days_ago_still_counts(rule: RuleVersion) -> None:
    stopped = furosemide(status="stopped", days_ago=100, ended_days_ago=30)
    assert fired_rule(rule, stopped, observation(K, 3.0, "mmol/L")).severity == "warning"


# -- potassium -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "severity"),
    [(2.4, "critical"), (2.5, "warning"), (3.49, "warning")],
)
def test_potassium_boundaries(rule: RuleVersion, value: float, severity: str) -> None:
    finding = fired_rule(rule, furosemide(), observation(K, value, "mmol/L"))
    assert finding.severity == severity


def test_potassium_at_the_default_limit_is_not_low(rule: RuleVersion) -> None:
    # No complaint and a result in the last year: no card either (no monitoring gap).
    assert run_rule(rule, furosemide(), observation(K, 3.5, "mmol/L")) is None


@pytest.mark.rule_versions(until="1.0.0")
def test_low_potassium_summary_names_drug_and_value(rule: RuleVersion) -> None:
    obs = observation(K, 3.1, "mmol/L", days_ago=10)
    finding = fired_rule(rule, furosemide(), obs)
    assert finding.summary == (
        "Low potassium (K 3.1 mmol/L) on furosemide may explain night-time leg cramps."
    )
    assert finding.labs == (("potassium", f"Observation/{obs['id']}"),)
    assert [s.loinc for s in finding.suggestions] == ["51990-0", "19123-9"]
    assert finding.specificity == 10
    assert not finding.involves_draft_order


def test_critical_potassium_asks_for_review_today(rule: RuleVersion) -> None:
    finding = fired_rule(rule, hctz(), observation(K, 2.4, "mmol/L"))
    assert finding.severity == "critical"
    assert "review today" in finding.summary


def test_result_older_than_90_days_is_not_used(rule: RuleVersion) -> None:
    old = observation(K, 3.0, "mmol/L", days_ago=91)
    assert run_rule(rule, furosemide(), old) is None


def test_the_lab_range_is_preferred_to_the_default_limit(rule: RuleVersion) -> None:
    assert fired_rule(rule, furosemide(), observation(K, 3.6, "mmol/L", low=3.7, high=5.2))


def test_a_censored_potassium_is_critical_only_when_its_bound_settles_it(
    rule: RuleVersion,
) -> None:
    below = fired_rule(rule, furosemide(), observation(K, 2.5, "mmol/L", comparator="<"))
    assert below.severity == "critical"
    at_most = fired_rule(rule, furosemide(), observation(K, 2.5, "mmol/L", comparator="<="))
    assert at_most.severity == "warning"


# -- supplements lower a warning, never a critical result -------------------------------------


def test_a_potassium_supplement_lowers_a_warning_to_info(rule: RuleVersion) -> None:
    supplement = medication_request(*POTASSIUM_CHLORIDE)
    finding = fired_rule(rule, furosemide(), supplement, observation(K, 3.2, "mmol/L"))
    assert finding.severity == "info"
    assert any("already prescribed" in c for c in finding.cautions)


def test_a_supplement_never_lowers_a_critical_result(rule: RuleVersion) -> None:
    supplement = medication_request(*POTASSIUM_CHLORIDE)
    finding = fired_rule(rule, furosemide(), supplement, observation(K, 2.3, "mmol/L"))
    assert finding.severity == "critical"


# -- magnesium, sodium, calcium ----------------------------------------------------------------


def test_low_magnesium_in_mg_per_dl_is_converted(rule: RuleVersion) -> None:
    finding = fired_rule(rule, furosemide(), observation(MG_MASS, 1.5, "mg/dL"))
    assert finding.summary.startswith("Low magnesium (Mg 0.62 mmol/L)")
    # The magnesium result is there: only the panel is suggested.
    assert [s.loinc for s in finding.suggestions] == ["51990-0"]


def test_critical_magnesium(rule: RuleVersion) -> None:
    assert fired_rule(rule, hctz(), observation(MG_MOLES, 0.45, "mmol/L")).severity == "critical"


def test_low_sodium_counts_on_a_thiazide_only(rule: RuleVersion) -> None:
    assert fired_rule(rule, hctz(), observation(NA, 131, "mmol/L")).summary.startswith(
        "Low sodium (Na 131 mmol/L)"
    )
    assert run_rule(rule, furosemide(), observation(NA, 131, "mmol/L")) is None


def test_high_corrected_calcium_on_a_thiazide(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule, hctz(), observation(CA_TOTAL, 10.4, "mg/dL"), observation(ALBUMIN, 3.0, "g/dL")
    )
    assert finding.summary.startswith("High calcium (11.2 mg/dL)")
    assert "24323-8" in [s.loinc for s in finding.suggestions]


def test_low_corrected_calcium_on_a_loop_diuretic_only(rule: RuleVersion) -> None:
    low = (observation(CA_TOTAL, 8.0, "mg/dL"), observation(ALBUMIN, 4.2, "g/dL"))
    assert fired_rule(rule, furosemide(), *low).summary.startswith("Low calcium (7.8 mg/dL)")
    assert run_rule(rule, hctz(), *low) is None


def test_several_changes_lead_with_the_potassium(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule, hctz(), observation(NA, 131, "mmol/L"), observation(K, 3.2, "mmol/L")
    )
    assert finding.summary.startswith("Low potassium (K 3.2 mmol/L) and 1 other change on")


# -- drafted orders ------------------------------------------------------------------------------


def test_a_drafted_diuretic_is_said_to_be_being_ordered(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule, observation(K, 3.2, "mmol/L"), draft_orders=[draft_order(*FUROSEMIDE)]
    )
    assert finding.involves_draft_order
    assert "being ordered" in finding.summary


# -- the monitoring gap (a candidate cause: needs a complaint or a drafted order) ---------------


@pytest.mark.rule_versions(until="1.0.0")
def test_no_potassium_or_magnesium_in_a_year_with_cramps_is_info(rule: RuleVersion) -> None:
    finding = fired_rule(rule, furosemide(), cramps())
    assert finding.severity == "info"
    assert finding.specificity == 40
    assert finding.summary == (
        "On furosemide with no potassium or magnesium result in 12 months; consider checking."
    )


def test_the_monitoring_gap_needs_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, furosemide()) is None


def test_a_result_within_365_days_closes_the_gap(rule: RuleVersion) -> None:
    assert (
        run_rule(rule, furosemide(), cramps(), observation(K, 4.1, "mmol/L", days_ago=365)) is None
    )
    assert fired_rule(rule, furosemide(), cramps(), observation(K, 4.1, "mmol/L", days_ago=366))


def test_a_drafted_diuretic_opens_the_gap_without_a_complaint(rule: RuleVersion) -> None:
    finding = fired_rule(rule, draft_orders=[draft_order(*FUROSEMIDE)])
    assert finding.involves_draft_order
    assert finding.severity == "info"


# -- evidence -------------------------------------------------------------------------------------


def test_evidence_lists_the_drug_the_result_and_the_complaint(rule: RuleVersion) -> None:
    finding = fired_rule(rule, furosemide(), observation(K, 3.1, "mmol/L"), cramps())
    labels = [e.label for e in finding.evidence]
    assert labels == ["Furosemide 40 MG Oral Tablet", "Potassium", "Sleep related leg cramps"]


def test_a_drug_matched_by_name_only_carries_a_caution(rule: RuleVersion) -> None:
    by_name = medication_request(None, "Lasix 40mg tablets")
    finding = fired_rule(rule, by_name, observation(K, 3.1, "mmol/L"))
    assert any("name only" in c for c in finding.cautions)


# == 1.1.0 (§22) ===============================================================================

HCTZ_TRIAMTERENE = ("310812", "hydrochlorothiazide 25 MG / triamterene 37.5 MG Oral Tablet")
AMILORIDE_HCTZ = ("977883", "amiloride hydrochloride 5 MG / hydrochlorothiazide 50 MG Oral Tablet")
MAGNESIUM_OXIDE = ("6574", "magnesium")
LAB_LIMITS = "Laboratory reference limits"
HYPONATRAEMIA_GUIDELINE = (
    "ESE/ESICM/ERA-EDTA hyponatraemia guideline 2014",
    "https://doi.org/10.1530/EJE-13-1020",
)


def with_bounds(order: dict[str, Any], *, end_days_ago: int) -> dict[str, Any]:
    """The order's therapy end (dosageInstruction.timing.repeat.boundsPeriod.end)."""
    order["dosageInstruction"] = [
        {
            "text": "1 tablet daily",
            "timing": {"repeat": {"boundsPeriod": {"start": when(400), "end": when(end_days_ago)}}},
        }
    ]
    return order


def leg_pain() -> dict[str, Any]:
    return condition("M79.604", system=ICD10, display="Pain in right leg", onset_days_ago=7)


def swelling() -> dict[str, Any]:
    return condition("R60.0", system=ICD10, display="Localized edema", onset_days_ago=7)


# -- §22.2 c, d: which orders count --------------------------------------------------------------


@pytest.mark.rule_versions(until="1.0.0")
def test_1_0_0_missed_an_active_order_past_its_dispensing_window(rule: RuleVersion) -> None:
    order = furosemide(days_ago=200, ended_days_ago=40)
    assert run_rule(rule, order, observation(K, 3.1, "mmol/L")) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_an_active_order_past_its_dispensing_window_still_counts(rule: RuleVersion) -> None:
    # The review's chart: the validityPeriod (dispensing window) ended 40 days ago, the order is
    # still active: the patient still takes furosemide.
    order = furosemide(days_ago=200, ended_days_ago=40)
    finding = fired_rule(rule, order, observation(K, 3.1, "mmol/L"))
    assert finding.severity == "warning"
    assert finding.summary.startswith("Low potassium (K 3.1 mmol/L) on furosemide")
    assert not finding.candidate


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended", "fires"), [(30, True), (31, False)])
def test_an_active_order_whose_therapy_ended_counts_for_30_days(
    rule: RuleVersion, ended: int, fires: bool
) -> None:
    order = with_bounds(furosemide(days_ago=400), end_days_ago=ended)
    assert (run_rule(rule, order, observation(K, 3.1, "mmol/L")) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended", "fires"), [(30, True), (31, False)])
def test_a_stopped_order_counts_for_30_days_after_its_therapy_end(
    rule: RuleVersion, ended: int, fires: bool
) -> None:
    stopped = with_bounds(furosemide(status="stopped", days_ago=400), end_days_ago=ended)
    assert (run_rule(rule, stopped, observation(K, 3.1, "mmol/L")) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("authored", "fires"), [(30, True), (31, False)])
def test_a_stopped_order_without_an_end_counts_30_days_from_its_ordering(
    rule: RuleVersion, authored: int, fires: bool
) -> None:
    stopped = furosemide(status="stopped", days_ago=authored)
    assert (run_rule(rule, stopped, observation(K, 3.1, "mmol/L")) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
def test_a_proposed_diuretic_is_not_taken(rule: RuleVersion) -> None:
    assert run_rule(rule, furosemide(intent="proposal"), observation(K, 3.1, "mmol/L")) is None


# -- §22.2 g: results as reported ----------------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_a_censored_potassium_is_shown_with_its_comparator(rule: RuleVersion) -> None:
    obs = observation(K, 2.5, "mmol/L", comparator="<")
    finding = fired_rule(rule, hctz(), obs)
    assert finding.severity == "critical"
    assert "K <2.5 mmol/L" in finding.summary
    [result] = [e for e in finding.evidence if e.label == "Potassium"]
    assert result.value.startswith("<2.5 mmol/L")
    assert result.reference == f"Observation/{obs['id']}"
    at_most = fired_rule(rule, hctz(), observation(K, 2.5, "mmol/L", comparator="<="))
    assert at_most.severity == "warning"
    assert "K <=2.5 mmol/L" in at_most.summary


@pytest.mark.rule_versions(since="1.1.0")
def test_a_censored_sodium_and_calcium_keep_their_comparators(rule: RuleVersion) -> None:
    sodium = fired_rule(rule, hctz(), observation(NA, 120, "mmol/L", comparator="<"))
    assert sodium.summary.startswith("Low sodium (Na <120 mmol/L)")
    calcium = fired_rule(
        rule,
        hctz(),
        observation(CA_TOTAL, 12.0, "mg/dL", comparator=">"),
        observation(ALBUMIN, 4.0, "g/dL"),
    )
    assert calcium.summary.startswith("High calcium (>12 mg/dL)")
    assert calcium.evidence[1].value.startswith(">12 mg/dL (total >12 mg/dL, albumin 4 g/dL")


@pytest.mark.rule_versions(since="1.1.0")
def test_a_potassium_below_3_5_is_never_rounded_up_to_it(rule: RuleVersion) -> None:
    finding = fired_rule(rule, furosemide(), observation(K, 3.49, "mmol/L"))
    assert "K 3.49 mmol/L" in finding.summary


# -- calcium: the lab's own range ------------------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("total", "high"), [(10.3, True), (10.2, False)])
def test_a_thiazide_calcium_is_judged_against_the_labs_range(
    rule: RuleVersion, total: float, high: bool
) -> None:
    # No albumin: judged as measured, against the lab's range (8.6-10.2), not 10.5.
    calcium = observation(CA_TOTAL, total, "mg/dL", low=8.6, high=10.2)
    finding = run_rule(rule, hctz(), calcium)
    assert (finding is not None) is high
    if finding is not None:
        assert finding.summary.startswith("High calcium (10.3 mg/dL, uncorrected) on")
        assert "24323-8" in [s.loinc for s in finding.suggestions]


@pytest.mark.rule_versions(since="1.1.0")
def test_a_corrected_calcium_is_judged_against_the_labs_total_calcium_range(
    rule: RuleVersion,
) -> None:
    # 9.9 + 0.8 x (4.0 - 3.5) = 10.3 mg/dL: above the lab's 10.2, below the default 10.5.
    total = observation(CA_TOTAL, 9.9, "mg/dL", low=8.6, high=10.2)
    finding = fired_rule(rule, hctz(), total, observation(ALBUMIN, 3.5, "g/dL"))
    assert finding.summary.startswith("High calcium (10.3 mg/dL) on hydrochlorothiazide")
    assert "reference 8.6-10.2" in finding.evidence[1].value


@pytest.mark.rule_versions(since="1.1.0")
def test_a_calcium_flagged_low_by_the_lab_counts_on_a_loop_diuretic(rule: RuleVersion) -> None:
    flagged = observation(CA_TOTAL, 8.6, "mg/dL", interpretation="L")
    assert fired_rule(rule, furosemide(), flagged).summary.startswith("Low calcium (8.6 mg/dL")
    assert run_rule(rule, furosemide(), observation(CA_TOTAL, 8.6, "mg/dL")) is None


# -- §22.2 o: potassium-sparing combinations ------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("product", "named"),
    [
        (HCTZ_TRIAMTERENE, "hydrochlorothiazide (with triamterene)"),
        (AMILORIDE_HCTZ, "hydrochlorothiazide (with amiloride)"),
    ],
)
def test_a_thiazide_combination_fires_and_names_its_partner(
    rule: RuleVersion, product: tuple[str, str], named: str
) -> None:
    finding = fired_rule(rule, medication_request(*product), observation(NA, 131, "mmol/L"))
    assert finding.severity == "warning"
    assert finding.summary == f"Low sodium (Na 131 mmol/L) on {named} can cause muscle cramps."
    assert finding.evidence[0].label == product[1]


@pytest.mark.rule_versions(since="1.1.0")
def test_a_low_potassium_on_a_combination_says_the_partner_usually_offsets_it(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, medication_request(*HCTZ_TRIAMTERENE), observation(K, 3.2, "mmol/L"))
    assert finding.severity == "warning"
    assert any(c.startswith("Triamterene is potassium-sparing") for c in finding.cautions)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_combination_matched_by_name_still_names_its_partner(rule: RuleVersion) -> None:
    by_name = medication_request(None, "triamterene / hydrochlorothiazide 37.5-25 mg tablet")
    finding = fired_rule(rule, by_name, observation(NA, 131, "mmol/L"))
    assert "hydrochlorothiazide (with triamterene)" in finding.summary
    assert any("name only" in c for c in finding.cautions)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_potassium_sparing_diuretic_alone_opens_no_card(rule: RuleVersion) -> None:
    spironolactone = medication_request(None, "spironolactone 25 MG Oral Tablet")
    assert run_rule(rule, spironolactone, observation(NA, 131, "mmol/L")) is None


# -- each finding cites its own source -------------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_a_low_potassium_card_cites_the_laboratory_limits(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule, hctz(), observation(K, 3.1, "mmol/L"), observation(NA, 131, "mmol/L")
    )
    assert finding.source is not None
    assert (finding.source.label, finding.source.url) == (LAB_LIMITS, None)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_hyponatraemia_card_cites_the_hyponatraemia_guideline(rule: RuleVersion) -> None:
    finding = fired_rule(rule, hctz(), observation(NA, 131, "mmol/L"))
    assert finding.source is not None
    assert (finding.source.label, finding.source.url) == HYPONATRAEMIA_GUIDELINE


# -- §22.2 b: supplements --------------------------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_a_potassium_supplement_does_not_lower_a_low_sodium(rule: RuleVersion) -> None:
    supplement = medication_request(*POTASSIUM_CHLORIDE)
    finding = fired_rule(rule, hctz(), supplement, observation(NA, 131, "mmol/L"))
    assert finding.severity == "warning"
    assert not finding.cautions
    both = fired_rule(
        rule, hctz(), supplement, observation(NA, 131, "mmol/L"), observation(K, 3.2, "mmol/L")
    )
    assert both.severity == "warning"  # the sodium is not treated by potassium


@pytest.mark.rule_versions(since="1.1.0")
def test_a_magnesium_supplement_lowers_a_low_magnesium_but_never_a_critical_one(
    rule: RuleVersion,
) -> None:
    supplement = medication_request(*MAGNESIUM_OXIDE)
    low = fired_rule(rule, furosemide(), supplement, observation(MG_MOLES, 0.6, "mmol/L"))
    assert low.severity == "info"
    assert not low.candidate
    critical = fired_rule(rule, furosemide(), supplement, observation(MG_MOLES, 0.45, "mmol/L"))
    assert critical.severity == "critical"


# -- suggestions follow the card's message -------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_magnesium_is_suggested_only_on_a_potassium_or_magnesium_card(rule: RuleVersion) -> None:
    sodium = fired_rule(rule, hctz(), observation(NA, 131, "mmol/L"))
    assert [s.loinc for s in sodium.suggestions] == ["51990-0"]
    potassium = fired_rule(rule, hctz(), observation(K, 3.2, "mmol/L"))
    assert [s.loinc for s in potassium.suggestions] == ["51990-0", "19123-9"]
    measured = fired_rule(
        rule, hctz(), observation(K, 3.2, "mmol/L"), observation(MG_MOLES, 0.8, "mmol/L")
    )
    assert [s.loinc for s in measured.suggestions] == ["51990-0"]


# -- wording: what is on record --------------------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("complaint", "tail"),
    [
        (None, "on furosemide can cause muscle cramps."),
        (cramps, "on furosemide may explain the leg cramps on record."),
        (leg_pain, "on furosemide may explain the leg pain on record."),
    ],
)
def test_the_summary_says_which_complaint_is_on_record(
    rule: RuleVersion, complaint: Any, tail: str
) -> None:
    extra = [complaint()] if complaint is not None else []
    finding = fired_rule(rule, furosemide(), observation(K, 3.1, "mmol/L"), *extra)
    assert finding.summary == f"Low potassium (K 3.1 mmol/L) {tail}"
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_critical_card_names_the_complaint_only_when_on_record(rule: RuleVersion) -> None:
    alone = fired_rule(rule, hctz(), observation(K, 2.4, "mmol/L"))
    assert (
        alone.summary
        == "Low potassium (K 2.4 mmol/L) on hydrochlorothiazide: severe, review today."
    )
    with_cramps = fired_rule(rule, hctz(), observation(K, 2.4, "mmol/L"), cramps())
    assert with_cramps.summary.endswith("review today; may explain the leg cramps.")


# -- the monitoring gap: a candidate cause ---------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_the_monitoring_gap_is_a_candidate_naming_the_complaint(rule: RuleVersion) -> None:
    finding = fired_rule(rule, furosemide(), cramps())
    assert finding.candidate
    assert finding.severity == "info"
    assert finding.summary == (
        "On furosemide with leg cramps and no potassium or magnesium result in 12 months; "
        "consider checking."
    )
    assert finding.source is not None
    assert finding.source.label == LAB_LIMITS
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_swollen_leg_alone_does_not_open_the_monitoring_gap(rule: RuleVersion) -> None:
    assert run_rule(rule, furosemide(), swelling()) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_a_cramp_coded_as_a_visit_reason_opens_the_monitoring_gap(rule: RuleVersion) -> None:
    reason = condition("G47.62", system=ICD10, clinical_status="resolved", onset_days_ago=300)
    visit = encounter(start_days_ago=12)
    visit["reasonReference"] = [{"reference": f"Condition/{reason['id']}"}]
    finding = fired_rule(rule, furosemide(), reason, visit)
    assert "with leg cramps" in finding.summary


@pytest.mark.rule_versions(since="1.1.0")
def test_a_drafted_diuretic_opens_the_gap_and_says_it_is_being_ordered(rule: RuleVersion) -> None:
    finding = fired_rule(rule, draft_orders=[draft_order(*FUROSEMIDE)])
    assert finding.summary == (
        "Furosemide being ordered, no potassium or magnesium result in 12 months; consider "
        "checking."
    )
    assert finding.candidate
    assert finding.involves_draft_order
