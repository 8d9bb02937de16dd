"""dvt-risk 1.0.0: record-derived Wells DVT items and other VTE risk factors in a patient with
leg pain or swelling (clinical-content.md §10).

`assess_dvt_risk` is also the DVT signal of pe-red-flags (§11), which imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, MedicationEntry
from cds.rules._leg_context import (
    COMPLAINT_VALUESETS,
    complaint_evidence,
    pain_or_swelling_complaints,
    unilateral_swelling,
)
from cds.rules._pregnancy import PREGNANCY_VALUESETS, current_pregnancy
from cds.rules.base import (
    DataRequirement,
    Evidence,
    Finding,
    OrderSuggestion,
    Provenance,
    Rule,
    Severity,
)
from cds.rules.common import (
    certainly_at_least,
    conditions_evidence,
    drug_names,
    fit_summary,
    fmt,
    join_parts,
    lab_evidence,
    low_confidence_cautions,
    medication_evidence,
    procedure_evidence,
    time_ago,
    unique_evidence,
)

RULE_ID = "dvt-risk"
VERSION = "1.0.0"

# §10 / §19 windows (days before as_of, inclusive).
SURGERY_WINDOW_DAYS = 84  # Wells 2003: 12 weeks (the 1997 model used 4 weeks)
BEDRIDDEN_MIN_STAY_DAYS = 3  # inpatient stay of at least 3 days ...
BEDRIDDEN_ENDED_WITHIN_DAYS = 28  # ... that ended at most 28 days ago
ACTIVE_CANCER_WINDOW_DAYS = 183  # "treatment ongoing or within 6 months"
POSTPARTUM_HIGH_RISK_DAYS = 42  # 6 weeks: risk highest (Kamel 2014)
POSTPARTUM_RAISED_RISK_DAYS = 84  # 12 weeks: risk still raised
RECENT_MI_STROKE_DAYS = 90  # design default, not a guideline value
BMI_WINDOW_DAYS = 365  # catalog names no window: a BMI within a year describes the patient now
OBESITY_BMI = 30.0  # kg/m2

# Two-level Wells (2003): >= 2 "DVT likely". The record supplies at most 4 of the 9 points.
WELLS_LIKELY = 2
# §10: a record score of 1 with a coded one-sided swelling is also a warning.
WELLS_WITH_UNILATERAL_SWELLING = 1

DUPLEX = OrderSuggestion(
    "Venous duplex ultrasound, both legs",
    "39420-5",
    "Suspected DVT: imaging per the Wells pathway",
)
D_DIMER = OrderSuggestion(
    "D-dimer (FEU)",
    "48065-7",
    "Only if the clinician's full Wells score is 1 or less",
)

EXAM_CAUTION = (
    "Exam items cannot be assessed from the record (tenderness along the deep veins, entire "
    "leg swollen, calf swelling of 3 cm or more, pitting oedema of the symptomatic leg, "
    "collateral superficial veins, alternative diagnosis at least as likely): the score shown "
    "is partial. Complete the Wells score at the bedside."
)
SURGERY_CAUTION = (
    "The record rarely says whether a procedure needed general or regional anaesthesia; some "
    "coded procedures are percutaneous. Check that the surgery meets the Wells item."
)

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
    DataRequirement("Condition"),
    DataRequirement("Procedure"),
    DataRequirement("Encounter"),
    DataRequirement("MedicationRequest"),
    DataRequirement("MedicationStatement"),
    # Chemotherapy given in clinic is recorded as an administration (§1.2).
    DataRequirement("MedicationAdministration"),
)
REQUIREMENTS: tuple[DataRequirement, ...] = (
    *NON_OBSERVATION_REQUIREMENTS,
    DataRequirement("Observation", OBSERVATION_VALUESETS),
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
    """What the record says about DVT risk, whatever the complaint: §10's scoring."""

    wells_items: tuple[RiskItem, ...]
    other_factors: tuple[RiskItem, ...]
    unilateral_swelling: tuple[ConditionEntry, ...]
    anticoagulants: tuple[MedicationEntry, ...]

    @property
    def wells_score(self) -> int:
        return len(self.wells_items)  # every record-derivable item is worth +1

    @property
    def is_warning(self) -> bool:
        """§10 warning pattern: Wells >= 2 from the record, or >= 1 with one-sided swelling."""
        return self.wells_score >= WELLS_LIKELY or (
            self.wells_score >= WELLS_WITH_UNILATERAL_SWELLING and bool(self.unilateral_swelling)
        )

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

    def evidence(self) -> tuple[Evidence, ...]:
        """The DVT evidence, as pe-red-flags must also show it (it replaces this card)."""
        return (
            *(e for item in self.items for e in item.evidence),
            *conditions_evidence(self.unilateral_swelling),
            *(medication_evidence(m) for m in self.anticoagulants),
        )

    def cautions(self) -> tuple[str, ...]:
        cautions = [EXAM_CAUTION, *(item.caution for item in self.items if item.caution)]
        if self.anticoagulants:
            cautions.append(
                f"On {drug_names(self.anticoagulants)} (anticoagulant): a known VTE may already "
                "be treated. New or worsening symptoms on anticoagulation still need assessment."
            )
        cautions += low_confidence_cautions(self.medications + self.anticoagulants)
        return tuple(cautions)


