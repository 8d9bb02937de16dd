"""other-leg-pain-conditions 1.0.0: documented alternative explanations of leg pain (fibromyalgia,
Parkinson's disease, Addison's disease, sciatica / lumbar radiculopathy, lumbar spinal stenosis,
osteoarthritis, Baker's cyst, tendinitis / bursitis), listed on one info card with a note each
(clinical-content.md §17).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import (
    Evidence,
    Finding,
    Provenance,
    RuleLogic,
    RuleVersion,
)
from cds.rules.lib.complaints.v1 import COMPLAINT_VALUESETS
from cds.rules.lib.electrolytes.v1 import ELECTROLYTE_WINDOW_DAYS
from cds.rules.lib.evidence.v1 import condition_name, unique_evidence
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.requirements.v1 import CONDITIONS, ENCOUNTERS, observations
from cds.rules.lib.text.v1 import fit_summary


@dataclass(frozen=True)
class Explanation:
    valueset: str
    note: str  # the §17 card note, shown beside the condition
    summary_note: str  # a few words for the summary when it is the leading condition


@dataclass(frozen=True)
class OtherLegPainConditions(RuleLogic, Library2026_11):
    """§17: every documented alternative explanation of the leg symptoms, on one info card."""

    # Most plausible for pain at night or at rest first; lumbar stenosis last (§17: a weaker
    # explanation for nocturnal or at-rest pain).
    explanations: tuple[Explanation, ...] = (
        Explanation(
            "sciatica-radiculopathy",
            "Dermatomal pain, often positional.",
            "worse with position, not lying still",
        ),
        Explanation(
            "fibromyalgia", "Widespread pain, often nocturnal.", "widespread, often at night"
        ),
        Explanation(
            "osteoarthritis", "Night pain in advanced osteoarthritis.", "night pain when advanced"
        ),
        Explanation(
            "parkinsons",
            "Off-period dystonia and cramps; associated with restless legs.",
            "off-period dystonia or cramps",
        ),
        Explanation(
            "addisons",
            "Cramps with hyponatraemia or hyperkalaemia: check sodium and potassium.",
            "check sodium and potassium",
        ),
        Explanation("tendinitis-bursitis", "Local tenderness.", "local tenderness"),
        Explanation(
            "bakers-cyst",
            "A ruptured cyst mimics DVT (pseudothrombophlebitis); it does not lower DVT risk.",
            "a ruptured cyst can mimic DVT",
        ),
        Explanation(
            "lumbar-stenosis",
            "Neurogenic claudication is typically relieved by sitting or flexion and is not worse "
            "lying down: a weaker explanation for pain that is nocturnal or at rest.",
            "a weaker fit for pain at rest or at night",
        ),
    )
    # §17: Addison's cramps come with hyponatraemia or hyperkalaemia; the latest sodium and
    # potassium within the §2 window are shown beside it.
    electrolyte_window_days: int = ELECTROLYTE_WINDOW_DAYS
    bakers_cyst_caution: str = (
        "A Baker's cyst does not explain away a swollen leg: assess for DVT as usual."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        found = [(kind, self.coded_conditions(facts, kind.valueset)) for kind in self.explanations]
        documented = [(kind, conditions) for kind, conditions in found if conditions]
        if not documented:
            return None
        complaints = self.leg_complaints(facts)
        if not complaints:
            return None  # a candidate cause (§1.6): never on a chart without a leg complaint
        evidence: list[Evidence] = []
        for kind, conditions in documented:
            evidence += self.kind_evidence(facts, kind, conditions)
        listing = " ".join(
            f"{self.condition_names(conditions)}: {kind.note}" for kind, conditions in documented
        )
        return Finding(
            severity="info",
            summary=fit_summary(self.summary(documented)),
            explanation=(
                "Leg symptoms are on record, and the record documents conditions that can cause "
                f"them. {listing} These are alternatives to weigh alongside the other cards; "
                "they do not make another cause less likely to be present."
            ),
            evidence=unique_evidence((*evidence, *self.complaint_evidence(complaints))),
            cautions=self.cautions(documented),
            # The least specific card: a list of documented associations, shown after the
            # others.
            specificity=60,
        )

    def summary(self, documented: list[tuple[Explanation, list[ConditionEntry]]]) -> str:
        lead_kind, lead_conditions = documented[0]
        lead = condition_name(lead_conditions[0])
        if len(documented) == 1:
            return f"Documented {lead} may explain leg pain; {lead_kind.summary_note}."
        others = len(documented) - 1
        return (
            f"Documented {lead} and {others} other condition{'s' if others > 1 else ''} may "
            "explain leg pain; see the notes for each."
        )

    def kind_evidence(
        self, facts: Facts, kind: Explanation, conditions: list[ConditionEntry]
    ) -> list[Evidence]:
        """The conditions documented of one kind, and what §17 says to check beside them."""
        evidence = [self.condition_evidence(c) for c in conditions]
        if kind.valueset == "addisons":
            evidence += self.electrolytes(facts)
        return evidence

    def cautions(
        self, documented: list[tuple[Explanation, list[ConditionEntry]]]
    ) -> tuple[str, ...]:
        if any(kind.valueset == "bakers-cyst" for kind, _ in documented):
            return (self.bakers_cyst_caution,)
        return ()

    def condition_names(self, conditions: list[ConditionEntry]) -> str:
        """Each condition once, in the record's words: the same problem is often coded twice."""
        return ", ".join(dict.fromkeys(condition_name(c) for c in conditions))

    def electrolytes(self, facts: Facts) -> list[Evidence]:
        """§17: Addison's cramps come with hyponatraemia or hyperkalaemia; show the latest
        values within the §2 window."""
        shown = []
        sodium = self.latest_lab(facts, "sodium", within_days=self.electrolyte_window_days)
        if sodium is not None:
            shown.append(self.lab_evidence(sodium, "Sodium", "mmol/L", 1))
        potassium = self.latest_lab(facts, "potassium", within_days=self.electrolyte_window_days)
        if potassium is not None:
            shown.append(self.lab_evidence(potassium, "Potassium", "mmol/L"))
        return shown


