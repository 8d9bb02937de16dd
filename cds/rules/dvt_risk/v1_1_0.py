"""dvt-risk 1.1.0: a cesarean birth scores the surgery item, a cramp opens the card only with a
Wells item, and the card's route (duplex of the named leg, or D-dimer) follows the record score."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import ConditionEntry, EncounterEntry
from cds.rules.base import Evidence, Finding, Provenance, Severity
from cds.rules.dvt_risk import v1_0_0 as previous
from cds.rules.dvt_risk.v1_0_0 import DvtAssessment, RiskItem
from cds.rules.lib.complaints.v2 import (
    ANY_LEG_COMPLAINT,
    COMPLAINT_KIND_VALUESETS,
    LEG_CRAMP,
    LEG_PAIN,
    SWELLING,
)
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.orders.v1 import (
    VENOUS_DUPLEX_LEFT_LEG,
    VENOUS_DUPLEX_RIGHT_LEG,
    OrderSuggestion,
    order,
)
from cds.rules.lib.pregnancy.v2 import CHILDBIRTH_VALUESETS
from cds.rules.lib.requirements.v1 import observations
from cds.rules.lib.results.v1 import certainly_at_least, certainly_below, value_text
from cds.rules.lib.text.v1 import capitalise, fit_summary, join_parts

CESAREAN = "cesarean"
PULMONARY_EMBOLISM = "pulmonary-embolism"
# What 1.1.0 reads besides 1.0.0's sets; pe-red-flags 1.1.0 runs this assessment and declares
# them too.
VALUESETS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *previous.VALUESETS,
            *CHILDBIRTH_VALUESETS,
            PULMONARY_EMBOLISM,
            *COMPLAINT_KIND_VALUESETS,
        )
    )
)
OBSERVATION_VALUESETS: tuple[str, ...] = (*previous.OBSERVATION_VALUESETS, ANY_LEG_COMPLAINT)
REQUIREMENTS = (
    *previous.NON_OBSERVATION_REQUIREMENTS,
    observations(*OBSERVATION_VALUESETS),
)
SIDE_WORDS: dict[str | None, str] = {"left": "left leg", "right": "right leg"}


@dataclass(frozen=True)
class DvtRisk(previous.DvtRisk, Library2026_12):
    """§10 as §22.2 i, j, k and l settle it, with the card's route following the record score:
    - i: a cesarean birth within 12 weeks is major surgery (the Wells item) and childbirth;
    - j: leg pain or leg swelling opens the card; a leg-cramp code only when the record already
      scores a Wells item; restless legs never;
    - k: an active PE is VTE history (the vte-history set holds PE codes); it is named as such;
    - l: postpartum up to 12 weeks, the card says how many weeks.
    A record score of 2 or more goes to a venous duplex of the leg the complaint names; 1 or less
    to the D-dimer route, or to the duplex when anticoagulated (a D-dimer is then unreliable).
    A recent BMI below 30 means a coded obesity is not current."""

    # §22.2 j: a leg cramp opens the card only with at least this record Wells score.
    cramp_opens_at_wells: int = 1
    # What a card shows (CDS Hooks sandbox: short details).
    max_evidence: int = 6
    max_cautions: int = 2
    likely_duplex_reason: str = "Wells 2 or more from the record: imaging per the Wells pathway"
    anticoagulated_duplex_reason: str = (
        "On anticoagulation a D-dimer is unreliable: image a suspected DVT"
    )
    # The duplex of the leg a coded complaint names (left 39432-0, right 39443-7); both legs
    # (1.0.0's `duplex`, 39420-5) when the record names no side, or both.
    duplex_left: OrderSuggestion = order(VENOUS_DUPLEX_LEFT_LEG, "Suspected DVT, left leg")
    duplex_right: OrderSuggestion = order(VENOUS_DUPLEX_RIGHT_LEG, "Suspected DVT, right leg")
    partial_caution: str = (
        "The score is partial: the exam items (deep-vein tenderness, entire leg or calf "
        "swelling, pitting oedema, collateral veins, alternative diagnosis -2) are not in the "
        "record. Complete it at the bedside."
    )

    # -- the card ------------------------------------------------------------------------------

    def evaluate(self, facts: Facts) -> Finding | None:
        if not self.leg_complaints(facts):
            return None
        assessment = self.assess_dvt_risk(facts)
        if not assessment.has_risk:
            return None
        complaints = self.dvt_complaints(facts, assessment)
        if not complaints:
            return None
        severity: Severity = "warning" if self.is_warning(assessment) else "info"
        side = self.side_of(facts, complaints, ANY_LEG_COMPLAINT)
        words = self.complaint_words(facts, complaints)
        # Each resource once (a one-sided swelling is both the complaint and a score hint).
        evidence = unique_by_reference(
            (
                *(line for item in assessment.wells_items for line in item.evidence[:1]),
                *self.worded_evidence(facts, complaints, shown=1),
                *self.assessment_evidence(assessment),
            )
        )
        return Finding(
            severity=severity,
            summary=self.card_summary(assessment, words, side),
            explanation=self.card_explanation(assessment, words),
            evidence=tuple(evidence[: self.max_evidence]),
            suggestions=self.route(assessment, side),
            cautions=self.assessment_cautions(assessment),
            involves_draft_order=assessment.involves_draft_order,
            specificity=15 if severity == "warning" else 35,
            # §1.6: a risk pattern for a suspected DVT, shown only with the complaint.
            candidate=True,
        )

    def dvt_complaints(self, facts: Facts, assessment: DvtAssessment) -> list[ConditionEntry]:
        """§22.2 j: leg pain or swelling always; a leg cramp only when the record already scores
        a Wells item; restless legs (and tetany) never."""
        kinds = [LEG_PAIN, SWELLING]
        if assessment.wells_score >= self.cramp_opens_at_wells:
            kinds.append(LEG_CRAMP)
        return self.complaints_of(facts, *kinds)

    def route(self, assessment: DvtAssessment, side: str | None) -> tuple[OrderSuggestion, ...]:
        """Wells 2003: a record score of 2 or more goes to a duplex of the leg on record; 1 or
        less to a D-dimer first, unless anticoagulated (§10: no D-dimer then)."""
        if assessment.wells_score >= self.wells_likely:
            return (self.duplex_of(side, self.likely_duplex_reason),)
        if assessment.anticoagulants:
            return (self.duplex_of(side, self.anticoagulated_duplex_reason),)
        return (self.d_dimer,)

    def duplex_of(self, side: str | None, reason: str) -> OrderSuggestion:
        """The duplex of the leg on record ("left", "right"; else both legs), for `reason`."""
        by_side = {"left": self.duplex_left, "right": self.duplex_right}
        chosen = by_side.get(side or "both", self.duplex)
        return replace(chosen, reason=reason)

    def card_summary(self, assessment: DvtAssessment, words: str, side: str | None) -> str:
        score = assessment.wells_score
        shorts = [item.short for item in assessment.items]
        if score >= self.wells_likely:
            parts = join_parts(shorts, 42, " + ")
            return fit_summary(
                f"DVT risk: {parts} (Wells ≥{score} from record, partial). "
                f"{capitalise(words)}: venous duplex, {SIDE_WORDS.get(side, 'both legs')}."
            )
        if assessment.anticoagulants:
            tail = f"On anticoagulant: duplex, {SIDE_WORDS.get(side, 'both legs')}."
        else:
            tail = "Complete Wells; D-dimer if ≤1."
        if self.is_warning(assessment):
            lead, room = "One leg swollen and DVT risk", 42
        elif score:
            lead, room = f"{capitalise(words)} and DVT risk", 45
        else:
            lead, room = f"{capitalise(words)} and VTE risk factors", 40
        parts = join_parts(shorts, room, " + ")
        return fit_summary(f"{lead}: {parts} (Wells {score} from record, partial). {tail}")

    def card_explanation(self, assessment: DvtAssessment, words: str) -> str:
        """Two sentences: what the record scores, and the route that score means."""
        score = assessment.wells_score
        wells = join_parts([item.label for item in assessment.wells_items], 90, "; ")
        others = join_parts([item.label for item in assessment.other_factors], 90, "; ")
        points = f"{score} Wells point{'s' if score != 1 else ''}" if score else "no Wells point"
        first = f"{capitalise(words)} on record, with {points} from the record" + (
            f": {wells}" if wells else ""
        )
        first += f"; other VTE risk factors: {others}." if others else "."
        if score >= self.wells_likely:
            route = "With 2 or more the Wells pathway goes to a venous duplex."
        elif assessment.anticoagulants:
            route = "Complete the score; on anticoagulation a D-dimer is unreliable, so image."
        else:
            route = "Complete the score: 1 or less means a D-dimer first, 2 or more a duplex."
        return f"{first} {route}"

    # -- what the card and pe-red-flags show of the assessment ---------------------------------

    def assessment_evidence(self, assessment: DvtAssessment) -> tuple[Evidence, ...]:
        """One line per item (its newest resource), the one-sided swelling, the anticoagulant."""
        return (
            *(line for item in assessment.wells_items for line in item.evidence[:1]),
            *self.conditions_evidence(assessment.unilateral_swelling[:1]),
            *(self.medication_evidence(m) for m in assessment.anticoagulants[:1]),
            *(line for item in assessment.other_factors for line in item.evidence[:1]),
        )

    def assessment_cautions(self, assessment: DvtAssessment) -> tuple[str, ...]:
        """The partial score first, then what matters most of: anticoagulation, a drug matched
        by name only, a procedure whose anaesthesia the record does not say."""
        cautions = [self.partial_caution]
        if assessment.anticoagulants:
            cautions.append(
                f"On {self.drug_names(assessment.anticoagulants)}: a known VTE may already be "
                "treated, and a D-dimer is unreliable; new or worse symptoms still need "
                "assessment."
            )
        cautions += self.low_confidence_cautions(assessment.medications + assessment.anticoagulants)
        cautions += [item.caution for item in assessment.items if item.caution]
        return tuple(dict.fromkeys(cautions))[: self.max_cautions]

    # -- Wells items ---------------------------------------------------------------------------

    def surgery_or_bedridden(self, facts: Facts) -> RiskItem | None:
        """§22.2 i: a cesarean birth within 12 weeks is major surgery under regional or general
        anaesthesia, so it scores the item as the major-surgery set does (one point with a stay
        of 3 days or more)."""
        window = self.surgery_window_days
        cesareans = self.procedures_within(facts, CESAREAN, window)
        surgeries = unique_by_reference(
            sorted(
                (*self.procedures_within(facts, "major-surgery", window), *cesareans),
                key=lambda p: p.end or p.start or facts.as_of,
                reverse=True,
            )
        )
        if not surgeries:
            return super().surgery_or_bedridden(facts)  # the bedridden proxy, as 1.0.0
        cesarean_refs = {p.reference for p in cesareans}
        latest = surgeries[0]
        kind = "cesarean" if latest.reference in cesarean_refs else "surgery"
        stays = self.inpatient_stays(
            facts,
            min_days=self.bedridden_min_stay_days,
            ended_within_days=self.bedridden_ended_within_days,
        )
        return RiskItem(
            short=f"{kind} {self.time_ago(facts, latest.end or latest.start)}",
            label="cesarean birth within 12 weeks (major surgery)"
            if kind == "cesarean"
            else "major surgery within 12 weeks",
            evidence=(
                *(self.procedure_evidence(p, facts) for p in surgeries),
                *(self.stay_evidence(facts, stay) for stay in stays if stay.start is not None),
            ),
            # A cesarean is done under regional or general anaesthesia (§22.2 i): no caution.
            caution=""
            if all(p.reference in cesarean_refs for p in surgeries)
            else self.surgery_caution,
        )

    def stay_evidence(self, facts: Facts, stay: EncounterEntry) -> Evidence:
        """An inpatient stay as 1.0.0 lists it: its length in days, and when it ended."""
        end = stay.end or facts.as_of
        start = stay.start or end
        ended = "ongoing" if stay.end is None else self.time_ago(facts, end)
        return Evidence(
            label="Inpatient stay",
            value=f"{(end.date() - start.date()).days} days, {ended}",
            when=stay.start,
            reference=stay.reference,
        )

    def previous_vte(self, facts: Facts) -> RiskItem | None:
        """As 1.0.0 (PE codes are in vte-history), naming an active PE as such (§22.2 k)."""
        item = super().previous_vte(facts)
        if item is None or item.short == "DVT on record":
            return item
        if self.coded_conditions(facts, PULMONARY_EMBOLISM):
            return RiskItem(
                "PE on record", "pulmonary embolism on record (VTE history)", item.evidence
            )
        return item

    # -- other risk factors --------------------------------------------------------------------

    def postpartum(self, facts: Facts) -> RiskItem | None:
        """§22.2 l: childbirth (a delivery or a cesarean birth) within 12 weeks, in weeks."""
        birth = self.last_childbirth(facts, within_days=self.postpartum_raised_risk_days)
        if birth is None:
            return None
        weeks = self.weeks_ago(facts, birth)
        high = facts.days_ago(birth.end or birth.start or facts.as_of)
        period = (
            "highest-risk period" if high <= self.postpartum_high_risk_days else "risk still raised"
        )
        return RiskItem(
            f"postpartum {weeks} wk",
            f"childbirth {weeks} week{'s' if weeks != 1 else ''} ago ({period})",
            (self.procedure_evidence(birth, facts),),
        )

    def obesity(self, facts: Facts) -> RiskItem | None:
        """A BMI of 30 or more within the window; else a coded obesity, unless a BMI below 30
        measured since says it is no longer current."""
        bmi = self.latest_lab(facts, "bmi", within_days=self.bmi_window_days)
        if bmi is not None and certainly_at_least(bmi, self.obesity_bmi):
            return RiskItem(
                f"BMI {value_text(bmi, 1)}",
                "obesity (BMI 30 or more)",
                (self.lab_evidence(bmi, "BMI", "kg/m2", 1),),
            )
        coded = self.coded_conditions(facts, "obesity")
        if not coded:
            return None
        if bmi is not None and certainly_below(bmi, self.obesity_bmi):
            dated = [when for c in coded if (when := c.onset or c.recorded) is not None]
            newest_code = max(dated, default=None)
            if bmi.effective is not None and (newest_code is None or bmi.effective >= newest_code):
                return None  # measured since the code: the coded obesity is not current
        return RiskItem("obesity", "obesity", self.conditions_evidence(coded[:1]))


LOGIC = DvtRisk()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    requires=REQUIREMENTS,
    valuesets=VALUESETS,
    source_label="Wells DVT score (NEJM 2003)",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Reads the 2026.12 value sets (cancer, heart failure, COPD, obesity, stroke, MI, "
            "pregnancy) and complaints coded as visit reasons or Observations (§22.2 e). A "
            "cesarean birth within 12 weeks scores the Wells surgery item and counts as "
            "childbirth (§22.2 i): a cesarean 3 weeks ago with one swollen leg is a warning. A "
            "leg cramp opens the card only when the record scores a Wells item; leg pain or "
            "swelling always; restless legs never (§22.2 j). An active PE counts as VTE history "
            "and is named (§22.2 k). Postpartum up to 12 weeks, in weeks (§22.2 l). The summary, "
            "text and suggestion follow the record score: 2 or more, a venous duplex of the leg "
            "the complaint names; 1 or less, the D-dimer route, or the duplex when "
            "anticoagulated. The card says the score is partial, and words the complaint as "
            "recorded."
        ),
        rationale=(
            "Candidate cause (§1.6): candidate=True. The cramp gate of §22.2 j uses any "
            "record-derived Wells point (surgery or bedridden, active cancer, paralysis, prior "
            "DVT/VTE); tetany (R29.0) opens nothing. Cesarean codes are also in `delivery`: "
            "the same procedure gives the surgery point and the postpartum factor, as §22.2 i "
            "says, and no anaesthesia caution (a cesarean always has one). Obesity: the latest "
            "BMI within 365 days decides when it is at least 30; a BMI certainly below 30 "
            "measured on or after the newest obesity code means the code is not current (a "
            "problem-list entry outlives weight loss); a censored BMI that settles neither "
            "leaves the code to decide. The route follows the record score, not the one-sided "
            "swelling: Wells 1 with one swollen leg is a warning whose route is the D-dimer "
            "unless the completed score is 2 or more (the text says so). Anticoagulation still "
            "removes the D-dimer and never lowers the severity (§22.2 b allows lowering a "
            "warning; prophylactic doses after surgery do not treat a DVT, so it is not used). "
            "The duplex side comes from the verified display of the complaint code (left "
            "39432-0, right 39443-7, else both legs 39420-5). Details: one evidence line per "
            "risk item (at most 6), two cautions (partial score first)."
        ),
    ),
)