def assess_dvt_risk(facts: Facts) -> DvtAssessment:
    wells = [
        _active_cancer(facts),
        _paralysis(facts),
        _surgery_or_bedridden(facts),
        _previous_vte(facts),
    ]
    others = [
        _pregnancy(facts),
        _postpartum(facts),
        _recent_condition(facts, "mi", "MI", "myocardial infarction"),
        _recent_condition(facts, "stroke", "stroke", "stroke"),
        _obesity(facts),
        _ongoing_condition(facts, "copd", "COPD", "chronic respiratory disease (COPD)"),
        _ongoing_condition(facts, "heart-failure", "heart failure", "heart failure"),
        _estrogen(facts),
        _cancer_without_recent_treatment(facts),
    ]
    return DvtAssessment(
        wells_items=tuple(item for item in wells if item is not None),
        other_factors=tuple(item for item in others if item is not None),
        unilateral_swelling=tuple(unilateral_swelling(facts)),
        anticoagulants=tuple(facts.active_medications("anticoagulants")),
    )


# -- Wells items (+1 each) ----------------------------------------------------------------------


def _recent_cancers(facts: Facts) -> list[ConditionEntry]:
    return [
        c
        for c in facts.conditions("cancer")
        if facts.within(c.onset or c.recorded, ACTIVE_CANCER_WINDOW_DAYS)
    ]


def _active_cancer(facts: Facts) -> RiskItem | None:
    """Wells "active cancer": treatment within 6 months (chemotherapy on record) or a cancer
    diagnosed within 6 months. Palliative care is not coded in the value sets we have."""
    chemo = facts.medications_within("neurotoxic-chemotherapy", ACTIVE_CANCER_WINDOW_DAYS)
    recent = _recent_cancers(facts)
    if not (chemo or recent):
        return None
    return RiskItem(
        short="active cancer",
        label="active cancer (diagnosed or treated within 6 months)",
        evidence=(*conditions_evidence(recent), *(medication_evidence(m) for m in chemo)),
        medications=tuple(chemo),
    )


def _paralysis(facts: Facts) -> RiskItem | None:
    found = facts.conditions("paralysis")
    if not found:
        return None
    # Paresis and recent plaster immobilisation have no verified codes (§20).
    return RiskItem(
        "paralysis", "paralysis (leg involvement to confirm)", conditions_evidence(found)
    )


