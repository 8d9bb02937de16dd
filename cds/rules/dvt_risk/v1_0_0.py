"""dvt-risk 1.0.0: record-derived Wells DVT items and other VTE risk factors in a patient with
leg pain or swelling (clinical-content.md §10).

`DvtRisk.assess_dvt_risk` is also the DVT signal of pe-red-flags (§11), which holds this
version's logic as its `dvt_risk` parameter and runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, MedicationEntry
from cds.rules.base import (
    DataRequirement,
    Evidence,
    Finding,
    Provenance,
    RuleLogic,
    RuleVersion,
    Severity,
)
from cds.rules.lib.complaints.v1 import COMPLAINT_VALUESETS
from cds.rules.lib.evidence.v1 import unique_evidence
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import (
    D_DIMER,
    VENOUS_DUPLEX_BOTH_LEGS,
    OrderSuggestion,
    order,
)
from cds.rules.lib.pregnancy.v1 import PREGNANCY_VALUESETS
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    MEDICATIONS_GIVEN,
    PROCEDURES,
    observations,
)
from cds.rules.lib.results.v1 import certainly_at_least
from cds.rules.lib.text.v1 import fit_summary, fmt, join_parts

# Value sets the assessment reads; pe-red-flags declares them too, since it runs it.
VALUESETS: tuple[str, ...] = (
    "cancer",
    "neurotoxic-chemotherapy",
    "paralysis",
    "major-surgery",
    "vte-history",
    "acute-dvt",
    *PREGNANCY_VALUESETS,
    "mi",
    "stroke",
    "obesity",
    "bmi",
    "copd",
    "heart-failure",
    "estrogens",
    "anticoagulants",
    *COMPLAINT_VALUESETS,
)
OBSERVATION_VALUESETS: tuple[str, ...] = ("bmi", "pregnancy-status", "gestational-age")
# Everything but Observations; pe-red-flags adds its vital signs to OBSERVATION_VALUESETS.
NON_OBSERVATION_REQUIREMENTS: tuple[DataRequirement, ...] = (
    CONDITIONS,
    PROCEDURES,
    ENCOUNTERS,
    *MEDICATIONS_GIVEN,
)
REQUIREMENTS: tuple[DataRequirement, ...] = (
    *NON_OBSERVATION_REQUIREMENTS,
    observations(*OBSERVATION_VALUESETS),
)


@dataclass(frozen=True)
class RiskItem:
    """One Wells item or risk factor found in the record."""

    short: str  # for the summary, e.g. "surgery 3 wk ago"
    label: str  # for the explanation, e.g. "major surgery within 12 weeks"
    evidence: tuple[Evidence, ...]
    medications: tuple[MedicationEntry, ...] = ()
    caution: str = ""  # a caveat this item brings to the card


@dataclass(frozen=True)
class DvtAssessment:
    """What the record says about DVT risk, whatever the complaint: §10's scoring. How it is
    judged (`DvtRisk.is_warning`) and shown (`DvtRisk.assessment_evidence`,
    `DvtRisk.assessment_cautions`) belongs to the rule version."""

    wells_items: tuple[RiskItem, ...]
    other_factors: tuple[RiskItem, ...]
    unilateral_swelling: tuple[ConditionEntry, ...]
    anticoagulants: tuple[MedicationEntry, ...]

    @property
    def wells_score(self) -> int:
        return len(self.wells_items)  # every record-derivable item is worth +1

    @property
    def has_risk(self) -> bool:
        return bool(self.wells_items or self.other_factors)

    @property
    def medications(self) -> tuple[MedicationEntry, ...]:
        return tuple(m for item in self.items for m in item.medications)

    @property
    def items(self) -> tuple[RiskItem, ...]:
        return self.wells_items + self.other_factors

    @property
    def involves_draft_order(self) -> bool:
        return any(m.drafted for m in self.medications)


@dataclass(frozen=True)
class DvtRisk(RuleLogic, Library2026_11):
    """§10. Windows are days before as_of, inclusive (§10 / §19)."""

    surgery_window_days: int = 84  # Wells 2003: 12 weeks (the 1997 model used 4 weeks)
    bedridden_min_stay_days: int = 3  # inpatient stay of at least 3 days ...
    bedridden_ended_within_days: int = 28  # ... that ended at most 28 days ago
    active_cancer_window_days: int = 183  # "treatment ongoing or within 6 months"
    postpartum_high_risk_days: int = 42  # 6 weeks: risk highest (Kamel 2014)
    postpartum_raised_risk_days: int = 84  # 12 weeks: risk still raised
    recent_mi_stroke_days: int = 90  # design default, not a guideline value
    # The catalog names no window: a BMI within a year describes the patient now.
    bmi_window_days: int = 365
    obesity_bmi: float = 30.0  # kg/m2
    # Two-level Wells (2003): >= 2 "DVT likely". The record supplies at most 4 of the 9 points.
    wells_likely: int = 2
    # §10: a record score of 1 with a coded one-sided swelling is also a warning.
    wells_with_unilateral_swelling: int = 1
    duplex: OrderSuggestion = order(
        VENOUS_DUPLEX_BOTH_LEGS, "Suspected DVT: imaging per the Wells pathway"
    )
    d_dimer: OrderSuggestion = order(
        D_DIMER, "Only if the clinician's full Wells score is 1 or less"
    )
    exam_caution: str = (
        "Exam items cannot be assessed from the record (tenderness along the deep veins, entire "
        "leg swollen, calf swelling of 3 cm or more, pitting oedema of the symptomatic leg, "
        "collateral superficial veins, alternative diagnosis at least as likely): the score "
        "shown is partial. Complete the Wells score at the bedside."
    )
    surgery_caution: str = (
        "The record rarely says whether a procedure needed general or regional anaesthesia; "
        "some coded procedures are percutaneous. Check that the surgery meets the Wells item."
    )

    # -- the card ------------------------------------------------------------------------------

    def evaluate(self, facts: Facts) -> Finding | None:
        # §1.6 / §10: Wells scoring is for a suspected DVT, so the complaint is always needed.
        complaints = self.pain_or_swelling_complaints(facts)
        if not complaints:
            return None
        assessment = self.assess_dvt_risk(facts)
        if not assessment.has_risk:
            return None
        severity: Severity = "warning" if self.is_warning(assessment) else "info"
        suggestions = [self.duplex]
        # §10: D-dimer only for a clinician Wells <= 1, never when already anticoagulated; a
        # record score of 2 or more already sends the patient to imaging.
        if severity == "info" and not assessment.anticoagulants:
            suggestions.append(self.d_dimer)
        return Finding(
            severity=severity,
            summary=self.summary(assessment),
            explanation=self.explanation(assessment),
            evidence=unique_evidence(
                (*self.assessment_evidence(assessment), *self.complaint_evidence(complaints))
            ),
            suggestions=tuple(suggestions),
            cautions=self.assessment_cautions(assessment),
            involves_draft_order=assessment.involves_draft_order,
            # A risk pattern for one named cause: more specific than a list of associations,
            # less than a single abnormal result. The warning outranks the info-level list.
            specificity=15 if severity == "warning" else 35,
        )

    def summary(self, assessment: DvtAssessment) -> str:
        shorts = [item.short for item in assessment.items]
        if assessment.wells_score >= self.wells_likely:
            parts = join_parts(shorts, 50, " + ")
            return fit_summary(
                f"DVT risk: {parts} (Wells ≥2 from record). Leg pain/swelling needs duplex US."
            )
        if self.is_warning(assessment):
            parts = join_parts(shorts, 45, " + ")
            return fit_summary(
                f"DVT risk: one leg swollen with {parts} (Wells ≥1 from record). "
                "Consider duplex US."
            )
        parts = join_parts(shorts, 55)
        return fit_summary(
            f"VTE risk factors present ({parts}). Complete Wells exam items if leg is swollen."
        )

    def explanation(self, assessment: DvtAssessment) -> str:
        wells = "; ".join(item.label for item in assessment.wells_items) or "none found"
        others = "; ".join(item.label for item in assessment.other_factors) or "none found"
        swelling = (
            " One-sided leg swelling is coded, a hint (not a score item) that the leg is swollen."
            if assessment.unilateral_swelling
            else ""
        )
        pathway = (
            "With a Wells score of 2 or more, the 2003 pathway goes straight to imaging."
            if assessment.wells_score >= self.wells_likely
            else "A clinician Wells score of 2 or more means imaging; 1 or less, a D-dimer first."
        )
        return (
            "Leg pain or swelling is on record, and the record shows deep-vein thrombosis risk. "
            f"Wells items found in the record (+1 each): {wells} = {assessment.wells_score}. "
            f"Other risk factors: {others}.{swelling} The exam items of the score are not in the "
            f"record, so the true score may be higher. {pathway}"
        )

    # -- the assessment (pe-red-flags runs it too) ---------------------------------------------

    def assess_dvt_risk(self, facts: Facts) -> DvtAssessment:
        wells = [
            self.active_cancer(facts),
            self.paralysis(facts),
            self.surgery_or_bedridden(facts),
            self.previous_vte(facts),
        ]
        others = [
            self.pregnancy(facts),
            self.postpartum(facts),
            self.recent_condition(facts, "mi", "MI", "myocardial infarction"),
            self.recent_condition(facts, "stroke", "stroke", "stroke"),
            self.obesity(facts),
            self.ongoing_condition(facts, "copd", "COPD", "chronic respiratory disease (COPD)"),
            self.ongoing_condition(facts, "heart-failure", "heart failure", "heart failure"),
            self.estrogen(facts),
            self.cancer_without_recent_treatment(facts),
        ]
        return DvtAssessment(
            wells_items=tuple(item for item in wells if item is not None),
            other_factors=tuple(item for item in others if item is not None),
            unilateral_swelling=tuple(self.unilateral_swelling(facts)),
            anticoagulants=tuple(self.active_medications(facts, "anticoagulants")),
        )

    def is_warning(self, assessment: DvtAssessment) -> bool:
        """§10 warning pattern: Wells >= 2 from the record, or >= 1 with one-sided swelling."""
        return assessment.wells_score >= self.wells_likely or (
            assessment.wells_score >= self.wells_with_unilateral_swelling
            and bool(assessment.unilateral_swelling)
        )

    def assessment_evidence(self, assessment: DvtAssessment) -> tuple[Evidence, ...]:
        """The DVT evidence, as pe-red-flags must also show it (it replaces this card)."""
        return (
            *(e for item in assessment.items for e in item.evidence),
            *self.conditions_evidence(assessment.unilateral_swelling),
            *(self.medication_evidence(m) for m in assessment.anticoagulants),
        )

    def assessment_cautions(self, assessment: DvtAssessment) -> tuple[str, ...]:
        cautions = [self.exam_caution, *(item.caution for item in assessment.items if item.caution)]
        if assessment.anticoagulants:
            cautions.append(
                f"On {self.drug_names(assessment.anticoagulants)} (anticoagulant): a known VTE may "
                "already be treated. New or worsening symptoms on anticoagulation still need "
                "assessment."
            )
        cautions += self.low_confidence_cautions(assessment.medications + assessment.anticoagulants)
        return tuple(cautions)

    # -- Wells items (+1 each) -----------------------------------------------------------------

    def recent_cancers(self, facts: Facts) -> list[ConditionEntry]:
        return [
            c
            for c in self.coded_conditions(facts, "cancer")
            if facts.within(c.onset or c.recorded, self.active_cancer_window_days)
        ]

    def active_cancer(self, facts: Facts) -> RiskItem | None:
        """Wells "active cancer": treatment within 6 months (chemotherapy on record) or a cancer
        diagnosed within 6 months. Palliative care is not coded in the value sets we have."""
        chemo = self.medications_within(
            facts, "neurotoxic-chemotherapy", self.active_cancer_window_days
        )
        recent = self.recent_cancers(facts)
        if not (chemo or recent):
            return None
        return RiskItem(
            short="active cancer",
            label="active cancer (diagnosed or treated within 6 months)",
            evidence=(
                *self.conditions_evidence(recent),
                *(self.medication_evidence(m) for m in chemo),
            ),
            medications=tuple(chemo),
        )

    def paralysis(self, facts: Facts) -> RiskItem | None:
        found = self.coded_conditions(facts, "paralysis")
        if not found:
            return None
        # Paresis and recent plaster immobilisation have no verified codes (§20).
        return RiskItem(
            "paralysis", "paralysis (leg involvement to confirm)", self.conditions_evidence(found)
        )

    def surgery_or_bedridden(self, facts: Facts) -> RiskItem | None:
        """One Wells point for major surgery within 12 weeks or bedridden >= 3 days (proxy: an
        inpatient stay of >= 3 days that ended within 28 days)."""
        surgeries = self.procedures_within(facts, "major-surgery", self.surgery_window_days)
        stays = self.inpatient_stays(
            facts,
            min_days=self.bedridden_min_stay_days,
            ended_within_days=self.bedridden_ended_within_days,
        )
        if surgeries:
            latest = surgeries[0]
            short = f"surgery {self.time_ago(facts, latest.end or latest.start)}"
            label = "major surgery within 12 weeks"
        elif stays:
            short = "hospital stay of 3+ days"
            label = "bedridden 3 days or more (inpatient stay ended within 28 days)"
        else:
            return None
        evidence = [self.procedure_evidence(p, facts) for p in surgeries]
        for stay in stays:
            if stay.start is None:
                continue
            end = stay.end or facts.as_of
            nights = (end.date() - stay.start.date()).days
            ended = "ongoing" if stay.end is None else self.time_ago(facts, end)
            evidence.append(
                Evidence(
                    label="Inpatient stay",
                    value=f"{nights} days, {ended}",
                    when=stay.start,
                    reference=stay.reference,
                )
            )
        return RiskItem(
            short=short,
            label=label,
            evidence=tuple(evidence),
            caution=self.surgery_caution if surgeries else "",
        )

    def previous_vte(self, facts: Facts) -> RiskItem | None:
        """Previously documented DVT: any VTE code, active or resolved. Post-thrombotic
        syndrome (I87.009) is in the set: it implies a previous DVT (§17)."""
        found = self.coded_conditions(facts, "vte-history", include_history=True)
        if not found:
            return None
        deep_vein = {
            c.reference for c in self.coded_conditions(facts, "acute-dvt", include_history=True)
        }
        active_dvt = {c.reference for c in self.coded_conditions(facts, "acute-dvt")}
        if any(c.reference in active_dvt for c in found):
            short = "DVT on record"
        elif any(c.reference in deep_vein for c in found):
            short = "prior DVT"
        else:
            short = "prior VTE"
        return RiskItem(short, "previously documented DVT / VTE", self.conditions_evidence(found))

    # -- other risk factors (no Wells points, listed on the card) -----------------------------

    def pregnancy(self, facts: Facts) -> RiskItem | None:
        pregnancy = self.current_pregnancy(facts)  # after delivery, the postpartum item takes over
        if pregnancy is None:
            return None
        weeks = pregnancy.gestational_weeks
        short = f"pregnant {int(weeks)} wk" if weeks is not None else "pregnant"
        evidence = Evidence(
            label="Pregnancy",
            value=f"{int(weeks)} weeks" if weeks is not None else "gestational age not recorded",
            when=pregnancy.when,
            reference=pregnancy.evidence,
        )
        return RiskItem(short, "pregnancy", (evidence,))

    def postpartum(self, facts: Facts) -> RiskItem | None:
        deliveries = self.procedures_within(facts, "delivery", self.postpartum_raised_risk_days)
        if not deliveries:
            return None
        latest = deliveries[0]  # newest first; procedures_within only keeps dated ones
        days = facts.days_ago(latest.end or latest.start or facts.as_of)
        label = (
            "childbirth within 6 weeks (highest-risk period)"
            if days <= self.postpartum_high_risk_days
            else "childbirth within 12 weeks (risk still raised)"
        )
        return RiskItem(
            f"postpartum {days // 7} wk",
            label,
            tuple(self.procedure_evidence(p, facts) for p in deliveries),
        )

    def recent_condition(
        self, facts: Facts, valueset: str, short: str, label: str
    ) -> RiskItem | None:
        found = self.conditions_within(facts, valueset, self.recent_mi_stroke_days)
        if not found:
            return None
        return RiskItem(
            f"recent {short}", f"{label} within 90 days", self.conditions_evidence(found)
        )

    def ongoing_condition(
        self, facts: Facts, valueset: str, short: str, label: str
    ) -> RiskItem | None:
        found = self.coded_conditions(facts, valueset)
        return RiskItem(short, label, self.conditions_evidence(found)) if found else None

    def obesity(self, facts: Facts) -> RiskItem | None:
        bmi = self.latest_lab(facts, "bmi", within_days=self.bmi_window_days)
        if bmi is not None and bmi.value is not None and certainly_at_least(bmi, self.obesity_bmi):
            return RiskItem(
                f"BMI {fmt(bmi.value, 1)}",
                "obesity (BMI 30 or more)",
                (self.lab_evidence(bmi, "BMI", "kg/m2", 1),),
            )
        coded = self.coded_conditions(facts, "obesity")
        return RiskItem("obesity", "obesity", self.conditions_evidence(coded)) if coded else None

    def estrogen(self, facts: Facts) -> RiskItem | None:
        meds = self.active_medications(facts, "estrogens")
        if not meds:
            return None
        return RiskItem(
            self.drug_names(meds),
            "estrogen or SERM therapy",
            tuple(self.medication_evidence(m) for m in meds),
            medications=tuple(meds),
        )

    def cancer_without_recent_treatment(self, facts: Facts) -> RiskItem | None:
        """An active cancer code older than 6 months with no chemotherapy in the record: a VTE
        risk factor, but the record cannot show the Wells criterion (treatment or palliation)."""
        if self.active_cancer(facts) is not None:
            return None
        found = self.coded_conditions(facts, "cancer")
        if not found:
            return None
        return RiskItem(
            "cancer on record",
            "cancer on record (Wells point only if treated within 6 months or palliative)",
            self.conditions_evidence(found),
        )


LOGIC = DvtRisk()

RULE = RuleVersion(
    id="dvt-risk",
    version="1.0.0",
    title="DVT risk from the record (Wells items and VTE risk factors)",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=REQUIREMENTS,
    valuesets=VALUESETS,
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "Wells PS et al., Evaluation of D-dimer in the diagnosis of suspected deep-vein "
            "thrombosis, N Engl J Med 2003;349:1227 (modified two-level Wells DVT score); "
            "Wells PS et al., Lancet 1997;350:1795; Kamel H et al., Risk of a thrombotic event "
            "after the 6-week postpartum period, N Engl J Med 2014;370:1307"
        ),
        url="https://doi.org/10.1056/NEJMoa023153",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Needs a leg pain, cramp or swelling complaint (§1.6, §10); restless legs alone do "
            "not count. Record-derived Wells items score +1 each: active cancer (a cancer code "
            "with onset or recording within 183 days, or neurotoxic chemotherapy within 183 "
            "days: the only chemotherapy value set available); paralysis; major surgery within "
            "84 days or an inpatient stay of 3 days or more that ended within 28 days (one "
            "point for the item); any VTE code, active or resolved, including post-thrombotic "
            "syndrome. The -2 'alternative diagnosis' item is never applied: a documented "
            "alternative such as a Baker's cyst does not lower the score or suppress the card. "
            "An active cancer code older than 6 months without chemotherapy is listed as a risk "
            "factor, not a Wells point. Pregnancy comes from explicit evidence only and is "
            "dropped once the record shows it ended (a later delivery, or a gestational age "
            "past 42 weeks). BMI uses the latest result within 365 days (a censored one only when "
            "it is certainly 30 or more). Postpartum "
            "means a delivery procedure within 84 days (6 weeks worded as highest risk). R60.0 / "
            "80068009 with laterality cannot count as one-sided swelling: the record does not "
            "carry Condition.bodySite, so only R22.41 / R22.42 do. The anticoagulation modifier "
            "removes the D-dimer suggestion and adds a note; it does not lower the severity. "
            "Paresis and cast immobilisation have no verified codes (§20)."
        ),
    ),
)
