"""Finding the rule versions, checking them against what was released, and the content hash."""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import json
import pkgutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType

from cds.rules.base import Rule
from cds.terminology import Terminology

RULES_PACKAGE = "cds.rules"
RELEASED_FILE = "released.json"
_BASE_MODULE = "cds.rules.base"


@dataclass(frozen=True)
class Release:
    version: str  # the ruleset release, e.g. "2026.11.0"
    hashes: dict[str, str]  # "rule-id@version" -> "sha256:..."


@dataclass(frozen=True)
class RuleRegistry:
    rules: dict[str, Rule]  # "rule-id@version" -> Rule
    modules: dict[str, ModuleType]
    release: Release

    def get(self, rule_id: str, version: str) -> Rule:
        key = f"{rule_id}@{version}"
        if key not in self.rules:
            known = sorted(k for k in self.rules if k.startswith(f"{rule_id}@"))
            raise KeyError(f"unknown rule version {key} (known: {', '.join(known) or 'none'})")
        return self.rules[key]

    def is_released(self, rule: Rule) -> bool:
        return rule.key in self.release.hashes

    def versions_of(self, rule_id: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.id == rule_id]


def load_registry() -> RuleRegistry:
    """Import every `cds/rules/<rule>/v*.py` module and read released.json."""
    package = importlib.import_module(RULES_PACKAGE)
    rules: dict[str, Rule] = {}
    modules: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        rule_package = importlib.import_module(f"{RULES_PACKAGE}.{info.name}")
        for version_info in pkgutil.iter_modules(rule_package.__path__):
            if not version_info.name.startswith("v"):
                continue
            module = importlib.import_module(f"{rule_package.__name__}.{version_info.name}")
            rule = getattr(module, "RULE", None)
            if not isinstance(rule, Rule):
                raise RuntimeError(f"{module.__name__} does not define RULE")
            if rule.key in rules:
                raise RuntimeError(f"rule version {rule.key} is defined twice")
            rules[rule.key] = rule
            modules[rule.key] = module
    raw = json.loads(resources.files(RULES_PACKAGE).joinpath(RELEASED_FILE).read_text("utf-8"))
    release = Release(version=raw["release"], hashes=dict(raw["rules"]))
    return RuleRegistry(rules=rules, modules=modules, release=release)


def content_hash(rule: Rule, module: ModuleType, terminology: Terminology) -> str:
    """What a released version is: its module's source, the source of every other rule module it
    imports, directly or through another one (`cds.rules.common`, the private `_*` modules,
    another rule's version module), and the codes of the value sets it declares. Docstrings and
    comments are left out. Facts and terminology code are covered by their own tests; a change
    to a rule's logic, to a rule module it depends on or to its codes changes this hash."""
    digest = hashlib.sha256()
    source = Path(module.__file__ or "").read_text("utf-8")
    digest.update(_normalise(source).encode())
    for imported in sorted(_rule_dependencies(source, module.__package__)):
        dependency = importlib.import_module(imported)
        digest.update(_normalise(Path(dependency.__file__ or "").read_text("utf-8")).encode())
    for name in sorted(rule.valuesets):
        for system, code in sorted(terminology.valueset(name).codes):
            digest.update(f"{name}|{system}|{code}\n".encode())
    return "sha256:" + digest.hexdigest()


def _rule_dependencies(source: str, package: str | None) -> set[str]:
    """Every rule module this source imports, directly or through other rule modules."""
    found: set[str] = set()
    pending = _imported_rule_modules(source, package)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        module = importlib.import_module(name)
        text = Path(module.__file__ or "").read_text("utf-8")
        pending |= _imported_rule_modules(text, module.__package__)
    return found


def _imported_rule_modules(source: str, package: str | None) -> set[str]:
    """The `cds.rules.*` modules a source imports, however written (`from cds.rules.x import
    y`, `import cds.rules.x`, `from cds.rules import x`, or relative to `package`), except
    `cds.rules.base`: the dataclasses every rule is made of, covered by the rule tests."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if not package:
                    continue
                base = importlib.util.resolve_name("." * node.level + base, package)
            names.add(base)
            # `from package import module` names a module too.
            names.update(
                f"{base}.{alias.name}"
                for alias in node.names
                if _is_rule_module(f"{base}.{alias.name}")
            )
    return {name for name in names if _in_rules_package(name) and name != _BASE_MODULE}


def _in_rules_package(name: str) -> bool:
    return name.startswith(RULES_PACKAGE + ".")


def _is_rule_module(name: str) -> bool:
    if not _in_rules_package(name):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # the parent is a module, not a package: `name` is an attribute
        return False


# Nodes whose first statement, when a string, is a docstring.
_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _normalise(source: str) -> str:
    """The source's syntax tree without docstrings: comments and docstrings may be improved
    without a new version; code may not. A docstring is removed outright (a `pass` stands in
    only where the body would otherwise be empty), so adding, rewording or removing one leaves
    the hash alone."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, _DOCUMENTED) or not node.body:
            continue
        first = node.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False)
