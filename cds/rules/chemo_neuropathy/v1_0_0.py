"""chemo-neuropathy 1.0.0: a neurotoxic chemotherapy agent ordered or given within 12 months,
with a neuropathy code (warning) or a neuropathic leg complaint (info) (clinical-content.md §6)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion, Severity
from cds.rules.lib.complaints.v1 import PAIN_CRAMP_OR_RESTLESS_VALUESETS
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import (
    HBA1C,
    VITAMIN_B12,
    OrderSuggestion,
    order,
)
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    MEDICATIONS_GIVEN,
    PATIENT,
    observations,
)
from cds.rules.lib.text.v1 import capitalise, fit_summary


@dataclass(frozen=True)
class ChemoNeuropathy(RuleLogic, Library2026_11):
    """§6. Exposure is the `medications` library's (`medications.medications_within`): any
    order, statement or administration active or last dated within the window."""

    # §6 / §19: CIPN can persist or worsen ("coast") for months after the last dose.
    exposure_window_days: int = 365
    # Co-factor tests (§6 "optionally B12 and HbA1c") are suggested only when none is this
    # recent.
    cofactor_lab_window_days: int = 365

    b12_order: OrderSuggestion = order(VITAMIN_B12, "Another treatable cause of neuropathy")
    hba1c_order: OrderSuggestion = order(HBA1C, "Diabetes as a co-factor of neuropathy")

    explanation: str = (
        "Vinca alkaloids, taxanes, platinum agents, bortezomib, thalidomide and brentuximab "
        "vedotin cause a length-dependent sensory neuropathy: burning, tingling, numbness or "
        "cramps that start in the feet and legs and are often worse at night. It can appear or "
        'keep worsening for months after the last dose ("coasting", typical of platinum '
        "agents), so exposure within the last 12 months counts. The ASCO guideline (2020) asks "
        "for assessment before each cycle, discussion of delaying, reducing or stopping the "
        "agent when neuropathy is intolerable, and allows duloxetine for painful neuropathy."
    )
    exam_caution: str = (
        "Examination findings (sensation, vibration, reflexes) cannot be assessed from the record."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        agents = self.most_recent_first(
            facts,
            self.medications_within(facts, "neurotoxic-chemotherapy", self.exposure_window_days),
        )
        if not agents:
            return None
        neuropathy = self.coded_conditions(facts, "peripheral-neuropathy-any")
        # §1.6: without a coded neuropathy this is a candidate cause, so it needs a complaint;
        # only pain, cramp or restlessness fits a neuropathy (swelling alone does not).
        complaints = self.pain_cramp_or_restless_complaints(facts)
        if not neuropathy and not complaints:
            return None

        names = self.drug_names(agents)
        drafted = any(m.drafted for m in agents)
        severity: Severity
        if neuropathy:
            severity = "warning"
            if drafted:
                summary = (
                    f"Peripheral neuropathy on record and {names} being ordered: it can cause "
                    "or worsen chemotherapy-induced neuropathy."
                )
            else:
                summary = (
                    f"Peripheral neuropathy on record with {names} in the last 12 months: "
                    "chemotherapy-induced neuropathy may explain leg pain."
                )
        else:
            severity = "info"
            if drafted:
                summary = (
                    f"{capitalise(names)} being ordered can cause painful peripheral "
                    "neuropathy; leg pain is already on record."
                )
            else:
                summary = (
                    f"Recent {names} can cause painful peripheral neuropathy; consider as cause "
                    "of leg pain."
                )

        evidence: list[Evidence] = [self.agent_evidence(m, facts) for m in agents]
        evidence += [self.condition_evidence(c, "Peripheral neuropathy") for c in neuropathy]
        evidence += [
            self.condition_evidence(c, "History of antineoplastic chemotherapy")
            for c in self.coded_conditions(facts, "chemo-history", include_history=True)
        ]
        evidence += self.complaint_evidence(complaints)

        cautions = [*self.low_confidence_cautions(agents), self.exam_caution]
        cofactors = self.cofactor_conditions(facts)
        if cofactors:
            cautions.append(
                f"{cofactors} is also on record: it can cause or add to the neuropathy."
            )
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=self.explanation,
            evidence=tuple(evidence),
            suggestions=self.cofactor_tests(facts),
            cautions=tuple(cautions),
            involves_draft_order=drafted,
            # A named drug with a coded neuropathy is among the most specific explanations; a
            # drug with a complaint only is a plausible candidate among several.
            specificity=20 if neuropathy else 40,
        )

    def most_recent_first(
        self, facts: Facts, agents: list[MedicationEntry]
    ) -> list[MedicationEntry]:
        def age(med: MedicationEntry) -> float:
            days = self.days_since_last(facts, med)
            return float("inf") if days is None else days  # undated last

        return sorted(agents, key=age)

    def days_since_last(self, facts: Facts, med: MedicationEntry) -> int | None:
        if med.drafted:
            return 0
        last = med.end or med.start
        return facts.days_ago(last) if last is not None else None

    def agent_evidence(self, med: MedicationEntry, facts: Facts) -> Evidence:
        base = self.medication_evidence(med)
        if med.drafted:
            return base
        days = self.days_since_last(facts, med)
        verb = "given" if med.administered else "ordered or taken"
        when = f"last {verb} {days} days ago" if days is not None else "date unknown"
        return replace(base, value=f"{base.value}, {when}")

    def cofactor_conditions(self, facts: Facts) -> str:
        found = []
        if self.has_condition(facts, "diabetes"):
            found.append("Diabetes")
        if self.has_condition(facts, "alcohol-use-disorder") or self.has_condition(
            facts, "alcoholic-neuropathy"
        ):
            found.append("Alcohol use disorder")
        return " and ".join(found)

    def cofactor_tests(self, facts: Facts) -> tuple[OrderSuggestion, ...]:
        tests = []
        if not self.lab_results(facts, "vitamin-b12", within_days=self.cofactor_lab_window_days):
            tests.append(self.b12_order)
        if not self.lab_results(facts, "hba1c", within_days=self.cofactor_lab_window_days):
            tests.append(self.hba1c_order)
        return tuple(tests)


LOGIC = ChemoNeuropathy()

RULE = RuleVersion(
    id="chemo-neuropathy",
    version="1.0.0",
    title="Chemotherapy-induced peripheral neuropathy",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=(
        PATIENT,
        *MEDICATIONS_GIVEN,
        CONDITIONS,
        observations("vitamin-b12", "hba1c", "leg-complaint"),
        ENCOUNTERS,
    ),
    valuesets=(
        "neurotoxic-chemotherapy",
        "peripheral-neuropathy-any",
        "chemo-history",
        "diabetes",
        "alcohol-use-disorder",
        "alcoholic-neuropathy",
        "vitamin-b12",
        "hba1c",
        *PAIN_CRAMP_OR_RESTLESS_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "ASCO guideline: Loprinzi CL et al. Prevention and management of chemotherapy-"
            "induced peripheral neuropathy in survivors of adult cancers. J Clin Oncol "
            "2020;38(28):3325-3348"
        ),
        url="https://doi.org/10.1200/JCO.20.01399",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Exposure = any order, statement or administration of a §6 agent that is active or "
            "whose last date is within 365 days (medications.medications_within); drafted "
            "orders count. Chemotherapy Procedures are not read: codes.tsv holds no verified "
            "chemotherapy procedure codes. Z92.21 (history of chemotherapy) is shown as "
            "evidence but does not trigger the card: it names neither the agent nor the date. "
            "'A neuropathy code' is any active code in peripheral-neuropathy-any (drug-induced, "
            "unspecified, diabetic, alcoholic, peripheral nerve disease): a pre-existing "
            "neuropathy is a risk factor for severe CIPN and is worsened by these agents. The "
            "warning (agent + coded neuropathy) fires without a complaint: a coded neuropathy on "
            "a neurotoxic agent is an adverse-effect finding that bears on dosing (ASCO). The "
            "info card needs a leg pain, cramp or restless-legs complaint (§1.6); swelling alone "
            "does not fit a neuropathy. B12 and HbA1c are suggested (§6 'optionally') only when "
            "none was measured in 12 months."
        ),
    ),
)
