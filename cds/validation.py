"""FHIR R4B validation (fhir.resources) of what the service emits and of what it is given to
replay, never on the request path: the service reads FHIR JSON leniently by design
(`cds.record`), and importing the models alone would cost every worker its start-up time.

- `emitted_resources`: every FHIR resource the service can put in a card, the ServiceRequest of
  each order suggestion of each pinned rule version, rendered as a card renders it; `cds check`
  validates them all, so a release cannot ship a suggestion an EHR would refuse.
- `invalid_resources`: which of some resources are not valid R4B, and why; `cds replay
  --validate` reports them for its inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from cds.cards import render_card
from cds.pipeline import Engine
from cds.rules.base import Finding, Fired, OrderSuggestion, RuleVersion

MAX_PROBLEMS_SHOWN = 3
# The card a suggestion is rendered in for validation: its subject is this (example) patient.
EXAMPLE_PATIENT = "example"


@dataclass(frozen=True)
class InvalidResource:
    label: str  # ResourceType/id, or ResourceType #n for a resource without an id
    problem: str


def invalid_resources(resources: Iterable[Any]) -> list[InvalidResource]:
    found = []
    for number, resource in enumerate(resources, start=1):
        problem = resource_problem(resource)
        if problem is not None:
            found.append(InvalidResource(_label(resource, number), problem))
    return found


def resource_problem(resource: Any) -> str | None:
    """Why `resource` is not a valid FHIR R4B resource; None when it is."""
    if not isinstance(resource, Mapping):
        return "not a JSON object"
    resource_type = resource.get("resourceType")
    try:
        model = get_fhir_model_class(str(resource_type))
    except (KeyError, ValueError):
        return f"resourceType {resource_type!r} is not an R4B resource"
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        errors = exc.errors()
        shown = [
            f"{'.'.join(str(p) for p in error['loc']) or resource_type}: {error['msg']}"
            for error in errors[:MAX_PROBLEMS_SHOWN]
        ]
        more = len(errors) - len(shown)
        return "; ".join(shown) + (f" (+{more} more)" if more > 0 else "")
    return None


def _label(resource: Any, number: int) -> str:
    if not isinstance(resource, Mapping):
        return f"resource #{number}"
    resource_type = resource.get("resourceType", "resource")
    resource_id = resource.get("id")
    return f"{resource_type}/{resource_id}" if resource_id else f"{resource_type} #{number}"


def emitted_resources(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    """(label, resource) for each resource a card of a pinned rule version can carry."""
    pinned = {rule.key: rule for service in engine.services.values() for rule in service.rules}
    emitted = []
    for key, rule in sorted(pinned.items()):
        suggestions = order_suggestions(rule)
        if not suggestions:
            continue
        finding = Finding(
            severity=rule.severities[0],
            summary="(validation)",
            explanation="(validation)",
            suggestions=suggestions,
            specificity=0,
        )
        card = render_card(
            Fired(rule, finding),
            hook_instance="00000000-0000-0000-0000-000000000000",
            patient_id=EXAMPLE_PATIENT,
            ruleset_release=engine.registry.release.version,
        )
        for suggestion in card.suggestions or ():
            for action in suggestion.actions or ():
                if action.resource is not None:
                    emitted.append((f"{key} {suggestion.label}", dict(action.resource)))
    return emitted


def order_suggestions(rule: RuleVersion) -> tuple[OrderSuggestion, ...]:
    """The orders a rule version can suggest: its parameters (a rule's suggestions are data,
    fields of its logic, never built in its methods)."""
    found: list[OrderSuggestion] = []
    for parameter in dataclasses.fields(rule.logic):
        value = getattr(rule.logic, parameter.name)
        values = value if isinstance(value, tuple) else (value,)
        found += [v for v in values if isinstance(v, OrderSuggestion)]
    return tuple(found)
