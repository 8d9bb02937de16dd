"""CDS services as data: one JSON file per service in hooks/, validated at start-up.

A service names its hook and pins the rule versions it runs; its prefetch templates are derived
from what those rules require, so discovery can never ask for less (or more) than the rules read.

A service may also list shadow versions (`"shadow": {"rule-id": "version"}`): a new version of a
pinned rule, or a rule not pinned at all, released or not. They are evaluated on every call
after the answer (`cds.shadow`) and their cards go only to the audit. They add nothing to the
prefetch templates, so discovery and the answers stay exactly what the pins make them; what a
shadow version reads that the templates do not ask for is named (`ShadowVersion.lacking`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cds.cdshooks import ServiceDescriptor
from cds.errors import ServiceConfigError
from cds.rules.base import DataRequirement, RuleVersion
from cds.rules.registry import RuleRegistry
from cds.terminology import Terminology

SUPPORTED_HOOKS = frozenset({"patient-view", "order-select", "order-sign"})
LOINC = "http://loinc.org"

# Status filters keep prefetch to what could matter: §1.2 statuses, drafts come from context.
STATUS_FILTERS: dict[str, str] = {
    "Observation": "status=final,amended,corrected",
    "MedicationRequest": "status=active,on-hold,completed,stopped",
    "MedicationStatement": "status=active,on-hold,completed,stopped,intended",
    "MedicationAdministration": "status=completed,in-progress",
    "Procedure": "status=completed,in-progress",
}


# §1.6: candidate-cause cards need the leg complaint, which may be an active Condition, or a
# Condition, Observation or Encounter reason of the last 90 days. Every service has such rules,
# so the complaint's data is always asked for (Facts.leg_complaints reads it). It gates
# candidate-cause findings only (`cds.pipeline.partial_data`): when any of it cannot be had, the
# rules still run (unless their own essential requirements are missing) and every finding with
# `candidate=True` is withheld.
COMPLAINT_DATA: tuple[DataRequirement, ...] = (
    DataRequirement("Condition", essential=False),
    DataRequirement("Observation", ("leg-complaint",), essential=False),
    DataRequirement("Encounter", essential=False),
)


class ServiceFile(BaseModel):
    """The schema of a hooks/*.json file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    hook: str
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    usageRequirements: str | None = None
    rules: dict[str, str] = Field(min_length=1)  # rule id -> pinned version
    shadow: dict[str, str] = Field(default_factory=dict)  # rule id -> shadow version

    @field_validator("hook")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_HOOKS:
            raise ValueError(f"hook must be one of {sorted(SUPPORTED_HOOKS)}")
        return value


@dataclass(frozen=True)
class ShadowVersion:
    """A rule version a service evaluates beside its pins, for the audit only."""

    rule: RuleVersion
    pinned: RuleVersion | None  # the pinned version of the same rule it stands in for, if any
    # What it declares that the service's prefetch does not ask for ("FamilyMemberHistory",
    # "Observation: d-dimer"): it runs on what the call has, and the audit says so.
    lacking: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str | None
    rules: tuple[RuleVersion, ...]
    prefetch: dict[str, str]  # key -> template with {{context.patientId}} tokens
    shadow: tuple[ShadowVersion, ...] = ()  # by rule id

    @classmethod
    def of(
        cls,
        spec: ServiceFile,
        rules: Sequence[RuleVersion],
        prefetch: dict[str, str],
        shadow: Sequence[ShadowVersion] = (),
    ) -> ServiceDefinition:
        """The service a hooks file describes, running `rules` (its pins, resolved)."""
        return cls(
            id=spec.id,
            hook=spec.hook,
            title=spec.title,
            description=spec.description,
            usage_requirements=spec.usageRequirements,
            rules=tuple(rules),
            prefetch=prefetch,
            shadow=tuple(shadow),
        )

    @property
    def shadow_rules(self) -> tuple[RuleVersion, ...]:
        """The set the shadow answer is made with: the pins with each shadow version in place
        of its rule's pinned one, and shadow versions of rules not pinned added; by rule id."""
        swapped = {s.rule.id: s.rule for s in self.shadow}
        merged = {rule.id: rule for rule in self.rules} | swapped
        return tuple(merged[rule_id] for rule_id in sorted(merged))

    def descriptor(self) -> ServiceDescriptor:
        return ServiceDescriptor(
            hook=self.hook,
            title=self.title,
            description=self.description,
            id=self.id,
            prefetch=self.prefetch,
            usageRequirements=self.usage_requirements,
        )


def load_services(
    hooks_dir: Path, registry: RuleRegistry, terminologies: Mapping[str, Terminology]
) -> dict[str, ServiceDefinition]:
    if not hooks_dir.is_dir():
        raise ServiceConfigError(f"hooks directory not found: {hooks_dir}")
    services: dict[str, ServiceDefinition] = {}
    for path in sorted(hooks_dir.glob("*.json")):
        try:
            spec = ServiceFile.model_validate(json.loads(path.read_text("utf-8")))
        except (ValueError, ValidationError) as exc:
            raise ServiceConfigError(f"{path.name}: {exc}") from exc
        if spec.id in services:
            raise ServiceConfigError(f"{path.name}: service id {spec.id!r} is defined twice")
        rules = []
        for rule_id, version in sorted(spec.rules.items()):
            try:
                rule = registry.get(rule_id, version)
            except KeyError as exc:
                raise ServiceConfigError(f"{path.name}: {exc.args[0]}") from exc
            if not registry.is_released(rule):
                raise ServiceConfigError(
                    f"{path.name}: {rule.key} is not released (cds/rules/released.json)"
                )
            rules.append(rule)
        pinned = {rule.id: rule for rule in rules}
        scope = prefetch_scope(rules, terminologies)
        shadow = []
        # Unreleased versions are allowed here: a version proves its burden before release.
        for rule_id, version in sorted(spec.shadow.items()):
            try:
                rule = registry.get(rule_id, version)
            except KeyError as exc:
                raise ServiceConfigError(f"{path.name}: shadow: {exc.args[0]}") from exc
            lacking = data_lacking(rule, scope, terminologies)
            shadow.append(ShadowVersion(rule, pinned.get(rule_id), lacking))
        services[spec.id] = ServiceDefinition.of(spec, rules, render_prefetch(scope), shadow)
    return services


# What a service's prefetch asks for: resource type -> the codes it is narrowed to ("system|code"),
# or None for every resource of that type.
PrefetchScope = dict[str, frozenset[str] | None]


def derive_prefetch(
    rules: Sequence[RuleVersion], terminologies: Mapping[str, Terminology]
) -> dict[str, str]:
    """One template per resource type, keyed by the type's name (the convention EHR sandboxes
    use), narrowed by code only where every rule reading that type names its value sets (each
    at the rule's own terminology release)."""
    return render_prefetch(prefetch_scope(rules, terminologies))


def prefetch_scope(
    rules: Sequence[RuleVersion], terminologies: Mapping[str, Terminology]
) -> PrefetchScope:
    by_type: dict[str, list[tuple[DataRequirement, Terminology]]] = {}
    for rule in rules:
        terminology = terminologies[rule.terminology]
        for requirement in (*rule.requires, *COMPLAINT_DATA):
            by_type.setdefault(requirement.resource_type, []).append((requirement, terminology))
    scope: PrefetchScope = {}
    for resource_type, requirements in by_type.items():
        if resource_type != "Patient" and all(r.valuesets for r, _ in requirements):
            scope[resource_type] = frozenset(
                code
                for r, terminology in requirements
                for name in r.valuesets or ()
                for code in _codes(terminology, name)
            )
        else:
            scope[resource_type] = None
    return scope


def render_prefetch(scope: PrefetchScope) -> dict[str, str]:
    templates: dict[str, str] = {}
    for resource_type in sorted(scope):
        if resource_type == "Patient":
            templates["Patient"] = "Patient/{{context.patientId}}"
            continue
        params = ["patient={{context.patientId}}"]
        codes = scope[resource_type]
        if codes is not None:
            params.append("code=" + ",".join(sorted(codes)))
        if resource_type in STATUS_FILTERS:
            params.append(STATUS_FILTERS[resource_type])
        templates[resource_type] = f"{resource_type}?{'&'.join(params)}"
    return templates


def data_lacking(
    rule: RuleVersion, scope: PrefetchScope, terminologies: Mapping[str, Terminology]
) -> tuple[str, ...]:
    """What `rule` declares reading that a prefetch of `scope` does not ask for: a resource type
    not asked for at all ("FamilyMemberHistory"), a value set with codes outside the codes asked
    for ("Observation: d-dimer"), or every resource of a type asked for by code only
    ("Observation: any code")."""
    terminology = terminologies[rule.terminology]
    found: list[str] = []
    for requirement in rule.requires:
        kind = requirement.resource_type
        if kind not in scope:
            found.append(kind)
            continue
        asked = scope[kind]
        if asked is None:
            continue
        if not requirement.valuesets:
            found.append(f"{kind}: any code")
            continue
        found += [
            f"{kind}: {name}"
            for name in requirement.valuesets
            if not _codes(terminology, name) <= asked
        ]
    return tuple(sorted(set(found)))


def _codes(terminology: Terminology, valueset: str) -> frozenset[str]:
    return frozenset(f"{system}|{code}" for system, code in terminology.valueset(valueset).codes)
