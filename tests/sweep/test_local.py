"""The local engine end to end on real files and real worker processes: an export and the same
patients as Bundles give the same charts; a malformed line is reported with its file and line,
skipped, and never stops the sweep."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cds.sweep import local, sources
from cds.sweep.evaluate import EvaluationSpec
from cds.sweep.run import sweep
from tests.sweep.conftest import copy_tree, fixture_bundles


def expected_cards() -> dict[str, set[tuple[str, str]]]:
    """Patient id -> the (rule, indicator) cards its scenario says patient-view must show."""
    from tests.support.paths import FIXTURES

    expected = {}
    for name, bundle in fixture_bundles().items():
        scenario = json.loads((FIXTURES / name / "scenario.json").read_text())
        patient = next(
            e["resource"]["id"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Patient"
        )
        if scenario["service"] == "leg-pain-patient-view":
            cards = scenario["expect"].get("cards", [])
            expected[patient] = {(c["rule"], c["indicator"]) for c in cards}
    return expected


def test_an_export_and_its_bundles_give_the_same_charts(
    spec: EvaluationSpec, fixture_export: Path, fixture_folder: Path
) -> None:
    from_export = sweep([fixture_export], spec, workers=2)
    from_bundles = sweep([fixture_folder], spec, workers=2)

    assert from_export.results == from_bundles.results
    assert from_export.problems == from_bundles.problems == []
    assert len(from_export.results) == len(fixture_bundles())
    # Every scenario's expected cards are among its chart's cards.
    for result in from_export.results:
        shown = {(c.rule, c.indicator) for c in result.baseline.cards}
        assert expected_cards().get(result.chart, set()) <= shown, result.chart
    assert [p.name for p, _ in from_export.plan.skipped_files] == []


def test_one_worker_or_many_small_chunks_change_nothing(
    spec: EvaluationSpec, fixture_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = sweep([fixture_export], spec, workers=2).results
    monkeypatch.setattr(local, "CHUNK_BYTES", 4096)  # Conditions etc. cut into many chunks
    monkeypatch.setattr(local, "BUCKET_BYTES", 8192)
    # The gzipped Observations read in small blocks, buckets written out after each.
    monkeypatch.setattr(sources, "READ_BYTES", 2048)
    monkeypatch.setattr(local, "FLUSH_BYTES", 1)
    assert sweep([fixture_export], spec, workers=2).results == expected
    assert sweep([fixture_export], spec, workers=1).results == expected


def test_malformed_lines_are_reported_with_file_and_line_and_skipped(
    spec: EvaluationSpec, fixture_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = sweep([fixture_export], spec, workers=2).results
    export = copy_tree(fixture_export, tmp_path / "export")
    conditions = export / "Condition.ndjson"
    lines = conditions.read_bytes().splitlines()
    lines.insert(40, b'{"resourceType":"Condition","subject":{"reference":"Patient/fx-de-k349"')
    lines.insert(3, b"this is not JSON")
    conditions.write_bytes(b"\n".join(lines) + b"\n")
    observations = export / "Observation.ndjson.gz"
    data = gzip.decompress(observations.read_bytes()) + b'{"resourceType": "Observation"}\n'
    observations.write_bytes(gzip.compress(data))
    (export / "Claim.ndjson").write_text("no rule reads claims: never opened\n")
    monkeypatch.setattr(local, "CHUNK_BYTES", 4096)  # the bad Condition lines in later chunks

    run = sweep([export], spec, workers=2)

    assert run.results == expected
    located = [(Path(p.source).name, p.line, p.message.split(" (")[0]) for p in run.problems]
    observation_line = data.count(b"\n")
    assert located == [
        ("Condition.ndjson", 4, "not valid JSON"),
        ("Condition.ndjson", 42, "not valid JSON"),
        ("Observation.ndjson.gz", observation_line, "Observation refers to no patient"),
    ]
    assert [p.name for p, _ in run.plan.skipped_files] == ["Claim.ndjson"]


def test_synthea_patients_all_answered(spec: EvaluationSpec, synthea_export: Path) -> None:
    run = sweep([synthea_export], spec, workers=2)
    assert len(run.results) == 90
    assert run.problems == []
    assert all(r.baseline.error is None for r in run.results)
    deceased = [r for r in run.results if any("deceased" in w for w in r.baseline.warnings)]
    assert deceased  # Synthea writes whole lives: some charts end in death
