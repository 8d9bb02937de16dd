"""Per rule: charts gained, lost and indicator moves between two sets of results (pure)."""

from __future__ import annotations

from cds.sweep.compare import compare
from cds.sweep.report import ReportFacts, burden, render_html
from cds.sweep.results import CardResult, Outcome, Problem


def card(rule: str, indicator: str = "info", version: str = "1.0.0") -> CardResult:
    return CardResult(rule, version, indicator, f"{rule} summary")


BEFORE = {
    "a": (card("dvt-risk", "warning"), card("pad-rest-pain")),
    "b": (card("dvt-risk", "info"),),
    "c": (),
    "d": (card("pad-rest-pain"),),
    "only-before": (card("dvt-risk"),),
}
AFTER = {
    "a": (card("dvt-risk", "critical", "1.1.0"), card("pad-rest-pain")),
    "b": (),
    "c": (card("dvt-risk", "info", "1.1.0"),),
    "d": (card("pad-rest-pain"),),
    "only-after": (),
}


def test_gained_lost_and_moved_per_rule() -> None:
    comparison = compare(BEFORE, AFTER)

    assert comparison.charts == 4
    assert comparison.only_baseline == ("only-before",)
    assert comparison.only_candidate == ("only-after",)
    dvt, pad = comparison.rules
    assert (dvt.rule, dvt.gained, dvt.lost) == ("dvt-risk", ("c",), ("b",))
    assert dvt.moves == {("warning", "critical"): ("a",)}
    assert (dvt.baseline_versions, dvt.candidate_versions) == (("1.0.0",), ("1.1.0",))
    assert (dvt.baseline_charts, dvt.candidate_charts) == (2, 2)
    assert not pad.changed
    assert comparison.changed_rules == (dvt,)
    assert comparison.changed_charts == ("a", "b", "c")


def test_identical_results_change_nothing() -> None:
    comparison = compare(BEFORE, BEFORE)
    assert comparison.changed_charts == ()
    assert comparison.changed_rules == ()


def test_burden_counts_charts_cards_and_indicators() -> None:
    outcomes = [Outcome(cards) for cards in BEFORE.values()] + [Outcome((), error="boom")]
    found = burden(outcomes)
    assert (found.charts, found.charts_with_cards, found.cards, found.errors) == (6, 4, 5, 1)
    assert found.cards_per_chart == (2, 3, 1, 0, 0, 0)
    assert [(r.rule, r.charts, dict(r.by_indicator)) for r in found.rules] == [
        ("dvt-risk", 3, {"warning": 1, "info": 2}),
        ("pad-rest-pain", 2, {"info": 2}),
    ]


def test_the_report_escapes_what_it_is_given() -> None:
    facts = ReportFacts(
        title="Population sweep: <x>",
        sources=["export/"],
        as_of="2026-11-21T12:00:00+00:00",
        shift_to_now=True,
        engine="local, 2 processes",
        seconds=2.0,
        baseline_label="hooks/leg-pain-patient-view.json",
        baseline_pins=["dvt-risk@1.0.0"],
        candidate_label="hooks + dvt-risk@1.1.0",
        candidate_pins=["dvt-risk@1.1.0"],
        unreleased=["dvt-risk@1.1.0"],
    )
    before = burden(Outcome(c) for c in BEFORE.values())
    after = burden(Outcome(c) for c in AFTER.values())
    page = render_html(
        facts,
        before,
        [Problem("Observation.ndjson", 7, "not valid JSON <b>")],
        after,
        compare(BEFORE, AFTER),
    )

    assert "<x>" not in page
    assert "Population sweep: &lt;x&gt;" in page
    assert "Observation.ndjson:7: not valid JSON &lt;b&gt;" in page
    assert "warning &rarr; critical: 1" in page
    assert "Not yet released" in page
    assert page.count("<svg") == 3
