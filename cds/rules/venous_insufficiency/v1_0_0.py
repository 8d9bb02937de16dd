"""venous-insufficiency 1.0.0: documented chronic venous insufficiency, varicose veins or
post-thrombotic syndrome as an explanation of leg aching and night cramps; lymphoedema as a
differential of leg swelling (clinical-content.md §17, codes.tsv rule id venous-insufficiency).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.lib.complaints.v1 import COMPLAINT_VALUESETS
from cds.rules.lib.evidence.v1 import condition_code, condition_name, unique_evidence
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.requirements.v1 import CONDITIONS, ENCOUNTERS
from cds.rules.lib.text.v1 import fit_summary


@dataclass(frozen=True)
class VenousInsufficiency(RuleLogic, Library2026_11):
    """§17: info only, a documented alternative explanation of the leg symptoms on record."""

    new_swelling_caution: str = (
        "Known venous disease does not lower DVT risk: a new, painful or one-sided swelling "
        "still needs DVT assessment."
    )
    post_thrombotic_caution: str = (
        "Post-thrombotic syndrome means a previous DVT: it counts as a previously documented "
        "DVT in the DVT risk assessment."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        venous = self.coded_conditions(facts, "venous-insufficiency")
        # Lymphoedema is a differential of swelling, not of pain or cramps: only with swelling.
        swelling = self.swelling_complaints(facts)
        lymphoedema = self.coded_conditions(facts, "lymphedema") if swelling else []
        if not (venous or lymphoedema):
            return None
        complaints = self.leg_complaints(facts)
        if not complaints:
            return None  # a candidate cause (§1.6)
        post_thrombotic = self.post_thrombotic(facts, venous)
        cautions = [self.new_swelling_caution]
        if post_thrombotic:
            cautions.append(self.post_thrombotic_caution)
        return Finding(
            severity="info",
            summary=fit_summary(self.summary(venous, lymphoedema, post_thrombotic)),
            explanation=(
                "Chronic venous disease (venous insufficiency, varicose veins, post-thrombotic "
                "syndrome) causes aching and heaviness after standing, eased by elevating the "
                "legs, and night cramps are reported with it. Lymphoedema causes chronic "
                "swelling. These are documented alternative explanations of the leg symptoms on "
                "record."
            ),
            evidence=unique_evidence(
                (
                    *self.conditions_evidence([*venous, *lymphoedema]),
                    *self.complaint_evidence(complaints),
                )
            ),
            cautions=tuple(cautions),
            # A documented condition that plausibly explains the symptom: more specific than
            # the general list of other-leg-pain-conditions, less than abnormal results or risk
            # patterns.
            specificity=45,
        )

    def post_thrombotic(self, facts: Facts, venous: list[ConditionEntry]) -> list[ConditionEntry]:
        """The venous conditions that are post-thrombotic syndrome. It is the only code in both
        sets (I87.009): VALUESETS.md lists it in venous-insufficiency and in vte-history, and
        there is no set of its own."""
        vte = {
            c.reference for c in self.coded_conditions(facts, "vte-history", include_history=True)
        }
        return [c for c in venous if c.reference in vte]

    def summary(
        self,
        venous: list[ConditionEntry],
        lymphoedema: list[ConditionEntry],
        post_thrombotic: list[ConditionEntry],
    ) -> str:
        if post_thrombotic:
            return (
                f"Post-thrombotic syndrome documented ({condition_code(post_thrombotic[0])}): "
                "implies prior DVT; may explain leg aching and night cramps."
            )
        if venous:
            return (
                f"Documented {condition_name(venous[0])} may explain aching legs and night "
                "cramps; worse after standing."
            )
        return (
            f"Lymphoedema documented ({condition_code(lymphoedema[0])}) may explain the leg "
            "swelling on record."
        )


LOGIC = VenousInsufficiency()

RULE = RuleVersion(
    id="venous-insufficiency",
    version="1.0.0",
    title="Chronic venous insufficiency, varicose veins and post-thrombotic syndrome",
    severities=("info",),
    logic=LOGIC,
    requires=(CONDITIONS, ENCOUNTERS),
    valuesets=("venous-insufficiency", "lymphedema", "vte-history", *COMPLAINT_VALUESETS),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "Clinical content §17 (documented alternative explanations); Society for Vascular "
            "Surgery / American Venous Forum guideline on varicose veins and chronic venous "
            "disease (Gloviczki P et al., J Vasc Surg 2011;53:2S-48S)"
        ),
        url="https://doi.org/10.1016/j.jvs.2011.01.079",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Info only (§17). A candidate cause (§1.6): needs any leg complaint on record. "
            "Venous insufficiency, varicose veins and post-thrombotic syndrome are active "
            "Conditions in the venous-insufficiency set. Lymphoedema (234097001, listed under "
            "this rule id in codes.tsv as a swelling differential) fires only when leg swelling "
            "is on record. Post-thrombotic syndrome is recognised as the venous code that is "
            "also in vte-history (I87.009) and is named as implying a prior DVT; dvt-risk "
            "already counts it as a previously documented DVT. The card never suppresses or "
            "lowers the DVT card."
        ),
    ),
)
