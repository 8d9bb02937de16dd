"""`cds rules`: a new version from the pinned one, its diff, its pins, and its release, as a
developer runs them (on a copy of the package: tests/support/checkout.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cds.cli import main
from cds.rules.registry import load_registry
from cds.rules.release import UNWRITTEN_CHANGE, next_version
from tests.support.checkout import edited_copy, run_cds

THRESHOLD_VERSION = '''"""diuretic-electrolytes 1.1.0: potassium below 2.8 mmol/L is critical."""

from __future__ import annotations

from dataclasses import replace

from cds.rules.diuretic_electrolytes import v1_0_0 as previous

LOGIC = replace(previous.LOGIC, k_critical=2.8)

RULE = previous.RULE.revise(
    version="1.1.0",
    logic=LOGIC,
    provenance=replace(
        previous.RULE.provenance,
        released="2026-12-07",
        changes="Critical potassium below 2.8 mmol/L (was 2.5).",
    ),
)
'''

WORDING_VERSION = '''"""diuretic-electrolytes 1.1.0: the monitoring-gap card names its window."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules.base import Finding
from cds.rules.diuretic_electrolytes import v1_0_0 as previous


@dataclass(frozen=True)
class DiureticElectrolytes(previous.DiureticElectrolytes):
    def monitoring_gap(self, facts: Facts, diuretics: list[MedicationEntry]) -> Finding | None:
        finding = super().monitoring_gap(facts, diuretics)
        if finding is None:
            return None
        days = self.monitoring_window_days
        return replace(finding, summary=finding.summary.replace("12 months", f"{days} days"))


RULE = previous.RULE.revise(
    version="1.1.0",
    logic=DiureticElectrolytes(),
    provenance=replace(
        previous.RULE.provenance, released="2026-12-07", changes="Names the window in days."
    ),
)
'''


LATER_RELEASE = "2099.1.0"


def version_file(root: Path) -> Path:
    return root / "cds" / "rules" / "diuretic_electrolytes" / "v1_1_0.py"


def test_next_version() -> None:
    assert next_version("1.0.0") == "1.1.0"
    assert next_version("1.9.0") == "1.10.0"
    assert next_version("1.2.3", "patch") == "1.2.4"
    assert next_version("1.2.3", "major") == "2.0.0"


def test_new_writes_the_next_version_which_release_refuses_until_it_says_what_changes(
    tmp_path: Path,
) -> None:
    root = edited_copy(tmp_path, {})
    result = run_cds(root, "rules", "new", "diuretic-electrolytes")
    assert result.returncode == 0, result.stderr
    source = version_file(root).read_text("utf-8")
    assert "from cds.rules.diuretic_electrolytes import v1_0_0 as previous" in source
    assert "#   k_critical = 2.5" in source  # the parameters it may change, listed
    assert all(len(line) < 100 for line in source.splitlines())
    # As written, the new version changes nothing and says nothing: both are refused.
    release = run_cds(root, "rules", "release", "--as", "2026.11.2")
    assert release.returncode == 1
    assert "UNWRITTEN diuretic-electrolytes@1.1.0" in release.stderr
    assert (
        "COPY     diuretic-electrolytes@1.1.0: behaves exactly as diuretic-electrolytes@1.0.0"
        in (release.stderr)
    )
    assert UNWRITTEN_CHANGE in source


def test_a_threshold_version_its_diff_pins_and_release(tmp_path: Path) -> None:
    root = edited_copy(tmp_path, {})
    version_file(root).write_text(THRESHOLD_VERSION, "utf-8")

    diff = run_cds(root, "rules", "diff", "diuretic-electrolytes", "1.0.0", "1.1.0")
    assert diff.returncode == 0, diff.stderr
    assert "k_critical: 2.5 -> 2.8" in diff.stdout
    assert diff.stdout.count("(no change)") == 4  # value sets, card, logic, record fields

    pin = run_cds(root, "rules", "pin", "diuretic-electrolytes@1.1.0")
    assert pin.returncode == 0, pin.stderr
    for path in (root / "hooks").glob("*.json"):
        assert json.loads(path.read_text("utf-8"))["rules"]["diuretic-electrolytes"] == "1.1.0"

    unreleased = run_cds(root, "rules", "release", "--check")
    assert unreleased.returncode == 1
    assert "not released yet: diuretic-electrolytes@1.1.0" in unreleased.stdout
    assert "pinned but not released: diuretic-electrolytes@1.1.0" in unreleased.stderr

    # A name after any ruleset release the repository holds.
    release = run_cds(root, "rules", "release", "--as", LATER_RELEASE)
    assert release.returncode == 0, release.stderr
    released = json.loads((root / "cds" / "rules" / "released.json").read_text("utf-8"))
    assert released["current"] == LATER_RELEASE
    assert "diuretic-electrolytes@1.1.0" in released["releases"][LATER_RELEASE]["rules"]
    assert "diuretic-electrolytes@1.0.0" not in released["releases"][LATER_RELEASE]["rules"]
    assert (root / "cds" / "rules" / "released" / "diuretic-electrolytes@1.1.0.json").is_file()
    assert run_cds(root, "rules", "release", "--check").returncode == 0
    # A release name must move forward.
    again = run_cds(root, "rules", "release", "--as", "2026.11.1")
    assert again.returncode == 1


def test_a_wording_version_overrides_one_method_and_the_diff_shows_its_code(
    tmp_path: Path,
) -> None:
    root = edited_copy(tmp_path, {})
    version_file(root).write_text(WORDING_VERSION, "utf-8")
    diff = run_cds(root, "rules", "diff", "diuretic-electrolytes", "1.0.0", "1.1.0")
    assert diff.returncode == 0, diff.stderr
    logic = diff.stdout.split("Logic\n", 1)[1].split("\n\n", 1)[0]
    assert (
        "+ code:cds.rules.diuretic_electrolytes.v1_1_0:DiureticElectrolytes.monitoring_gap" in logic
    )
    assert 'f"{days} days"' in logic  # the new code, for the reviewer
    assert "Parameters\n  (no change)" in diff.stdout


def test_pin_refuses_a_version_that_does_not_exist(tmp_path: Path) -> None:
    result = run_cds(edited_copy(tmp_path, {}), "rules", "pin", "diuretic-electrolytes@9.9.9")
    assert result.returncode != 0
    assert "unknown rule version diuretic-electrolytes@9.9.9" in result.stderr


@pytest.mark.parametrize("args", [["list"], ["show", "dvt-risk"], ["show", "dvt-risk@1.0.0"]])
def test_listing_and_showing(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["rules", *args])
    assert result.exit_code == 0, result.output
    registry = load_registry()
    if args[0] == "show":
        newest = registry.versions_of("dvt-risk")[-1].version
        shown = args[1] if "@" in args[1] else f"dvt-risk@{newest}"
        assert f"{shown}: " in result.output
        assert "surgery_window_days = 84" in result.output  # parameters are shown
    else:
        current = registry.released.current
        count = len(registry.released.rules)  # every version in the code, all released
        assert (
            f"ruleset {current} (card-selection policy 1): {count} rule versions ({count} released)"
        ) in result.output
