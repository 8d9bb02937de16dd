"""Populations the sweep tests share: the fixtures' patients and the 90 Synthea patients, as
Bundle folders and as Bulk Data export folders (NDJSON), written once per session; and the one
SparkSession (local[2], loopback only) every Spark test uses."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bench.population import write_export
from cds.sweep.evaluate import EvaluationSpec, Pins, pins_from_folder
from tests.support.paths import FIXTURES, HOOKS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

AS_OF = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # every fixture's as_of
# What a `$export?_type=...` for the patient-view service returns, plus Claim (which no rule
# reads: the sweep must not even open it).
EXPORT_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "MedicationAdministration",
        "MedicationStatement",
        "Procedure",
        "Encounter",
        "AllergyIntolerance",
        "FamilyMemberHistory",
        "Medication",
        "Claim",
    }
)


def fixture_bundles() -> dict[str, dict[str, Any]]:
    """The patient Bundle of every scenario judged at AS_OF, by scenario name: a sweep judges
    a whole population at one instant, so scenarios written for another date stay out."""
    bundles = {}
    for folder in sorted(FIXTURES.iterdir()):
        if (folder / "bundle.json").is_file() and scenario_as_of(folder) == AS_OF:
            bundles[folder.name] = json.loads((folder / "bundle.json").read_text())
    assert len(bundles) >= 50, "the sweep tests need the fixtures written for AS_OF"
    return bundles


def scenario_as_of(folder: Path) -> datetime:
    scenario = json.loads((folder / "scenario.json").read_text())
    return datetime.fromisoformat(scenario["as_of"])


@pytest.fixture(scope="session")
def baseline_pins() -> Pins:
    return pins_from_folder(HOOKS)


@pytest.fixture(scope="session")
def spec(baseline_pins: Pins) -> EvaluationSpec:
    return EvaluationSpec(baseline=baseline_pins, as_of=AS_OF)


@pytest.fixture(scope="session")
def fixture_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixtures' patients as a folder of Bundles."""
    folder = tmp_path_factory.mktemp("fixture-bundles")
    for name, bundle in fixture_bundles().items():
        (folder / f"{name}.json").write_text(json.dumps(bundle))
    return folder


@pytest.fixture(scope="session")
def fixture_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixtures' patients as a Bulk Data export (Observations gzipped)."""
    folder = tmp_path_factory.mktemp("fixture-export")
    write_export(fixture_bundles().values(), folder, gzip_types=frozenset({"Observation"}))
    return folder


@pytest.fixture(scope="session")
def synthea_export(
    tmp_path_factory: pytest.TempPathFactory, synthea_bundles: dict[str, dict[str, Any]]
) -> Path:
    """The 90 Synthea patients as a Bulk Data export of the types the service reads."""
    folder = tmp_path_factory.mktemp("synthea-export")
    write_export(synthea_bundles.values(), folder, types=EXPORT_TYPES)
    return folder


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """The SparkSession the Spark test uses (local[2], bound to the loopback address)."""
    from cds.sweep.spark import start_session

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = start_session("local[2]")
    yield session
    session.stop()


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
