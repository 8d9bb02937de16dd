"""other-leg-pain-conditions 1.1.0: each documented condition is listed only beside a complaint it
explains (pain, cramps, restless legs, swelling), in the complaint's own words."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import Evidence, Finding, GuidelineSource, Provenance
from cds.rules.lib.complaints.v2 import (
    COMPLAINT_KIND_VALUESETS,
    LEG_CRAMP,
    LEG_PAIN,
    RESTLESS_LEGS,
    SWELLING,
)
from cds.rules.lib.evidence.v1 import (
    condition_code,
    condition_name,
    unique_by_reference,
    unique_evidence,
)
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.text.v1 import SUMMARY_LIMIT, capitalise, fit_summary, join_parts
from cds.rules.other_leg_pain_conditions import v1_0_0 as previous
from cds.rules.other_leg_pain_conditions.v1_0_0 import Explanation

# §17 names no guideline for its documented alternative causes: a label, no address.
DOCUMENTED_CAUSES = GuidelineSource("Documented alternative causes (clinical content §17)")
PAIN = (LEG_PAIN,)
NERVE = (LEG_PAIN, LEG_CRAMP)  # a nerve root or cauda equina cause: pain or cramps


def _explanations() -> tuple[Explanation, ...]:
    """1.0.0's, with the stenosis summary note worded for cramps as well as pain."""
    return tuple(
        replace(kind, summary_note="a weaker fit at rest or at night")
        if kind.valueset == "lumbar-stenosis"
        else kind
        for kind in previous.LOGIC.explanations
    )


@dataclass(frozen=True)
class OtherLegPainConditions(previous.OtherLegPainConditions, Library2026_12):
    """§17 with the complaints of §22.2 e, as a candidate cause (§1.6), and each condition beside
    the complaints its §17 note says it causes: osteoarthritis, fibromyalgia and tendinitis cause
    pain; radiculopathy and lumbar stenosis pain or cramps; Parkinson's disease cramps (off-period
    dystonia), pain or restless legs; Addison's disease cramps; a Baker's cyst pain or swelling.
    A knee osteoarthritis does not explain night cramps, so a cramp complaint alone does not list
    it."""

    explanations: tuple[Explanation, ...] = _explanations()
    # Value sets of the complaint kinds each explanation accounts for (§17 card notes).
    explains: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("sciatica-radiculopathy", NERVE),
        ("fibromyalgia", PAIN),
        ("osteoarthritis", PAIN),
        ("parkinsons", (LEG_PAIN, LEG_CRAMP, RESTLESS_LEGS)),
        ("addisons", (LEG_CRAMP,)),
        ("tendinitis-bursitis", PAIN),
        ("bakers-cyst", (LEG_PAIN, SWELLING)),
        ("lumbar-stenosis", NERVE),
    )
    max_evidence: int = 6
    # The card's source when lumbar stenosis (whose note rests on the NASS guideline, the rule's
    # own source) is not among the conditions: §17 names no guideline for the others.
    documented_source: GuidelineSource = DOCUMENTED_CAUSES
    short_name_limit: int = 60  # characters of a condition's name in the explanation

    def evaluate(self, facts: Facts) -> Finding | None:
        kinds = dict(self.explains)
        documented: list[tuple[Explanation, list[ConditionEntry]]] = []
        complaints: list[ConditionEntry] = []
        for kind in self.explanations:
            conditions = self.coded_conditions(facts, kind.valueset)
            if not conditions:
                continue
            explained = self.complaints_of(facts, *kinds.get(kind.valueset, ()))
            if explained:
                documented.append((kind, conditions))
                complaints += explained
        if not documented:
            return None  # a candidate cause (§1.6): only beside a complaint it explains
        complaints = unique_by_reference(complaints)
        words = self.complaint_words(facts, complaints)
        evidence: list[Evidence] = []
        for kind, conditions in documented:
            evidence += self.kind_evidence(facts, kind, conditions)
        evidence += self.worded_evidence(facts, complaints, shown=1)
        return Finding(
            severity="info",
            summary=fit_summary(self.card_summary(documented, words)),
            explanation=self.card_explanation(documented, words),
            evidence=unique_evidence(evidence)[: self.max_evidence],
            cautions=self.cautions(documented),
            specificity=60,
            source=None
            if any(kind.valueset == "lumbar-stenosis" for kind, _ in documented)
            else self.documented_source,
            candidate=True,
        )

    def kind_evidence(
        self, facts: Facts, kind: Explanation, conditions: list[ConditionEntry]
    ) -> list[Evidence]:
        """The newest condition of the kind, its §17 note beside it; Addison's with its sodium
        and potassium (shown as reported, §22.2 g)."""
        evidence = [replace(self.condition_evidence(conditions[0]), note=kind.note)]
        if kind.valueset == "addisons":
            evidence += self.electrolytes(facts)
        return evidence

    def card_summary(
        self, documented: list[tuple[Explanation, list[ConditionEntry]]], words: str
    ) -> str:
        """Names the leading condition in the record's words, or by its code when the words
        would not fit the summary."""
        lead_kind, lead_conditions = documented[0]
        others = len(documented) - 1
        tail = "; see the note for each." if others else f"; {lead_kind.summary_note}."
        more = f" and {others} other condition{'s' if others > 1 else ''}" if others else ""
        summary = ""
        for lead, where in (
            (condition_name(lead_conditions[0]), " on record"),
            (condition_name(lead_conditions[0]), ""),
            (condition_code(lead_conditions[0]), " on record"),
        ):
            summary = f"Documented {lead}{more} may explain the {words}{where}{tail}"
            if len(summary) < SUMMARY_LIMIT:
                break
        return summary

    def card_explanation(
        self, documented: list[tuple[Explanation, list[ConditionEntry]]], words: str
    ) -> str:
        """Two sentences: what is documented, and how to weigh it (the notes are on the evidence
        lines)."""
        names = join_parts([self.short_name(c[0]) for _, c in documented], 110)
        return (
            f"{capitalise(words)} on record, and the record documents {names}, which can "
            "explain them (see the note beside each). Weigh these with the other cards: "
            "they do not make another cause less likely."
        )

    def short_name(self, condition: ConditionEntry) -> str:
        """The record's wording and code, or the code alone when the wording is long."""
        name = condition_name(condition)
        return name if len(name) <= self.short_name_limit else condition_code(condition)


