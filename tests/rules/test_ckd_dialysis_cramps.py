"""ckd-dialysis-cramps (clinical-content.md §14), every version, and the shared kidney logic."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding, RuleVersion
from cds.rules.lib.kidney.v1 import gfr_category
from tests.support.card_text import assert_short_and_plain
from tests.support.fhir import ICD10, SNOMED, condition, encounter, observation, procedure
from tests.support.rules import fired_rule, rule_fixture, run_rule

EGFR = "98979-8"
EGFR_MDRD = "33914-3"
CA_TOTAL = "17861-6"  # mg/dL
CA_CORRECTED = "29265-6"  # mmol/L
ALBUMIN = "1751-7"
MG_MASS = "19123-9"  # mg/dL
MG_MOLES = "2601-3"  # mmol/L
K = "2823-3"

rule = rule_fixture("ckd-dialysis-cramps")


def egfr(value: float, days_ago: float, code: str = EGFR, **kwargs: Any) -> dict[str, Any]:
    return observation(code, value, "mL/min/{1.73_m2}", days_ago=days_ago, **kwargs)


def sustained(latest: float = 38, earlier: float = 44, apart: int = 120) -> list[dict[str, Any]]:
    return [egfr(latest, 10), egfr(earlier, 10 + apart)]


def ckd4(**kwargs: Any) -> dict[str, Any]:
    return condition("N18.4", system=ICD10, display="Chronic kidney disease, stage 4", **kwargs)


def leg_cramp() -> dict[str, Any]:
    return condition("G47.62", system=ICD10, display="Sleep related leg cramps")


def low_corrected_calcium() -> dict[str, Any]:
    return observation(CA_CORRECTED, 1.95, "mmol/L", days_ago=10)  # 7.8 mg/dL


def fired(rule: RuleVersion, *resources: dict[str, Any], **kwargs: Any) -> Finding:
    finding = fired_rule(rule, *resources, **kwargs)
    assert not finding.involves_draft_order
    return finding


# -- coded CKD and dialysis (candidate causes) ------------------------------------------------


@pytest.mark.rule_versions(until="1.0.0")
def test_coded_stage_4_with_cramps_is_info_with_catalog_summary(rule: RuleVersion) -> None:
    finding = fired(rule, ckd4(), egfr(22, 20), leg_cramp())
    assert finding.severity == "info"
    assert finding.summary == (
        "CKD G4 on record (eGFR 22): uraemia and electrolyte shifts commonly cause leg cramps "
        "and RLS."
    )
    assert [s.loinc for s in finding.suggestions] == ["24323-8", "19123-9"]


def test_coded_ckd_without_complaint_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, ckd4(), egfr(22, 20)) is None


def test_censored_total_calcium_is_judged_on_its_corrected_bound(
    rule: RuleVersion,
) -> None:
    total = observation(CA_TOTAL, 7.0, "mg/dL", days_ago=5, comparator="<")
    # Albumin 4.0: no correction, the corrected value is "<7": certainly low.
    finding = fired(rule, *sustained(), total, observation(ALBUMIN, 4.0, "g/dL"))
    assert finding.severity == "warning"
    assert "low corrected calcium <7 mg/dL" in finding.summary
    # Albumin 2.0: corrected "<8.6", which may be normal: not the newly-found warning.
    assert run_rule(rule, *sustained(), total, observation(ALBUMIN, 2.0, "g/dL")) is None


def test_coded_ckd_with_low_calcium_is_not_the_newly_found_warning(
    rule: RuleVersion,
) -> None:
    assert run_rule(rule, ckd4(), *sustained(), low_corrected_calcium()) is None
    finding = fired(rule, ckd4(), *sustained(), low_corrected_calcium(), leg_cramp())
    assert finding.severity == "info"
    assert any(e.label == "Calcium, albumin-corrected" for e in finding.evidence)


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_ckd_code_is_ignored(rule: RuleVersion, status: str) -> None:
    assert run_rule(rule, ckd4(verification_status=status), leg_cramp()) is None


@pytest.mark.rule_versions(until="1.0.0")
def test_dialysis_with_esrd(rule: RuleVersion) -> None:
    esrd = condition("N18.6", system=ICD10, display="End stage renal disease")
    dependence = condition("Z99.2", system=ICD10, display="Dependence on renal dialysis")
    finding = fired(rule, esrd, dependence, leg_cramp())
    assert finding.summary.startswith("ESRD on dialysis: cramps during or after dialysis")


@pytest.mark.parametrize(("days_ago", "fires"), [(90, True), (91, False)])
def test_recent_haemodialysis_procedure_means_on_dialysis(
    rule: RuleVersion, days_ago: int, fires: bool
) -> None:
    session = procedure("302497006", display="Hemodialysis (procedure)", days_ago=days_ago)
    finding = run_rule(rule, session, leg_cramp())
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.summary.startswith("Kidney failure on dialysis")


@pytest.mark.rule_versions(until="1.0.0")
def test_early_coded_ckd_ranks_last(rule: RuleVersion) -> None:
    stage1 = condition("N18.1", system=ICD10, display="Chronic kidney disease, stage 1")
    finding = fired(rule, stage1, egfr(85, 30), leg_cramp())
    assert finding.summary == (
        "Stage 1 CKD on record (eGFR 85): leg cramps and RLS are more frequent in CKD, mostly in "
        "advanced stages."
    )
    assert finding.specificity > 50


# -- CKD from eGFR alone ----------------------------------------------------------------------


def test_newly_found_ckd_with_low_calcium_is_a_warning_without_complaint(
    rule: RuleVersion,
) -> None:
    finding = fired(rule, *sustained(38, 44, 120), low_corrected_calcium())
    assert finding.severity == "warning"
    assert finding.summary == (
        "Unrecorded CKD G3b: eGFR 38 and < 60 for 120 days, with low calcium 7.8 mg/dL; may "
        "cause leg cramps."
    )
    assert finding.labs[0][0] == "calcium"
    assert any("120 days before the latest" in e.value for e in finding.evidence)


@pytest.mark.parametrize(("apart", "fires"), [(90, True), (89, False)])
def test_chronicity_needs_90_days(rule: RuleVersion, apart: int, fires: bool) -> None:
    finding = run_rule(rule, *sustained(apart=apart), low_corrected_calcium(), leg_cramp())
    assert (finding is not None) is fires


def test_a_normal_egfr_in_between_breaks_the_run(rule: RuleVersion) -> None:
    results = [egfr(40, 10), egfr(72, 60), egfr(45, 150)]
    assert run_rule(rule, *results, low_corrected_calcium(), leg_cramp()) is None


@pytest.mark.parametrize(("days_ago", "fires"), [(365, True), (366, False)])
def test_latest_egfr_must_be_within_12_months(
    rule: RuleVersion, days_ago: int, fires: bool
) -> None:
    results = [egfr(40, days_ago), egfr(42, days_ago + 100)]
    finding = run_rule(rule, *results, leg_cramp())
    assert (finding is not None) is fires


def test_egfr_at_60_is_not_ckd(rule: RuleVersion) -> None:
    assert run_rule(rule, *sustained(60, 60), low_corrected_calcium(), leg_cramp()) is None


def test_censored_egfr_above_60_is_not_low(rule: RuleVersion) -> None:
    results = [egfr(60, 10, comparator=">"), egfr(45, 130)]
    assert run_rule(rule, *results, low_corrected_calcium(), leg_cramp()) is None


def test_egfr_in_plain_ml_per_min_is_accepted(rule: RuleVersion) -> None:
    results = [
        observation(EGFR_MDRD, 41, "mL/min", days_ago=10),
        observation(EGFR_MDRD, 43, "mL/min", days_ago=200),
    ]
    finding = fired(rule, *results, leg_cramp())
    assert finding.summary.startswith("CKD G3b (eGFR 41) by eGFR < 60 for 90+ days, not coded")


def test_newly_found_ckd_without_low_mineral_needs_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, *sustained()) is None
    finding = fired(rule, *sustained(), leg_cramp())
    assert finding.severity == "info"
    assert any("cystatin C" in c for c in finding.cautions)


@pytest.mark.parametrize(("mg_dl", "fires"), [(1.5, True), (1.8, False)])
def test_low_magnesium_in_mg_per_dl(rule: RuleVersion, mg_dl: float, fires: bool) -> None:
    # 1.5 mg/dL = 0.62 mmol/L (low); 1.8 mg/dL = 0.74 mmol/L (normal).
    finding = run_rule(rule, *sustained(), observation(MG_MASS, mg_dl, "mg/dL", days_ago=5))
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.severity == "warning"
        assert "low magnesium 0.62 mmol/L" in finding.summary


def test_magnesium_low_by_the_labs_own_range(rule: RuleVersion) -> None:
    mg = observation(MG_MOLES, 0.72, "mmol/L", low=0.75, high=1.05, days_ago=5)
    assert fired(rule, *sustained(), mg).severity == "warning"


def test_magnesium_older_than_90_days_is_not_used(rule: RuleVersion) -> None:
    mg = observation(MG_MOLES, 0.5, "mmol/L", days_ago=91)
    assert run_rule(rule, *sustained(), mg) is None


@pytest.mark.parametrize(("total", "albumin", "fires"), [(7.6, 3.5, True), (8.0, 3.0, False)])
def test_total_calcium_is_corrected_for_albumin(
    rule: RuleVersion, total: float, albumin: float, fires: bool
) -> None:
    # 7.6 + 0.8 x 0.5 = 8.0 (low); 8.0 + 0.8 x 1.0 = 8.8 (normal despite a low total).
    finding = run_rule(
        rule,
        *sustained(),
        observation(CA_TOTAL, total, "mg/dL", days_ago=5),
        observation(ALBUMIN, albumin, "g/dL", days_ago=5),
    )
    assert (finding is not None) is fires


def test_suggestions_only_for_missing_results(rule: RuleVersion) -> None:
    finding = fired(
        rule,
        ckd4(),
        egfr(22, 20),
        observation(CA_TOTAL, 9.2, "mg/dL", days_ago=5),
        observation(MG_MOLES, 0.85, "mmol/L", days_ago=5),
        leg_cramp(),
    )
    assert [s.loinc for s in finding.suggestions] == ["51990-0"]
    complete = fired(
        rule,
        ckd4(),
        egfr(22, 20),
        observation(CA_TOTAL, 9.2, "mg/dL", days_ago=5),
        observation(MG_MOLES, 0.85, "mmol/L", days_ago=5),
        observation(K, 4.4, "mmol/L", days_ago=5),
        leg_cramp(),
    )
    assert complete.suggestions == ()


@pytest.mark.parametrize(
    ("value", "category"),
    [
        (90, "G1"),
        (89, "G2"),
        (60, "G2"),
        (59, "G3a"),
        (45, "G3a"),
        (44, "G3b"),
        (30, "G3b"),
        (29, "G4"),
        (15, "G4"),
        (14.9, "G5"),
    ],
)
def test_gfr_categories(value: float, category: str) -> None:
    assert gfr_category(value) == category


@pytest.mark.parametrize(
    ("value", "comparator", "label"),
    [(15, "<", "CKD G5"), (30, "<", "Stage 4 CKD")],
)
def test_censored_latest_egfr_is_staged_only_when_unambiguous(
    rule: RuleVersion, value: float, comparator: str, label: str
) -> None:
    # "<15" is certainly G5; "<30" could be G4 or G5, so the coded stage names it.
    finding = fired(rule, ckd4(), egfr(value, 10, comparator=comparator), leg_cramp())
    assert finding.summary.startswith(f"{label} on record")


# == 1.1.0 (§22) ===============================================================================

CREATININE_MOLES = "14682-9"  # umol/L


def restless_legs() -> dict[str, Any]:
    return condition("G25.81", system=ICD10, display="Restless legs syndrome")


def swelling() -> dict[str, Any]:
    return condition("R60.0", system=ICD10, display="Localized edema")


@pytest.mark.rule_versions(since="1.1.0")
def test_the_info_card_is_a_candidate_naming_the_complaint(rule: RuleVersion) -> None:
    finding = fired(rule, ckd4(), egfr(22, 20), leg_cramp())
    assert finding.candidate
    assert finding.summary == (
        "CKD G4 on record (eGFR 22): uraemia and electrolyte shifts may explain the leg cramps."
    )
    assert finding.source is None  # the rule's own guideline: KDIGO 2024
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_restless_legs_open_the_card_and_are_named(rule: RuleVersion) -> None:
    finding = fired(rule, ckd4(), egfr(22, 20), restless_legs())
    assert finding.summary.endswith("may explain the restless legs.")


@pytest.mark.rule_versions(until="1.0.0")
def test_1_0_0_opened_on_a_swollen_leg_alone(rule: RuleVersion) -> None:
    assert fired(rule, ckd4(), egfr(22, 20), swelling()).severity == "info"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_swollen_leg_alone_does_not_open_the_card(rule: RuleVersion) -> None:
    assert run_rule(rule, ckd4(), egfr(22, 20), swelling()) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_dialysis_summary_names_the_complaint(rule: RuleVersion) -> None:
    esrd = condition("236435004", display="End stage renal failure on dialysis (disorder)")
    finding = fired(rule, esrd, leg_cramp())
    assert finding.summary == (
        "ESRD on dialysis may explain the leg cramps; review fluid removal and electrolytes."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_a_dialysis_procedure_of_the_wider_set_means_on_dialysis(rule: RuleVersion) -> None:
    session = procedure("233575001", display="Intermittent hemodialysis (procedure)", days_ago=3)
    finding = fired(rule, session, leg_cramp())
    assert finding.summary.startswith("Kidney failure on dialysis may explain the leg cramps")


@pytest.mark.rule_versions(since="1.1.0")
def test_early_ckd_is_a_weak_contributor(rule: RuleVersion) -> None:
    stage1 = condition("N18.1", system=ICD10, display="Chronic kidney disease, stage 1")
    finding = fired(rule, stage1, egfr(85, 30), leg_cramp())
    assert finding.summary == (
        "Stage 1 CKD on record (eGFR 85): a possible, weak contributor to the leg cramps "
        "(stronger in advanced CKD)."
    )
    assert finding.specificity > 50


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("code", "system", "label"),
    [
        ("431856006", SNOMED, "Stage 2 CKD"),  # as Synthea codes it
        ("I12.9", ICD10, "CKD"),  # hypertensive CKD, stage unspecified
        ("129171000119106", SNOMED, "Stage 3 CKD"),  # CKD stage 3 due to hypertension
    ],
)
def test_the_wider_ckd_codes_are_recognised(
    rule: RuleVersion, code: str, system: str, label: str
) -> None:
    finding = fired(rule, condition(code, system=system), leg_cramp())
    assert finding.summary.startswith(f"{label} on record")


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("value", "unit", "reported"), [(150, "umol/L", "150 umol/L"), (0.15, "mmol/L", "0.15 mmol/L")]
)
def test_creatinine_is_shown_when_no_egfr_is_current(
    rule: RuleVersion, value: float, unit: str, reported: str
) -> None:
    creatinine = observation(CREATININE_MOLES, value, unit, days_ago=20)
    finding = fired(rule, ckd4(), creatinine, leg_cramp())
    [line] = [e for e in finding.evidence if e.label.startswith("Creatinine")]
    assert line.value == f"1.7 mg/dL; reported as {reported}"
    with_egfr = fired(rule, ckd4(), egfr(22, 20), creatinine, leg_cramp())
    assert not [e for e in with_egfr.evidence if e.label.startswith("Creatinine")]


@pytest.mark.rule_versions(since="1.1.0")
def test_the_evidence_stays_short_with_many_kidney_codes(rule: RuleVersion) -> None:
    codes = [
        condition("N18.6", system=ICD10, display="End stage renal disease"),
        condition("Z99.2", system=ICD10, display="Dependence on renal dialysis"),
        ckd4(),
        condition("N18.9", system=ICD10, display="Chronic kidney disease, unspecified"),
        condition("I12.0", system=ICD10, display="Hypertensive CKD with stage 5 or ESRD"),
    ]
    minerals = [low_corrected_calcium(), observation(MG_MOLES, 0.5, "mmol/L", days_ago=4)]
    visit = encounter(start_days_ago=2, reason=(ICD10, "G47.62"))
    finding = fired(rule, *codes, *sustained(), *minerals, visit)
    assert len(finding.evidence) == 6
    assert [e.label for e in finding.evidence][:2] == [
        "End stage renal disease",
        "Dependence on renal dialysis",
    ]
    assert finding.evidence[-1].reference == f"Encounter/{visit['id']}"
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_newly_found_ckd_stays_a_finding(rule: RuleVersion) -> None:
    finding = fired(rule, *sustained(38, 44, 120), low_corrected_calcium())
    assert finding.severity == "warning"
    assert not finding.candidate
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_censored_egfr_is_shown_with_its_comparator(rule: RuleVersion) -> None:
    finding = fired(rule, ckd4(), egfr(15, 10, comparator="<"), leg_cramp())
    assert "(eGFR <15)" in finding.summary
    [line] = [e for e in finding.evidence if e.label == "eGFR (latest)"]
    assert line.value.startswith("<15 mL/min")
