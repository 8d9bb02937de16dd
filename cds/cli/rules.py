"""`cds rules`: the rule catalog and its releases.

    cds rules                         every rule version: status, pins, terminology
    cds rules show RULE[@VERSION]     provenance, parameters, value sets, data read
    cds rules new RULE                the next version's module, from the pinned one
    cds rules pin RULE@VERSION        pin it in every hooks/ file that runs the rule
    cds rules diff RULE V1 V2         what changed, for a clinical reviewer
    cds rules release --as 2026.12.0  fingerprint the new versions into released.json

The work is done by `cds.rules.release`; this module only reads arguments and prints.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import click

from cds.rules.base import SEVERITY_RANK, RuleVersion
from cds.rules.registry import RuleRegistry, load_registry, version_key
from cds.rules.release import (
    Catalog,
    apply_release,
    diff,
    module_name,
    next_version,
    pin,
    plan_release,
    scaffold,
)


def _hooks_dir() -> Path:
    from cds.cli.serve import load_settings

    return load_settings().hooks_dir


def pinned_by(hooks_dir: Path) -> dict[str, list[str]]:
    """rule key -> ids of the services in hooks/ that pin it, read from the files themselves
    (so pins of unreleased or unknown versions are shown too)."""
    pins: dict[str, list[str]] = {}
    for path in sorted(hooks_dir.glob("*.json")):
        try:
            spec = json.loads(path.read_text("utf-8"))
            rules = dict(spec["rules"])
            service = str(spec["id"])
        except (ValueError, KeyError, TypeError):
            continue  # reported by `cds check`
        for rule_id, version in rules.items():
            pins.setdefault(f"{rule_id}@{version}", []).append(service)
    return {key: sorted(ids) for key, ids in pins.items()}


def severity_range(rule: RuleVersion) -> str:
    return ", ".join(sorted(rule.severities, key=lambda s: -SEVERITY_RANK[s]))


def _rule(registry: RuleRegistry, text: str, version: str | None = None) -> RuleVersion:
    rule_id, _, at = text.partition("@")
    try:
        if version or at:
            return registry.get(rule_id, version or at)
        found = registry.versions_of(rule_id)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from None
    if not found:
        raise click.ClickException(f"no rule {rule_id!r}; rules: {', '.join(registry.rule_ids)}")
    return found[-1]


@click.group(invoke_without_command=True)
@click.pass_context
def rules(ctx: click.Context) -> None:
    """The rule catalog: list (default), show, new, pin, diff, release."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_rules)


@rules.command("list")
def list_rules() -> None:
    """Every rule version: status, severities, terminology and the services that pin it."""
    catalog = Catalog.load(load_registry())
    registry = catalog.registry
    pins = pinned_by(_hooks_dir())
    counts: dict[str, int] = {}
    for key in sorted(
        registry.rules, key=lambda k: (k.split("@")[0], version_key(k.split("@")[1]))
    ):
        rule = registry.rules[key]
        status = catalog.status(key)
        counts[status] = counts.get(status, 0) + 1
        click.echo(f"{key:40} {status:10} {severity_range(rule)}")
        click.echo(f"    {rule.title} (terminology {rule.terminology})")
        click.echo(f"    pinned by: {', '.join(pins.get(key, [])) or '-'}")
    for key in sorted(set(registry.released.rules) - set(registry.rules)):
        counts["MISSING"] = counts.get("MISSING", 0) + 1
        click.echo(f"{key:40} {'MISSING':10} released, but no module defines it")
    for key in sorted(set(pins) - set(registry.rules)):
        click.echo(f"{key:40} {'UNKNOWN':10} pinned by {', '.join(pins[key])}")
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    release = registry.release
    click.echo(
        f"ruleset {release.version} (card-selection policy {release.selection}): "
        f"{len(registry.rules)} rule versions ({summary})"
    )


@rules.command("show")
@click.argument("rule")
def show_rule(rule: str) -> None:
    """One rule version (RULE, the newest, or RULE@VERSION): provenance, parameters, data."""
    catalog = Catalog.load(load_registry())
    shown = _rule(catalog.registry, rule)
    provenance = shown.provenance
    click.echo(f"{shown.key}: {shown.title}")
    click.echo(f"  status:      {catalog.status(shown.key)}")
    click.echo(f"  fingerprint: {catalog.fingerprint(shown).digest}")
    click.echo(f"  module:      {catalog.registry.modules[shown.key].__name__}")
    click.echo(f"  severities:  {severity_range(shown)}")
    click.echo(f"  terminology: {shown.terminology}")
    click.echo(f"  pinned by:   {', '.join(pinned_by(_hooks_dir()).get(shown.key, [])) or '-'}")
    click.echo("  provenance:")
    for label, text in (
        ("guideline", provenance.guideline),
        ("url", provenance.url),
        ("released", provenance.released),
        ("changes", provenance.changes),
        ("rationale", provenance.rationale),
    ):
        if text:
            click.echo(_wrapped(label, text))
    click.echo("  parameters:")
    for f in dataclasses.fields(shown.logic):
        click.echo(f"    {f.name} = {getattr(shown.logic, f.name)!r}")
    click.echo("  requires:")
    for requirement in shown.requires:
        codes = ", ".join(requirement.valuesets) if requirement.valuesets else "all"
        click.echo(f"    {requirement.resource_type:24} {codes}")
    click.echo(_wrapped("value sets", ", ".join(shown.valuesets) or "-", indent=2))


