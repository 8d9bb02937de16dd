"""venous-insufficiency 1.1.0: complaints from visit reasons and Observations too, opened by the
complaints venous disease explains (pain, cramps, swelling), worded as recorded."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import Finding, GuidelineSource, Provenance
from cds.rules.lib.complaints.v2 import (
    COMPLAINT_KIND_VALUESETS,
    LEG_CRAMP,
    LEG_PAIN,
    SWELLING,
)
from cds.rules.lib.evidence.v1 import condition_code, condition_name, unique_evidence
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.text.v1 import fit_summary
from cds.rules.venous_insufficiency import v1_0_0 as previous

# §17 names no guideline for its documented alternative causes: a label, no address.
DOCUMENTED_CAUSES = GuidelineSource("Documented alternative causes (clinical content §17)")


@dataclass(frozen=True)
class VenousInsufficiency(previous.VenousInsufficiency, Library2026_12):
    """§17 with the complaints of §22.2 e (a visit reason, an Observation), as a candidate
    cause (§1.6). Venous disease explains aching legs, night cramps and swelling, so a leg pain,
    cramp or swelling complaint opens the card; restless legs alone do not (§8 has their
    causes). Lymphoedema explains swelling only. The card says which complaint is on record."""

    max_evidence: int = 6
    # Lymphoedema alone is not venous disease: the SVS/AVF guideline is not its source.
    lymphoedema_source: GuidelineSource = DOCUMENTED_CAUSES

    def evaluate(self, facts: Facts) -> Finding | None:
        venous = self.coded_conditions(facts, "venous-insufficiency")
        swelling = self.swelling_complaints(facts)
        lymphoedema = self.coded_conditions(facts, "lymphedema") if swelling else []
        if not (venous or lymphoedema):
            return None
        complaints = (
            self.complaints_of(facts, LEG_PAIN, LEG_CRAMP, SWELLING) if venous else swelling
        )
        if not complaints:
            return None  # a candidate cause (§1.6)
        post_thrombotic = self.post_thrombotic(facts, venous)
        words = self.complaint_words(facts, complaints)
        cautions = [self.new_swelling_caution]
        if post_thrombotic:
            cautions.append(self.post_thrombotic_caution)
        evidence = unique_evidence(
            (
                *self.conditions_evidence([*venous, *lymphoedema]),
                *self.worded_evidence(facts, complaints),
            )
        )
        return Finding(
            severity="info",
            summary=fit_summary(self.card_summary(venous, lymphoedema, post_thrombotic, words)),
            explanation=self.card_explanation(venous, words),
            evidence=evidence[: self.max_evidence],
            cautions=tuple(cautions),
            specificity=45,
            source=None if venous else self.lymphoedema_source,
            candidate=True,
        )

    def card_summary(
        self,
        venous: list[ConditionEntry],
        lymphoedema: list[ConditionEntry],
        post_thrombotic: list[ConditionEntry],
        words: str,
    ) -> str:
        if post_thrombotic:
            return (
                f"Post-thrombotic syndrome documented ({condition_code(post_thrombotic[0])}): "
                f"implies prior DVT; may explain the {words} on record."
            )
        if venous:
            return (
                f"Documented {condition_name(venous[0])} may explain the {words} on record; "
                "typically worse after standing."
            )
        return (
            f"Lymphoedema documented ({condition_code(lymphoedema[0])}) may explain the leg "
            "swelling on record."
        )

    def card_explanation(self, venous: list[ConditionEntry], words: str) -> str:
        """Two sentences: what the documented condition causes, and how to weigh it."""
        if venous:
            return (
                "Chronic venous disease causes aching and heaviness after standing, eased by "
                "raising the legs, and night cramps and swelling are reported with it. It is a "
                f"documented explanation to weigh for the {words}, not a reason to skip other "
                "causes."
            )
        return (
            "Lymphoedema causes chronic swelling of the limb. It is a documented explanation to "
            "weigh for the leg swelling, not a reason to skip other causes."
        )


LOGIC = VenousInsufficiency()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=tuple(dict.fromkeys((*previous.RULE.valuesets, *COMPLAINT_KIND_VALUESETS))),
    source_label="SVS/AVF varicose veins guideline 2011",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Reads complaints coded as visit reasons (reasonCode, reasonReference) and "
            "Observations (§22.2 e). Opens with leg pain, cramps or swelling, not with restless "
            "legs alone. Says which complaint is on record ('may explain the leg cramps on "
            "record', never 'leg pain' for a cramp). Marked as a candidate cause. Shorter "
            "explanation, at most 6 evidence lines."
        ),
        rationale=(
            "Candidate cause (§1.6): candidate=True. §17 describes venous disease as aching and "
            "heaviness after standing with night cramps reported; the post-thrombotic and "
            "lymphoedema notes concern swelling. Restless legs have their own causes (§8) and "
            "§17 names no link, so a restless-legs complaint alone no longer opens this card. "
            "Lymphoedema still needs a swelling complaint. Post-thrombotic syndrome is still "
            "recognised as the venous code in vte-history (I87.009). A lymphoedema-only card "
            "cites §17 as a label without an address, not the venous guideline. The card never "
            "suppresses or lowers the DVT card."
        ),
    ),
)
