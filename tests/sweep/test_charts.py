"""Lines to charts (cds.sweep.charts): whose chart a line is, and a group of lines to its chart's
results in any order, with every bad line reported and skipped."""

from __future__ import annotations

import random

import orjson
import pytest

from cds.sweep.charts import (
    NO_PATIENT,
    Line,
    LineProblem,
    chart_key,
    charts_of_bundle,
    evaluate_lines,
    patient_of,
)
from cds.sweep.evaluate import EvaluationSpec, Evaluator
from tests.sweep.conftest import fixture_bundles

SCENARIO = "pe-red-flags--hip-replacement-swelling-breathless"


@pytest.fixture(scope="module")
def evaluator(spec: EvaluationSpec) -> Evaluator:
    return Evaluator(spec)


def lines_of(name: str, file: int = 0) -> list[Line]:
    bundle = fixture_bundles()[name]
    return [
        Line(file, 0, number, orjson.dumps(entry["resource"]))
        for number, entry in enumerate(bundle["entry"], start=1)
    ]


@pytest.mark.parametrize(
    ("raw", "resource_type", "expected"),
    [
        (
            b'{"resourceType":"Observation","subject":{"reference":"Patient/p1"}}',
            "Observation",
            "p1",
        ),
        # Whitespace, display before reference, a version: still found without parsing.
        (
            b'{"subject": {"display": "x", "reference": "Patient/p-2/_history/3"}}',
            "Observation",
            "p-2",
        ),
        # Two patients named: parsed, and the subject decides.
        (
            b'{"resourceType":"Observation","subject":{"reference":"Patient/a"},'
            b'"focus":[{"reference":"Patient/b"}]}',
            "Observation",
            "a",
        ),
        # A Patient's own id, not the patient it links to.
        (
            b'{"resourceType":"Patient","id":"p3","link":[{"other":{"reference":"Patient/p4"}}]}',
            "Patient",
            "p3",
        ),
        (b'{"resourceType":"Medication","id":"m"}', "Medication", NO_PATIENT),
        (
            b'{"resourceType":"Observation","subject":{"reference":"Group/g"}}',
            "Observation",
            NO_PATIENT,
        ),
        (b"{not json", "Observation", NO_PATIENT),
        (b'{"resourceType":"Condition","patient":{"reference":"Patient/p5"}}', None, "p5"),
    ],
)
def test_chart_key(raw: bytes, resource_type: str | None, expected: str) -> None:
    assert chart_key(raw, resource_type) == expected


def test_patient_of_refuses_ids_fhir_does_not_allow() -> None:
    assert patient_of({"resourceType": "Patient", "id": "a b"}) is None
    assert (
        patient_of({"resourceType": "Observation", "subject": {"reference": "Patient/a?b"}}) is None
    )
    assert (
        patient_of({"resourceType": "Observation", "subject": {"reference": "Patient/ok"}}) == "ok"
    )


def test_a_group_gives_the_same_results_in_any_order(evaluator: Evaluator) -> None:
    lines = lines_of(SCENARIO)
    patient = patient_of(orjson.loads(lines[0].raw))
    assert patient is not None
    expected, problems = evaluate_lines(evaluator, patient, lines, {})
    shuffled = list(lines)
    random.Random(7).shuffle(shuffled)

    assert evaluate_lines(evaluator, patient, shuffled, {}) == (expected, problems)
    assert problems == []
    assert [c.rule for c in expected[0].baseline.cards] == ["pe-red-flags"]


def test_bad_lines_are_reported_and_skipped(evaluator: Evaluator) -> None:
    lines = lines_of(SCENARIO)
    patient = patient_of(orjson.loads(lines[0].raw))
    assert patient is not None
    good, _ = evaluate_lines(evaluator, patient, lines, {})
    broken = [
        *lines,
        Line(0, 0, 90, b'{"resourceType":"Observation","subject":{"reference":"Patient/x"'),
        Line(0, 1, 3, b'["not", "a", "resource"]'),
    ]

    results, problems = evaluate_lines(evaluator, patient, broken, {})

    assert results == good
    assert [(p.file, p.chunk, p.number) for p in problems] == [(0, 0, 90), (0, 1, 3)]
    assert "not valid JSON" in problems[0].message
    assert "not a FHIR resource" in problems[1].message


def test_lines_without_a_patient_and_charts_without_their_patient(evaluator: Evaluator) -> None:
    orphan = Line(2, 0, 5, b'{"resourceType":"Observation","subject":{"reference":"Group/g"}}')
    assert evaluate_lines(evaluator, NO_PATIENT, [orphan], {}) == (
        [],
        [
            LineProblem(
                2,
                0,
                5,
                "Observation refers to no patient (subject or patient Patient/<id>): skipped",
            )
        ],
    )
    lonely = Line(1, 0, 4, b'{"resourceType":"Condition","subject":{"reference":"Patient/gone"}}')
    results, problems = evaluate_lines(evaluator, "gone", [lonely], {})
    assert results == []
    assert len(problems) == 1
    assert "Patient/gone, which the export does not hold" in problems[0].message


def test_a_bundle_with_two_patients_is_two_charts() -> None:
    first, second = (
        fixture_bundles()[n] for n in (SCENARIO, "quinine-for-cramps--quinine-active-warning")
    )
    medication = {"resource": {"resourceType": "Medication", "id": "shared"}}
    both = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [*first["entry"], *second["entry"], medication],
    }

    charts, problems = charts_of_bundle(both)

    assert problems == []
    assert len(charts) == 2
    for chart, alone in zip(charts, (first, second), strict=True):
        assert chart.bundle["entry"] == [*alone["entry"], medication]
    assert charts_of_bundle({"resourceType": "Bundle", "entry": []}) == (
        [],
        ["no Patient resource with an id: skipped"],
    )