def _surgery_or_bedridden(facts: Facts) -> RiskItem | None:
    """One Wells point for major surgery within 12 weeks or bedridden >= 3 days (proxy: an
    inpatient stay of >= 3 days that ended within 28 days)."""
    surgeries = facts.procedures_within("major-surgery", SURGERY_WINDOW_DAYS)
    stays = facts.inpatient_stays(
        min_days=BEDRIDDEN_MIN_STAY_DAYS, ended_within_days=BEDRIDDEN_ENDED_WITHIN_DAYS
    )
    if surgeries:
        latest = surgeries[0]
        short = f"surgery {time_ago(facts, latest.end or latest.start)}"
        label = "major surgery within 12 weeks"
    elif stays:
        short = "hospital stay of 3+ days"
        label = "bedridden 3 days or more (inpatient stay ended within 28 days)"
    else:
        return None
    evidence = [procedure_evidence(p, facts) for p in surgeries]
    for stay in stays:
        if stay.start is None:
            continue
        end = stay.end or facts.as_of
        nights = (end.date() - stay.start.date()).days
        evidence.append(
            Evidence(
                label="Inpatient stay",
                value=f"{nights} days, {'ongoing' if stay.end is None else time_ago(facts, end)}",
                when=stay.start,
                reference=stay.reference,
            )
        )
    return RiskItem(
        short=short,
        label=label,
        evidence=tuple(evidence),
        caution=SURGERY_CAUTION if surgeries else "",
    )


def _previous_vte(facts: Facts) -> RiskItem | None:
    """Previously documented DVT: any VTE code, active or resolved. Post-thrombotic syndrome
    (I87.009) is in the set: it implies a previous DVT (§17)."""
    found = facts.conditions("vte-history", include_history=True)
    if not found:
        return None
    deep_vein = {c.reference for c in facts.conditions("acute-dvt", include_history=True)}
    active_dvt = {c.reference for c in facts.conditions("acute-dvt")}
    if any(c.reference in active_dvt for c in found):
        short = "DVT on record"
    elif any(c.reference in deep_vein for c in found):
        short = "prior DVT"
    else:
        short = "prior VTE"
    return RiskItem(short, "previously documented DVT / VTE", conditions_evidence(found))


# -- other risk factors (no Wells points, listed on the card) ----------------------------------


def _pregnancy(facts: Facts) -> RiskItem | None:
    pregnancy = current_pregnancy(facts)  # after delivery, the postpartum item takes over
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


def _postpartum(facts: Facts) -> RiskItem | None:
    deliveries = facts.procedures_within("delivery", POSTPARTUM_RAISED_RISK_DAYS)
    if not deliveries:
        return None
    latest = deliveries[0]  # newest first; procedures_within only keeps dated ones
    days = facts.days_ago(latest.end or latest.start or facts.as_of)
    label = (
        "childbirth within 6 weeks (highest-risk period)"
        if days <= POSTPARTUM_HIGH_RISK_DAYS
        else "childbirth within 12 weeks (risk still raised)"
    )
    return RiskItem(
        f"postpartum {days // 7} wk",
        label,
        tuple(procedure_evidence(p, facts) for p in deliveries),
    )


def _recent_condition(facts: Facts, valueset: str, short: str, label: str) -> RiskItem | None:
    found = facts.conditions_within(valueset, RECENT_MI_STROKE_DAYS)
    if not found:
        return None
    return RiskItem(f"recent {short}", f"{label} within 90 days", conditions_evidence(found))


def _ongoing_condition(facts: Facts, valueset: str, short: str, label: str) -> RiskItem | None:
    found = facts.conditions(valueset)
    return RiskItem(short, label, conditions_evidence(found)) if found else None


def _obesity(facts: Facts) -> RiskItem | None:
    bmi = facts.latest_lab("bmi", within_days=BMI_WINDOW_DAYS)
    if bmi is not None and bmi.value is not None and certainly_at_least(bmi, OBESITY_BMI):
        return RiskItem(
            f"BMI {fmt(bmi.value, 1)}",
            "obesity (BMI 30 or more)",
            (lab_evidence(bmi, "BMI", "kg/m2", 1),),
        )
    coded = facts.conditions("obesity")
    return RiskItem("obesity", "obesity", conditions_evidence(coded)) if coded else None


