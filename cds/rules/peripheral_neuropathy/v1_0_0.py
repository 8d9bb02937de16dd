"""peripheral-neuropathy 1.0.0: HbA1c >= 6.5 % with no diabetes diagnosis (warning, a finding);
diabetes or alcohol use disorder with a neuropathic leg complaint, or diabetic neuropathy with no
HbA1c in 6 months (info, candidate causes) (clinical-content.md §9)."""

from __future__ import annotations

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry
from cds.rules._leg_context import (
    PAIN_CRAMP_OR_RESTLESS_VALUESETS,
    complaint_evidence,
    pain_cramp_or_restless_complaints,
)
from cds.rules.base import DataRequirement, Evidence, Finding, OrderSuggestion, Provenance, Rule
from cds.rules.common import (
    certainly_at_least,
    condition_evidence,
    fit_summary,
    fmt,
    lab_evidence,
    unique_by_reference,
)

RULE_ID = "peripheral-neuropathy"
VERSION = "1.0.0"

HBA1C_DIABETES = 6.5  # % NGSP (= 48 mmol/mol IFCC; units.py converts), ADA diagnostic cut-off
HBA1C_WINDOW_DAYS = 365  # §19: HbA1c within 12 months
HBA1C_DIABETIC_GAP_DAYS = 183  # §9 / §19: 6 months for a diabetic with neuropathy
B12_WINDOW_DAYS = 365  # B12 is suggested only when none in this window
GLUCOSE_WINDOW_DAYS = 365  # shown as context next to an undiagnosed HbA1c
IFCC_UNIT = "mmol/mol"
CONDITIONS_SHOWN = 3  # diabetes, neuropathy and alcohol codes listed on the candidate card

HBA1C = OrderSuggestion("HbA1c", "4548-4", "Confirm or monitor glycaemia")
B12 = OrderSuggestion(
    "Vitamin B12 (cobalamin), serum", "2132-9", "Another treatable cause of neuropathy"
)

UNDIAGNOSED_EXPLANATION = (
    "An HbA1c of 6.5 % (48 mmol/mol) or more meets the ADA diagnostic threshold for diabetes, "
    "but no diabetes diagnosis is on record. ADA asks for a confirming repeat test (a second "
    "HbA1c or a plasma glucose test) unless the diagnosis is clinically clear. Diabetic "
    "peripheral neuropathy (burning, tingling or aching feet and legs, worse at night) can be "
    "present when diabetes is first diagnosed."
)
CANDIDATE_EXPLANATION = (
    "Diabetic and alcohol-related peripheral neuropathy cause symmetrical burning, tingling, "
    "aching or cramping in the feet and legs, typically worse at night and at rest. With "
    "diabetes, glycaemic control (HbA1c at least every 6 months when not at target, ADA) and "
    "vitamin B12 (low on long-term metformin and in alcohol use disorder) bear on the cause "
    "and its treatment."
)
A1C_CAUTION = (
    "HbA1c can mislead when red cell turnover is altered (anaemia, haemoglobin variants, "
    "recent blood loss or transfusion, pregnancy, advanced kidney disease): ADA then relies "
    "on plasma glucose."
)
EXAM_CAUTION = (
    "Examination findings (monofilament, vibration, reflexes) cannot be assessed from the record."
)


def evaluate(facts: Facts) -> Finding | None:
    complaints = pain_cramp_or_restless_complaints(facts)
    undiagnosed = _undiagnosed_diabetes(facts, complaints)
    if undiagnosed is not None:
        return undiagnosed
    return _candidate_cause(facts, complaints)


# -- finding: possible undiagnosed diabetes ---------------------------------------------------


