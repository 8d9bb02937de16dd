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

# The worked example (docs/architecture.md): the next version of diuretic-electrolytes after the
# one the services pin, written as a developer would.
RULE_ID = "diuretic-electrolytes"
PINNED = next(
    key.split("@")[1] for key in load_registry().release.rules if key.startswith(f"{RULE_ID}@")
)
NEXT = next_version(PINNED)
PREVIOUS_MODULE = "v" + PINNED.replace(".", "_")
NEXT_MODULE = "v" + NEXT.replace(".", "_")
CURRENT_RELEASE = load_registry().released.current
PINNED_DVT_RISK = next(
    key.split("@")[1] for key in load_registry().release.rules if key.startswith("dvt-risk@")
)
NEXT_RELEASE = next_version(CURRENT_RELEASE, "patch")

THRESHOLD_VERSION = f'''"""diuretic-electrolytes {NEXT}: potassium below 2.8 mmol/L is critical."""

from __future__ import annotations

from dataclasses import replace

from cds.rules.diuretic_electrolytes import {PREVIOUS_MODULE} as previous

LOGIC = replace(previous.LOGIC, k_critical=2.8)

RULE = previous.RULE.revise(
    version="{NEXT}",
    logic=LOGIC,
    provenance=replace(
        previous.RULE.provenance,
        released="2026-12-07",
        changes="Critical potassium below 2.8 mmol/L (was 2.5).",
    ),
)
'''

WORDING_VERSION = f'''"""diuretic-electrolytes {NEXT}: the monitoring-gap card names its window."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules.base import Finding
from cds.rules.diuretic_electrolytes import {PREVIOUS_MODULE} as previous


@dataclass(frozen=True)
class DiureticElectrolytes(previous.DiureticElectrolytes):
    def monitoring_gap(self, facts: Facts, diuretics: list[MedicationEntry]) -> Finding | None:
        finding = super().monitoring_gap(facts, diuretics)
        if finding is None:
            return None
        days = self.monitoring_window_days
        return replace(finding, summary=finding.summary.replace("12 months", f"{{days}} days"))


RULE = previous.RULE.revise(
    version="{NEXT}",
    logic=DiureticElectrolytes(),
    provenance=replace(
        previous.RULE.provenance, released="2026-12-07", changes="Names the window in days."
    ),
)
'''


def version_file(root: Path) -> Path:
    return root / "cds" / "rules" / "diuretic_electrolytes" / f"{NEXT_MODULE}.py"


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
    assert f"from cds.rules.diuretic_electrolytes import {PREVIOUS_MODULE} as previous" in source
    assert "#   k_critical = 2.5" in source  # the parameters it may change, listed
    assert all(len(line) < 100 for line in source.splitlines())
    # As written, the new version changes nothing and says nothing: both are refused.
    release = run_cds(root, "rules", "release", "--as", NEXT_RELEASE)
    assert release.returncode == 1
    assert f"UNWRITTEN {RULE_ID}@{NEXT}" in release.stderr
    assert f"COPY     {RULE_ID}@{NEXT}: behaves exactly as {RULE_ID}@{PINNED}" in release.stderr
    assert UNWRITTEN_CHANGE in source


def test_a_threshold_version_its_diff_pins_and_release(tmp_path: Path) -> None:
    root = edited_copy(tmp_path, {})
    version_file(root).write_text(THRESHOLD_VERSION, "utf-8")

    diff = run_cds(root, "rules", "diff", RULE_ID, PINNED, NEXT)
    assert diff.returncode == 0, diff.stderr
    assert "k_critical: 2.5 -> 2.8" in diff.stdout
    assert diff.stdout.count("(no change)") == 4  # value sets, card, logic, record fields

    pin = run_cds(root, "rules", "pin", f"{RULE_ID}@{NEXT}")
    assert pin.returncode == 0, pin.stderr
    for path in (root / "hooks").glob("*.json"):
        assert json.loads(path.read_text("utf-8"))["rules"][RULE_ID] == NEXT

    unreleased = run_cds(root, "rules", "release", "--check")
    assert unreleased.returncode == 1
    assert f"not released yet: {RULE_ID}@{NEXT}" in unreleased.stdout
    assert f"pinned but not released: {RULE_ID}@{NEXT}" in unreleased.stderr

    release = run_cds(root, "rules", "release", "--as", NEXT_RELEASE)
    assert release.returncode == 0, release.stderr
    released = json.loads((root / "cds" / "rules" / "released.json").read_text("utf-8"))
    assert released["current"] == NEXT_RELEASE
    assert f"{RULE_ID}@{NEXT}" in released["releases"][NEXT_RELEASE]["rules"]
    assert f"{RULE_ID}@{PINNED}" not in released["releases"][NEXT_RELEASE]["rules"]
    assert (root / "cds" / "rules" / "released" / f"{RULE_ID}@{NEXT}.json").is_file()
    assert run_cds(root, "rules", "release", "--check").returncode == 0
    # A release name must move forward.
    again = run_cds(root, "rules", "release", "--as", "2026.11.1")
    assert again.returncode == 1


def test_a_wording_version_overrides_one_method_and_the_diff_shows_its_code(
    tmp_path: Path,
) -> None:
    root = edited_copy(tmp_path, {})
    version_file(root).write_text(WORDING_VERSION, "utf-8")
    diff = run_cds(root, "rules", "diff", RULE_ID, PINNED, NEXT)
    assert diff.returncode == 0, diff.stderr
    logic = diff.stdout.split("Logic\n", 1)[1].split("\n\n", 1)[0]
    assert (
        f"+ code:cds.rules.diuretic_electrolytes.{NEXT_MODULE}:DiureticElectrolytes.monitoring_gap"
        in logic
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
    if args[0] == "show":
        # Without a version: the one the services pin.
        shown = args[1] if "@" in args[1] else f"dvt-risk@{PINNED_DVT_RISK}"
        assert f"{shown}: " in result.output
        assert "surgery_window_days = 84" in result.output  # parameters are shown
    else:
        registry = load_registry()
        pinned = len(registry.release.rules)
        assert pinned == 18  # one version of each rule of the catalog
        assert (
            f"ruleset {registry.released.current} "
            f"(card-selection policy {registry.release.selection}): "
            f"{len(registry.rules)} rule versions ({len(registry.released.rules)} released)"
        ) in result.output
