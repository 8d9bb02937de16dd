"""Finding the rule versions, checking them against what was released, and the content hash."""

from __future__ import annotations

import ast
import hashlib
import importlib
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
    """What a released version is: its module's source, the source of any other rule module it
    imports, and the codes of the value sets it declares. Facts and terminology code are covered
    by their own tests; a change to a rule's logic or to its codes changes this hash."""
    digest = hashlib.sha256()
    source_path = Path(module.__file__ or "")
    source = source_path.read_text("utf-8")
    digest.update(_normalise(source).encode())
    for imported in sorted(_rule_dependencies(source)):
        dependency = importlib.import_module(imported)
        digest.update(_normalise(Path(dependency.__file__ or "").read_text("utf-8")).encode())
    for name in sorted(rule.valuesets):
        for system, code in sorted(terminology.valueset(name).codes):
            digest.update(f"{name}|{system}|{code}\n".encode())
    return "sha256:" + digest.hexdigest()


def _rule_dependencies(source: str) -> set[str]:
    """Every rule module this source imports, directly or through other rule modules."""
    found: set[str] = set()
    pending = _imported_rule_modules(source)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        module = importlib.import_module(name)
        pending |= _imported_rule_modules(Path(module.__file__ or "").read_text("utf-8"))
    return found


def _imported_rule_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(RULES_PACKAGE + ".") and node.module != "cds.rules.base":
                names.add(node.module)
    return names


def _normalise(source: str) -> str:
    # Comments and docstrings may be improved without a new version; code may not.
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body[0] = ast.Pass()
    return ast.dump(tree, annotate_fields=False)
