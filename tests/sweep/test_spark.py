"""The Spark engine (local[2], one SparkSession for all) gives the local engine's results, chart
for chart and problem for problem. Few tests: a Spark job costs seconds."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cds.sweep.evaluate import EvaluationSpec, override_pins
from cds.sweep.run import sweep
from tests.sweep.conftest import copy_tree

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.xdist_group("spark")  # one worker, so one SparkSession


def test_fixtures_with_candidate_pins_and_bad_lines(
    spark: SparkSession, spec: EvaluationSpec, fixture_export: Path, tmp_path: Path
) -> None:
    export = copy_tree(fixture_export, tmp_path / "export")
    with (export / "Condition.ndjson").open("ab") as conditions:
        conditions.write(b'{"resourceType": "Condition", "subject": {"reference": "Patient/fx-\n')
    observations = export / "Observation.ndjson.gz"
    data = b"not json\n" + gzip.decompress(observations.read_bytes())
    observations.write_bytes(gzip.compress(data))
    compared = EvaluationSpec(
        spec.baseline, spec.as_of, candidate=override_pins(spec.baseline, ["pe-red-flags@off"])
    )

    local = sweep([export], compared, workers=2)
    on_spark = sweep([export], compared, engine="spark", spark_session=spark)

    assert on_spark.results == local.results
    assert on_spark.problems == local.problems
    assert [(Path(p.source).name, p.line) for p in local.problems] == [
        ("Condition.ndjson", len((export / "Condition.ndjson").read_bytes().splitlines())),
        ("Observation.ndjson.gz", 1),
    ]
    assert any(r.candidate != r.baseline for r in local.results)
    assert on_spark.engine.startswith("spark local[2]")


def test_synthea_patients(spark: SparkSession, spec: EvaluationSpec, synthea_export: Path) -> None:
    local = sweep([synthea_export], spec, workers=2)
    on_spark = sweep([synthea_export], spec, engine="spark", spark_session=spark)
    assert len(on_spark.results) == 90
    assert on_spark.results == local.results


def test_bundle_folders(spark: SparkSession, spec: EvaluationSpec, fixture_folder: Path) -> None:
    local = sweep([fixture_folder], spec, workers=2)
    on_spark = sweep([fixture_folder], spec, engine="spark", spark_session=spark)
    assert on_spark.results == local.results
