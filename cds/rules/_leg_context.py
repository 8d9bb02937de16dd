"""Leg-complaint context and wording shared by the venous, arterial, pregnancy and
alternative-explanation rules (dvt-risk, pe-red-flags, pad-rest-pain, pregnancy-leg-cramps,
venous-insufficiency, other-leg-pain-conditions).

Rule modules that import this one include its source in their content hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from cds.facts import Facts, Pregnancy
from cds.record import ConditionEntry
from cds.rules.base import Evidence
from cds.rules.common import condition_evidence

# Value sets of §1.6 complaint kinds (cds/terminology/VALUESETS.md).
PAIN_OR_CRAMP = "leg-cramp-complaint"
SWELLING = "leg-swelling"
UNILATERAL_SWELLING = "unilateral-leg-swelling"
ANY_LEG_COMPLAINT = "leg-complaint"
COMPLAINT_VALUESETS: tuple[str, ...] = (
    ANY_LEG_COMPLAINT,
    PAIN_OR_CRAMP,
    SWELLING,
    UNILATERAL_SWELLING,
)
# Beyond 42 weeks (post-term) a gestational age on record is stale: the pregnancy it describes
# has almost certainly ended.
LATEST_PLAUSIBLE_GESTATION_WEEKS = 42.0
PREGNANCY_VALUESETS: tuple[str, ...] = (
    "pregnancy",
    "pregnancy-status",
    "gestational-age",
    "delivery",
)
# How many complaint entries a card lists: enough to show what was found, not a wall.
COMPLAINTS_SHOWN = 2


def _unique(entries: Iterable[ConditionEntry]) -> list[ConditionEntry]:
    seen: set[str] = set()
    kept: list[ConditionEntry] = []
    for entry in entries:
        if entry.reference not in seen:
            seen.add(entry.reference)
            kept.append(entry)
    return kept


def pain_or_cramp_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg pain or cramp on record (§1.6): restless legs or swelling alone are not pain."""
    return facts.complaints_in(PAIN_OR_CRAMP)


def pain_or_swelling_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg pain, cramp or swelling on record. §1.6: a suspected clot presents as pain or
    swelling, so restless legs alone do not count."""
    return _unique([*facts.complaints_in(PAIN_OR_CRAMP), *facts.complaints_in(SWELLING)])


def unilateral_swelling(facts: Facts) -> list[ConditionEntry]:
    """Swelling of one lower limb coded (R22.41 / R22.42) as a complaint on record."""
    return facts.complaints_in(UNILATERAL_SWELLING)


def current_pregnancy(facts: Facts) -> Pregnancy | None:
    """Facts.pregnancy (explicit evidence only, §13), unless the record shows it has ended: a
    delivery procedure after the pregnancy evidence, or a gestational age past 42 weeks."""
    pregnancy = facts.pregnancy
    if pregnancy is None:
        return None
    weeks = pregnancy.gestational_weeks
    if weeks is not None and weeks > LATEST_PLAUSIBLE_GESTATION_WEEKS:
        return None
    if pregnancy.when is not None:
        since = facts.days_ago(pregnancy.when)
        for delivery in facts.procedures_within("delivery", since):
            if (delivery.end or delivery.start or facts.as_of) >= pregnancy.when:
                return None
    return pregnancy


def complaint_evidence(complaints: Sequence[ConditionEntry]) -> tuple[Evidence, ...]:
    return tuple(condition_evidence(c, "Leg complaint") for c in complaints[:COMPLAINTS_SHOWN])


def conditions_evidence(conditions: Iterable[ConditionEntry]) -> tuple[Evidence, ...]:
    return tuple(condition_evidence(c) for c in _unique(conditions))


def unique_evidence(evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """One line per resource and label: the same condition can be, say, both a complaint and a
    risk item, and a card should list it once."""
    seen: set[tuple[str, str]] = set()
    kept: list[Evidence] = []
    for item in evidence:
        key = (item.reference, item.label)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return tuple(kept)


def condition_code(condition: ConditionEntry) -> str:
    """The first code of a condition, for a summary such as "PAD on record (I73.9)"."""
    for coding in condition.codings:
        code = coding.get("code")
        if code:
            return str(code)
    return ""


def condition_name(condition: ConditionEntry) -> str:
    """The record's own wording and code, e.g. "Lumbar radiculopathy (M54.16)". Kept as
    written: lower-casing would mangle eponyms (Parkinson's, Addison's, Baker's)."""
    code = condition_code(condition)
    name = condition.display or code or "condition"
    return f"{name} ({code})" if code and code != name else name


def time_ago(facts: Facts, when: datetime | None) -> str:
    """How long ago, as "5 days ago" or "3 wk ago": clinicians count recent events in weeks."""
    if when is None:
        return "date unknown"
    days = facts.days_ago(when)
    if days < 14:
        return f"{days} day{'s' if days != 1 else ''} ago"
    return f"{days // 7} wk ago"


def join_parts(parts: Sequence[str], limit: int, separator: str = ", ") -> str:
    """Join as "a, b (+2 more)": the first parts that fit in `limit` characters, never fewer
    than one, so a summary stays under 140 characters however much the record holds."""
    shown: list[str] = []
    for index, part in enumerate(parts):
        rest = len(parts) - index - 1
        candidate = separator.join([*shown, part]) + (f" (+{rest} more)" if rest else "")
        if shown and len(candidate) > limit:
            break
        shown.append(part)
    hidden = len(parts) - len(shown)
    return separator.join(shown) + (f" (+{hidden} more)" if hidden else "")
