"""CDS services as data: one JSON file per service in hooks/, validated at start-up.

A service names its hook and pins the rule versions it runs; its prefetch templates are derived
from what those rules require, so discovery can never ask for less (or more) than the rules read.
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

    @field_validator("hook")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_HOOKS:
            raise ValueError(f"hook must be one of {sorted(SUPPORTED_HOOKS)}")
        return value


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str | None
    rules: tuple[RuleVersion, ...]
    prefetch: dict[str, str]  # key -> template with {{context.patientId}} tokens

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
        services[spec.id] = ServiceDefinition(
            id=spec.id,
            hook=spec.hook,
            title=spec.title,
            description=spec.description,
            usage_requirements=spec.usageRequirements,
            rules=tuple(rules),
            prefetch=derive_prefetch(rules, terminologies),
        )
    return services


def derive_prefetch(
    rules: Sequence[RuleVersion], terminologies: Mapping[str, Terminology]
) -> dict[str, str]:
    """One template per resource type, keyed by the type's name (the convention EHR sandboxes
    use), narrowed by code only where every rule reading that type names its value sets (each
    at the rule's own terminology release)."""
    by_type: dict[str, list[tuple[DataRequirement, Terminology]]] = {}
    for rule in rules:
        terminology = terminologies[rule.terminology]
        for requirement in (*rule.requires, *COMPLAINT_DATA):
            by_type.setdefault(requirement.resource_type, []).append((requirement, terminology))
    templates: dict[str, str] = {}
    for resource_type in sorted(by_type):
        requirements = by_type[resource_type]
        if resource_type == "Patient":
            templates["Patient"] = "Patient/{{context.patientId}}"
            continue
        params = ["patient={{context.patientId}}"]
        if all(r.valuesets for r, _ in requirements):
            codes = sorted(
                {
                    f"{system}|{code}"
                    for r, terminology in requirements
                    for name in r.valuesets or ()
                    for system, code in terminology.valueset(name).codes
                }
            )
            params.append("code=" + ",".join(codes))
        if resource_type in STATUS_FILTERS:
            params.append(STATUS_FILTERS[resource_type])
        templates[resource_type] = f"{resource_type}?{'&'.join(params)}"
    return templates
