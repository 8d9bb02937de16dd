"""The Spark engine (local[2]) gives the local engine's results, chart for chart and problem for
problem. One test, so one test process and one SparkSession: a Spark job costs seconds."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

from cds.sweep.evaluate import EvaluationSpec, override_pins
from cds.sweep.run import sweep
from tests.sweep.conftest import copy_tree

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def test_spark_gives_the_local_engines_results(
    spark: SparkSession,
    spec: EvaluationSpec,
    fixture_export: Path,
    fixture_folder: Path,
    synthea_export: Path,
    tmp_path: Path,
) -> None:
    # The fixtures as an export with a malformed line in a plain and in a gzipped file, under
    # the pins in force and candidate pins.
    export = copy_tree(fixture_export, tmp_path / "export")
    with (export / "Condition.ndjson").open("ab") as conditions:
        conditions.write(b'{"resourceType": "Condition", "subject": {"reference": "Patient/fx-\n')
    observations = export / "Observation.ndjson.gz"
    observations.write_bytes(
        gzip.compress(b"not json\n" + gzip.decompress(observations.read_bytes()))
    )
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
    assert on_spark.engine == "spark local[2]"

    # The 90 Synthea patients as NDJSON.
    synthea = sweep([synthea_export], spec, engine="spark", spark_session=spark)
    assert len(synthea.results) == 90
    assert synthea.results == sweep([synthea_export], spec, workers=2).results

    # A folder of Bundles.
    bundles = sweep([fixture_folder], spec, engine="spark", spark_session=spark)
    assert bundles.results == sweep([fixture_folder], spec, workers=2).results
