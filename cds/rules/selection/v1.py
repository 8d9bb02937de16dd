"""Card-selection policy 1 (ruleset releases 2026.11.x).

- One card per cause, most urgent first, then most specific (each rule says how specific its
  finding is), then by rule id so the order never depends on evaluation order.
- A card replaced by a more specific one is dropped when both fire: pe-red-flags carries the DVT
  evidence and the more urgent message (§10 hands off to §11), so dvt-risk is not shown beside it.
- A drug-agnostic card explained by a drug card is dropped when the drug card explains every
  result it is about: electrolyte-abnormality beside diuretic-electrolytes on the same lab (§1.4).
- In order-select and order-sign, only findings that involve the drafted order are shown, plus
  critical ones: the clinician is deciding on that order, and time-sensitive harm must not wait
  for the next chart open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cds.rules.base import SEVERITY_RANK, Fired

ORDER_HOOKS = ("order-select", "order-sign")


@dataclass(frozen=True)
class SelectionPolicy:
    version: str = "1"
    # (rule whose card is dropped, rule whose card replaces it when both fire)
    replaced_by: tuple[tuple[str, str], ...] = (("dvt-risk", "pe-red-flags"),)
    # (rule whose card is dropped, rule whose card explains the same results when both fire)
    explained_by: tuple[tuple[str, str], ...] = (
        ("electrolyte-abnormality", "diuretic-electrolytes"),
    )
    # In order hooks, findings that do not involve the drafted order are shown only at these
    # severities.
    order_hooks_also_show: tuple[str, ...] = ("critical",)

    def select(self, fired: Iterable[Fired], *, hook: str) -> list[Fired]:
        found = list(fired)
        by_rule = {f.rule_id: f for f in found}
        kept = [
            f
            for f in found
            if not self.replaced(f, by_rule)
            and not self.explained(f, by_rule)
            and self.shown_in_hook(f, hook)
        ]
        return sorted(kept, key=self.rank)

    def replaced(self, fired: Fired, by_rule: dict[str, Fired]) -> bool:
        return any(
            dropped == fired.rule_id and replacing in by_rule
            for dropped, replacing in self.replaced_by
        )

    def explained(self, fired: Fired, by_rule: dict[str, Fired]) -> bool:
        if not fired.finding.labs:
            return False
        own = {ref for _, ref in fired.finding.labs}
        for dropped, explaining in self.explained_by:
            other = by_rule.get(explaining)
            if (
                dropped == fired.rule_id
                and other is not None
                and not own - {ref for _, ref in other.finding.labs}
            ):
                return True
        return False

    def shown_in_hook(self, fired: Fired, hook: str) -> bool:
        if hook not in ORDER_HOOKS:
            return True
        finding = fired.finding
        return finding.involves_draft_order or finding.severity in self.order_hooks_also_show

    def rank(self, fired: Fired) -> tuple[int, int, str]:
        finding = fired.finding
        return (SEVERITY_RANK[finding.severity], finding.specificity, fired.rule_id)


POLICY = SelectionPolicy()
