"""`cds rules`: the rule catalog. List every rule version, show one, release new versions.

A released version is immutable: `cds/rules/released.json` pins its content hash (see
`cds.rules.registry.content_hash`). `cds rules release` adds the versions not yet released and
refuses, without writing anything, when a released version's code or value sets have changed:
that change belongs in a new version module.
"""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import click

import cds.rules
from cds.rules.base import SEVERITY_RANK, Rule
from cds.rules.registry import RELEASED_FILE, Release, RuleRegistry, content_hash, load_registry
from cds.terminology import Terminology

RELEASED_PATH = Path(cds.rules.__file__).parent / RELEASED_FILE


# -- what the commands compute (pure, tested without the CLI) ---------------------------------


@dataclass
class ReleasePlan:
    """What `release` would do: add unreleased versions, unless a released one changed."""

    hashes: dict[str, str]  # every rule version in the code -> its content hash now
    added: dict[str, str] = field(default_factory=dict)  # not yet released -> hash
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (released, now)
    missing: list[str] = field(default_factory=list)  # released, but no module defines it

    @property
    def refused(self) -> bool:
        return bool(self.changed or self.missing)


def current_hashes(
    rules: dict[str, Rule], modules: dict[str, ModuleType], terminology: Terminology
) -> dict[str, str]:
    return {key: content_hash(rule, modules[key], terminology) for key, rule in rules.items()}


def plan_release(hashes: dict[str, str], released: Release) -> ReleasePlan:
    plan = ReleasePlan(hashes=hashes)
    for key, now in sorted(hashes.items()):
        was = released.hashes.get(key)
        if was is None:
            plan.added[key] = now
        elif was != now:
            plan.changed[key] = (was, now)
    plan.missing = sorted(set(released.hashes) - set(hashes))
    return plan


def read_release(path: Path) -> Release:
    raw = json.loads(path.read_text("utf-8"))
    return Release(version=raw["release"], hashes=dict(raw["rules"]))


def write_release(path: Path, release: Release) -> None:
    body = {"release": release.version, "rules": dict(sorted(release.hashes.items()))}
    path.write_text(json.dumps(body, indent=2) + "\n", "utf-8")


def status_of(key: str, hashes: dict[str, str], released: Release) -> str:
    if key not in released.hashes:
        return "unreleased"
    return "released" if released.hashes[key] == hashes.get(key) else "CHANGED"


def pinned_by(hooks_dir: Path) -> dict[str, list[str]]:
    """rule key -> ids of the services in hooks/ that pin it, read from the files themselves
    (so pins of unreleased or unknown versions are shown too)."""
    # Imported here, as in cds.cli.serve: the service modules load only for the commands
    # that need them.
    from cds.services import ServiceFile

    pins: dict[str, list[str]] = {}
    for path in sorted(hooks_dir.glob("*.json")):
        try:
            spec = ServiceFile.model_validate(json.loads(path.read_text("utf-8")))
        except ValueError:
            continue  # reported by Engine.load below
        for rule_id, version in spec.rules.items():
            pins.setdefault(f"{rule_id}@{version}", []).append(spec.id)
    return {key: sorted(ids) for key, ids in pins.items()}


def severity_range(rule: Rule) -> str:
    return ", ".join(sorted(rule.severities, key=lambda s: -SEVERITY_RANK[s]))


# -- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    registry: RuleRegistry
    terminology: Terminology
    pins: dict[str, list[str]]
    problem: str | None  # why the service configuration would not load, if it would not


def load_catalog() -> Catalog:
    from cds.cli.serve import load_settings
    from cds.errors import ServiceConfigError
    from cds.pipeline import Engine

    hooks_dir = load_settings().hooks_dir
    try:
        engine = Engine.load(hooks_dir)
        registry, terminology, problem = engine.registry, engine.terminology, None
    except ServiceConfigError as exc:
        # A pin of an unreleased version is what a developer runs this to sort out: the
        # catalog is still listed, with the reason the service would refuse to start.
        registry, terminology, problem = load_registry(), Terminology.load(), str(exc)
    return Catalog(registry, terminology, pinned_by(hooks_dir), problem)


