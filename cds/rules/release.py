"""Releasing rule versions, and the tools around a release.

- `Catalog`: the fingerprint of every rule version and selection policy in the code, and the
  digest of every terminology release's data;
- `plan_release`: what `cds rules release` would add, and what it must refuse (a released rule
  version, selection policy or terminology release whose fingerprint changed, named with the
  parts that changed and the rule versions affected);
- `scaffold`: the next version module of a rule, stating only what differs;
- `pin`: a new version pinned in every hooks/ file that runs the rule;
- `diff`: what changed between two versions, for a clinical reviewer.

Developer tooling behind `cds rules`: nothing here runs when the service answers a call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from cds.record.contract import load_contract
from cds.rules.base import RuleVersion
from cds.rules.fingerprint import Fingerprint, logic_fingerprint, rule_fingerprint
from cds.rules.registry import (
    RELEASED_FILE,
    RELEASED_PARTS_DIR,
    Release,
    Released,
    RuleRegistry,
    released_parts,
    version_key,
)
from cds.terminology import Terminology, terminology_releases

RULES_DIR = Path(__file__).parent
# What `scaffold` writes where the developer must say what changed: a release refuses it.
UNWRITTEN_CHANGE = "Say here, for a clinical reviewer, what this version changes and why."


def terminology_digest(release: str) -> str:
    """The digest of a terminology release's data files (value sets and products)."""
    digest = hashlib.sha256()
    folder = resources.files("cds.terminology").joinpath("data", release)
    for name in ("valuesets.tsv", "products.tsv"):
        digest.update(name.encode())
        digest.update(folder.joinpath(name).read_bytes())
    return "sha256:" + digest.hexdigest()


@dataclass
class Catalog:
    registry: RuleRegistry
    terminologies: dict[str, Terminology] = field(default_factory=dict)

    @classmethod
    def load(cls, registry: RuleRegistry) -> Catalog:
        releases = terminology_releases()
        return cls(registry, {release: Terminology.load(release) for release in releases})

    @cached_property
    def contract(self) -> dict[str, dict[str, str]]:
        return load_contract()

    @cached_property
    def fingerprints(self) -> dict[str, Fingerprint]:
        return {key: self.fingerprint(rule) for key, rule in sorted(self.registry.rules.items())}

    def fingerprint(self, rule: RuleVersion) -> Fingerprint:
        return rule_fingerprint(
            rule,
            terminology=self.terminologies[rule.terminology],
            record_contract=self.contract.get(rule.terminology, {}),
        )

    @cached_property
    def policy_fingerprints(self) -> dict[str, Fingerprint]:
        return {
            version: logic_fingerprint(policy, root="select")
            for version, policy in sorted(self.registry.policies.items())
        }

    @cached_property
    def terminology_digests(self) -> dict[str, str]:
        return {release: terminology_digest(release) for release in self.terminologies}

    def status(self, key: str) -> str:
        """ "released", "unreleased" or "CHANGED" (released, but its fingerprint differs)."""
        released = self.registry.released.rules.get(key)
        if released is None:
            return "unreleased"
        return "released" if released == self.fingerprints[key].digest else "CHANGED"


