"""Released rule versions are immutable: their content hashes must not change.

`cds/rules/released.json` pins each released version's content hash (module source without
docstrings or comments, the rule modules it imports directly or through other rule modules, the
codes of its value sets). A change to
released logic must go into a new version module, be released with `cds rules release` and be
pinned in hooks/.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from cds.cli import main
from cds.cli.rules import plan_release, read_release
from cds.rules.base import Rule
from cds.rules.registry import (
    RULES_PACKAGE,
    Release,
    RuleRegistry,
    _normalise,
    content_hash,
    load_registry,
)
from cds.terminology import Terminology
from tests.support.paths import HOOKS, REPO

# The module the "can the check fail" tests copy and edit. Any rule module would do; this one
# has named thresholds.
SAMPLE_MODULE = "cds.rules.electrolyte_abnormality.v1_0_0"
SAMPLE_THRESHOLD = "K_CRITICAL_BELOW = 2.5"


@pytest.fixture(scope="module")
def registry() -> RuleRegistry:
    return load_registry()


@pytest.fixture(scope="module")
def vocabulary() -> Terminology:
    # Loaded directly, not through the engine: these checks must run even when hooks/ pins an
    # unreleased version (which is one of the things they report).
    return Terminology.load()


def _pins() -> Iterator[tuple[str, str]]:
    for path in sorted(HOOKS.glob("*.json")):
        spec = json.loads(path.read_text("utf-8"))
        for rule_id, version in spec["rules"].items():
            yield path.name, f"{rule_id}@{version}"


# -- the released catalog --------------------------------------------------------------------


def test_every_released_version_is_unchanged(
    registry: RuleRegistry, vocabulary: Terminology
) -> None:
    changed = []
    for key, released in sorted(registry.release.hashes.items()):
        if key not in registry.rules:
            changed.append(f"{key}: released, but no module defines it any more")
            continue
        now = content_hash(registry.rules[key], registry.modules[key], vocabulary)
        if now != released:
            changed.append(f"{key}: released {released}, now {now}")
    assert not changed, (
        "Released rule versions changed (code, imported rule modules or value-set codes). "
        "Restore them and put the change in a new version module, then `cds rules release`:\n"
        + "\n".join(changed)
    )


@pytest.mark.parametrize(("hook_file", "key"), list(_pins()))
def test_every_pinned_version_is_released(registry: RuleRegistry, hook_file: str, key: str) -> None:
    assert key in registry.rules, f"{hook_file} pins {key}, which no module defines"
    assert key in registry.release.hashes, f"{hook_file} pins {key}, which is not released"


def test_every_rule_version_module_matches_its_rule(registry: RuleRegistry) -> None:
    for key, module in registry.modules.items():
        rule = registry.rules[key]
        expected = "v" + rule.version.replace(".", "_")
        assert module.__name__.rsplit(".", 1)[-1] == expected, key
        assert module.__name__.split(".")[2] == rule.id.replace("-", "_"), key


def test_hash_covers_every_rule_module_a_rule_depends_on(
    registry: RuleRegistry, vocabulary: Terminology, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every `cds.rules.*` module a rule depends on, directly or through another rule module, is
    part of its hash: changing any of them changes the hash."""
    probed = 0
    for key, module in sorted(registry.modules.items()):
        rule = registry.rules[key]
        before = content_hash(rule, module, vocabulary)
        for dependency in sorted(_rule_closure(module.__name__)):
            with monkeypatch.context() as patch:
                _patch_source(patch, tmp_path, dependency, "\n_HASH_PROBE = 1\n")
                assert content_hash(rule, module, vocabulary) != before, (key, dependency)
            probed += 1
        assert content_hash(rule, module, vocabulary) == before
    assert probed


