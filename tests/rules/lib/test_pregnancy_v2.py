"""cds.rules.lib.pregnancy.v2: childbirth includes a cesarean birth (§22.2 i), and how many
weeks ago it was (§22.2 l)."""

from __future__ import annotations

import pytest

from cds.rules.lib.library import Library2026_12
from cds.terminology import Terminology
from tests.support.fhir import facts_for, procedure

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_12()

CESAREAN = "11466000"
CHILDBIRTH = "66348005"


@pytest.mark.parametrize("code", [CESAREAN, CHILDBIRTH])
def test_a_delivery_or_a_cesarean_is_childbirth(terminology: Terminology, code: str) -> None:
    facts = facts_for(terminology, [procedure(code, days_ago=21)])
    birth = LIBRARY.last_childbirth(facts, within_days=84)
    assert birth is not None
    assert LIBRARY.weeks_ago(facts, birth) == 3


@pytest.mark.parametrize(("days", "found"), [(84, True), (85, False)])
def test_the_window(terminology: Terminology, days: int, found: bool) -> None:
    facts = facts_for(terminology, [procedure(CESAREAN, days_ago=days)])
    assert (LIBRARY.last_childbirth(facts, within_days=84) is not None) is found


def test_the_newest_birth(terminology: Terminology) -> None:
    facts = facts_for(
        terminology, [procedure(CHILDBIRTH, days_ago=80), procedure(CESAREAN, days_ago=10)]
    )
    birth = LIBRARY.last_childbirth(facts, within_days=84)
    assert birth is not None
    assert LIBRARY.weeks_ago(facts, birth) == 1