@dataclass
class ReleasePlan:
    added: dict[str, Fingerprint] = field(default_factory=dict)  # not released yet
    changed: dict[str, list[str]] = field(default_factory=dict)  # key -> changed part names
    missing: list[str] = field(default_factory=list)  # released, no module defines it
    unwritten: list[str] = field(default_factory=list)  # `changes` still the scaffold's text
    unchanged_copies: dict[str, str] = field(default_factory=dict)  # key -> identical older key
    policies_added: dict[str, Fingerprint] = field(default_factory=dict)
    policies_changed: dict[str, list[str]] = field(default_factory=dict)  # -> rule versions
    terminology_added: dict[str, str] = field(default_factory=dict)
    terminology_changed: dict[str, list[str]] = field(default_factory=dict)  # -> rule versions

    @property
    def refused(self) -> bool:
        return bool(
            self.changed
            or self.missing
            or self.unwritten
            or self.unchanged_copies
            or self.policies_changed
            or self.terminology_changed
        )

    def problems(self) -> list[str]:
        lines = []
        for key, parts in self.changed.items():
            shown = ", ".join(parts[:8]) + (f" (+{len(parts) - 8} more)" if len(parts) > 8 else "")
            lines.append(f"CHANGED  {key}: released, and now different in {shown}")
        lines += [f"MISSING  {key}: released, but no module defines it" for key in self.missing]
        lines += [
            f"UNWRITTEN {key}: its provenance does not say what it changes"
            for key in self.unwritten
        ]
        lines += [
            f"COPY     {key}: behaves exactly as {older}: a new version must change something"
            for key, older in self.unchanged_copies.items()
        ]
        for version, affected in self.policies_changed.items():
            lines.append(
                f"CHANGED  card-selection policy {version}: released; affects "
                + (", ".join(affected) or "no released rule version")
            )
        for release, affected in self.terminology_changed.items():
            lines.append(
                f"CHANGED  terminology release {release}: released; affects "
                + (", ".join(affected) or "no released rule version")
            )
        return lines


def plan_release(catalog: Catalog) -> ReleasePlan:
    registry = catalog.registry
    released = registry.released
    plan = ReleasePlan()
    for key, fingerprint in catalog.fingerprints.items():
        digest = released.rules.get(key)
        if digest is None:
            plan.added[key] = fingerprint
        elif digest != fingerprint.digest:
            parts = released_parts(key) or {}
            plan.changed[key] = fingerprint.changed_parts(parts) or ["(no parts recorded)"]
    plan.missing = sorted(set(released.rules) - set(catalog.fingerprints))
    for key in plan.added:
        rule = registry.rules[key]
        if rule.provenance.changes.strip() == UNWRITTEN_CHANGE:
            plan.unwritten.append(key)
        older = [r for r in registry.versions_of(rule.id) if r.key != key]
        for other in older:
            if _same_behaviour(catalog.fingerprints[other.key], plan.added[key]):
                plan.unchanged_copies[key] = other.key
                break
    uses: dict[str, set[str]] = {}
    for release in released.releases.values():
        uses.setdefault(release.selection, set()).update(release.rules)
    for version, fingerprint in catalog.policy_fingerprints.items():
        digest = released.selection.get(version)
        if digest is None:
            plan.policies_added[version] = fingerprint
        elif digest != fingerprint.digest:
            plan.policies_changed[version] = sorted(uses.get(version, ()))
    for release_name, digest in catalog.terminology_digests.items():
        was = released.terminology.get(release_name)
        if was is None:
            plan.terminology_added[release_name] = digest
        elif was != digest:
            plan.terminology_changed[release_name] = sorted(
                key
                for key in released.rules
                if key in registry.rules and registry.rules[key].terminology == release_name
            )
    return plan


def _same_behaviour(a: Fingerprint, b: Fingerprint) -> bool:
    """Same parts except the version's own module names (a copy under a new name)."""
    return _without_module(a.parts) == _without_module(b.parts)