LOGIC = OtherLegPainConditions()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=tuple(dict.fromkeys((*previous.RULE.valuesets, *COMPLAINT_KIND_VALUESETS))),
    source_label="NASS lumbar spinal stenosis guideline 2013",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Reads complaints coded as visit reasons (reasonCode, reasonReference) and "
            "Observations (§22.2 e). Each documented condition is listed only beside a "
            "complaint its §17 note says it causes (osteoarthritis, fibromyalgia, tendinitis: "
            "pain; radiculopathy, lumbar stenosis: pain or cramps; Parkinson's: cramps, pain or "
            "restless legs; Addison's: cramps; Baker's cyst: pain or swelling), so knee "
            "osteoarthritis no longer appears for night cramps. The card says which complaint "
            "is on record ('leg cramps', never 'leg pain' for a cramp), shows each condition's "
            "note on its evidence line and Addison's sodium and potassium as reported (with a "
            "comparator). Marked as a candidate cause; at most 6 evidence lines."
        ),
        rationale=(
            "Candidate cause (§1.6): candidate=True. §17's notes say what each condition "
            "causes; a card that offered osteoarthritis for night cramps would say something "
            "the note does not, so conditions are matched to complaint kinds (leg-pain, "
            "leg-cramp, restless-legs, leg-swelling sets). Nerve causes (radiculopathy, "
            "lumbar stenosis) take cramps as well as pain, as the complaints library treats "
            "nerve causes. Tetany (R29.0) and swelling alone open nothing here except a Baker's "
            "cyst. Order and notes as 1.0.0; lumbar stenosis stays last as the weaker fit for "
            "pain at rest. The NASS guideline (the rule's source) is cited only on a card that "
            "lists lumbar stenosis; other cards cite §17 as a label without an address, as §17 "
            "names no guideline. The Baker's cyst never suppresses the dvt-risk card."
        ),
    ),
)