@rules.command("new")
@click.argument("rule_id")
@click.option(
    "--bump",
    type=click.Choice(["major", "minor", "patch"]),
    default="minor",
    show_default=True,
    help="Which part of the version to raise.",
)
def new_rule_version(rule_id: str, bump: str) -> None:
    """Write the next version of RULE_ID, from the version hooks/ pins (else the newest)."""
    registry = load_registry()
    pins = pinned_by(_hooks_dir())
    pinned = sorted(
        (key.split("@")[1] for key in pins if key.split("@")[0] == rule_id), key=version_key
    )
    base = _rule(registry, rule_id, pinned[-1] if pinned else None)
    newest = registry.versions_of(rule_id)[-1].version
    version = next_version(newest, bump)
    path = Path(sys.modules[type(base.logic).__module__].__file__ or "").parent
    target = path / f"{module_name(version)}.py"
    if target.exists():
        raise click.ClickException(f"{target} exists already")
    today = datetime.now(UTC).date().isoformat()
    target.write_text(scaffold(base, new_version=version, date=today), "utf-8")
    click.echo(f"wrote {target}: {rule_id} {version}, built on {base.version}")
    click.echo(
        "Next: change what differs and say why in `changes`; test it "
        f"(tests/rules/test_{rule_id.replace('-', '_')}.py runs every version); "
        f"`cds rules diff {rule_id} {base.version} {version}`; `cds rules pin "
        f"{rule_id}@{version}`; a CHANGELOG line; `cds rules release --as <ruleset>`."
    )


@rules.command("pin")
@click.argument("rule")
def pin_rule(rule: str) -> None:
    """Pin RULE@VERSION in every hooks/ file that runs the rule."""
    registry = load_registry()
    pinned = _rule(registry, rule)
    if "@" not in rule:
        raise click.ClickException("say which version: RULE@VERSION")
    changed = pin(_hooks_dir(), pinned.id, pinned.version)
    for path in changed:
        click.echo(f"pinned {pinned.key} in {path.name}")
    if not changed:
        click.echo(f"no hooks/ file runs {pinned.id} at another version: nothing changed")
    elif not registry.is_released(pinned):
        click.echo(
            f"note: {pinned.key} is not released yet: the service refuses to start until it is"
        )


@rules.command("diff")
@click.argument("rule_id")
@click.argument("old")
@click.argument("new")
def diff_rules(rule_id: str, old: str, new: str) -> None:
    """What changed from version OLD to NEW of RULE_ID: parameters, value sets, what the card
    shows, logic (with the new code), record fields read."""
    catalog = Catalog.load(load_registry())
    registry = catalog.registry
    lines = diff(catalog, _rule(registry, rule_id, old), _rule(registry, rule_id, new))
    click.echo("\n".join(lines).rstrip())


@rules.command("release")
@click.option("--as", "name", default=None, help="The new ruleset release, e.g. 2026.12.0.")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if a pinned version is unreleased or anything released changed.",
)
def release_rules(name: str | None, check: bool) -> None:
    """Fingerprint every rule version, policy and terminology release not yet released into
    released.json, as ruleset release NAME made of the versions hooks/ pins.

    Refuses (and writes nothing) when something released has changed, a new version changes
    nothing, or a new version does not say what it changes."""
    registry = load_registry()
    catalog = Catalog.load(registry)
    plan = plan_release(catalog)
    for line in plan.problems():
        click.echo(line, err=True)
    if plan.refused:
        click.echo(
            "Refusing to release: released rule versions, policies and terminology releases are "
            "immutable. Restore them, and put the change in a new version "
            "(`cds rules new <rule>`).",
            err=True,
        )
        sys.exit(1)
    new_things = [*plan.added, *(f"policy {v}" for v in plan.policies_added)]
    new_things += [f"terminology {t}" for t in plan.terminology_added]
    pins = sorted(pinned_by(_hooks_dir()))
    unreleased_pins = [key for key in pins if key not in registry.released.rules]
    if check:
        # Work in progress (a version or a terminology release nothing pins yet) is said, and
        # is not a failure; what the services run must be released and unchanged.
        for item in new_things:
            click.echo(f"not released yet: {item}")
        if unreleased_pins:
            click.echo(f"pinned but not released: {', '.join(unreleased_pins)}", err=True)
            sys.exit(1)
        click.echo(
            f"ruleset {registry.release.version}: everything pinned is released and unchanged"
        )
        return
    for item in new_things:
        click.echo(f"releasing  {item}")
    if name is None:
        raise click.ClickException("say which ruleset release this is: --as 2026.12.0")
    try:
        released = apply_release(
            catalog,
            plan,
            name=name,
            date=datetime.now(UTC).date().isoformat(),
            pinned=pins,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"ruleset {released.current}: {len(plan.added)} rule version(s) released; "
        f"{len(pins)} pinned. Add the release to cds/rules/CHANGELOG.md."
    )


def _wrapped(label: str, text: str, *, indent: int = 4) -> str:
    prefix = " " * indent + f"{label + ':':12}"
    return textwrap.fill(
        text, width=100, initial_indent=prefix, subsequent_indent=" " * len(prefix)
    )
