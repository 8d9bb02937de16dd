"""Card-selection policy 2 (cds/rules/selection/v2.py): policy 1, except that a card is
explained away only by a card at least as urgent (§22.2 b: a critical card is never lowered)."""

from __future__ import annotations

import pytest

from cds.rules.base import Fired
from cds.rules.selection.v1 import POLICY as POLICY_1
from cds.rules.selection.v2 import POLICY
from tests.support.rules import fired

SAME = (("sodium", "Observation/na"),)


def shown(*items: Fired, hook: str = "patient-view") -> list[str]:
    return [f.rule_id for f in POLICY.select(items, hook=hook)]


@pytest.mark.parametrize(
    ("electrolyte", "diuretic", "both_shown"),
    [
        ("critical", "warning", True),  # lowered under policy 1; never now
        ("critical", "critical", False),
        ("warning", "warning", False),
        ("warning", "critical", False),
        ("info", "warning", False),
    ],
)
def test_a_card_is_explained_away_only_by_one_as_urgent(
    electrolyte: str, diuretic: str, both_shown: bool
) -> None:
    items = (
        fired("electrolyte-abnormality", severity=electrolyte, labs=SAME),
        fired("diuretic-electrolytes", severity=diuretic, labs=SAME),
    )
    expected = {"electrolyte-abnormality", "diuretic-electrolytes"}
    assert set(shown(*items)) == (expected if both_shown else {"diuretic-electrolytes"})
    assert [f.rule_id for f in POLICY_1.select(items, hook="patient-view")] == [
        "diuretic-electrolytes"
    ]


def test_the_critical_card_comes_first() -> None:
    items = (
        fired("diuretic-electrolytes", severity="warning", labs=SAME),
        fired("electrolyte-abnormality", severity="critical", labs=SAME),
    )
    assert shown(*items) == ["electrolyte-abnormality", "diuretic-electrolytes"]


def test_everything_else_is_policy_1() -> None:
    items = (
        fired("dvt-risk"),
        fired("pe-red-flags", severity="critical"),
        fired("a", involves_draft_order=True),
        fired("c"),
    )
    for hook in ("patient-view", "order-select", "order-sign"):
        assert POLICY.select(items, hook=hook) == POLICY_1.select(items, hook=hook)
