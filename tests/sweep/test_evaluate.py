"""The sweep's link to the evaluation path: a chart is answered exactly as `cds replay` answers
its Bundle, under any set of pins."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from cds.pipeline import Engine
from cds.replay.runner import Replayer
from cds.replay.scenario import load_scenario
from cds.replay.targets import InProcessTarget
from cds.settings import Settings
from cds.sweep.evaluate import (
    Chart,
    EvaluationSpec,
    Evaluator,
    Pins,
    PinsError,
    override_pins,
    pins_from_folder,
)
from tests.support.paths import FIXTURES, HOOKS
from tests.sweep.conftest import AS_OF, fixture_bundles

SCENARIOS = (
    "diuretic-electrolytes--hctz-k-2-4-critical",
    "pe-red-flags--hip-replacement-swelling-breathless",
    "statin-muscle-symptoms--simvastatin-clarithromycin-warning",
    "pad-rest-pain--age-64-no-risk-factor-no-card",
)


@pytest.fixture(scope="module")
def evaluator(spec: EvaluationSpec) -> Evaluator:
    return Evaluator(spec)


def chart_of(name: str) -> Chart:
    bundle = fixture_bundles()[name]
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    return Chart(patient["id"], bundle)


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_chart_gets_the_cards_cds_replay_gives(
    name: str, evaluator: Evaluator, engine: Engine, baseline_pins: Pins
) -> None:
    with Replayer(InProcessTarget(engine, Settings()), as_of=AS_OF) as replayer:
        replayed = replayer.replay(load_scenario(FIXTURES / name))
    result = evaluator.evaluate(chart_of(name))

    assert replayed.verdict == "pass"
    assert [(c.rule, c.indicator, c.summary) for c in result.baseline.cards] == [
        (c.rule, c.indicator, c.summary) for c in replayed.cards
    ]
    assert all(c.version == baseline_pins.rules[c.rule] for c in result.baseline.cards)
    assert result.chart == chart_of(name).patient_id
    assert result.candidate is None


def test_results_do_not_depend_on_the_run(spec: EvaluationSpec) -> None:
    chart = chart_of(SCENARIOS[1])
    assert Evaluator(spec).evaluate(chart) == Evaluator(spec).evaluate(chart)


def test_candidate_pins_run_on_the_same_chart(baseline_pins: Pins) -> None:
    candidate = override_pins(baseline_pins, ["pe-red-flags@off"])
    evaluator = Evaluator(EvaluationSpec(baseline_pins, AS_OF, candidate=candidate))

    result = evaluator.evaluate(chart_of("pe-red-flags--hip-replacement-swelling-breathless"))

    assert [c.rule for c in result.baseline.cards] == ["pe-red-flags"]
    # Without the PE card, the DVT card it replaces is shown.
    assert result.candidate is not None
    assert [c.rule for c in result.candidate.cards] == ["dvt-risk"]
    base, cand = evaluator.pinned()
    pinned = f"pe-red-flags@{baseline_pins.rules['pe-red-flags']}"
    assert pinned in base
    assert cand is not None
    assert not any(key.startswith("pe-red-flags@") for key in cand)


def test_shift_to_now_judges_an_old_record_as_current(baseline_pins: Pins) -> None:
    # The K 2.4 result, moved ten years back, is too old for any card ...
    chart = chart_of("diuretic-electrolytes--hctz-k-2-4-critical")
    later = AS_OF.replace(year=AS_OF.year + 10)
    aged = Evaluator(EvaluationSpec(baseline_pins, later)).evaluate(chart)
    # ... unless its dates move so its latest is the day before as_of.
    shifted = Evaluator(EvaluationSpec(baseline_pins, later, shift_to_now=True)).evaluate(chart)

    assert "diuretic-electrolytes" not in [c.rule for c in aged.baseline.cards]
    assert ("diuretic-electrolytes", "critical") in [
        (c.rule, c.indicator) for c in shifted.baseline.cards
    ]


def test_with_complaint_every_chart_reports_night_cramps(baseline_pins: Pins) -> None:
    # Salmeterol without a leg complaint is no card (a candidate cause, §1.6) ...
    chart = chart_of("beta2-agonist-cramps--salmeterol-no-complaint-no-card")
    plain = Evaluator(EvaluationSpec(baseline_pins, AS_OF)).evaluate(chart)
    # ... and is one once a sleep-related leg cramp is coded on the chart.
    spec = EvaluationSpec(baseline_pins, AS_OF, with_complaint=True)
    with_cramps = Evaluator(spec).evaluate(chart)

    assert plain.baseline.cards == ()
    assert [c.rule for c in with_cramps.baseline.cards] == ["beta2-agonist-cramps"]
    # The chart given to the sweep is left as it was.
    assert not any(
        e["resource"].get("id") == "cds-sweep-added-complaint" for e in chart.bundle["entry"]
    )


def test_medications_of_the_chart_join_the_orders_that_reference_them(
    evaluator: Evaluator,
) -> None:
    bundle = fixture_bundles()["diuretic-electrolytes--hctz-k-2-4-critical"]
    entries = []
    for entry in bundle["entry"]:
        resource = dict(entry["resource"])
        if resource["resourceType"] == "MedicationRequest":
            medication = {
                "resourceType": "Medication",
                "id": "hctz",
                "code": resource.pop("medicationCodeableConcept"),
            }
            resource["medicationReference"] = {"reference": "Medication/hctz"}
            entries.append({"resource": medication})
        entries.append({"resource": resource})
    chart = chart_of("diuretic-electrolytes--hctz-k-2-4-critical")

    by_reference = evaluator.evaluate(Chart(chart.patient_id, {**bundle, "entry": entries}))

    assert by_reference.baseline.cards == evaluator.evaluate(chart).baseline.cards


def test_overrides() -> None:
    pins = Pins({"id": "x", "rules": {"a": "1.0.0", "b": "1.0.0"}}, "x.json")
    changed = override_pins(pins, ["a@2.0.0", "b@off", "c@1.1.0"])
    assert changed.rules == {"a": "2.0.0", "c": "1.1.0"}
    assert changed.label == "x.json + a@2.0.0 b@off c@1.1.0"
    assert pins.rules == {"a": "1.0.0", "b": "1.0.0"}  # unchanged
    with pytest.raises(PinsError, match="not rule@version"):
        override_pins(pins, ["a@"])
    with pytest.raises(PinsError, match="not pinned"):
        override_pins(pins, ["z@off"])


def test_pins_that_cannot_run_are_refused(baseline_pins: Pins, tmp_path: Path) -> None:
    with pytest.raises(PinsError, match=r"unknown rule version dvt-risk@9\.9\.9"):
        Evaluator(EvaluationSpec(override_pins(baseline_pins, ["dvt-risk@9.9.9"]), AS_OF))
    with pytest.raises(PinsError, match="only patient-view services"):
        Evaluator(EvaluationSpec(pins_from_folder(HOOKS, "leg-pain-order-sign"), AS_OF))
    with pytest.raises(PinsError, match="name one with --service"):
        pins_from_folder(tmp_path)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(PinsError, match="not a readable service file"):
        pins_from_folder(tmp_path)


def test_read_types_are_what_the_prefetch_reads(evaluator: Evaluator) -> None:
    assert {"Patient", "Observation", "MedicationRequest", "Condition"} <= evaluator.read_types
    assert "Claim" not in evaluator.read_types
    assert json.dumps(sorted(evaluator.read_types))  # plain strings


def test_moving_dates_never_changes_the_chart(baseline_pins: Pins) -> None:
    # Export Medications are shared by every chart that references them: moving one chart's
    # dates must leave them (and the chart) as they were.
    bundle = copy.deepcopy(fixture_bundles()["diuretic-electrolytes--hctz-k-2-4-critical"])
    medication = {
        "resourceType": "Medication",
        "id": "hctz",
        "batch": {"expirationDate": "2027-01-01"},
    }
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "MedicationRequest":
            medication["code"] = resource.pop("medicationCodeableConcept")
            resource["medicationReference"] = {"reference": "Medication/hctz"}
    bundle["entry"].append({"resource": medication})
    before = copy.deepcopy(bundle)
    chart = Chart(chart_of("diuretic-electrolytes--hctz-k-2-4-critical").patient_id, bundle)
    shifted = EvaluationSpec(
        baseline_pins,
        AS_OF.replace(year=AS_OF.year + 3),
        candidate=override_pins(baseline_pins, ["pad-rest-pain@off"]),
        shift_to_now=True,
    )
    evaluator = Evaluator(shifted)

    first = evaluator.evaluate(chart)

    assert bundle == before
    assert evaluator.evaluate(chart) == first
    assert ("diuretic-electrolytes", "critical") in [
        (c.rule, c.indicator) for c in first.baseline.cards
    ]