# -- commands ----------------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@click.pass_context
def rules(ctx: click.Context) -> None:
    """The rule catalog: list every rule version (default), show one, release new ones."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_rules)


@rules.command("list")
def list_rules() -> None:
    """Every rule version: status, severities, guideline and the services that pin it."""
    catalog = load_catalog()
    registry = catalog.registry
    hashes = current_hashes(registry.rules, registry.modules, catalog.terminology)
    counts: dict[str, int] = {}
    for key in sorted(registry.rules):
        rule = registry.rules[key]
        status = status_of(key, hashes, registry.release)
        counts[status] = counts.get(status, 0) + 1
        click.echo(f"{key:40} {status:10} {severity_range(rule)}")
        click.echo(f"    {rule.title}")
        click.echo(f"    guideline: {_shorten(rule.provenance.guideline, 100)}")
        click.echo(f"    pinned by: {', '.join(catalog.pins.get(key, [])) or '-'}")
    for key in sorted(set(registry.release.hashes) - set(registry.rules)):
        counts["missing"] = counts.get("missing", 0) + 1
        click.echo(f"{key:40} {'MISSING':10} released, but no module defines it")
    for key in sorted(set(catalog.pins) - set(registry.rules)):
        click.echo(f"{key:40} {'UNKNOWN':10} pinned by {', '.join(catalog.pins[key])}")
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    click.echo(
        f"ruleset {registry.release.version}: {len(registry.rules)} rule versions ({summary})"
    )
    if catalog.problem:
        click.echo(f"warning: the services would not start: {catalog.problem}", err=True)


@rules.command("show")
@click.argument("rule_id")
def show_rule(rule_id: str) -> None:
    """One rule's provenance and data requirements (RULE_ID, or RULE_ID@VERSION)."""
    catalog = load_catalog()
    registry = catalog.registry
    wanted_id, _, wanted_version = rule_id.partition("@")
    versions = [
        rule
        for rule in registry.versions_of(wanted_id)
        if not wanted_version or rule.version == wanted_version
    ]
    if not versions:
        known = ", ".join(sorted({r.id for r in registry.rules.values()}))
        raise click.ClickException(f"no rule version {rule_id!r}; rules: {known}")
    for rule in sorted(versions, key=lambda r: _version_key(r.version)):
        _show(rule, catalog)


def _show(rule: Rule, catalog: Catalog) -> None:
    registry = catalog.registry
    now = content_hash(rule, registry.modules[rule.key], catalog.terminology)
    status = status_of(rule.key, {rule.key: now}, registry.release)
    provenance = rule.provenance
    click.echo(f"{rule.key}: {rule.title}")
    click.echo(f"  status:     {status} (ruleset {registry.release.version})")
    click.echo(f"  hash:       {now}")
    if status == "CHANGED":
        click.echo(f"  released:   {registry.release.hashes[rule.key]}")
    click.echo(f"  module:     {registry.modules[rule.key].__name__}")
    click.echo(f"  severities: {severity_range(rule)}")
    click.echo(f"  pinned by:  {', '.join(catalog.pins.get(rule.key, [])) or '-'}")
    click.echo("  provenance:")
    click.echo(_wrapped("guideline", provenance.guideline))
    click.echo(_wrapped("url", provenance.url))
    click.echo(_wrapped("released", provenance.released))
    click.echo(_wrapped("changes", provenance.changes))
    if provenance.rationale:
        click.echo(_wrapped("rationale", provenance.rationale))
    click.echo("  requires:")
    for requirement in rule.requires:
        codes = ", ".join(requirement.valuesets) if requirement.valuesets else "all"
        click.echo(f"    {requirement.resource_type:24} {codes}")
    click.echo(_wrapped("value sets", ", ".join(rule.valuesets) or "-", indent=2))
    click.echo()


@rules.command("release")
@click.option(
    "--ruleset",
    "ruleset_version",
    default=None,
    help="Set the ruleset release version (e.g. 2026.12.0); kept as it is by default.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if a version is unreleased, changed or missing.",
)
@click.option(
    "--released-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=RELEASED_PATH,
    show_default=True,
    hidden=True,
)
def release_rules(ruleset_version: str | None, check: bool, released_file: Path) -> None:
    """Record the content hash of every rule version not yet in released.json.

    Refuses (and writes nothing) when an already released version's hash has changed: released
    versions are immutable, so the change belongs in a new version module.
    """
    registry = load_registry()
    released = read_release(released_file)
    hashes = current_hashes(registry.rules, registry.modules, Terminology.load())
    plan = plan_release(hashes, released)
    for key, (was, now) in plan.changed.items():
        click.echo(f"CHANGED  {key}: released {was}, now {now}", err=True)
    for key in plan.missing:
        click.echo(f"MISSING  {key}: released, but no module defines it any more", err=True)
    if plan.refused:
        click.echo(
            "Refusing to release: a released rule version is immutable. Restore it (code and "
            "value sets) and put the change in a new version module (e.g. v1_0_1.py / "
            "v1_1_0.py), then release that version, pin it in hooks/ and add a line to "
            "cds/rules/CHANGELOG.md.",
            err=True,
        )
        sys.exit(1)
    for key, now in plan.added.items():
        click.echo(f"{'would add' if check else 'added'}  {key}  {now}")
    new_version = ruleset_version or released.version
    if check:
        if plan.added:
            click.echo(f"{len(plan.added)} rule version(s) not released yet", err=True)
            sys.exit(1)
        click.echo(f"ruleset {released.version}: every rule version is released and unchanged")
        return
    if not plan.added and new_version == released.version:
        click.echo(f"ruleset {released.version}: nothing to release")
        return
    write_release(
        released_file, Release(version=new_version, hashes={**released.hashes, **plan.added})
    )
    click.echo(f"ruleset {new_version}: {len(plan.added)} rule version(s) released")
    if plan.added:
        click.echo(
            "Add them to cds/rules/CHANGELOG.md and pin them in hooks/ where they should run."
        )


# -- formatting --------------------------------------------------------------------------------


def _wrapped(label: str, text: str, *, indent: int = 4) -> str:
    prefix = " " * indent + f"{label + ':':12}"
    return textwrap.fill(
        text, width=100, initial_indent=prefix, subsequent_indent=" " * len(prefix)
    )


def _shorten(text: str, width: int) -> str:
    return textwrap.shorten(text, width=width, placeholder="...")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())
