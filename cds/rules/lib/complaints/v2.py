"""Leg complaints and symptoms on record: clinical-content.md §1.6 as §22.2 e settles where they
may be coded (release 2026.12).

A complaint or symptom is coded in a value set on:
- a Condition: active, or with its onset (else its recording) within the window;
- an Encounter: its reasonCode, or a reasonReference to a Condition in the set (at the
  encounter's start), within the window;
- an Observation whose code or coded value is in the set (at its effective time), within the
  window.

Changes from v1: Encounter reasonReference and an Observation's coded value count, and the same
reading serves every kind of symptom (PE symptoms of §11, restless legs of §8), not only leg
complaints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.lib.complaints.v1 import (
    ANY_LEG_COMPLAINT,
    COMPLAINT_VALUESETS,
    COMPLAINT_WINDOW_DAYS,
    COMPLAINTS_SHOWN,
    PAIN_CRAMP_OR_RESTLESS_VALUESETS,
    PAIN_OR_CRAMP,
    RESTLESS_LEGS,
    SWELLING,
    UNILATERAL_SWELLING,
    complaint_evidence,
)
from cds.rules.lib.conditions.v1 import ACTIVE_CLINICAL_STATUSES
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.terminology import Coding

__all__ = [
    "ANY_LEG_COMPLAINT",
    "COMPLAINTS_SHOWN",
    "COMPLAINT_VALUESETS",
    "COMPLAINT_WINDOW_DAYS",
    "LEG_CRAMP",
    "LEG_PAIN",
    "PAIN_CRAMP_OR_RESTLESS_VALUESETS",
    "PAIN_OR_CRAMP",
    "RESTLESS_LEGS",
    "SWELLING",
    "UNILATERAL_SWELLING",
    "complaint_evidence",
    "complaint_words",
    "complaints_in",
    "has_leg_complaint",
    "leg_complaints",
    "pain_cramp_or_restless_complaints",
    "pain_or_cramp_complaints",
    "pain_or_swelling_complaints",
    "recorded",
    "swelling_complaints",
    "unilateral_swelling",
]

# Narrower kinds (release 2026.12): leg pain alone, leg cramps alone.
LEG_PAIN = "leg-pain"
LEG_CRAMP = "leg-cramp"


def recorded(
    facts: Facts, valueset: str, *, within_days: int, active_counts: bool = True
) -> list[ConditionEntry]:
    """Everything coded in `valueset` on a Condition, an Encounter reason or an Observation,
    recorded within `within_days` (an active Condition of any age counts when `active_counts`),
    as condition-like entries (`source` says which), each resource once, newest first within
    each kind."""
    found = [
        c
        for c in facts.conditions_in(valueset)
        if (active_counts and c.clinical_status in ACTIVE_CLINICAL_STATUSES)
        or facts.within(c.onset or c.recorded, within_days)
    ]
    found += [
        o for o in facts.coded_observations_in(valueset) if facts.within(o.onset, within_days)
    ]
    conditions = {c.reference: c for c in facts.conditions_in(valueset)}
    for encounter in facts.encounters:
        if not facts.within(encounter.start, within_days):
            continue
        matched = facts.matches(valueset, encounter.reason_codings)
        if matched is not None:
            found.append(_from_encounter(encounter.reference, encounter.start, matched))
            continue
        for target in encounter.reason_references:
            condition = conditions.get(target)
            if condition is not None:
                found.append(
                    replace(
                        condition,
                        reference=encounter.reference,
                        onset=encounter.start,
                        recorded=encounter.start,
                        clinical_status=None,
                        source="Encounter",
                    )
                )
                break
    return unique_by_reference(found)


def _from_encounter(reference: str, start: datetime | None, matched: Coding) -> ConditionEntry:
    return ConditionEntry(
        reference=reference,
        codings=(matched,),
        display=str(matched.get("display") or matched.get("code")),
        clinical_status=None,
        verification_status=None,
        onset=start,
        recorded=start,
        abatement=None,
        source="Encounter",
    )


def leg_complaints(facts: Facts) -> list[ConditionEntry]:
    """Every §1.6 leg complaint on record (computed once per call, shared by the rules)."""
    return facts.memo(
        (__name__, "leg_complaints"),
        lambda f: recorded(f, ANY_LEG_COMPLAINT, within_days=COMPLAINT_WINDOW_DAYS),
    )


def has_leg_complaint(facts: Facts) -> bool:
    return bool(leg_complaints(facts))


def complaints_in(facts: Facts, valueset: str) -> list[ConditionEntry]:
    """The leg complaints on record of one kind (a value set narrower than leg-complaint)."""
    return [c for c in leg_complaints(facts) if facts.matches(valueset, c.codings) is not None]


def pain_or_cramp_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg pain or cramp on record (§1.6): restless legs or swelling alone are not pain."""
    return complaints_in(facts, PAIN_OR_CRAMP)


def pain_cramp_or_restless_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg pain, cramp or restless legs: what a nerve cause (§6, §9) or drug-induced
    restlessness (§7) explains."""
    return unique_by_reference(
        [*complaints_in(facts, PAIN_OR_CRAMP), *complaints_in(facts, RESTLESS_LEGS)]
    )


def pain_or_swelling_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg pain, cramp or swelling on record: how a clot may present."""
    return unique_by_reference(
        [*complaints_in(facts, PAIN_OR_CRAMP), *complaints_in(facts, SWELLING)]
    )


def complaint_words(facts: Facts, complaints: Sequence[ConditionEntry]) -> str:
    """What the complaints are, in a clinician's words, for a summary that says what is on
    record: "leg cramps", "leg pain", "leg pain and cramps", "restless legs", "leg swelling";
    "leg symptoms" when the codes say no more."""
    kinds = [
        words
        for valueset, words in (
            (LEG_PAIN, "pain"),
            (LEG_CRAMP, "cramps"),
            (RESTLESS_LEGS, "restless legs"),
            (SWELLING, "swelling"),
        )
        if any(facts.matches(valueset, c.codings) is not None for c in complaints)
    ]
    if not kinds:
        return "leg symptoms"
    if kinds == ["restless legs"]:
        return "restless legs"
    text = " and ".join(k for k in kinds if k != "restless legs")
    text = f"leg {text}" if text else ""
    if "restless legs" in kinds:
        text = f"{text} and restless legs" if text else "restless legs"
    return text


def swelling_complaints(facts: Facts) -> list[ConditionEntry]:
    return complaints_in(facts, SWELLING)


def unilateral_swelling(facts: Facts) -> list[ConditionEntry]:
    return complaints_in(facts, UNILATERAL_SWELLING)
