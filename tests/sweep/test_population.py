"""bench/population.py: Bundles written as an export, patients cloned with new ids; what the
sweep benchmark and the sweep tests build their populations with."""

from __future__ import annotations

from pathlib import Path

import orjson

from bench.population import clone_line, write_export
from cds.sweep.evaluate import EvaluationSpec
from cds.sweep.run import sweep

UUID = "9efca32a-04f9-438a-990c-a287e8b62aac"


def test_clones_get_new_ids_everywhere() -> None:
    line = b'{"id":"%s","subject":{"reference":"Patient/%s"}}' % (UUID.encode(), UUID.encode())
    assert clone_line(line, 3) == line.replace(UUID.encode(), UUID.encode() + b"-3")


def test_a_cloned_synthea_export_sweeps_to_copies_of_each_chart(
    spec: EvaluationSpec, synthea_bundles: dict[str, dict[str, object]], tmp_path: Path
) -> None:
    bundles = list(synthea_bundles.values())[:3]
    assert write_export(bundles, tmp_path, copies=2, types=frozenset({"Patient", "Encounter"})) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Encounter.ndjson", "Patient.ndjson"]
    encounter = orjson.loads((tmp_path / "Encounter.ndjson").read_bytes().splitlines()[0])
    assert encounter["subject"]["reference"].startswith("Patient/")  # urn:uuid: resolved

    results = sweep([tmp_path], spec, workers=1).results

    assert len(results) == 6
    originals = [r for r in results if not r.chart.endswith("-1")]
    for original in originals:
        clone = next(r for r in results if r.chart == f"{original.chart}-1")
        assert clone.baseline == original.baseline