def test_hash_covers_a_rule_module_imported_only_indirectly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocabulary: Terminology
) -> None:
    """A rule that never names `cds.rules.common` still depends on it through a private module
    (here `_cramp_labs`): changing common.py changes that rule's hash."""
    rule, module = _load_copy(tmp_path, monkeypatch, INDIRECT_RULE, "rule_copy_indirect")
    assert "cds.rules.common" not in _rule_imports(module.__name__)
    assert "cds.rules.common" in _rule_imports("cds.rules._cramp_labs")
    before = content_hash(rule, module, vocabulary)
    _patch_source(monkeypatch, tmp_path, "cds.rules.common", "\nK_LOW = 3.4\n")
    assert content_hash(rule, module, vocabulary) != before


INDIRECT_RULE = """\
from cds.facts import Facts
from cds.rules._cramp_labs import high_tsh
from cds.rules.base import DataRequirement, Finding, Provenance, Rule


def evaluate(facts: Facts) -> Finding | None:
    high_tsh(facts)
    return None


RULE = Rule(
    id="indirect",
    version="1.0.0",
    title="A rule importing common only through _cramp_labs",
    severities=("info",),
    provenance=Provenance(guideline="-", url="-", released="2026-11-21", changes="-"),
    requires=(DataRequirement("Observation", ("tsh",)),),
    evaluate=evaluate,
    valuesets=("tsh",),
)
"""


def _patch_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, module_name: str, addition: str
) -> None:
    """Make the hash read an edited copy of a module's source (the module itself is unchanged)."""
    module = importlib.import_module(module_name)
    original = Path(module.__file__ or "")
    edited = tmp_path / f"{module_name}.edited.py"
    edited.write_text(original.read_text("utf-8") + addition, "utf-8")
    monkeypatch.setattr(module, "__file__", str(edited))


def _rule_closure(module_name: str) -> set[str]:
    closure: set[str] = set()
    todo = [module_name]
    while todo:
        for dependency in _rule_imports(todo.pop()):
            if dependency not in closure:
                closure.add(dependency)
                todo.append(dependency)
    return closure


def _rule_imports(module_name: str) -> set[str]:
    """The rule modules a module names in a `from cds.rules.x import ...` (how rules import)."""
    source = Path(importlib.import_module(module_name).__file__ or "").read_text("utf-8")
    return {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith(RULES_PACKAGE + ".")
        and node.module != "cds.rules.base"
    }


# -- the check can fail ----------------------------------------------------------------------


def _sample() -> tuple[Rule, ModuleType, str]:
    module = importlib.import_module(SAMPLE_MODULE)
    source = Path(module.__file__ or "").read_text("utf-8")
    assert SAMPLE_THRESHOLD in source, "update SAMPLE_THRESHOLD to a line of the sample module"
    return module.RULE, module, source


def _load_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, package: str
) -> tuple[Rule, ModuleType]:
    """The source as `<package>.v1_0_0` in a temporary package, imported from there."""
    folder = tmp_path / package
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "v1_0_0.py").write_text(source, "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"{package}.v1_0_0"
    spec = importlib.util.spec_from_file_location(name, folder / "v1_0_0.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    rule = module.RULE
    assert isinstance(rule, Rule)
    return rule, module


def test_an_identical_copy_has_the_same_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocabulary: Terminology
) -> None:
    rule, module, source = _sample()
    copy_rule, copy_module = _load_copy(tmp_path, monkeypatch, source, "rule_copy_same")
    assert content_hash(copy_rule, copy_module, vocabulary) == content_hash(
        rule, module, vocabulary
    )


def test_a_changed_threshold_changes_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocabulary: Terminology
) -> None:
    rule, module, source = _sample()
    edited = source.replace(SAMPLE_THRESHOLD, "K_CRITICAL_BELOW = 2.4")
    copy_rule, copy_module = _load_copy(tmp_path, monkeypatch, edited, "rule_copy_threshold")
    assert content_hash(copy_rule, copy_module, vocabulary) != content_hash(
        rule, module, vocabulary
    )


def test_changed_card_wording_changes_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocabulary: Terminology
) -> None:
    rule, module, source = _sample()
    edited = source.replace("review today", "review this week")
    assert edited != source
    copy_rule, copy_module = _load_copy(tmp_path, monkeypatch, edited, "rule_copy_wording")
    assert content_hash(copy_rule, copy_module, vocabulary) != content_hash(
        rule, module, vocabulary
    )


