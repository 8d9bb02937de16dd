"""peripheral-neuropathy 1.0.0: HbA1c >= 6.5 % with no diabetes diagnosis (warning, a finding);
diabetes or alcohol use disorder with a neuropathic leg complaint, or diabetic neuropathy with no
HbA1c in 6 months (info, candidate causes) (clinical-content.md §9)."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.lib.complaints.v1 import PAIN_CRAMP_OR_RESTLESS_VALUESETS
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import (
    HBA1C,
    VITAMIN_B12,
    OrderSuggestion,
    order,
)
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    PATIENT,
    observations,
)
from cds.rules.lib.results.v1 import certainly_at_least
from cds.rules.lib.text.v1 import fit_summary, fmt

# The IFCC unit of HbA1c, as labs report it (the record holds NGSP %, converted).
IFCC_UNIT = "mmol/mol"
# The results it reads (its Observations, with the complaints).
RESULTS: tuple[str, ...] = ("hba1c", "glucose", "vitamin-b12")


@dataclass(frozen=True)
class PeripheralNeuropathy(RuleLogic, Library2026_11):
    """§9: possible undiagnosed diabetes (a finding), or diabetes or alcohol use disorder as the
    candidate cause of neuropathic leg symptoms."""

    hba1c_diabetes: float = 6.5  # % NGSP (= 48 mmol/mol IFCC; units.py converts), ADA cut-off
    hba1c_window_days: int = 365  # §19: HbA1c within 12 months
    hba1c_diabetic_gap_days: int = 183  # §9 / §19: 6 months for a diabetic with neuropathy
    b12_window_days: int = 365  # B12 is suggested only when none in this window
    glucose_window_days: int = 365  # shown as context next to an undiagnosed HbA1c
    conditions_shown: int = 3  # diabetes, neuropathy and alcohol codes listed on the candidate card
    hba1c_order: OrderSuggestion = order(HBA1C, "Confirm or monitor glycaemia")
    b12_order: OrderSuggestion = order(VITAMIN_B12, "Another treatable cause of neuropathy")
    undiagnosed_explanation: str = (
        "An HbA1c of 6.5 % (48 mmol/mol) or more meets the ADA diagnostic threshold for "
        "diabetes, but no diabetes diagnosis is on record. ADA asks for a confirming repeat test "
        "(a second HbA1c or a plasma glucose test) unless the diagnosis is clinically clear. "
        "Diabetic peripheral neuropathy (burning, tingling or aching feet and legs, worse at "
        "night) can be present when diabetes is first diagnosed."
    )
    candidate_explanation: str = (
        "Diabetic and alcohol-related peripheral neuropathy cause symmetrical burning, tingling, "
        "aching or cramping in the feet and legs, typically worse at night and at rest. With "
        "diabetes, glycaemic control (HbA1c at least every 6 months when not at target, ADA) and "
        "vitamin B12 (low on long-term metformin and in alcohol use disorder) bear on the cause "
        "and its treatment."
    )
    a1c_caution: str = (
        "HbA1c can mislead when red cell turnover is altered (anaemia, haemoglobin variants, "
        "recent blood loss or transfusion, pregnancy, advanced kidney disease): ADA then relies "
        "on plasma glucose."
    )
    exam_caution: str = (
        "Examination findings (monofilament, vibration, reflexes) cannot be assessed from the "
        "record."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        complaints = self.pain_cramp_or_restless_complaints(facts)
        undiagnosed = self.undiagnosed_diabetes(facts, complaints)
        if undiagnosed is not None:
            return undiagnosed
        return self.candidate_cause(facts, complaints)

    # -- finding: possible undiagnosed diabetes -----------------------------------------------

    def undiagnosed_diabetes(
        self, facts: Facts, complaints: list[ConditionEntry]
    ) -> Finding | None:
        # Any diabetes code, even resolved or inactive, is a diagnosis: only a chart with none is
        # "undiagnosed".
        if self.has_condition(facts, "diabetes", include_history=True):
            return None
        latest = self.latest_lab(facts, "hba1c", within_days=self.hba1c_window_days)
        if latest is None or not certainly_at_least(latest, self.hba1c_diabetes):
            return None
        raised = [
            lab
            for lab in self.lab_results(facts, "hba1c", within_days=self.hba1c_window_days)
            if certainly_at_least(lab, self.hba1c_diabetes)
        ]
        confirmed = self.two_separate_samples(raised)
        value = self.a1c_text(latest)
        if complaints:
            summary = (
                f"HbA1c {value} without a diabetes diagnosis; diabetic neuropathy may explain the "
                "leg symptoms. Repeat to confirm (ADA)."
            )
        else:
            summary = (
                f"HbA1c {self.a1c_text(latest, with_threshold=True)} without a diabetes "
                "diagnosis: possible undiagnosed diabetes; repeat the test to confirm (ADA)."
            )
        if confirmed:
            summary = (
                f"HbA1c ≥6.5% on two dates (latest {value}) without a diabetes diagnosis: meets "
                "ADA criteria for diabetes."
            )
        explanation = self.undiagnosed_explanation
        if confirmed:
            explanation += (
                " Two results at or above the threshold on separate samples already meet the ADA "
                "criterion."
            )
        evidence: list[Evidence] = [self.a1c_evidence(lab) for lab in raised[:2]]
        glucose = self.latest_lab(facts, "glucose", within_days=self.glucose_window_days)
        if glucose is not None:
            evidence.append(
                self.lab_evidence(glucose, "Glucose (fasting state not known)", "mg/dL", 0)
            )
        evidence += [self.condition_evidence(c) for c in self.alcohol(facts)[:1]]
        evidence += self.complaint_evidence(complaints)
        suggestions: list[OrderSuggestion] = [] if confirmed else [self.hba1c_order]
        if complaints and not self.lab_results(
            facts, "vitamin-b12", within_days=self.b12_window_days
        ):
            suggestions.append(self.b12_order)
        return Finding(
            severity="warning",
            summary=fit_summary(summary),
            explanation=explanation,
            evidence=tuple(evidence),
            suggestions=tuple(suggestions),
            cautions=(self.a1c_caution,),
            # An abnormal value with a named diagnosis to make: as specific as a lab card gets.
            specificity=15,
        )

    def two_separate_samples(self, raised: list[LabEntry]) -> bool:
        dates = {lab.effective.date() for lab in raised if lab.effective is not None}
        return len(dates) >= 2

    def a1c_text(self, lab: LabEntry, *, with_threshold: bool = False) -> str:
        """ "7.1%" / "7.1% (≥6.5%)", or "54 mmol/mol (7.1%)" / "54 mmol/mol (7.1%, ≥6.5%)" when
        the lab reported IFCC units. One decimal, as HbA1c is written ("7.0%", not "7%")."""
        comparator = lab.comparator or ""
        percent = f"{comparator}{lab.value or 0:.1f}%"
        threshold = f"≥{self.hba1c_diabetes}%"
        if lab.raw_unit and lab.raw_unit.strip().casefold() == IFCC_UNIT and lab.raw_value:
            inner = f"{percent}, {threshold}" if with_threshold else percent
            return f"{comparator}{fmt(lab.raw_value, 0)} {IFCC_UNIT} ({inner})"
        return f"{percent} ({threshold})" if with_threshold else percent

    def a1c_evidence(self, lab: LabEntry) -> Evidence:
        return self.lab_evidence(lab, "HbA1c", "%", 1)

    # -- candidate cause: known diabetes or alcohol use disorder ------------------------------

    def alcohol(self, facts: Facts) -> list[ConditionEntry]:
        return [
            *self.coded_conditions(facts, "alcoholic-neuropathy"),
            *self.coded_conditions(facts, "alcohol-use-disorder"),
        ]

    def candidate_cause(self, facts: Facts, complaints: list[ConditionEntry]) -> Finding | None:
        diabetes = self.coded_conditions(facts, "diabetes")
        diabetic_neuropathy = self.coded_conditions(facts, "diabetic-neuropathy")
        other_neuropathy = [
            c
            for c in self.coded_conditions(facts, "peripheral-neuropathy-any")
            if c.reference not in {d.reference for d in diabetic_neuropathy}
        ]
        alcohol = self.alcohol(facts)
        alcoholic_neuropathy = self.coded_conditions(facts, "alcoholic-neuropathy")
        has_diabetic_neuropathy = bool(diabetic_neuropathy) or bool(diabetes and other_neuropathy)

        # §1.6: both are candidate causes. The named cause needs a pain, cramp or restlessness
        # complaint; the monitoring gap needs any leg complaint.
        candidate = bool(diabetes or alcohol) and bool(complaints)
        a1c_gap = (
            has_diabetic_neuropathy
            and self.has_leg_complaint(facts)
            and not self.lab_results(facts, "hba1c", within_days=self.hba1c_diabetic_gap_days)
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
            self.condition_evidence(c)
            for c in unique_by_reference(conditions)[: self.conditions_shown]
        ]
        latest_a1c = self.latest_lab(facts, "hba1c", within_days=self.hba1c_window_days)
        if latest_a1c is not None:
            evidence.append(self.a1c_evidence(latest_a1c))
        elif diabetes:
            evidence.append(Evidence("HbA1c", f"none in the last {self.hba1c_window_days} days"))
        evidence += self.complaint_evidence(complaints or self.leg_complaints(facts))

        suggestions: list[OrderSuggestion] = [self.hba1c_order] if a1c_gap else []
        if candidate and not self.lab_results(
            facts, "vitamin-b12", within_days=self.b12_window_days
        ):
            suggestions.append(self.b12_order)
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=self.candidate_explanation,
            evidence=tuple(evidence),
            suggestions=tuple(suggestions),
            cautions=(self.exam_caution,),
            # A coded neuropathy names the mechanism; diabetes or alcohol alone is a risk factor.
            specificity=30 if (has_diabetic_neuropathy or alcoholic_neuropathy) else 45,
        )


LOGIC = PeripheralNeuropathy()

RULE = RuleVersion(
    id="peripheral-neuropathy",
    version="1.0.0",
    title="Diabetic and alcohol-related peripheral neuropathy",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=(PATIENT, CONDITIONS, observations(*RESULTS, "leg-complaint"), ENCOUNTERS),
    valuesets=(
        *RESULTS,
        "diabetes",
        "diabetic-neuropathy",
        "peripheral-neuropathy-any",
        "alcohol-use-disorder",
        "alcoholic-neuropathy",
        *PAIN_CRAMP_OR_RESTLESS_VALUESETS,
    ),
    terminology="2026.11",
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
)
