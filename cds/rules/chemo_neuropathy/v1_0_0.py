"""chemo-neuropathy 1.0.0: a neurotoxic chemotherapy agent ordered or given within 12 months,
with a neuropathy code (warning) or a neuropathic leg complaint (info) (clinical-content.md §6)."""

from __future__ import annotations

from dataclasses import replace

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules._leg_context import (
    PAIN_CRAMP_OR_RESTLESS_VALUESETS,
    complaint_evidence,
    pain_cramp_or_restless_complaints,
)
from cds.rules.base import (
    DataRequirement,
    Evidence,
    Finding,
    OrderSuggestion,
    Provenance,
    Rule,
    Severity,
)
from cds.rules.common import (
    capitalise,
    condition_evidence,
    drug_names,
    fit_summary,
    low_confidence_cautions,
    medication_evidence,
)

RULE_ID = "chemo-neuropathy"
VERSION = "1.0.0"

# §6 / §19: CIPN can persist or worsen ("coast") for months after the last dose.
EXPOSURE_WINDOW_DAYS = 365
# Co-factor tests (§6 "optionally B12 and HbA1c") are suggested only when none is this recent.
COFACTOR_LAB_WINDOW_DAYS = 365

B12 = OrderSuggestion(
    "Vitamin B12 (cobalamin), serum", "2132-9", "Another treatable cause of neuropathy"
)
HBA1C = OrderSuggestion("HbA1c", "4548-4", "Diabetes as a co-factor of neuropathy")

EXPLANATION = (
    "Vinca alkaloids, taxanes, platinum agents, bortezomib, thalidomide and brentuximab "
    "vedotin cause a length-dependent sensory neuropathy: burning, tingling, numbness or "
    "cramps that start in the feet and legs and are often worse at night. It can appear or "
    'keep worsening for months after the last dose ("coasting", typical of platinum agents), '
    "so exposure within the last 12 months counts. The ASCO guideline (2020) asks for "
    "assessment before each cycle, discussion of delaying, reducing or stopping the agent when "
    "neuropathy is intolerable, and allows duloxetine for painful neuropathy."
)
EXAM_CAUTION = (
    "Examination findings (sensation, vibration, reflexes) cannot be assessed from the record."
)


def evaluate(facts: Facts) -> Finding | None:
    agents = _most_recent_first(
        facts, facts.medications_within("neurotoxic-chemotherapy", EXPOSURE_WINDOW_DAYS)
    )
    if not agents:
        return None
    neuropathy = facts.conditions("peripheral-neuropathy-any")
    # §1.6: without a coded neuropathy this is a candidate cause, so it needs a complaint; only
    # pain, cramp or restlessness fits a neuropathy (swelling alone does not).
    complaints = pain_cramp_or_restless_complaints(facts)
    if not neuropathy and not complaints:
        return None

    names = drug_names(agents)
    drafted = any(m.drafted for m in agents)
    severity: Severity
    if neuropathy:
        severity = "warning"
        if drafted:
            summary = (
                f"Peripheral neuropathy on record and {names} being ordered: it can cause or "
                "worsen chemotherapy-induced neuropathy."
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
                f"{capitalise(names)} being ordered can cause painful peripheral neuropathy; "
                "leg pain is already on record."
            )
        else:
            summary = (
                f"Recent {names} can cause painful peripheral neuropathy; consider as cause "
                "of leg pain."
            )

    evidence: list[Evidence] = [_agent_evidence(m, facts) for m in agents]
    evidence += [condition_evidence(c, "Peripheral neuropathy") for c in neuropathy]
    evidence += [
        condition_evidence(c, "History of antineoplastic chemotherapy")
        for c in facts.conditions("chemo-history", include_history=True)
    ]
    evidence += complaint_evidence(complaints)

    cautions = [*low_confidence_cautions(agents), EXAM_CAUTION]
    cofactors = _cofactor_conditions(facts)
    if cofactors:
        cautions.append(f"{cofactors} is also on record: it can cause or add to the neuropathy.")
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity=severity,
        summary=fit_summary(summary),
        explanation=EXPLANATION,
        evidence=tuple(evidence),
        suggestions=_cofactor_tests(facts),
        cautions=tuple(cautions),
        involves_draft_order=drafted,
        # A named drug with a coded neuropathy is among the most specific explanations; a drug
        # with a complaint only is a plausible candidate among several.
        specificity=20 if neuropathy else 40,
    )


def _most_recent_first(facts: Facts, agents: list[MedicationEntry]) -> list[MedicationEntry]:
    def age(med: MedicationEntry) -> float:
        days = _days_since_last(facts, med)
        return float("inf") if days is None else days  # undated last

    return sorted(agents, key=age)


def _days_since_last(facts: Facts, med: MedicationEntry) -> int | None:
    if med.drafted:
        return 0
    last = med.end or med.start
    return facts.days_ago(last) if last is not None else None


def _agent_evidence(med: MedicationEntry, facts: Facts) -> Evidence:
    base = medication_evidence(med)
    if med.drafted:
        return base
    days = _days_since_last(facts, med)
    verb = "given" if med.administered else "ordered or taken"
    when = f"last {verb} {days} days ago" if days is not None else "date unknown"
    return replace(base, value=f"{base.value}, {when}")


def _cofactor_conditions(facts: Facts) -> str:
    found = []
    if facts.has_condition("diabetes"):
        found.append("Diabetes")
    if facts.has_condition("alcohol-use-disorder") or facts.has_condition("alcoholic-neuropathy"):
        found.append("Alcohol use disorder")
    return " and ".join(found)


def _cofactor_tests(facts: Facts) -> tuple[OrderSuggestion, ...]:
    tests = []
    if not facts.labs("vitamin-b12", within_days=COFACTOR_LAB_WINDOW_DAYS):
        tests.append(B12)
    if not facts.labs("hba1c", within_days=COFACTOR_LAB_WINDOW_DAYS):
        tests.append(HBA1C)
    return tuple(tests)


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Chemotherapy-induced peripheral neuropathy",
    severities=("info", "warning"),
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
            "whose last date is within 365 days (Facts.medications_within); drafted orders count. "
            "Chemotherapy Procedures are not read: codes.tsv holds no verified chemotherapy "
            "procedure codes. Z92.21 (history of chemotherapy) is shown as evidence but does not "
            "trigger the card: it names neither the agent nor the date. 'A neuropathy code' is "
            "any active code in peripheral-neuropathy-any (drug-induced, unspecified, diabetic, "
            "alcoholic, peripheral nerve disease): a pre-existing neuropathy is a risk factor "
            "for severe CIPN and is worsened by these agents. The warning (agent + coded "
            "neuropathy) fires without a complaint: a coded neuropathy on a neurotoxic agent "
            "is an adverse-effect finding that bears on dosing (ASCO). The info card needs a "
            "leg pain, cramp or restless-legs complaint (§1.6); swelling alone does not fit a "
            "neuropathy. B12 and HbA1c are suggested (§6 'optionally') only when none was "
            "measured in 12 months."
        ),
    ),
    requires=(
        DataRequirement("Patient"),
        DataRequirement("MedicationRequest"),
        DataRequirement("MedicationStatement"),
        DataRequirement("MedicationAdministration"),
        DataRequirement("Condition"),
        DataRequirement("Observation", ("vitamin-b12", "hba1c", "leg-complaint")),
        DataRequirement("Encounter"),
    ),
    evaluate=evaluate,
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
)