def test_docstrings_and_comments_do_not_change_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocabulary: Terminology
) -> None:
    rule, module, source = _sample()
    tree = ast.parse(source)
    docstrings = [
        ast.get_docstring(node, clean=False)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
    ]
    reworded = [d for d in docstrings if d]
    assert len(reworded) >= 2, "the sample needs a module and another docstring"
    edited = source
    for number, docstring in enumerate(reworded):
        edited = edited.replace(docstring, f"Reworded docstring number {number}.", 1)
    edited = edited.replace(
        SAMPLE_THRESHOLD, SAMPLE_THRESHOLD + "  # a new comment explaining the threshold"
    )
    edited = edited.replace("\ndef evaluate(", "\n# A new comment block.\n\n\ndef evaluate(", 1)
    assert edited.count("Reworded docstring number") == len(reworded)
    assert "# A new comment block." in edited
    copy_rule, copy_module = _load_copy(tmp_path, monkeypatch, edited, "rule_copy_docs")
    assert content_hash(copy_rule, copy_module, vocabulary) == content_hash(
        rule, module, vocabulary
    )


def test_adding_a_docstring_does_not_change_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocabulary: Terminology
) -> None:
    rule, module, source = _sample()
    signature = "def evaluate(facts: Facts) -> Finding | None:\n"
    assert signature in source
    edited = source.replace(signature, signature + '    """A docstring added later."""\n', 1)
    copy_rule, copy_module = _load_copy(tmp_path, monkeypatch, edited, "rule_copy_new_doc")
    assert content_hash(copy_rule, copy_module, vocabulary) == content_hash(
        rule, module, vocabulary
    )


def test_removing_every_docstring_does_not_change_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocabulary: Terminology
) -> None:
    rule, module, source = _sample()
    tree = ast.parse(source)
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(
            node, clean=False
        ):
            first = node.body[0]
            assert first.end_lineno is not None
            spans.append((first.lineno, first.end_lineno))
    assert len(spans) >= 2
    lines = source.splitlines(keepends=True)
    for start, end in sorted(spans, reverse=True):
        del lines[start - 1 : end]
    edited = "".join(lines)
    assert ast.get_docstring(ast.parse(edited)) is None
    copy_rule, copy_module = _load_copy(tmp_path, monkeypatch, edited, "rule_copy_no_doc")
    assert content_hash(copy_rule, copy_module, vocabulary) == content_hash(
        rule, module, vocabulary
    )


def test_normalise_keeps_code_and_bodies_valid() -> None:
    """A body that is only a docstring becomes `pass`; code and non-docstring strings stay."""
    documented = 'def f():\n    """Only a docstring."""\n'
    assert _normalise(documented) == _normalise("def f():\n    pass\n")
    assert _normalise(documented) != _normalise("def f():\n    return 1\n")
    # A string that is not the first statement is code (an expression statement), not a doc.
    assert _normalise("def f():\n    x = 1\n    'note'\n") != _normalise("def f():\n    x = 1\n")
    assert _normalise("x = 'a'\n") != _normalise("x = 'b'\n")


def test_value_set_codes_are_part_of_the_hash(vocabulary: Terminology) -> None:
    rule, module, _ = _sample()
    fewer = replace(rule, valuesets=tuple(v for v in rule.valuesets if v != "potassium"))
    assert content_hash(fewer, module, vocabulary) != content_hash(rule, module, vocabulary)


# -- `cds rules release` ---------------------------------------------------------------------


def test_plan_adds_new_versions_and_refuses_changed_ones() -> None:
    released = Release("2026.11.0", {"a@1.0.0": "sha256:aa", "b@1.0.0": "sha256:bb"})
    plan = plan_release(
        {"a@1.0.0": "sha256:aa", "b@1.0.0": "sha256:b2", "c@1.0.0": "sha256:cc"}, released
    )
    assert plan.added == {"c@1.0.0": "sha256:cc"}
    assert plan.changed == {"b@1.0.0": ("sha256:bb", "sha256:b2")}
    assert plan.refused
    assert not plan_release(
        {"a@1.0.0": "sha256:aa"}, Release("x", {"a@1.0.0": "sha256:aa"})
    ).refused
    assert plan_release({}, released).missing == ["a@1.0.0", "b@1.0.0"]


