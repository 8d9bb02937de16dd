"""Finding the rule versions and selection policies, and what has been released.

`released.json` is the record of ruleset releases:

- `current`: the ruleset release the service runs (named on every response and audit row);
- `releases`: each ruleset release, with its date, its card-selection policy and the rule
  versions it released;
- `rules`: the fingerprint of every released rule version (`cds.rules.fingerprint`);
- `selection`: the fingerprint of every released card-selection policy;
- `terminology`: the fingerprint of the data of every released terminology release.

`cds/rules/released/<rule>@<version>.json` keeps each released version's fingerprint parts, so
that a changed fingerprint can say what changed. Nothing here runs at request time: the registry
is loaded once at start-up.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass
from importlib import resources
from types import ModuleType
from typing import Any

from cds.rules.base import RuleVersion
from cds.rules.selection.v1 import SelectionPolicy

RULES_PACKAGE = "cds.rules"
SELECTION_PACKAGE = "cds.rules.selection"
RELEASED_FILE = "released.json"
RELEASED_PARTS_DIR = "released"
# Packages in cds/rules that hold no rule.
NOT_RULES = frozenset({"lib", "selection", "released"})


@dataclass(frozen=True)
class Release:
    version: str  # e.g. "2026.11.1"
    date: str
    selection: str  # the card-selection policy version
    rules: tuple[str, ...]  # "rule-id@version" released in it


@dataclass(frozen=True)
class Released:
    """The content of released.json."""

    current: str
    releases: dict[str, Release]
    rules: dict[str, str]  # "rule-id@version" -> fingerprint digest
    selection: dict[str, str]  # policy version -> fingerprint digest
    terminology: dict[str, str]  # terminology release -> data digest

    @property
    def current_release(self) -> Release:
        return self.releases[self.current]

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "releases": {
                name: {
                    "date": r.date,
                    "selection": r.selection,
                    "rules": sorted(r.rules),
                }
                for name, r in sorted(self.releases.items(), key=lambda item: _version_key(item[0]))
            },
            "rules": dict(sorted(self.rules.items())),
            "selection": dict(sorted(self.selection.items())),
            "terminology": dict(sorted(self.terminology.items())),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Released:
        return cls(
            current=raw["current"],
            releases={
                name: Release(name, r["date"], r["selection"], tuple(r["rules"]))
                for name, r in raw["releases"].items()
            },
            rules=dict(raw["rules"]),
            selection=dict(raw["selection"]),
            terminology=dict(raw["terminology"]),
        )


@dataclass(frozen=True)
class RuleRegistry:
    rules: dict[str, RuleVersion]  # "rule-id@version" -> RuleVersion
    modules: dict[str, ModuleType]
    policies: dict[str, SelectionPolicy]  # version -> policy
    released: Released

    @property
    def release(self) -> Release:
        """The ruleset release the service runs."""
        return self.released.current_release

    @property
    def policy(self) -> SelectionPolicy:
        """The card-selection policy of the current release."""
        return self.policies[self.release.selection]

    def get(self, rule_id: str, version: str) -> RuleVersion:
        key = f"{rule_id}@{version}"
        if key not in self.rules:
            known = sorted(k for k in self.rules if k.startswith(f"{rule_id}@"))
            raise KeyError(f"unknown rule version {key} (known: {', '.join(known) or 'none'})")
        return self.rules[key]

    def is_released(self, rule: RuleVersion) -> bool:
        return rule.key in self.released.rules

    def versions_of(self, rule_id: str) -> list[RuleVersion]:
        """Every version of a rule defined in the code, oldest first."""
        found = [r for r in self.rules.values() if r.id == rule_id]
        return sorted(found, key=lambda r: _version_key(r.version))

    @property
    def rule_ids(self) -> list[str]:
        return sorted({r.id for r in self.rules.values()})


def load_registry() -> RuleRegistry:
    """Import every `cds/rules/<rule>/v*.py` and `cds/rules/selection/v*.py` module and read
    released.json."""
    package = importlib.import_module(RULES_PACKAGE)
    rules: dict[str, RuleVersion] = {}
    modules: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg or info.name in NOT_RULES:
            continue
        rule_package = importlib.import_module(f"{RULES_PACKAGE}.{info.name}")
        for version_info in pkgutil.iter_modules(rule_package.__path__):
            if not version_info.name.startswith("v"):
                continue
            module = importlib.import_module(f"{rule_package.__name__}.{version_info.name}")
            rule = getattr(module, "RULE", None)
            if not isinstance(rule, RuleVersion):
                raise RuntimeError(f"{module.__name__} does not define RULE")
            if rule.key in rules:
                raise RuntimeError(f"rule version {rule.key} is defined twice")
            rules[rule.key] = rule
            modules[rule.key] = module
    return RuleRegistry(
        rules=rules, modules=modules, policies=load_policies(), released=read_released()
    )


def load_policies() -> dict[str, SelectionPolicy]:
    package = importlib.import_module(SELECTION_PACKAGE)
    policies: dict[str, SelectionPolicy] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("v"):
            continue
        module = importlib.import_module(f"{SELECTION_PACKAGE}.{info.name}")
        policy = getattr(module, "POLICY", None)
        if not isinstance(policy, SelectionPolicy):
            raise RuntimeError(f"{module.__name__} does not define POLICY")
        policies[policy.version] = policy
    return policies


def read_released() -> Released:
    raw = resources.files(RULES_PACKAGE).joinpath(RELEASED_FILE).read_text("utf-8")
    return Released.from_json(json.loads(raw))


def released_parts(key: str) -> dict[str, str] | None:
    """The fingerprint parts recorded when `key` ("rule@version") was released, if any."""
    path = resources.files(RULES_PACKAGE).joinpath(RELEASED_PARTS_DIR, f"{key}.json")
    if not path.is_file():
        return None
    parts: dict[str, str] = json.loads(path.read_text("utf-8"))["parts"]
    return parts


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def version_key(version: str) -> tuple[int, ...]:
    """ "1.10.0" after "1.9.0": versions and releases compared number by number."""
    return _version_key(version)
