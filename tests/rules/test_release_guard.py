"""The release guard bites on every edit that changes what a released version does, and names the
versions it touches; it stays quiet on edits that change nothing a version does.

Each test edits a copy of the package as a developer would, then runs `cds rules release --check`
on it in another process (tests/support/checkout.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cds.rules.registry import load_registry, released_parts
from tests.support.checkout import edited_copy, replace_once, run_cds


def changed_versions(output: str) -> set[str]:
    return set(re.findall(r"CHANGED  (\S+@\S+): released", output))


@pytest.fixture(scope="module")
def released_keys() -> set[str]:
    return set(load_registry().released.rules)


def reaching(part: str, keys: set[str]) -> set[str]:
    """The released versions whose recorded fingerprint holds `part`, or the same constant or
    code as a later version of its library re-exports it (complaints v2 imports v1's window, and
    a version reading v2 records it under v2's name)."""
    kind, module, name = part.split(":")
    library, _, version = module.rpartition(".")
    if re.fullmatch(r"v\d+", version):
        module_pattern = rf"{re.escape(library)}\.v\d+"
    else:
        module_pattern = re.escape(module)
    same = re.compile(rf"{re.escape(kind)}:{module_pattern}:{re.escape(name)}")
    return {
        key for key in keys if any(same.fullmatch(held) for held in (released_parts(key) or {}))
    }


def test_changing_the_complaint_window_names_every_version_that_reads_complaints(
    tmp_path: Path, released_keys: set[str]
) -> None:
    # The §1.6 window used to sit in Facts, outside every fingerprint; now it is a library
    # parameter with one definition, inside the fingerprint of each version that reads it.
    root = edited_copy(
        tmp_path,
        {
            "cds/rules/lib/complaints/v1.py": replace_once(
                "COMPLAINT_WINDOW_DAYS = 90", "COMPLAINT_WINDOW_DAYS = 30"
            )
        },
    )
    result = run_cds(root, "rules", "release", "--check")
    assert result.returncode == 1
    part = "const:cds.rules.lib.complaints.v1:COMPLAINT_WINDOW_DAYS"
    assert part in result.stderr
    changed = changed_versions(result.stderr)
    # Versions on the 2026.12 complaints library read the same constant through complaints.v2.
    reexported = part.replace("complaints.v1:", "complaints.v2:")
    assert changed == reaching(part, released_keys) | reaching(reexported, released_keys)
    assert {"diuretic-electrolytes@1.0.0", "pad-rest-pain@1.0.0", "dvt-risk@1.0.0"} <= changed


def test_changing_a_facts_primitive_names_the_versions_that_use_it(
    tmp_path: Path, released_keys: set[str]
) -> None:
    root = edited_copy(
        tmp_path,
        {"cds/facts.py": replace_once("return 0 <= ago <= days", "return 0 <= ago < days")},
    )
    result = run_cds(root, "rules", "release", "--check")
    assert result.returncode == 1
    assert "code:cds.facts:Facts.within" in result.stderr
    assert changed_versions(result.stderr) == reaching("code:cds.facts:Facts.within", released_keys)


def test_changing_a_library_function_names_only_the_versions_that_reach_it(
    tmp_path: Path, released_keys: set[str]
) -> None:
    root = edited_copy(
        tmp_path,
        {
            "cds/rules/lib/results/v1.py": replace_once(
                "            if entry.value is not None:\n                return entry",
                "            if entry.value is not None and entry.effective is not None:\n"
                "                return entry",
            )
        },
    )
    result = run_cds(root, "rules", "release", "--check")
    assert result.returncode == 1
    part = "code:cds.rules.lib.results.v1:Results.latest_lab"
    changed = changed_versions(result.stderr)
    assert changed == reaching(part, released_keys)
    assert "diuretic-electrolytes@1.0.0" in changed
    # Not every version reads a lab result: those are not frozen with it.
    assert changed < released_keys


def test_changing_the_card_selection_policy_names_the_versions_it_governs(tmp_path: Path) -> None:
    root = edited_copy(
        tmp_path,
        {
            "cds/rules/selection/v1.py": replace_once(
                'order_hooks_also_show: tuple[str, ...] = ("critical",)',
                'order_hooks_also_show: tuple[str, ...] = ("critical", "warning")',
            )
        },
    )
    result = run_cds(root, "rules", "release", "--check")
    assert result.returncode == 1
    assert "CHANGED  card-selection policy 1: released; affects" in result.stderr
    assert "dvt-risk@1.0.0" in result.stderr


def test_changing_a_threshold_in_a_released_version_is_refused(tmp_path: Path) -> None:
    root = edited_copy(
        tmp_path,
        {
            "cds/rules/diuretic_electrolytes/v1_0_0.py": replace_once(
                "k_critical: float = 2.5", "k_critical: float = 2.8"
            )
        },
    )
    result = run_cds(root, "rules", "release", "--check")
    assert result.returncode == 1
    # 1.1.0 inherits the parameter from 1.0.0's class: the guard names every version that does.
    changed = changed_versions(result.stderr)
    assert "diuretic-electrolytes@1.0.0" in changed
    assert {key.split("@")[0] for key in changed} == {"diuretic-electrolytes"}
    assert "param:k_critical" in result.stderr


def test_comments_docstrings_rationale_and_unused_code_change_nothing(tmp_path: Path) -> None:
    root = edited_copy(
        tmp_path,
        {
            "cds/rules/lib/results/v1.py": lambda text: (
                replace_once(
                    '    """The newest result with a value within the window."""',
                    '    """The newest result that has a value, within the window (§1.2)."""\n'
                    "    # A result without a value (an interpretation only) is skipped here.",
                )(text)
                # A new library function no released version reaches.
                + "\n\ndef newest_two(facts: Facts, analyte: str) -> list[LabEntry]:\n"
                "    return lab_results(facts, analyte)[:2]\n"
            ),
            "cds/rules/diuretic_electrolytes/v1_0_0.py": replace_once(
                '"thresholds (§1.2); the critical', '"thresholds (§1.2, reviewed); the critical'
            ),
            "cds/facts.py": replace_once(
                "        if when is None:\n            return False\n        ago",
                "        if when is None:  # an undated entry is never within a window\n"
                "            return False\n        ago",
            ),
        },
    )
    result = run_cds(root, "rules", "release", "--check")
    assert result.returncode == 0, result.stderr
    assert "everything pinned is released and unchanged" in result.stdout