def _released_file(tmp_path: Path, hashes: dict[str, str]) -> Path:
    path = tmp_path / "released.json"
    path.write_text(json.dumps({"release": "2026.11.0", "rules": hashes}), "utf-8")
    return path


def test_release_records_every_unreleased_version(
    tmp_path: Path, registry: RuleRegistry, vocabulary: Terminology
) -> None:
    path = _released_file(tmp_path, {})
    result = CliRunner().invoke(main, ["rules", "release", "--released-file", str(path)])
    assert result.exit_code == 0, result.output
    written = read_release(path)
    assert written.version == "2026.11.0"
    assert written.hashes == {
        key: content_hash(rule, registry.modules[key], vocabulary)
        for key, rule in registry.rules.items()
    }
    # Released now: a second run has nothing to do, and --check agrees.
    again = CliRunner().invoke(main, ["rules", "release", "--released-file", str(path)])
    assert again.exit_code == 0
    assert "nothing to release" in again.output
    check = CliRunner().invoke(main, ["rules", "release", "--check", "--released-file", str(path)])
    assert check.exit_code == 0, check.output


def test_release_refuses_to_change_a_released_hash(tmp_path: Path, registry: RuleRegistry) -> None:
    key = sorted(registry.rules)[0]
    path = _released_file(tmp_path, {key: "sha256:" + "0" * 64})
    before = path.read_text("utf-8")
    result = CliRunner().invoke(main, ["rules", "release", "--released-file", str(path)])
    assert result.exit_code == 1
    assert f"CHANGED  {key}" in result.output
    assert "new version module" in result.output
    assert path.read_text("utf-8") == before  # nothing written


def test_release_check_reports_unreleased_versions(tmp_path: Path) -> None:
    path = _released_file(tmp_path, {})
    result = CliRunner().invoke(main, ["rules", "release", "--check", "--released-file", str(path)])
    assert result.exit_code == 1
    assert "would add" in result.output
    assert read_release(path).hashes == {}


def test_release_can_set_the_ruleset_version(tmp_path: Path) -> None:
    path = _released_file(tmp_path, {})
    args = ["rules", "release", "--ruleset", "2026.12.0", "--released-file", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert read_release(path).version == "2026.12.0"


# -- `cds rules` and `cds rules show` ----------------------------------------------------------


def test_rules_lists_every_version_with_status_and_pins(registry: RuleRegistry) -> None:
    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0, result.output
    for key in registry.rules:
        assert key in result.output
    for hook_file, key in _pins():
        service = json.loads((HOOKS / hook_file).read_text("utf-8"))["id"]
        block = result.output.split(key, 1)[1].split("\n    pinned by:", 1)[1].split("\n", 1)[0]
        assert service in block
    assert f"ruleset {registry.release.version}:" in result.output


def test_rules_show_prints_provenance_and_requirements(registry: RuleRegistry) -> None:
    rule = registry.rules[sorted(registry.rules)[0]]
    result = CliRunner().invoke(main, ["rules", "show", rule.key])
    assert result.exit_code == 0, result.output
    assert rule.provenance.url in result.output
    assert "requires:" in result.output
    for requirement in rule.requires:
        assert requirement.resource_type in result.output


def test_rules_show_unknown_rule_fails() -> None:
    result = CliRunner().invoke(main, ["rules", "show", "no-such-rule"])
    assert result.exit_code != 0
    assert "no rule version 'no-such-rule'" in result.output


def test_changelog_names_every_released_version(registry: RuleRegistry) -> None:
    changelog = (REPO / "cds" / "rules" / "CHANGELOG.md").read_text("utf-8")
    assert f"## {registry.release.version}" in changelog
    missing = [key for key in registry.release.hashes if f"`{key}`" not in changelog]
    assert not missing, f"add these released versions to cds/rules/CHANGELOG.md: {missing}"