def _without_module(parts: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for name, value in parts.items():
        kind, _, rest = name.partition(":")
        module, _, qualname = rest.partition(":")
        if (
            kind in ("code", "class", "const")
            and ".v" in module
            and module.startswith("cds.rules.")
            and ".lib." not in module
        ):
            name = f"{kind}:<version>:{qualname}"
        found[name] = value
    return found


def apply_release(
    catalog: Catalog,
    plan: ReleasePlan,
    *,
    name: str,
    date: str,
    pinned: Iterable[str],
    rules_dir: Path = RULES_DIR,
) -> Released:
    """Write released.json and the parts of every newly released version; returns the new
    record. `pinned` is what the services run: the release's rule versions."""
    if plan.refused:
        raise ValueError("a refused plan cannot be applied")
    registry = catalog.registry
    released = registry.released
    pinned = sorted(set(pinned))
    unknown = [key for key in pinned if key not in catalog.fingerprints]
    if unknown:
        raise ValueError(f"pinned but not defined: {', '.join(unknown)}")
    if name in released.releases:
        raise ValueError(f"ruleset release {name} exists already")
    if version_key(name) <= version_key(released.current):
        raise ValueError(f"ruleset release {name} must come after {released.current}")
    policy = (
        registry.policy.version
        if not plan.policies_added
        else max(plan.policies_added, key=version_key)
    )
    new = Released(
        current=name,
        releases={**released.releases, name: Release(name, date, policy, tuple(pinned))},
        rules={**released.rules, **{key: fp.digest for key, fp in plan.added.items()}},
        selection={
            **released.selection,
            **{version: fp.digest for version, fp in plan.policies_added.items()},
        },
        terminology={**released.terminology, **plan.terminology_added},
    )
    parts_dir = rules_dir / RELEASED_PARTS_DIR
    parts_dir.mkdir(exist_ok=True)
    for key, fingerprint in plan.added.items():
        body = {"digest": fingerprint.digest, "parts": dict(fingerprint.parts)}
        (parts_dir / f"{key}.json").write_text(json.dumps(body, indent=1) + "\n", "utf-8")
    (rules_dir / RELEASED_FILE).write_text(json.dumps(new.to_json(), indent=2) + "\n", "utf-8")
    return new


# -- the next version --------------------------------------------------------------------------


def next_version(version: str, part: str = "minor") -> str:
    major, minor, patch = (int(p) for p in version.split("."))
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return f"{major}.{minor + 1}.0"


def module_name(version: str) -> str:
    return "v" + version.replace(".", "_")


def scaffold(rule: RuleVersion, *, new_version: str, date: str) -> str:
    """The source of the next version of `rule`: it reuses `rule`'s logic and lists its
    parameters, so the developer states only what differs (a parameter with `replace`, or a
    method overridden in a subclass) and says why in `changes`."""
    base_module = type(rule.logic).__module__
    package = base_module.rsplit(".", 1)[0]
    previous = base_module.rsplit(".", 1)[1]
    logic_class = type(rule.logic).__name__
    parameters = [
        _at_most(f"#   {f.name} = {getattr(rule.logic, f.name)!r}", 99)
        for f in dataclasses.fields(rule.logic)
    ]
    lines = [
        f'"""{rule.id} {new_version}: what changes from {rule.version}, in one line."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import replace",
        "",
        f"from {package} import {previous} as previous",
        "",
        f"# The parameters of {rule.version} ({logic_class}). Change one with",
        "# `replace(previous.LOGIC, name=value)`; change logic or wording by subclassing",
        f"# previous.{logic_class} and overriding the one method that changes.",
        *parameters,
        "LOGIC = replace(previous.LOGIC)",
        "",
        "RULE = previous.RULE.revise(",
        f'    version="{new_version}",',
        "    logic=LOGIC,",
        "    provenance=replace(",
        "        previous.RULE.provenance,",
        f'        released="{date}",',
        f'        changes="{UNWRITTEN_CHANGE}",',
        "    ),",
        ")",
        "",
    ]
    return "\n".join(lines)


def _at_most(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 4] + " ..."


# -- pins --------------------------------------------------------------------------------------


def pin(hooks_dir: Path, rule_id: str, version: str) -> list[Path]:
    """Pin `rule_id` at `version` in every hooks/ file that runs the rule; the files changed."""
    changed = []
    for path in sorted(hooks_dir.glob("*.json")):
        spec = json.loads(path.read_text("utf-8"))
        rules = spec.get("rules")
        if not isinstance(rules, dict) or rule_id not in rules or rules[rule_id] == version:
            continue
        rules[rule_id] = version
        path.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", "utf-8")
        changed.append(path)
    return changed


# -- diff --------------------------------------------------------------------------------------


def diff(catalog: Catalog, old: RuleVersion, new: RuleVersion) -> list[str]:
    """What differs between two versions of a rule, most clinical first: parameters, value
    sets, what the card shows, the logic (with the source of what changed), record fields."""
    a, b = catalog.fingerprint(old), catalog.fingerprint(new)
    lines = [f"{old.key} -> {new.key}", ""]
    if new.provenance.changes != old.provenance.changes:
        lines += ["What the new version says it changes:"]
        lines += textwrap.wrap(
            new.provenance.changes, 96, initial_indent="  ", subsequent_indent="  "
        )
        lines.append("")

    def section(title: str, body: list[str]) -> None:
        lines.extend([title, *(body or ["  (no change)"]), ""])

    section("Parameters", _changed_values(a.parts, b.parts, "param:"))
    section("Value sets", _valueset_changes(catalog, old, new))
    section("What the card shows", _changed_values(a.parts, b.parts, "meta:"))
    section("Logic", _logic_changes(a.parts, b.parts))
    section("Record fields read", _name_changes(a.parts, b.parts, "record:"))
    return lines


def _changed_values(a: Mapping[str, str], b: Mapping[str, str], prefix: str) -> list[str]:
    names = sorted(n for n in set(a) | set(b) if n.startswith(prefix))
    out = []
    for name in names:
        if a.get(name) != b.get(name):
            label = name[len(prefix) :]
            out.append(f"  {label}: {a.get(name, '(none)')} -> {b.get(name, '(none)')}")
    return out


def _valueset_changes(catalog: Catalog, old: RuleVersion, new: RuleVersion) -> list[str]:
    out = []
    if old.terminology != new.terminology:
        out.append(f"  terminology release: {old.terminology} -> {new.terminology}")
    for name in sorted(set(old.valuesets) | set(new.valuesets)):
        if name not in new.valuesets:
            out.append(f"  - {name} (no longer read)")
            continue
        after = catalog.terminologies[new.terminology].valueset(name).codes
        if name not in old.valuesets:
            out.append(f"  + {name} ({len(after)} codes, newly read)")
            continue
        before = catalog.terminologies[old.terminology].valueset(name).codes
        if before != after:
            gained, lost = sorted(after - before), sorted(before - after)
            out.append(f"  ~ {name}: {len(before)} -> {len(after)} codes")
            out += [f"      + {system}|{code}" for system, code in gained[:10]]
            if len(gained) > 10:
                out.append(f"      + ... {len(gained) - 10} more")
            out += [f"      - {system}|{code}" for system, code in lost[:10]]
            if len(lost) > 10:
                out.append(f"      - ... {len(lost) - 10} more")
    return out


def _logic_changes(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    old_code = {n for n in a if n.startswith(("code:", "class:", "const:"))}
    new_code = {n for n in b if n.startswith(("code:", "class:", "const:"))}
    out = []
    for name in sorted(old_code - new_code):
        out.append(f"  - {name} (no longer reached)")
    for name in sorted(new_code - old_code):
        out.append(f"  + {name}")
        out += [f"      {line}" for line in _source_of(name)]
    return out


def _name_changes(a: Mapping[str, str], b: Mapping[str, str], prefix: str) -> list[str]:
    before = {n for n in a if n.startswith(prefix)}
    after = {n for n in b if n.startswith(prefix)}
    return [f"  - {n[len(prefix) :]}" for n in sorted(before - after)] + [
        f"  + {n[len(prefix) :]}" for n in sorted(after - before)
    ]


def _source_of(part: str) -> list[str]:
    """The source of a `code:` part (a function or method), as the reviewer should read it."""
    kind, _, rest = part.partition(":")
    module_name_, _, qualname = rest.partition(":")
    if kind != "code":
        return []
    target: object = importlib.import_module(module_name_)
    for piece in qualname.split("."):
        target = inspect.getattr_static(target, piece, None)
        if target is None:
            return []
    function = getattr(target, "fget", None) or getattr(target, "func", None) or target
    try:
        return textwrap.dedent(inspect.getsource(function)).rstrip().splitlines()  # type: ignore[arg-type]
    except (OSError, TypeError):
        return []
