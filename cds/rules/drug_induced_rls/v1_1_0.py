"""drug-induced-rls 1.1.0: culprits and complaints read as §22 settles them, restless legs or PLMD
named as coded, a candidate flag, and a short card."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, Severity
from cds.rules.drug_induced_rls import v1_0_0 as previous
from cds.rules.lib.complaints.v2 import (
    COMPLAINT_WINDOW_DAYS,
    LEG_CRAMP,
    LEG_PAIN,
    RESTLESS_LEGS,
    SWELLING,
)
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.text.v1 import capitalise, fit_summary

# The value sets `complaint_words` reads besides those 1.0.0 declares (restless-legs is one).
COMPLAINT_WORD_VALUESETS: tuple[str, ...] = (LEG_PAIN, LEG_CRAMP, SWELLING)
# How the restless-legs set's periodic limb movement disorder codes are told from RLS: by the
# verified display of the code matched ("Periodic limb movement disorder"), never by a code
# written here.
PLMD_DISPLAY = "periodic limb movement"


@dataclass(frozen=True)
class DrugInducedRls(previous.DrugInducedRls, Library2026_12):
    """§7 as §22 settles it. Active culprits are MedicationsV2's (§22.2 c, d: an active order past
    its dispensing window is still taken). Restless legs, PLMD or akathisia "coded" is an active
    Condition, or a visit reason or Observation of the last 90 days (§22.2 e): a warning, a
    finding on any chart. Without one, a leg pain, cramp or restless-legs complaint makes the
    drug a candidate cause (info, §1.6). The card names what is on record: restless legs,
    periodic limb movement disorder (PLMD, in the same set: the same drugs worsen it) or the
    complaint in its own words."""

    explanation: str = (
        "Dopamine blockers, serotonergic antidepressants and sedating antihistamines can "
        "trigger or worsen restless legs and PLMD; AASM 2024 advises reviewing them and "
        "checking iron status."
    )
    drugs_shown: int = 3  # culprit evidence lines
    conditions_shown: int = 3  # coded or complaint evidence lines

    def evaluate(self, facts: Facts) -> Finding | None:
        culprits = self.active_culprits(facts)
        if not culprits:
            return None
        rls = self.coded(facts, RESTLESS_LEGS)
        akathisia = self.coded(facts, "akathisia")
        complaints = self.pain_cramp_or_restless_complaints(facts)
        if not (rls or akathisia or complaints):
            return None

        meds = [c.med for c in culprits]
        dopamine_blocker = any(c.dopamine_blocking for c in culprits)
        drafted = any(m.drafted for m in meds)
        coded = bool(rls or akathisia)
        severity: Severity = "warning" if coded else "info"
        if rls:
            what = self.movement_words(facts, rls)
        elif akathisia:
            what = "akathisia"
        else:
            what = self.complaint_words(facts, complaints)
        onset = self.earliest_onset(rls or akathisia or complaints)

        evidence: list[Evidence] = [
            self.drug_evidence(m, onset, what) for m in meds[: self.drugs_shown]
        ]
        conditions = self.one_per_condition([*rls, *akathisia, *complaints])
        evidence += [self.condition_evidence(c) for c in conditions[: self.conditions_shown]]
        return Finding(
            severity=severity,
            summary=fit_summary(
                self.card_summary(
                    meds,
                    what,
                    rls=bool(rls),
                    akathisia=bool(akathisia),
                    drafted=drafted,
                    dopamine_blocker=dopamine_blocker,
                )
            ),
            explanation=self.explanation
            + (self.akathisia_differential() if dopamine_blocker else ""),
            evidence=tuple(evidence),
            cautions=(*self.low_confidence_cautions(meds), self.history_caution),
            involves_draft_order=drafted,
            specificity=20 if coded else 40,
            candidate=not coded,
        )

    def akathisia_differential(self) -> str:
        """Added to the explanation when a dopamine blocker is among the culprits (§7)."""
        return (
            f" With a dopamine blocker, {self.akathisia_name} is the main differential: "
            "restlessness after a start or dose increase, without the evening worsening at rest."
        )

    def coded(self, facts: Facts, valueset: str) -> list[ConditionEntry]:
        """Coded as a diagnosis: an active Condition, or a visit reason or Observation of the last
        90 days (§22.2 e). A resolved Condition is no longer a diagnosis, only a complaint."""
        recent = [
            entry
            for entry in self.recorded(
                facts, valueset, within_days=COMPLAINT_WINDOW_DAYS, active_counts=False
            )
            if entry.source != "Condition"
        ]
        return unique_by_reference([*self.coded_conditions(facts, valueset), *recent])

    def movement_words(self, facts: Facts, entries: list[ConditionEntry]) -> str:
        """ "restless legs", "periodic limb movement disorder" or both, as the codes matched say."""
        vs = facts.valueset(RESTLESS_LEGS)
        plmd = rls = False
        for entry in entries:
            matched = vs.match(entry.codings)
            if matched is None:
                continue
            if PLMD_DISPLAY in (vs.display_of(matched) or "").lower():
                plmd = True
            else:
                rls = True
        if plmd and rls:
            return "restless legs and periodic limb movement disorder"
        return "periodic limb movement disorder" if plmd else "restless legs"

    def card_summary(
        self,
        meds: list[MedicationEntry],
        what: str,
        *,
        rls: bool,
        akathisia: bool,
        drafted: bool,
        dopamine_blocker: bool,
    ) -> str:
        names = self.short_names(meds)
        also = " (or cause akathisia)" if dopamine_blocker else ""
        if drafted and rls:
            return (
                f"{capitalise(names)} being ordered can trigger or worsen {what}, already on "
                f"record{also}."
            )
        if drafted and akathisia:
            return (
                f"{capitalise(names)} being ordered can worsen the akathisia on record and "
                "trigger restless legs."
            )
        if rls:
            short = {"restless legs": "RLS", "periodic limb movement disorder": "PLMD"}.get(
                what, "them"
            )
            return (
                f"{capitalise(what)} coded while on {names}, which can trigger or worsen "
                f"{short}{also}; review the medication."
            )
        if akathisia:
            return (
                f"Akathisia coded while on {names}, which can cause akathisia and worsen "
                "restless legs; review the medication."
            )
        if what == "restless legs":
            return (
                f"{capitalise(names)} can trigger or worsen the restless legs on record{also}; "
                "review the medication."
            )
        if dopamine_blocker:
            return (
                f"{capitalise(names)} and other dopamine-blocking drugs can trigger restless legs "
                f"or akathisia; a possible cause of the {what} on record."
            )
        return (
            f"{capitalise(names)} can trigger or worsen restless legs; a possible cause of the "
            f"{what} on record."
        )


LOGIC = DrugInducedRls()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=(*previous.RULE.valuesets, *COMPLAINT_WORD_VALUESETS),
    source_label="AASM RLS and PLMD guideline 2024",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Culprit drugs are read as §22.2 c and d say (an active order past its dispensing "
            "window is still taken; a stopped one counts for 30 days after its therapy end). "
            "Restless legs, PLMD or akathisia coded as a visit reason or an Observation in the "
            "last 90 days now counts like an active Condition (warning), and complaints may be "
            "coded there too (§22.2 e). The card says what is on record: 'periodic limb "
            "movement disorder' when PLMD is coded (G47.61, 418763003), 'restless legs' for RLS, "
            "and the complaint in its own words (leg cramps, leg pain) on the info card, which "
            "is a candidate cause shown only with that complaint (§1.6). Shorter card: "
            "two-sentence explanation, at most three drugs and three coded entries listed; the "
            "start-before-onset timing stays in the drug's evidence line."
        ),
        rationale=(
            "A visit whose reason is restless legs or PLMD is a clinician's coding of it, as a "
            "problem-list entry is, so it makes the warning; a resolved Condition remains a "
            "complaint only (info), as in 1.0.0. PLMD is told from RLS by the display of the "
            "restless-legs code matched, so no code is written in the rule. The timing criterion "
            "(a start <= 90 days before onset) is stated in the drug's evidence line only: the "
            "explanation keeps to what the drugs do and, for dopamine blockers, the akathisia "
            "differential (§7: the card names it). 1.0.0's other choices stand (bupropion in no "
            "culprit set; swelling alone is no context; no suggestions, iron testing is named "
            "and ordered from rls-secondary-causes)."
        ),
    ),
)