def _undiagnosed_diabetes(facts: Facts, complaints: list[ConditionEntry]) -> Finding | None:
    # Any diabetes code, even resolved or inactive, is a diagnosis: only a chart with none is
    # "undiagnosed".
    if facts.has_condition("diabetes", include_history=True):
        return None
    latest = facts.latest_lab("hba1c", within_days=HBA1C_WINDOW_DAYS)
    if latest is None or not certainly_at_least(latest, HBA1C_DIABETES):
        return None
    raised = [
        lab
        for lab in facts.labs("hba1c", within_days=HBA1C_WINDOW_DAYS)
        if certainly_at_least(lab, HBA1C_DIABETES)
    ]
    confirmed = _two_separate_samples(raised)
    value = _a1c_text(latest)
    if complaints:
        summary = (
            f"HbA1c {value} without a diabetes diagnosis; diabetic neuropathy may explain the "
            "leg symptoms. Repeat to confirm (ADA)."
        )
    else:
        summary = (
            f"HbA1c {_a1c_text(latest, with_threshold=True)} without a diabetes diagnosis: "
            "possible undiagnosed "
            "diabetes; repeat the test to confirm (ADA)."
        )
    if confirmed:
        summary = (
            f"HbA1c ≥6.5% on two dates (latest {value}) without a diabetes diagnosis: meets "
            "ADA criteria for diabetes."
        )
    explanation = UNDIAGNOSED_EXPLANATION
    if confirmed:
        explanation += (
            " Two results at or above the threshold on separate samples already meet the ADA "
            "criterion."
        )
    evidence: list[Evidence] = [_a1c_evidence(lab) for lab in raised[:2]]
    glucose = facts.latest_lab("glucose", within_days=GLUCOSE_WINDOW_DAYS)
    if glucose is not None:
        evidence.append(lab_evidence(glucose, "Glucose (fasting state not known)", "mg/dL", 0))
    evidence += [condition_evidence(c) for c in _alcohol(facts)[:1]]
    evidence += complaint_evidence(complaints)
    suggestions: list[OrderSuggestion] = [] if confirmed else [HBA1C]
    if complaints and not facts.labs("vitamin-b12", within_days=B12_WINDOW_DAYS):
        suggestions.append(B12)
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity="warning",
        summary=fit_summary(summary),
        explanation=explanation,
        evidence=tuple(evidence),
        suggestions=tuple(suggestions),
        cautions=(A1C_CAUTION,),
        # An abnormal value with a named diagnosis to make: as specific as a lab card gets.
        specificity=15,
    )


def _two_separate_samples(raised: list[LabEntry]) -> bool:
    dates = {lab.effective.date() for lab in raised if lab.effective is not None}
    return len(dates) >= 2


def _a1c_text(lab: LabEntry, *, with_threshold: bool = False) -> str:
    """ "7.1%" / "7.1% (≥6.5%)", or "54 mmol/mol (7.1%)" / "54 mmol/mol (7.1%, ≥6.5%)" when
    the lab reported IFCC units. One decimal, as HbA1c is written ("7.0%", not "7%")."""
    comparator = lab.comparator or ""
    percent = f"{comparator}{lab.value or 0:.1f}%"
    threshold = f"≥{HBA1C_DIABETES}%"
    if lab.raw_unit and lab.raw_unit.strip().casefold() == IFCC_UNIT and lab.raw_value:
        inner = f"{percent}, {threshold}" if with_threshold else percent
        return f"{comparator}{fmt(lab.raw_value, 0)} {IFCC_UNIT} ({inner})"
    return f"{percent} ({threshold})" if with_threshold else percent


def _a1c_evidence(lab: LabEntry) -> Evidence:
    return lab_evidence(lab, "HbA1c", "%", 1)


# -- candidate cause: known diabetes or alcohol use disorder ----------------------------------


def _alcohol(facts: Facts) -> list[ConditionEntry]:
    return [*facts.conditions("alcoholic-neuropathy"), *facts.conditions("alcohol-use-disorder")]


