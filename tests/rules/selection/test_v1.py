"""Card-selection policy 1 (cds/rules/selection/v1.py): which findings become cards, in what
order. Tested on findings made for the test, so each clause is seen alone."""

from __future__ import annotations

import pytest

from cds.rules.base import Fired
from cds.rules.selection.v1 import POLICY
from tests.support.rules import fired


def shown(*items: Fired, hook: str = "patient-view") -> list[str]:
    return [f.rule_id for f in POLICY.select(items, hook=hook)]


def test_the_pe_card_replaces_the_dvt_card() -> None:
    assert shown(fired("dvt-risk"), fired("pe-red-flags", severity="critical")) == ["pe-red-flags"]
    assert shown(fired("dvt-risk")) == ["dvt-risk"]


def test_the_diuretic_card_explains_the_same_electrolyte_result() -> None:
    same = (("potassium", "Observation/k"),)
    diuretic = fired("diuretic-electrolytes", labs=same)
    assert shown(diuretic, fired("electrolyte-abnormality", labs=same)) == ["diuretic-electrolytes"]


def test_an_electrolyte_result_the_diuretic_card_does_not_explain_is_shown() -> None:
    diuretic = fired("diuretic-electrolytes", labs=(("potassium", "Observation/k"),))
    both = (("potassium", "Observation/k"), ("sodium", "Observation/na"))
    assert sorted(shown(diuretic, fired("electrolyte-abnormality", labs=both))) == [
        "diuretic-electrolytes",
        "electrolyte-abnormality",
    ]


def test_an_electrolyte_card_about_no_result_is_never_explained_away() -> None:
    diuretic = fired("diuretic-electrolytes", labs=(("potassium", "Observation/k"),))
    coded_only = fired("electrolyte-abnormality", severity="info")
    assert "electrolyte-abnormality" in shown(diuretic, coded_only)


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_order_hooks_show_the_drafted_order_and_critical_findings_only(hook: str) -> None:
    about_the_order = fired("a", involves_draft_order=True)
    critical = fired("b", severity="critical")
    elsewhere = fired("c")
    assert shown(about_the_order, critical, elsewhere, hook=hook) == ["b", "a"]
    assert shown(elsewhere, hook="patient-view") == ["c"]


def test_cards_come_most_urgent_then_most_specific_then_by_rule() -> None:
    items = (
        fired("z-info", severity="info", specificity=1),
        fired("y-warning-broad", specificity=60),
        fired("x-warning-specific", specificity=10),
        fired("w-critical", severity="critical", specificity=90),
        fired("a-warning-broad", specificity=60),
    )
    assert shown(*items) == [
        "w-critical",
        "x-warning-specific",
        "a-warning-broad",
        "y-warning-broad",
        "z-info",
    ]
