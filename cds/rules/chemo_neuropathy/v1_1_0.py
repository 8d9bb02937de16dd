"""chemo-neuropathy 1.1.0: exposure and complaints read as §22 settles them, the wider neuropathy
and co-factor sets, and a short card that names the complaint on record."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, Severity
from cds.rules.chemo_neuropathy import v1_0_0 as previous
from cds.rules.lib.complaints.v2 import LEG_CRAMP, LEG_PAIN, SWELLING
from cds.rules.lib.evidence.v1 import unique_evidence
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.text.v1 import capitalise, fit_summary

# The value sets `complaint_words` reads besides those 1.0.0 declares (restless-legs is one).
COMPLAINT_WORD_VALUESETS: tuple[str, ...] = (LEG_PAIN, LEG_CRAMP, SWELLING)


@dataclass(frozen=True)
class ChemoNeuropathy(previous.ChemoNeuropathy, Library2026_12):
    """§6 as §22 settles it. Exposure is MedicationsV2's (§22.2 c, d): an order counts from its
    therapy end (dosage bounds), never from its dispensing window, and a proposal is not
    exposure. A neuropathy coded (the 80-code peripheral-neuropathy-any set) on a neurotoxic
    agent within 12 months is a finding (warning); without one, the agent is a candidate cause
    (info) and needs a leg pain, cramp or restless-legs complaint, which may be a Condition, a
    visit reason or an Observation (§22.2 e). The summary names the complaint on record, and
    says nothing of leg pain when none is recorded."""

    explanation: str = (
        "These agents (vinca alkaloids, taxanes, platinum, bortezomib, thalidomide, brentuximab "
        "vedotin) cause a sensory neuropathy of the feet and legs, often worse at night, that "
        "can appear or worsen for months after the last dose. ASCO 2020: assess before each "
        "cycle; consider delaying, reducing or stopping the agent if intolerable."
    )
    agents_shown: int = 3  # one evidence line per drug, the most recent of each
    evidence_shown: int = 6
    cautions_shown: int = 2

    def evaluate(self, facts: Facts) -> Finding | None:
        agents = self.most_recent_first(
            facts,
            self.medications_within(facts, "neurotoxic-chemotherapy", self.exposure_window_days),
        )
        if not agents:
            return None
        neuropathy = self.coded_conditions(facts, "peripheral-neuropathy-any")
        complaints = self.pain_cramp_or_restless_complaints(facts)
        if not neuropathy and not complaints:
            return None

        names = self.drug_names(agents)
        drafted = any(m.drafted for m in agents)
        words = self.complaint_words(facts, complaints)
        severity: Severity = "warning" if neuropathy else "info"
        summary = self.card_summary(names, words, neuropathy=bool(neuropathy), drafted=drafted)

        evidence: list[Evidence] = [
            self.agent_evidence(m, facts) for m in self.latest_of_each_drug(agents)
        ]
        evidence += [self.condition_evidence(c, "Peripheral neuropathy") for c in neuropathy[:2]]
        evidence += self.complaint_evidence(self.one_per_condition(complaints))
        evidence += [
            self.condition_evidence(c, "History of antineoplastic chemotherapy")
            for c in self.coded_conditions(facts, "chemo-history", include_history=True)[:1]
        ]

        cautions = list(self.low_confidence_cautions(agents))
        cofactors = self.cofactor_conditions(facts)
        if cofactors:
            cautions.append(
                f"{cofactors} is also on record: it can cause or add to the neuropathy."
            )
        cautions.append(self.exam_caution)
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=self.explanation,
            evidence=unique_evidence(evidence)[: self.evidence_shown],
            suggestions=self.cofactor_tests(facts),
            cautions=tuple(cautions[: self.cautions_shown]),
            involves_draft_order=drafted,
            specificity=20 if neuropathy else 40,
            candidate=not neuropathy,
        )

    def card_summary(self, names: str, words: str, *, neuropathy: bool, drafted: bool) -> str:
        """The summary, naming the complaint on record (when there is one) in its own words."""
        if neuropathy and drafted:
            return (
                f"Peripheral neuropathy on record and {names} being ordered: it can cause or "
                "worsen chemotherapy-induced neuropathy."
            )
        if neuropathy and words != "leg symptoms":
            return (
                f"Peripheral neuropathy on record with {names} in the last 12 months: "
                f"chemotherapy-induced neuropathy may explain the {words}."
            )
        if neuropathy:
            return (
                f"Peripheral neuropathy on record with {names} in the last 12 months: possibly "
                "chemotherapy-induced."
            )
        if drafted:
            return (
                f"{capitalise(names)} being ordered can cause painful peripheral neuropathy; "
                f"{words} already on record."
            )
        return (
            f"Recent {names} can cause painful peripheral neuropathy; consider it as a cause of "
            f"the {words}."
        )

    def latest_of_each_drug(self, agents: list[MedicationEntry]) -> list[MedicationEntry]:
        """The most recent entry of each drug (agents come most recent first), at most
        `agents_shown`: a course of twelve infusions is one line, not twelve."""
        seen: set[tuple[str, ...]] = set()
        kept: list[MedicationEntry] = []
        for med in agents:
            if med.names not in seen:
                seen.add(med.names)
                kept.append(med)
        return kept[: self.agents_shown]

    def days_since_last(self, facts: Facts, med: MedicationEntry) -> int | None:
        """Days since last given or taken, as MedicationsV2 reads it (therapy end, not the
        dispensing window)."""
        if med.drafted:
            return 0
        last = self.last_taken(med)
        return facts.days_ago(last) if last is not None else None

    def agent_evidence(self, med: MedicationEntry, facts: Facts) -> Evidence:
        base = self.medication_evidence(med)
        if med.drafted:
            return base
        days = self.days_since_last(facts, med)
        if days is None:
            when = "date unknown"
        elif med.administered:
            when = f"last given {days} days ago"
        elif med.therapy_end is not None:
            when = f"therapy ended {days} days ago"
        elif med.reference.startswith("MedicationRequest/"):
            when = f"ordered {days} days ago"
        else:
            when = f"started {days} days ago"
        return replace(base, value=f"{base.value}, {when}")


LOGIC = ChemoNeuropathy()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=(*previous.RULE.valuesets, *COMPLAINT_WORD_VALUESETS),
    source_label="ASCO CIPN guideline 2020",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Exposure as §22.2 c and d settle it: an order's therapy ends at its dosage bounds, "
            "not at its dispensing window (an active order stays exposure; a stopped one counts "
            "from its therapy end, else from when it was ordered), and a proposal is not "
            "exposure. Complaints may be a visit reason or an Observation too (§22.2 e). Reads "
            "the wider 2026.12 sets: 80 neuropathy codes, and diabetes, alcohol use disorder "
            "and HbA1c as co-factors. The info card (no neuropathy coded) is a candidate cause, "
            "shown only with a leg pain, cramp or restless-legs complaint (§1.6). The summary "
            "names the complaint on record (leg cramps, leg pain, restless legs) and no longer "
            "says 'leg pain' when none is recorded. Shorter card: two-sentence explanation, one "
            "evidence line per drug (its most recent entry), at most six lines and two cautions."
        ),
        rationale=(
            "A coded neuropathy on a neurotoxic agent stays a finding without a complaint "
            "(ASCO: it bears on dosing), as in 1.0.0; its summary then says 'possibly "
            "chemotherapy-induced' rather than naming a complaint nobody recorded. Evidence: the "
            "most recent entry of each drug (up to three), the coded neuropathy (up to two), the "
            "complaint (up to two), the history-of-chemotherapy code (one). Cautions in the "
            "order name-only medication match, co-factor (diabetes, alcohol) on record, "
            "examination not assessable, cut at two. B12 and HbA1c stay suggested (§6, "
            "'optionally') when none was measured in 12 months: other treatable causes of the "
            "neuropathy the card is about. No stop or hold action: whether to delay, reduce or "
            "stop chemotherapy is the oncologist's decision (ASCO), so the card names it in "
            "text only."
        ),
    ),
)