def _candidate_cause(facts: Facts, complaints: list[ConditionEntry]) -> Finding | None:
    diabetes = facts.conditions("diabetes")
    diabetic_neuropathy = facts.conditions("diabetic-neuropathy")
    other_neuropathy = [
        c
        for c in facts.conditions("peripheral-neuropathy-any")
        if c.reference not in {d.reference for d in diabetic_neuropathy}
    ]
    alcohol = _alcohol(facts)
    alcoholic_neuropathy = facts.conditions("alcoholic-neuropathy")
    has_diabetic_neuropathy = bool(diabetic_neuropathy) or bool(diabetes and other_neuropathy)

    # §1.6: both are candidate causes. The named cause needs a pain, cramp or restlessness
    # complaint; the monitoring gap needs any leg complaint.
    candidate = bool(diabetes or alcohol) and bool(complaints)
    a1c_gap = (
        has_diabetic_neuropathy
        and facts.has_leg_complaint
        and not facts.labs("hba1c", within_days=HBA1C_DIABETIC_GAP_DAYS)
    )
    if not candidate and not a1c_gap:
        return None

    if diabetes and has_diabetic_neuropathy:
        cause = "Diabetic neuropathy on record"
    elif alcoholic_neuropathy:
        cause = "Alcohol-related neuropathy on record"
    elif diabetes:
        cause = "Diabetes on record: diabetic neuropathy"
    else:
        cause = "Alcohol use disorder on record: alcohol-related neuropathy"

    if candidate and a1c_gap:
        summary = f"{cause} may explain the leg pain; no HbA1c in 6 months, consider checking."
    elif candidate:
        summary = f"{cause} may explain the burning or night-time leg pain."
    else:
        summary = f"{cause}; no HbA1c in 6 months. Consider checking glycaemic control."

    conditions = [*diabetic_neuropathy, *other_neuropathy, *diabetes, *alcohol]
    evidence: list[Evidence] = [
        condition_evidence(c) for c in unique_by_reference(conditions)[:CONDITIONS_SHOWN]
    ]
    latest_a1c = facts.latest_lab("hba1c", within_days=HBA1C_WINDOW_DAYS)
    if latest_a1c is not None:
        evidence.append(_a1c_evidence(latest_a1c))
    elif diabetes:
        evidence.append(Evidence("HbA1c", f"none in the last {HBA1C_WINDOW_DAYS} days"))
    evidence += complaint_evidence(complaints or facts.leg_complaints)

    suggestions: list[OrderSuggestion] = [HBA1C] if a1c_gap else []
    if candidate and not facts.labs("vitamin-b12", within_days=B12_WINDOW_DAYS):
        suggestions.append(B12)
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity="info",
        summary=fit_summary(summary),
        explanation=CANDIDATE_EXPLANATION,
        evidence=tuple(evidence),
        suggestions=tuple(suggestions),
        cautions=(EXAM_CAUTION,),
        # A coded neuropathy names the mechanism; diabetes or alcohol alone is a risk factor.
        specificity=30 if (has_diabetic_neuropathy or alcoholic_neuropathy) else 45,
    )


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Diabetic and alcohol-related peripheral neuropathy",
    severities=("info", "warning"),
    provenance=Provenance(
        guideline=(
            "American Diabetes Association. 2. Diagnosis and classification of diabetes: "
            "Standards of Care in Diabetes-2025. Diabetes Care 2025;48(Suppl 1):S27-S49"
        ),
        url="https://doi.org/10.2337/dc25-S002",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Undiagnosed diabetes is a finding (fires without a complaint, §1.6): latest HbA1c "
            "within 365 days >= 6.5 % (IFCC mmol/mol converted to NGSP %; '>' results count "
            "when unambiguous, '<' never) and no diabetes code at all, active or resolved (a "
            "resolved code is still a diagnosis). Two results >= 6.5 % on different dates meet "
            "the ADA criterion, so the card says so and drops the repeat-test suggestion. The "
            "candidate-cause card needs an active diabetes or alcohol code (alcohol-use-"
            "disorder: only F10.20 is verified, plus alcoholic polyneuropathy) and a leg pain, "
            "cramp or restless-legs complaint (swelling alone does not fit a neuropathy). "
            "'Diabetes with neuropathy' = a diabetic-neuropathy code, or diabetes plus any "
            "neuropathy code; its HbA1c gap uses 183 days (6 months) and, being a monitoring "
            "gap, needs any §1.6 leg complaint. Other neuropathy codes alone (G62.9, "
            "302226006) do not fire: §9 names diabetes and alcohol as the causes. B12 is "
            "suggested only with a complaint and no B12 in 12 months. Glucose is shown as "
            "context but not used to diagnose (fasting state is not recorded). Glucose-"
            "lowering drugs are not read (no value set): a patient treated for diabetes "
            "without a diabetes code would be flagged."
        ),
    ),
    requires=(
        DataRequirement("Patient"),
        DataRequirement("Condition"),
        DataRequirement("Observation", ("hba1c", "glucose", "vitamin-b12", "leg-complaint")),
        DataRequirement("Encounter"),
    ),
    evaluate=evaluate,
    valuesets=(
        "hba1c",
        "glucose",
        "vitamin-b12",
        "diabetes",
        "diabetic-neuropathy",
        "peripheral-neuropathy-any",
        "alcohol-use-disorder",
        "alcoholic-neuropathy",
        *PAIN_CRAMP_OR_RESTLESS_VALUESETS,
    ),
)
