"""Leg complaints and symptoms on record: clinical-content.md §1.6 as §22.2 e settles where they
may be coded (release 2026.12).

A complaint or symptom is coded in a value set on:
- a Condition: active, or with its onset (else its recording) within the window;
- an Encounter: its reasonCode, or a reasonReference to a Condition in the set (at the
  encounter's start), within the window;
- an Observation whose code or coded value is in the set (at its effective time), within the
  window.

Changes from v1: Encounter reasonReference and an Observation's coded value count, and the same
reading (`recorded`) serves every kind of symptom (PE symptoms of §11, restless legs of §8), not
only leg complaints. Every other question of v1 (complaints by kind, evidence) asks
`leg_complaints`, so it reads complaints this way too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import Evidence
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
    Complaints,
)
from cds.rules.lib.conditions.v1 import ACTIVE_CLINICAL_STATUSES
from cds.rules.lib.evidence.v1 import condition_code, unique_by_reference
from cds.terminology import Coding

__all__ = [
    "ANY_LEG_COMPLAINT",
    "COMPLAINTS_SHOWN",
    "COMPLAINT_KIND_VALUESETS",
    "COMPLAINT_VALUESETS",
    "COMPLAINT_WINDOW_DAYS",
    "LEG_CRAMP",
    "LEG_PAIN",
    "PAIN_CRAMP_OR_RESTLESS_VALUESETS",
    "PAIN_OR_CRAMP",
    "RESTLESS_LEGS",
    "SWELLING",
    "UNILATERAL_SWELLING",
    "ComplaintsV2",
]

# Narrower kinds (release 2026.12): leg pain alone, leg cramps alone.
LEG_PAIN = "leg-pain"
LEG_CRAMP = "leg-cramp"
# Every kind `complaint_words` names: a rule that words its card from the complaints on record
# lists these in its own `valuesets` (with COMPLAINT_VALUESETS).
COMPLAINT_KIND_VALUESETS: tuple[str, ...] = (LEG_PAIN, LEG_CRAMP, RESTLESS_LEGS, SWELLING)


class ComplaintsV2(Complaints):
    """Leg complaints and symptoms on record, as §22.2 e settles where they may be coded."""

    def recorded(
        self, facts: Facts, valueset: str, *, within_days: int, active_counts: bool = True
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

    def leg_complaints(self, facts: Facts) -> list[ConditionEntry]:
        """Every §1.6 leg complaint on record (computed once per call, shared by the rules)."""
        return facts.memo(
            (__name__, "leg_complaints", type(self).recorded),
            lambda f: self.recorded(f, ANY_LEG_COMPLAINT, within_days=COMPLAINT_WINDOW_DAYS),
        )

    def complaints_of(self, facts: Facts, *valuesets: str) -> list[ConditionEntry]:
        """The leg complaints on record of any of these kinds (value sets narrower than
        leg-complaint, e.g. LEG_PAIN and SWELLING), each resource once, in the order of the
        kinds given."""
        return unique_by_reference(c for vs in valuesets for c in self.complaints_in(facts, vs))

    def worded_evidence(
        self,
        facts: Facts,
        entries: Sequence[ConditionEntry],
        valueset: str = ANY_LEG_COMPLAINT,
        shown: int = COMPLAINTS_SHOWN,
    ) -> tuple[Evidence, ...]:
        """The first `shown` complaints or symptoms as evidence lines, each named as the record
        names it or, when the record gives only a code (a visit's reasonCode often has no
        display), as the verified code list of `valueset` does: "Shortness of breath", not
        "R06.02"."""
        vs = facts.valueset(valueset)
        lines = []
        for entry in entries[:shown]:
            line = self.condition_evidence(entry)
            if not entry.display or entry.display == condition_code(entry):
                matched = vs.match(entry.codings)
                display = vs.display_of(matched) if matched is not None else None
                if display:
                    line = replace(line, label=display)
            lines.append(line)
        return tuple(lines)

    def complaint_words(self, facts: Facts, complaints: Sequence[ConditionEntry]) -> str:
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
