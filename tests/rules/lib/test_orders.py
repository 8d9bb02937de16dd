"""cds.rules.lib.orders.v1: the orderables rules suggest, each labelled once."""

from __future__ import annotations

import pytest

from cds.rules.base import OrderSuggestion
from cds.rules.lib.orders.v1 import BASIC_METABOLIC_PANEL, LABELS, order, venous_duplex
from cds.terminology import terminology_releases
from tests.support.rules import terminology_release

LOINC = "http://loinc.org"


@pytest.mark.parametrize("release", terminology_releases())
def test_every_orderable_is_in_the_orderables_value_set(release: str) -> None:
    orderables = terminology_release(release).valueset("orderables").codes
    assert {code for code in LABELS if (LOINC, code) not in orderables} == set()


def test_an_order_carries_its_label_and_the_rules_reason() -> None:
    assert order(BASIC_METABOLIC_PANEL, "Electrolytes on a diuretic") == OrderSuggestion(
        "Basic metabolic panel", "51990-0", "Electrolytes on a diuretic"
    )


@pytest.mark.parametrize(
    ("side", "loinc"),
    [("left", "39432-0"), ("right", "39443-7"), ("both", "39420-5"), (None, "39420-5")],
)
def test_a_venous_duplex_is_of_the_side_on_record(side: str | None, loinc: str) -> None:
    suggestion = venous_duplex(side, "Suspected DVT")
    assert (suggestion.loinc, suggestion.reason) == (loinc, "Suspected DVT")
