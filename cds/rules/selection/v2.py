"""Card-selection policy 2 (ruleset releases from 2026.12.1): policy 1, except that a card is
explained away only by a card at least as urgent.

Policy 1 dropped the electrolyte-abnormality card whenever the diuretic-electrolytes card named
the same results. The diuretic card judges those results for the drug: a low sodium on a
thiazide, or a corrected calcium outside its range on a loop diuretic, is a warning there,
while the same result is critical on the electrolyte card (sodium below 125 mmol/L, corrected
calcium below 7.6 or at 14 mg/dL or more, §3). The critical card was lowered to the diuretic
card's warning, which §22.2 b forbids. Now both are shown, the critical one first.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.rules.base import SEVERITY_RANK, Fired
from cds.rules.selection.v1 import SelectionPolicy


@dataclass(frozen=True)
class NeverLowerPolicy(SelectionPolicy):
    version: str = "2"

    def explained(self, fired: Fired, by_rule: dict[str, Fired]) -> bool:
        """As policy 1, among the cards at least as urgent as this one."""
        urgency = SEVERITY_RANK[fired.finding.severity]
        as_urgent = {
            rule_id: other
            for rule_id, other in by_rule.items()
            if SEVERITY_RANK[other.finding.severity] <= urgency
        }
        return super().explained(fired, as_urgent)


POLICY = NeverLowerPolicy()