def _estrogen(facts: Facts) -> RiskItem | None:
    meds = facts.active_medications("estrogens")
    if not meds:
        return None
    return RiskItem(
        drug_names(meds),
        "estrogen or SERM therapy",
        tuple(medication_evidence(m) for m in meds),
        medications=tuple(meds),
    )


def _cancer_without_recent_treatment(facts: Facts) -> RiskItem | None:
    """An active cancer code older than 6 months with no chemotherapy in the record: a VTE risk
    factor, but the record cannot show the Wells criterion (treatment or palliation)."""
    if _active_cancer(facts) is not None:
        return None
    found = facts.conditions("cancer")
    if not found:
        return None
    return RiskItem(
        "cancer on record",
        "cancer on record (Wells point only if treated within 6 months or palliative)",
        conditions_evidence(found),
    )


# -- the card ----------------------------------------------------------------------------------


def evaluate(facts: Facts) -> Finding | None:
    # §1.6 / §10: Wells scoring is for a suspected DVT, so the complaint is always needed.
    complaints = pain_or_swelling_complaints(facts)
    if not complaints:
        return None
    assessment = assess_dvt_risk(facts)
    if not assessment.has_risk:
        return None
    severity: Severity = "warning" if assessment.is_warning else "info"
    suggestions = [DUPLEX]
    # §10: D-dimer only for a clinician Wells <= 1, never when already anticoagulated; a
    # record score of 2 or more already sends the patient to imaging.
    if severity == "info" and not assessment.anticoagulants:
        suggestions.append(D_DIMER)
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity=severity,
        summary=_summary(assessment),
        explanation=_explanation(assessment),
        evidence=unique_evidence((*assessment.evidence(), *complaint_evidence(complaints))),
        suggestions=tuple(suggestions),
        cautions=assessment.cautions(),
        involves_draft_order=assessment.involves_draft_order,
        # A risk pattern for one named cause: more specific than a list of associations, less
        # than a single abnormal result. The warning outranks the info-level factor list.
        specificity=15 if severity == "warning" else 35,
    )


def _summary(assessment: DvtAssessment) -> str:
    shorts = [item.short for item in assessment.items]
    if assessment.wells_score >= WELLS_LIKELY:
        parts = join_parts(shorts, 50, " + ")
        return fit_summary(
            f"DVT risk: {parts} (Wells ≥2 from record). Leg pain/swelling needs duplex US."
        )
    if assessment.is_warning:
        parts = join_parts(shorts, 45, " + ")
        return fit_summary(
            f"DVT risk: one leg swollen with {parts} (Wells ≥1 from record). Consider duplex US."
        )
    parts = join_parts(shorts, 55)
    return fit_summary(
        f"VTE risk factors present ({parts}). Complete Wells exam items if leg is swollen."
    )


def _explanation(assessment: DvtAssessment) -> str:
    wells = "; ".join(item.label for item in assessment.wells_items) or "none found"
    others = "; ".join(item.label for item in assessment.other_factors) or "none found"
    swelling = (
        " One-sided leg swelling is coded, a hint (not a score item) that the leg is swollen."
        if assessment.unilateral_swelling
        else ""
    )
    pathway = (
        "With a Wells score of 2 or more, the 2003 pathway goes straight to imaging."
        if assessment.wells_score >= WELLS_LIKELY
        else "A clinician Wells score of 2 or more means imaging; 1 or less, a D-dimer first."
    )
    return (
        "Leg pain or swelling is on record, and the record shows deep-vein thrombosis risk. "
        f"Wells items found in the record (+1 each): {wells} = {assessment.wells_score}. "
        f"Other risk factors: {others}.{swelling} The exam items of the score are not in the "
        f"record, so the true score may be higher. {pathway}"
    )


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="DVT risk from the record (Wells items and VTE risk factors)",
    severities=("info", "warning"),
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
    requires=REQUIREMENTS,
    evaluate=evaluate,
    valuesets=VALUESETS,
)
