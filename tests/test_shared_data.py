"""A checkout without the shared test data is told so at once (tests/conftest.py stops the run
with one message naming what is missing) rather than failing a hundred tests one by one."""

from __future__ import annotations

from pathlib import Path

from tests.support.paths import missing_shared_data

WHAT_THE_TESTS_READ = {
    "docs/clinical-content.md",
    "clinical-codes/codes.tsv",
    "external/synthea/code-inventory.json",
    "external/synthea/bundles",
    "external/hl7-fhir-r4-examples/examples",
    "external/cds-hooks-requests",
}


def test_this_checkout_has_the_shared_data() -> None:
    assert missing_shared_data() == []


def test_what_is_missing_is_named(tmp_path: Path) -> None:
    def missing() -> set[str]:
        return {p.relative_to(tmp_path).as_posix() for p in missing_shared_data(tmp_path)}

    assert missing() == WHAT_THE_TESTS_READ
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "clinical-content.md").write_text("# catalog\n", "utf-8")
    bundles = tmp_path / "external" / "synthea" / "bundles"
    bundles.mkdir(parents=True)
    assert missing() == WHAT_THE_TESTS_READ - {"docs/clinical-content.md"}  # an empty folder
    (bundles / "patient.json").write_text("{}", "utf-8")
    assert missing() == WHAT_THE_TESTS_READ - {
        "docs/clinical-content.md",
        "external/synthea/bundles",
    }
