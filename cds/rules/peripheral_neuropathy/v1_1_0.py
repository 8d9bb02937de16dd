"""peripheral-neuropathy 1.1.0: wider diabetes, neuropathy and alcohol sets, the complaint on
record named, results shown as reported, candidate causes flagged, short cards
(clinical-content.md §9 as §22.1, §22.2 e and g settle it)."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry
from cds.rules.base import Evidence, Finding, OrderSuggestion, Provenance
from cds.rules.lib.complaints.v2 import LEG_CRAMP, LEG_PAIN, SWELLING
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.results.v1 import certainly_at_least
from cds.rules.lib.text.v1 import fit_summary
from cds.rules.peripheral_neuropathy import v1_0_0 as previous

# Read since 1.1.0 by `complaint_words` (restless legs was already declared).
NEW_VALUESETS: tuple[str, ...] = (LEG_PAIN, LEG_CRAMP, SWELLING)


@dataclass(frozen=True)
class PeripheralNeuropathy(previous.PeripheralNeuropathy, Library2026_12):
    """§9 with the 2026.12 sets and libraries. Possible undiagnosed diabetes (HbA1c >= 6.5 %, no
    diabetes code) is a finding; the named cause (diabetes or alcohol use disorder with leg
    pain, cramps or restless legs) and the HbA1c monitoring gap are candidate causes (§1.6).
    The card names the complaint on record, and calls a neuropathy diabetic only when it is
    coded so (the wider neuropathy set holds rheumatoid, hereditary, infectious ones)."""

    undiagnosed_explanation: str = (
        "An HbA1c of 6.5 % (48 mmol/mol) or more meets the ADA threshold for diabetes, and no "
        "diabetes diagnosis is on record; ADA asks for a confirming repeat test unless the "
        "diagnosis is clinically clear. Diabetic neuropathy can already be present when "
        "diabetes is found."
    )
    confirmed_explanation: str = (
        "Two HbA1c results of 6.5 % (48 mmol/mol) or more on separate dates meet the ADA "
        "criterion for diabetes, and no diabetes diagnosis is on record. Diabetic neuropathy "
        "can already be present when diabetes is found."
    )
    candidate_explanation: str = (
        "Diabetic and alcohol-related neuropathy cause burning, tingling, aching or cramping in "
        "the feet and legs, typically worse at night and at rest. Glycaemic control and vitamin "
        "B12 (low on long-term metformin and in alcohol use disorder) bear on cause and "
        "treatment."
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
        if confirmed:
            summary = (
                f"HbA1c ≥6.5% on two dates (latest {value}) without a diabetes diagnosis: meets "
                "ADA criteria for diabetes."
            )
        elif complaints:
            summary = (
                f"HbA1c {value} without a diabetes diagnosis; diabetic neuropathy may explain the "
                f"{self.complaint_words(facts, complaints)}. Repeat to confirm (ADA)."
            )
        else:
            summary = (
                f"HbA1c {self.a1c_text(latest, with_threshold=True)} without a diabetes "
                "diagnosis: possible undiagnosed diabetes; repeat the test to confirm (ADA)."
            )
        evidence: list[Evidence] = [self.a1c_evidence(lab) for lab in raised[:2]]
        glucose = self.latest_lab(facts, "glucose", within_days=self.glucose_window_days)
        if glucose is not None:
            evidence.append(self.lab_evidence(glucose, self.glucose_label(glucose), "mg/dL", 0))
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
            explanation=self.confirmed_explanation if confirmed else self.undiagnosed_explanation,
            evidence=tuple(evidence),
            suggestions=tuple(suggestions),
            cautions=(self.a1c_caution,),
            specificity=15,
        )

    def glucose_label(self, glucose: LabEntry) -> str:
        """The wider glucose set holds fasting and random tests: say which, where the record
        does."""
        if "fasting" in glucose.display.casefold():
            return "Glucose, fasting"
        return "Glucose (fasting state not known)"

    # -- candidate cause: known diabetes or alcohol use disorder ------------------------------

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

        candidate = bool(diabetes or alcohol) and bool(complaints)
        a1c_gap = (
            has_diabetic_neuropathy
            and self.has_leg_complaint(facts)
            and not self.lab_results(facts, "hba1c", within_days=self.hba1c_diabetic_gap_days)
        )
        if not candidate and not a1c_gap:
            return None

        if diabetic_neuropathy:
            cause = "Diabetic neuropathy on record"
        elif diabetes and other_neuropathy:
            cause = "Diabetes and a neuropathy on record"
        elif alcoholic_neuropathy:
            cause = "Alcohol-related neuropathy on record"
        elif diabetes:
            cause = "Diabetes on record: diabetic neuropathy"
        else:
            cause = "Alcohol use disorder on record: alcohol-related neuropathy"

        if candidate:
            words = self.complaint_words(facts, complaints)
            summary = f"{cause} may explain the {words}"
            summary += "; no HbA1c in 6 months, consider checking." if a1c_gap else "."
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
            specificity=30 if (has_diabetic_neuropathy or alcoholic_neuropathy) else 45,
            candidate=True,
        )


LOGIC = PeripheralNeuropathy()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=(*previous.RULE.valuesets, *NEW_VALUESETS),
    source_label="ADA Standards of Care 2025",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Wider value sets (§22.1): diabetes 401 codes, "
            "diabetic neuropathy 23, any peripheral neuropathy 80, alcohol use disorder 83, "
            "HbA1c 6 LOINCs, glucose 15. The card names the complaint on record ('may explain "
            "the leg cramps', never 'leg pain' for a coded cramp), and calls a neuropathy "
            "diabetic only when it is coded so ('Diabetes and a neuropathy on record' "
            "otherwise). Leg complaints coded as a visit reason or an Observation count "
            "(§22.2 e). Results keep their comparator in the evidence (HbA1c >14.0 %, §22.2 "
            "g); a fasting glucose is labelled as such. The named cause and the HbA1c gap are "
            "candidate causes (shown only with a complaint); possible undiagnosed diabetes "
            "stays a finding. Explanations are two sentences."
        ),
        rationale=(
            "The thresholds, windows and triggers are 1.0.0's: HbA1c >= 6.5 % (48 mmol/mol) "
            "with no diabetes code, active or resolved, is a finding; two raised results on "
            "separate dates meet the ADA criterion. The candidate cause needs a leg pain, cramp "
            "or restless-legs complaint (a swollen leg is not neuropathic); the HbA1c gap (183 "
            "days) for coded diabetic neuropathy, or diabetes with any neuropathy, needs any "
            "leg complaint. The wider peripheral-neuropathy-any set (rheumatoid, hereditary, "
            "infectious, lower-limb mononeuropathies) is read as 1.0.0 did, but with diabetes "
            "the card says 'Diabetes and a neuropathy on record' unless the neuropathy is "
            "coded diabetic. Alcohol use disorder is the §22.1 set (abuse, dependence, "
            "withdrawal; remission codes left out). Glucose is context only. Burden: on the 90 "
            "Synthea charts with a sleep-related leg cramp added the card shows on 18 (20 %), "
            "as with 1.0.0; on none without the complaint."
        ),
    ),
)
