"""drug-induced-rls 1.0.0: an active antipsychotic, antidopaminergic antiemetic, serotonergic
antidepressant or sedating antihistamine with restless legs or akathisia coded (warning) or a
leg restlessness / pain / cramp complaint (info) (clinical-content.md §7)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cds.facts import Facts
from cds.fhirtime import days_between
from cds.record import ConditionEntry, MedicationEntry
from cds.rules.base import (
    Evidence,
    Finding,
    Provenance,
    RuleLogic,
    RuleVersion,
    Severity,
)
from cds.rules.lib.complaints.v1 import (
    COMPLAINTS_SHOWN,
    PAIN_CRAMP_OR_RESTLESS_VALUESETS,
    RESTLESS_LEGS,
)
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    MEDICATIONS,
    PATIENT,
    observations,
)
from cds.rules.lib.text.v1 import capitalise, fit_summary

# (value set, dopamine-blocking): dopamine blockers also cause akathisia, the main
# differential the card must name (§7). Bupropion is in none of these sets (§7: RLS-neutral).
# The rule's default culprits, and the medication value sets RULE declares.
CULPRIT_CLASSES: tuple[tuple[str, bool], ...] = (
    ("antipsychotics", True),
    ("antidopaminergic-antiemetics", True),
    ("serotonergic-antidepressants", False),
    ("sedating-antihistamines", False),
)


@dataclass(frozen=True)
class _Culprit:
    med: MedicationEntry
    dopamine_blocking: bool


@dataclass(frozen=True)
class DrugInducedRls(RuleLogic, Library2026_11):
    """§7. Active is the `medications` library's (§1.2: 30-day grace, drafts count); the
    complaints that count are `complaints.pain_cramp_or_restless_complaints`."""

    culprit_classes: tuple[tuple[str, bool], ...] = CULPRIT_CLASSES
    # §7: a start this many days or fewer before the RLS onset strengthens the link.
    start_before_onset_days: int = 90
    # Drug names shown in a summary; the rest are in the evidence list.
    names_in_summary: int = 2
    # Complaints listed as evidence (the coded RLS and akathisia are always listed).
    complaints_shown: int = COMPLAINTS_SHOWN

    # The akathisia code as the card names it (display only; matching uses the `akathisia`
    # set).
    akathisia_name: str = "drug-induced akathisia (ICD-10-CM G25.71)"

    explanation: str = (
        "Dopamine-blocking drugs (antipsychotics, metoclopramide, prochlorperazine, "
        "promethazine), serotonergic antidepressants (SSRIs, SNRIs, mirtazapine, tricyclics) "
        "and sedating antihistamines can trigger or worsen restless legs syndrome; the AASM "
        "2024 guideline asks for a review of these exacerbating medications (stop, lower or "
        "switch where possible; bupropion does not share this effect). Iron status (ferritin "
        "and transferrin saturation) should be checked in everyone with restless legs."
    )
    history_caution: str = (
        "The record cannot tell restless legs from akathisia: the history (timing after a "
        "start or dose change, evening pattern, body distribution) does."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        culprits = self.active_culprits(facts)
        if not culprits:
            return None
        rls = self.coded_conditions(facts, RESTLESS_LEGS)
        akathisia = self.coded_conditions(facts, "akathisia")
        # §1.6: without a coded RLS or akathisia this is a candidate cause and needs a
        # complaint of restlessness, pain or cramp in the legs.
        complaints = self.pain_cramp_or_restless_complaints(facts)
        if not (rls or akathisia or complaints):
            return None

        meds = [c.med for c in culprits]
        dopamine_blocker = any(c.dopamine_blocking for c in culprits)
        drafted = any(m.drafted for m in meds)
        coded = rls or akathisia
        severity: Severity = "warning" if coded else "info"
        onset_source = rls or akathisia or complaints
        onset = self.earliest_onset(onset_source)
        onset_what = "restless legs" if rls else ("akathisia" if akathisia else "leg symptoms")

        explanation = self.explanation + (self.akathisia_differential() if dopamine_blocker else "")
        if onset is not None and any(self.started_shortly_before(m, onset) for m in meds):
            explanation += (
                f" A drug started {self.start_before_onset_days} days or less before the "
                f"{onset_what} began strengthens the link (see the evidence)."
            )

        evidence: list[Evidence] = [self.drug_evidence(m, onset, onset_what) for m in meds]
        conditions = unique_by_reference([*rls, *akathisia, *complaints[: self.complaints_shown]])
        evidence += [self.condition_evidence(c) for c in conditions]

        return Finding(
            severity=severity,
            summary=fit_summary(
                self.summary(
                    meds,
                    rls=bool(rls),
                    akathisia=bool(akathisia),
                    drafted=drafted,
                    dopamine_blocker=dopamine_blocker,
                )
            ),
            explanation=explanation,
            evidence=tuple(evidence),
            cautions=(*self.low_confidence_cautions(meds), self.history_caution),
            involves_draft_order=drafted,
            # A named drug with RLS or akathisia coded is a specific explanation; a drug with a
            # complaint only is one candidate among several.
            specificity=20 if coded else 40,
        )

    def akathisia_differential(self) -> str:
        """Added to the explanation when a dopamine blocker is among the culprits."""
        return (
            f" With a dopamine blocker, {self.akathisia_name} is the main differential: an "
            "inner restlessness, often of the whole body, that follows a start or dose increase "
            "and lacks the evening and night worsening at rest that defines restless legs."
        )

    def active_culprits(self, facts: Facts) -> list[_Culprit]:
        # A drug in several classes is listed once, dopamine-blocking if any of them is.
        found: dict[str, _Culprit] = {}
        for valueset, dopamine_blocking in self.culprit_classes:
            for med in self.active_medications(facts, valueset):
                known = found.get(med.reference)
                found[med.reference] = _Culprit(
                    med, dopamine_blocking or (known is not None and known.dopamine_blocking)
                )
        return list(found.values())

    def summary(
        self,
        meds: list[MedicationEntry],
        *,
        rls: bool,
        akathisia: bool,
        drafted: bool,
        dopamine_blocker: bool,
    ) -> str:
        names = self.short_names(meds)
        if drafted and rls:
            also = " (or cause akathisia)" if dopamine_blocker else ""
            return (
                f"{capitalise(names)} being ordered can trigger or worsen restless legs, already "
                f"on record{also}."
            )
        if drafted and akathisia:
            return (
                f"{capitalise(names)} being ordered can worsen the akathisia on record and "
                "trigger restless legs."
            )
        if rls:
            also = " (or cause akathisia)" if dopamine_blocker else ""
            return (
                f"Restless legs coded while on {names}, which can trigger or worsen RLS{also}; "
                "review the medication."
            )
        if akathisia:
            return (
                f"Akathisia coded while on {names}, which can cause akathisia and worsen "
                "restless legs; review the medication."
            )
        if dopamine_blocker:
            return (
                f"{capitalise(names)} and other dopamine-blocking drugs can trigger or worsen "
                "restless legs (or akathisia)."
            )
        return (
            f"{capitalise(names)} can trigger or worsen restless legs; consider it as a cause of "
            "the leg symptoms."
        )

    def short_names(self, meds: list[MedicationEntry]) -> str:
        names = self.drug_names(meds)
        count = len({n for m in meds for n in m.names})
        if count <= self.names_in_summary:
            return names
        return self.drug_names(meds[: self.names_in_summary]) + " and others"

    def earliest_onset(self, conditions: list[ConditionEntry]) -> datetime | None:
        dates = [c.onset or c.recorded for c in conditions]
        known = [d for d in dates if d is not None]
        return min(known) if known else None

    def started_shortly_before(self, med: MedicationEntry, onset: datetime) -> bool:
        if med.drafted or med.start is None:
            return False
        return 0 <= days_between(med.start, onset) <= self.start_before_onset_days

    def drug_evidence(
        self, med: MedicationEntry, onset: datetime | None, onset_what: str
    ) -> Evidence:
        base = self.medication_evidence(med)
        if med.drafted or onset is None or med.start is None:
            return base
        gap = days_between(med.start, onset)
        if gap < 0:
            timing = f"started {-gap} days after the {onset_what} began (may worsen it)"
        elif gap <= self.start_before_onset_days:
            timing = (
                f"started {gap} days before the {onset_what} began "
                f"(within {self.start_before_onset_days} days: strengthens the link)"
            )
        else:
            timing = f"started {gap} days before the {onset_what} began"
        return replace(base, value=f"{base.value}, {timing}")


LOGIC = DrugInducedRls()

RULE = RuleVersion(
    id="drug-induced-rls",
    version="1.0.0",
    title="Drug-induced or drug-worsened restless legs (or akathisia)",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=(PATIENT, *MEDICATIONS, CONDITIONS, observations("leg-complaint"), ENCOUNTERS),
    valuesets=(
        *(name for name, _ in CULPRIT_CLASSES),
        "akathisia",
        *PAIN_CRAMP_OR_RESTLESS_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "AASM clinical practice guideline for the treatment of RLS and PLMD: Winkelman JW "
            "et al. J Clin Sleep Med 2025;21(1):137-152 (exacerbating medications)"
        ),
        url="https://doi.org/10.5664/jcsm.11390",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Culprits are the four §7 classes as value sets, active per §1.2 (30-day grace, "
            "drafts count); bupropion is in none of them. 'RLS code' is the restless-legs set "
            "(G25.81, 32914008, and G47.61 periodic limb movement disorder, which the same "
            "drugs worsen). 'Leg-restlessness/cramp context' is a §1.6 complaint coded as leg "
            "pain, cramp or restless legs; swelling alone does not count. Warning = RLS or "
            "akathisia coded (active Condition) while a culprit is active; it fires without a "
            "further complaint because the coded condition is the complaint (and coded "
            "akathisia on a culprit is an adverse-effect finding). The akathisia differential "
            "is named for all dopamine blockers (antipsychotics and antidopaminergic "
            "antiemetics), not only antipsychotics. The §7 timing criterion (start <= 90 days "
            "before onset) is computed against the earliest onset of the coded RLS/akathisia, "
            "or of the complaint when none is coded; it is stated in the evidence and the "
            "explanation, and does not change the severity. No suggestions (§7: medication "
            "review); iron testing is named in the text and ordered from rls-secondary-causes."
        ),
    ),
)