LOGIC = OtherLegPainConditions()

RULE = RuleVersion(
    id="other-leg-pain-conditions",
    version="1.0.0",
    title="Other documented causes of leg pain",
    severities=("info",),
    logic=LOGIC,
    requires=(CONDITIONS, ENCOUNTERS, observations("sodium", "potassium")),
    valuesets=(
        *(kind.valueset for kind in LOGIC.explanations),
        "sodium",
        "potassium",
        *COMPLAINT_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "Clinical content §17 (documented alternative explanations of leg pain); lumbar "
            "spinal stenosis: NASS evidence-based clinical guideline, Kreiner DS et al., "
            "Spine J 2013;13:734"
        ),
        url="https://doi.org/10.1016/j.spinee.2012.11.059",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Info only, one card listing every documented condition with its §17 note. A "
            "candidate cause (§1.6): needs any leg complaint on record. Only active Conditions "
            "count (a resolved tendinitis explains nothing now). Order: most plausible for "
            "night or at-rest pain first, lumbar spinal stenosis last with its note that it is "
            "a weaker explanation for nocturnal or at-rest pain. A Baker's cyst is listed with "
            "its DVT-mimic note and never suppresses or lowers the dvt-risk card. Addison's "
            "disease shows the latest sodium and potassium within 90 days, as §17 says to "
            "check them. Venous disease has its own rule (venous-insufficiency); cracked heel "
            "fissures are left out (no code). §17 cites no guideline beyond code sources; the "
            "NASS lumbar stenosis guideline is cited for the stenosis note, the one clinical "
            "claim the card weighs."
        ),
    ),
)
