"""drug-induced-rls (clinical-content.md §7), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import (
    ICD10,
    SNOMED,
    condition,
    draft_order,
    encounter,
    medication_request,
    observation,
    when,
)
from tests.support.rules import fired_rule, rule_fixture, run_rule

QUETIAPINE = "51272"
QUETIAPINE_100_TABLET = "312743"
HALOPERIDOL = "5093"
METOCLOPRAMIDE = "6915"
SERTRALINE = "36437"
DIPHENHYDRAMINE = "3498"
# §7: bupropion (42347) is RLS-neutral and in none of the culprit sets: a deliberately
# non-matching code.
BUPROPION = "42347"

rule = rule_fixture("drug-induced-rls")


def rls(onset_days_ago: float = 40, **kwargs: Any) -> dict[str, Any]:
    return condition(
        "G25.81",
        system=ICD10,
        display="Restless legs syndrome",
        onset_days_ago=onset_days_ago,
        **kwargs,
    )


def akathisia() -> dict[str, Any]:
    return condition("G25.71", system=ICD10, display="Drug induced akathisia", onset_days_ago=20)


def leg_cramp() -> dict[str, Any]:
    return condition("R25.2", system=ICD10, display="Cramp and spasm", onset_days_ago=20)


def drug(code: str | None, display: str, **kwargs: Any) -> dict[str, Any]:
    return medication_request(code, display, **kwargs)


def test_rls_coded_on_antipsychotic_is_a_warning_naming_akathisia(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, drug(QUETIAPINE, "quetiapine", days_ago=100), rls())
    assert finding.severity == "warning"
    assert finding.summary == (
        "Restless legs coded while on quetiapine, which can trigger or worsen RLS "
        "(or cause akathisia); review the medication."
    )
    assert "drug-induced akathisia (ICD-10-CM G25.71)" in finding.explanation
    assert finding.suggestions == ()
    assert not finding.involves_draft_order


@pytest.mark.rule_versions(until="1.0.0")
def test_complaint_only_on_antipsychotic_is_info_with_catalog_summary(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, drug(QUETIAPINE, "quetiapine"), leg_cramp())
    assert finding.severity == "info"
    assert finding.summary == (
        "Quetiapine and other dopamine-blocking drugs can trigger or worsen restless legs "
        "(or akathisia)."
    )


def test_antidepressant_with_complaint_is_info_without_akathisia_differential(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, drug(SERTRALINE, "sertraline"), leg_cramp())
    assert finding.severity == "info"
    assert finding.summary.startswith("Sertraline can trigger or worsen restless legs")
    assert "G25.71" not in finding.explanation


def test_antiemetic_is_a_dopamine_blocker(rule: RuleVersion) -> None:
    finding = fired_rule(rule, drug(METOCLOPRAMIDE, "metoclopramide"), leg_cramp())
    assert "dopamine-blocking" in finding.summary
    assert "G25.71" in finding.explanation


def test_akathisia_coded_on_haloperidol_is_a_warning(rule: RuleVersion) -> None:
    finding = fired_rule(rule, drug(HALOPERIDOL, "haloperidol"), akathisia())
    assert finding.severity == "warning"
    assert finding.summary.startswith("Akathisia coded while on haloperidol")


def test_bupropion_is_not_a_culprit(rule: RuleVersion) -> None:
    assert run_rule(rule, drug(BUPROPION, "bupropion"), rls()) is None


def test_culprit_without_rls_akathisia_or_complaint_gives_no_card(
    rule: RuleVersion,
) -> None:
    assert run_rule(rule, drug(DIPHENHYDRAMINE, "diphenhydramine")) is None


def test_leg_swelling_alone_is_not_restlessness_context(rule: RuleVersion) -> None:
    swelling = condition("R22.41", system=ICD10, display="Localized swelling, right lower limb")
    assert run_rule(rule, drug(SERTRALINE, "sertraline"), swelling) is None


@pytest.mark.rule_versions(until="1.0.0")
@pytest.mark.parametrize(
    ("started_days_ago", "expected"),
    [
        (130, "started 90 days before the restless legs began (within 90 days: strengthens"),
        (131, "started 91 days before the restless legs began"),
        (20, "started 20 days after the restless legs began (may worsen it)"),
    ],
)
def test_start_within_90_days_of_onset_strengthens_the_card(
    rule: RuleVersion, started_days_ago: int, expected: str
) -> None:
    finding = fired_rule(rule, drug(QUETIAPINE, "quetiapine", days_ago=started_days_ago), rls(40))
    assert expected in finding.evidence[0].value
    strengthened = "strengthens the link" in finding.explanation
    assert strengthened is (started_days_ago == 130)
    if started_days_ago == 131:
        assert "strengthens" not in finding.evidence[0].value


@pytest.mark.rule_versions(until="1.0.0")
@pytest.mark.parametrize(("ended_days_ago", "fires"), [(30, True), (31, False)])
def test_stopped_drug_counts_for_30_days(
    rule: RuleVersion, ended_days_ago: int, fires: bool
) -> None:
    stopped = drug(
        SERTRALINE, "sertraline", status="stopped", days_ago=200, ended_days_ago=ended_days_ago
    )
    assert (run_rule(rule, stopped, rls()) is not None) is fires


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_rls_is_ignored(rule: RuleVersion, status: str) -> None:
    assert run_rule(rule, drug(QUETIAPINE, "quetiapine"), rls(verification_status=status)) is None


def test_resolved_rls_within_90_days_is_context_not_a_warning(rule: RuleVersion) -> None:
    resolved = rls(60, clinical_status="resolved")
    finding = fired_rule(rule, drug(SERTRALINE, "sertraline"), resolved)
    assert finding.severity == "info"


def test_product_code_matches(rule: RuleVersion) -> None:
    product = drug(QUETIAPINE_100_TABLET, "quetiapine 100 MG Oral Tablet")
    assert fired_rule(rule, product, rls()).severity == "warning"


def test_text_only_match_is_flagged_low_confidence(rule: RuleVersion) -> None:
    uncoded = drug(None, "Quetiapine fumarate tablets")
    finding = fired_rule(rule, uncoded, rls())
    assert finding.evidence[0].note.startswith("matched by name only")
    assert any("Quetiapine fumarate tablets" in c for c in finding.cautions)


def test_drafted_culprit_with_rls_on_record(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        rls(),
        draft_orders=[draft_order(SERTRALINE, "sertraline")],
    )
    assert finding.severity == "warning"
    assert finding.involves_draft_order
    assert finding.summary == (
        "Sertraline being ordered can trigger or worsen restless legs, already on record."
    )


def test_drafted_antipsychotic_with_akathisia_on_record(rule: RuleVersion) -> None:
    finding = fired_rule(rule, akathisia(), draft_orders=[draft_order(HALOPERIDOL, "haloperidol")])
    assert finding.severity == "warning"
    assert finding.involves_draft_order
    assert finding.summary.startswith("Haloperidol being ordered can worsen the akathisia")
    assert "G25.71" in finding.explanation


def test_rls_condition_is_listed_once(rule: RuleVersion) -> None:
    condition_entry = rls()
    finding = fired_rule(rule, drug(SERTRALINE, "sertraline"), condition_entry)
    references = [e.reference for e in finding.evidence]
    assert references.count(f"Condition/{condition_entry['id']}") == 1


def test_many_culprits_are_shortened_in_the_summary(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        drug(QUETIAPINE, "quetiapine"),
        drug(SERTRALINE, "sertraline"),
        drug(DIPHENHYDRAMINE, "diphenhydramine"),
        condition("32914008", system=SNOMED, display="Restless legs"),
    )
    assert "and others" in finding.summary
    assert len([e for e in finding.evidence if e.reference.startswith("Medication")]) == 3


# -- 1.1.0: §22.2 c, d, e, wording, short card -------------------------------------------------


def with_therapy_end(order: dict[str, Any], *, days_ago: float) -> dict[str, Any]:
    order["dosageInstruction"] = [
        {"timing": {"repeat": {"boundsPeriod": {"start": when(400), "end": when(days_ago)}}}}
    ]
    return order


def plmd(**kwargs: Any) -> dict[str, Any]:
    return condition(
        "G47.61",
        system=ICD10,
        display="Periodic limb movement disorder",
        onset_days_ago=40,
        **kwargs,
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_complaint_only_is_a_candidate_cause_naming_the_complaint(rule: RuleVersion) -> None:
    finding = fired_rule(rule, drug(QUETIAPINE, "quetiapine"), leg_cramp())
    assert finding.severity == "info"
    assert finding.candidate
    assert finding.summary == (
        "Quetiapine and other dopamine-blocking drugs can trigger restless legs or akathisia; a "
        "possible cause of the leg cramps on record."
    )
    pain = condition("M79.606", system=ICD10, display="Pain in leg, unspecified")
    finding = fired_rule(rule, drug(SERTRALINE, "sertraline"), pain)
    assert finding.summary == (
        "Sertraline can trigger or worsen restless legs; a possible cause of the leg pain on "
        "record."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_coded_rls_is_a_finding(rule: RuleVersion) -> None:
    finding = fired_rule(rule, drug(QUETIAPINE, "quetiapine", days_ago=100), rls())
    assert finding.severity == "warning"
    assert not finding.candidate
    assert finding.summary == (
        "Restless legs coded while on quetiapine, which can trigger or worsen RLS (or cause "
        "akathisia); review the medication."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_coded_plmd_is_named_as_such(rule: RuleVersion) -> None:
    finding = fired_rule(rule, drug(SERTRALINE, "sertraline", days_ago=100), plmd())
    assert finding.severity == "warning"
    assert finding.summary == (
        "Periodic limb movement disorder coded while on sertraline, which can trigger or worsen "
        "PLMD; review the medication."
    )
    assert "started 60 days before the periodic limb movement disorder began" in (
        finding.evidence[0].value
    )
    snomed_plmd = condition("418763003", display="Periodic limb movement disorder")
    assert fired_rule(rule, drug(SERTRALINE, "sertraline"), snomed_plmd).summary.startswith(
        "Periodic limb movement disorder coded"
    )
    both = fired_rule(rule, drug(SERTRALINE, "sertraline"), plmd(), rls())
    assert both.summary.startswith("Restless legs and periodic limb movement disorder coded")


@pytest.mark.rule_versions(since="1.1.0")
def test_drafted_culprit_with_plmd_on_record(rule: RuleVersion) -> None:
    finding = fired_rule(rule, plmd(), draft_orders=[draft_order(SERTRALINE, "sertraline")])
    assert finding.severity == "warning"
    assert finding.summary == (
        "Sertraline being ordered can trigger or worsen periodic limb movement disorder, already "
        "on record."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_restless_legs_as_a_visit_reason_is_coded(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=20, reason=(ICD10, "G25.81"))
    finding = fired_rule(rule, drug(SERTRALINE, "sertraline"), visit)
    assert finding.severity == "warning"
    assert not finding.candidate
    assert finding.summary.startswith("Restless legs coded while on sertraline")
    old_visit = encounter(start_days_ago=91, reason=(ICD10, "G25.81"))
    assert run_rule(rule, drug(SERTRALINE, "sertraline"), old_visit) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_restless_legs_as_an_observation_is_coded(rule: RuleVersion) -> None:
    answer = observation("32914008", None, days_ago=10)
    answer["code"] = {
        "coding": [{"system": SNOMED, "code": "32914008", "display": "Restless legs"}]
    }
    finding = fired_rule(rule, drug(SERTRALINE, "sertraline"), answer)
    assert finding.severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
def test_resolved_rls_is_a_complaint_named_as_restless_legs(rule: RuleVersion) -> None:
    resolved = rls(60, clinical_status="resolved")
    finding = fired_rule(rule, drug(SERTRALINE, "sertraline"), resolved)
    assert finding.severity == "info"
    assert finding.candidate
    assert finding.summary == (
        "Sertraline can trigger or worsen the restless legs on record; review the medication."
    )


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("started_days_ago", "expected"),
    [
        (130, "started 90 days before the restless legs began (within 90 days: strengthens"),
        (131, "started 91 days before the restless legs began"),
    ],
)
def test_start_within_90_days_of_onset_is_stated_in_the_evidence(
    rule: RuleVersion, started_days_ago: int, expected: str
) -> None:
    finding = fired_rule(rule, drug(QUETIAPINE, "quetiapine", days_ago=started_days_ago), rls(40))
    assert expected in finding.evidence[0].value
    assert "strengthens" not in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended_days_ago", "fires"), [(30, True), (31, False)])
def test_stopped_drug_counts_for_30_days_after_its_therapy_end(
    rule: RuleVersion, ended_days_ago: int, fires: bool
) -> None:
    stopped = with_therapy_end(
        drug(SERTRALINE, "sertraline", status="stopped", days_ago=200), days_ago=ended_days_ago
    )
    assert (run_rule(rule, stopped, rls()) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
def test_active_order_past_its_dispensing_window_is_still_taken(rule: RuleVersion) -> None:
    order = drug(SERTRALINE, "sertraline", days_ago=300, ended_days_ago=200)
    assert fired_rule(rule, order, rls()).severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_busy_chart_gives_a_short_card(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        drug(QUETIAPINE, "quetiapine"),
        drug(SERTRALINE, "sertraline"),
        drug(DIPHENHYDRAMINE, "diphenhydramine"),
        drug(METOCLOPRAMIDE, "metoclopramide"),
        drug(None, "Haloperidol decanoate"),
        rls(),
        plmd(),
        akathisia(),
        leg_cramp(),
    )
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    assert finding.explanation.count(". ") <= 1
    assert len(finding.explanation) <= 360
    assert "G25.71" in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
def test_source_is_the_aasm_guideline(rule: RuleVersion) -> None:
    assert rule.source_label == "AASM RLS and PLMD guideline 2024"
    assert rule.provenance.url == "https://doi.org/10.5664/jcsm.11390"
