"""cds.rules.lib.pregnancy.v2: childbirth includes a cesarean birth (§22.2 i), and how many
weeks ago it was (§22.2 l)."""

from __future__ import annotations

import pytest

from cds.rules.lib.pregnancy.v2 import last_childbirth, weeks_ago
from cds.terminology import Terminology
from tests.support.fhir import facts_for, procedure

CESAREAN = "11466000"
CHILDBIRTH = "66348005"


@pytest.mark.parametrize("code", [CESAREAN, CHILDBIRTH])
def test_a_delivery_or_a_cesarean_is_childbirth(terminology: Terminology, code: str) -> None:
    facts = facts_for(terminology, [procedure(code, days_ago=21)])
    birth = last_childbirth(facts, within_days=84)
    assert birth is not None
    assert weeks_ago(facts, birth) == 3


@pytest.mark.parametrize(("days", "found"), [(84, True), (85, False)])
def test_the_window(terminology: Terminology, days: int, found: bool) -> None:
    facts = facts_for(terminology, [procedure(CESAREAN, days_ago=days)])
    assert (last_childbirth(facts, within_days=84) is not None) is found


def test_the_newest_birth(terminology: Terminology) -> None:
    facts = facts_for(
        terminology, [procedure(CHILDBIRTH, days_ago=80), procedure(CESAREAN, days_ago=10)]
    )
    birth = last_childbirth(facts, within_days=84)
    assert birth is not None
    assert weeks_ago(facts, birth) == 1
