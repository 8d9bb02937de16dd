"""Which coded conditions count (clinical-content.md §1.2), as v1, and each condition once
(release 2026.12).

Since §22.2 e, the same complaint or diagnosis can reach a rule several times: as a Condition,
as the reason of the visit that recorded it (reasonCode, or a reasonReference to that Condition)
and as an Observation. A card lists it once: `one_per_condition` keeps the first entry of each
condition, where entries sharing any coding (system and code) are the same condition.
"""

from __future__ import annotations

from collections.abc import Iterable

from cds.record import ConditionEntry
from cds.rules.lib.conditions.v1 import Conditions


class ConditionsV2(Conditions):
    """Which coded conditions count (§1.2), and each condition once."""

    def one_per_condition(self, entries: Iterable[ConditionEntry]) -> list[ConditionEntry]:
        """The first entry of each condition, in the order given (entries sharing a coding are
        one condition: a problem-list entry and the visit whose reason it is)."""
        seen: set[tuple[str, str]] = set()
        kept: list[ConditionEntry] = []
        for entry in entries:
            codes = {
                (str(c.get("system") or ""), str(c.get("code")))
                for c in entry.codings
                if c.get("code")
            }
            if codes & seen:
                continue
            seen |= codes
            kept.append(entry)
        return kept
