"""diuretic-electrolytes (clinical-content.md §2), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import (
    ICD10,
    condition,
    draft_order,
    medication_request,
    observation,
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
