"""pregnancy-leg-cramps 1.1.0: the wider pregnancy set, albumin-corrected calcium, the complaint
on record named, results shown as reported, a candidate cause (clinical-content.md §13 as
§22.1, §22.2 e and g settle it)."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.rules.base import Evidence, Finding, Provenance
from cds.rules.lib.complaints.v2 import LEG_CRAMP, LEG_PAIN, RESTLESS_LEGS
from cds.rules.lib.electrolytes.v1 import CA_LOW
from cds.rules.lib.evidence.v1 import unique_evidence
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.orders.v1 import MAGNESIUM, OrderSuggestion, order
from cds.rules.lib.requirements.v1 import observations
from cds.rules.lib.text.v1 import fit_summary, fmt
from cds.rules.pregnancy_leg_cramps import v1_0_0 as previous

# Read since 1.1.0: the calcium correction, and the complaint kinds the card names.
NEW_VALUESETS: tuple[str, ...] = (
    "calcium-corrected",
    "albumin",
    LEG_PAIN,
    LEG_CRAMP,
    RESTLESS_LEGS,
)


@dataclass(frozen=True)
class PregnancyLegCramps(previous.PregnancyLegCramps, Library2026_12):
    """§13 with the 2026.12 sets and libraries: pregnant at 14 weeks or more with leg pain,
    cramps or swelling on record (a candidate cause, §1.6). The summary names what is on record
    and leads with DVT when no cramp is coded; calcium is judged albumin-corrected (the
    electrolytes library), since albumin falls in pregnancy and takes total calcium with it."""

    magnesium_order: OrderSuggestion = order(MAGNESIUM, "Leg cramps in pregnancy, if severe")

    def evaluate(self, facts: Facts) -> Finding | None:
        pregnancy = self.current_pregnancy(facts)
        if pregnancy is None or pregnancy.gestational_weeks is None:
            return None  # the trimester cannot be told without a gestational age
        weeks = pregnancy.gestational_weeks
        if weeks < self.second_trimester_weeks:
            return None
        complaints = self.pain_or_swelling_complaints(facts)
        if not complaints:
            return None  # a candidate cause (§1.6)
        shown_weeks = int(weeks)
        trimester = "second" if weeks < self.third_trimester_weeks else "third"
        cramps = [c for c in complaints if facts.matches(LEG_CRAMP, c.codings) is not None]
        summary = self.summary_v2(
            shown_weeks,
            self.complaint_words(facts, complaints),
            one_leg_swollen=bool(self.unilateral_swelling(facts)),
            cramps=bool(cramps),
        )
        evidence: list[Evidence] = [
            Evidence(
                label="Pregnancy",
                value=f"{shown_weeks} weeks ({trimester} trimester), advanced to today",
                when=pregnancy.when,
                reference=pregnancy.evidence,
            ),
            *self.complaint_evidence(complaints),
        ]
        low: list[str] = []
        magnesium = self.latest_lab(facts, "magnesium", within_days=self.lab_window_days)
        if magnesium is not None:
            evidence.append(self.lab_evidence(magnesium, "Magnesium", "mmol/L"))
            if self.is_low(magnesium, self.magnesium_low):
                low.append("magnesium")
        calcium_line, calcium_low = self.calcium(facts)
        if calcium_line is not None:
            evidence.append(calcium_line)
            if calcium_low:
                low.append("calcium")
        explanation = (
            f"The record shows a pregnancy at about {shown_weeks} weeks ({trimester} trimester), "
            "when leg cramps, often at night, are common."
        )
        if low:
            explanation += (
                f" The latest {' and '.join(low)} {'are' if len(low) > 1 else 'is'} low and may "
                "add to them."
            )
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=explanation,
            evidence=unique_evidence(evidence),
            # Magnesium is the catalog's test for severe cramps: only with cramps on record.
            suggestions=(self.magnesium_order,) if cramps and magnesium is None else (),
            cautions=(self.dvt_caution,),
            specificity=40,
            candidate=True,
        )

    def summary_v2(
        self, shown_weeks: int, words: str, *, one_leg_swollen: bool, cramps: bool
    ) -> str:
        """What is on record first: a swollen leg leads with DVT; cramps are the common,
        benign explanation; pain without a cramp code is checked for DVT before anything."""
        if one_leg_swollen:
            return self.summary(shown_weeks, one_leg_swollen=True)
        if cramps:
            return (
                f"Pregnant at {shown_weeks} weeks with {words} on record: cramps are common in "
                "mid/late pregnancy; check for DVT if one leg swells."
            )
        return (
            f"Pregnant at {shown_weeks} weeks with {words} on record: check for DVT; leg cramps "
            "are also common in mid/late pregnancy."
        )

    def calcium(self, facts: Facts) -> tuple[Evidence | None, bool]:
        """The latest calcium as the electrolytes library picks it (albumin-corrected where it
        can be), its evidence line and whether it is low. A corrected value is judged against
        the lab's lower limit (else 8.5 mg/dL); a total with no albumin to correct it only by
        the lab's own flag or range, as 1.0.0 judged every total."""
        calcium = self.albumin_corrected_calcium(facts, self.lab_window_days)
        if calcium is None:
            return None, False
        if calcium.source == "calculated":
            limits = f"lower limit {fmt(calcium.low_limit, 1)}"
            return self.calcium_evidence(calcium, limits), calcium.certainly_below(
                calcium.low_limit
            )
        if calcium.source == "reported":
            return self.calcium_evidence(calcium), self.is_low(calcium.lab, CA_LOW)
        return self.calcium_evidence(calcium), self.is_low(calcium.lab)


LOGIC = PregnancyLegCramps()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    requires=(
        *previous.RULE.requires,
        observations("calcium-corrected", "albumin", "leg-complaint"),
    ),
    valuesets=(*previous.RULE.valuesets, *NEW_VALUESETS),
    source_label="ACOG gestational age (CO 700)",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "The wider pregnancy set (§22.1: 1,987 codes, e.g. 72892002 'Normal pregnancy') "
            "shows a pregnancy; it still needs a gestational age of 14 weeks or more. The "
            "summary names the complaint on record ('with leg cramps on record'); with leg pain "
            "or swelling and no cramp coded it leads with the DVT check. Calcium is judged "
            "albumin-corrected (pregnancy lowers albumin and total calcium with it), no longer "
            "as a raw total. Results keep their comparator in the evidence (§22.2 g). "
            "Complaints coded as a visit reason or an Observation count (§22.2 e). Magnesium "
            "is suggested only when cramps are on record. A candidate cause: shown only with "
            "a leg complaint."
        ),
        rationale=(
            "Pregnancy only from explicit evidence (the pregnancy library: a status answer or a "
            "pregnancy Condition within 300 days; a delivery, which includes every cesarean "
            "code, or a gestational age past 42 weeks ends it). Gestational age is still "
            "required: the wider set makes a pregnancy Condition common (Synthea's normal "
            "pregnancy is on 91 of 615 patients) but without a gestational age the trimester "
            "is unknown. Calcium: the electrolytes library's albumin-corrected calcium (a "
            "reported corrected value, or total corrected with an albumin from the same 90 "
            "days), judged against the lab's lower limit, else 8.5 mg/dL; a total without an "
            "albumin is called low only by the lab's own flag or range, as in 1.0.0, and is "
            "labelled uncorrected. The magnesium test follows §13 ('if symptoms are severe') "
            "only when cramps are on record: for pain or swelling alone it does not follow "
            "from the card. Restless legs in pregnancy belong to rls-secondary-causes."
        ),
    ),
)
