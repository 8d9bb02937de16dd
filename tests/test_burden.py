"""The alert burden of the pinned rules on a general population: the 90 Synthea patients of
`shared/external/synthea/bundles`, each record's dates moved so its latest is yesterday, with and
without a sleep-related leg cramp coded a week before (`cds sweep --shift-to-now
[--with-complaint]`, the same evaluation). The limits are the catalog's (§1.6) and the clinical
revision's: a rule version that would flood charts fails here before it is released.

- without a complaint, only findings (abnormal results, dangerous drugs, red flags) are shown:
  no candidate cause;
- with a complaint on every chart, the median chart gets at most 1 card, none more than 6, and
  no rule is on more than a third of the charts (of living patients: no rule runs for the dead).
"""

from __future__ import annotations

import functools
import json
import statistics
from collections import Counter
from datetime import UTC, datetime

import pytest

from cds.sweep.evaluate import Chart, EvaluationSpec, Evaluator, pins_from_folder
from cds.sweep.results import ChartResult
from tests.support.paths import HOOKS, SYNTHEA_BUNDLES

AS_OF = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MEDIAN_CARDS_AT_MOST = 1
CARDS_AT_MOST = 6
SHARE_OF_CHARTS_PER_RULE_AT_MOST = 1 / 3


def charts() -> list[Chart]:
    found = []
    for path in sorted(SYNTHEA_BUNDLES.glob("*.json")):
        bundle = json.loads(path.read_text("utf-8"))
        patient = next(
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
        )
        found.append(Chart(patient["id"], bundle))
    assert len(found) == 90
    return found


@functools.cache
def swept(with_complaint: bool) -> tuple[ChartResult, ...]:
    spec = EvaluationSpec(
        pins_from_folder(HOOKS), AS_OF, shift_to_now=True, with_complaint=with_complaint
    )
    evaluator = Evaluator(spec)
    found = tuple(evaluator.evaluate(chart) for chart in charts())
    assert all(r.baseline.error is None for r in found)
    return found


def test_without_a_complaint_only_findings_are_shown() -> None:
    candidates = [(r.chart, c.key) for r in swept(False) for c in r.baseline.cards if c.candidate]
    assert candidates == []


@pytest.mark.parametrize("with_complaint", [False, True], ids=["no-complaint", "leg-cramps"])
def test_cards_per_chart_and_charts_per_rule_stay_within_the_limits(
    with_complaint: bool,
) -> None:
    # Rules run for living patients only (a third of these records end in death).
    found = [
        r for r in swept(with_complaint) if not any("deceased" in w for w in r.baseline.warnings)
    ]
    assert len(found) >= 50
    per_chart = [len(r.baseline.cards) for r in found]
    assert statistics.median(per_chart) <= MEDIAN_CARDS_AT_MOST
    assert max(per_chart) <= CARDS_AT_MOST
    charts_per_rule = Counter(c.rule for r in found for c in r.baseline.cards)
    over = {
        rule: count
        for rule, count in charts_per_rule.items()
        if count > SHARE_OF_CHARTS_PER_RULE_AT_MOST * len(found)
    }
    assert over == {}


def test_a_complaint_opens_candidate_causes() -> None:
    """The limits above must not hold merely because nothing fires."""
    shown = [c for r in swept(True) for c in r.baseline.cards]
    assert sum(c.candidate for c in shown) >= 30
    assert len({c.rule for c in shown if c.candidate}) >= 5
