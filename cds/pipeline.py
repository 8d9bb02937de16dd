"""The one path every request takes, from a validated HookRequest and its data to cards.

`Engine` holds what is built once at start-up (terminology, rules, services, record builder).
`evaluate()` is pure and synchronous: the same function serves HTTP, `cds replay` and tests.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cds.cards import render_card, select_findings
from cds.cdshooks import Card, CdsResponse, HookRequest
from cds.errors import BadRequest
from cds.facts import Facts
from cds.fhir.bundles import iter_resources, resource_list
from cds.record import PatientRecord, RecordBuilder
from cds.rules.base import SEVERITY_RANK, Finding
from cds.rules.registry import RuleRegistry, load_registry
from cds.services import ServiceDefinition, load_services
from cds.terminology import Terminology

log = logging.getLogger(__name__)

RULESET_EXTENSION = "legpain-cds-ruleset"
DATA_WARNINGS_EXTENSION = "legpain-cds-data-warnings"
MAX_DATA_WARNINGS = 20  # a Bundle of 10,000 OperationOutcomes must not make a 10,000-line answer


@dataclass(frozen=True)
class Engine:
    terminology: Terminology
    registry: RuleRegistry
    services: dict[str, ServiceDefinition]
    builder: RecordBuilder

    @classmethod
    def load(cls, hooks_dir: Path) -> Engine:
        """Load and validate everything; raises on a bad hooks/ file or unknown rule version."""
        terminology = Terminology.load()
        registry = load_registry()
        services = load_services(hooks_dir, registry, terminology)
        return cls(terminology, registry, services, RecordBuilder(terminology))


@dataclass
class Evaluation:
    response: CdsResponse
    shown: list[Finding]
    fired: list[Finding]
    record: PatientRecord
    rule_errors: list[str] = field(default_factory=list)


def validate_context(service: ServiceDefinition, request: HookRequest) -> None:
    """The hook's REQUIRED context fields (HL7 cds-hooks-library v1.0.1)."""
    if request.hook != service.hook:
        raise BadRequest(
            f"service '{service.id}' answers hook '{service.hook}', not '{request.hook}'"
        )
    context = request.context
    for name in ("userId", "patientId"):
        if not isinstance(context.get(name), str) or not context[name]:
            raise BadRequest(f"context.{name} is required for {service.hook} (a non-empty string)")
    if service.hook in ("order-select", "order-sign"):
        draft = context.get("draftOrders")
        if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
            raise BadRequest(f"context.draftOrders is required for {service.hook} (a Bundle)")
    if service.hook == "order-select":
        selections = context.get("selections")
        if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
            raise BadRequest("context.selections is required for order-select (list of strings)")


@dataclass(frozen=True)
class DraftOrders:
    """A request's context.draftOrders, flattened once per call (`draft_orders`)."""

    resources: list[Mapping[str, Any]]  # everything the Bundle carries, Medications included
    active: list[Mapping[str, Any]]  # what counts as active: in order-select, the selected ones

    @property
    def medications(self) -> list[Mapping[str, Any]]:
        """Medications travelling with the orders: a draft may reference one of them."""
        return [r for r in self.resources if r.get("resourceType") == "Medication"]


def draft_orders(request: HookRequest) -> DraftOrders:
    """The drafted orders. Active in order-select are only the selected ones (the clinician is
    choosing those now); in order-sign every order being signed."""
    resources = resource_list(request.context.get("draftOrders"))
    active = resources
    if request.hook == "order-select":
        selected = set(request.context.get("selections") or [])
        active = [o for o in resources if f"{o.get('resourceType')}/{o.get('id')}" in selected]
    return DraftOrders(resources, active)


def evaluate(
    engine: Engine,
    service: ServiceDefinition,
    request: HookRequest,
    prefetch: Mapping[str, Any],
    *,
    as_of: datetime,
    data_warnings: list[str] | None = None,
    resources: Iterable[Mapping[str, Any]] | None = None,
    drafts: DraftOrders | None = None,
) -> Evaluation:
    """`resources`, when given, are the prefetch values' resources already flattened (as
    `iter_resources` gives them, in order; `Gathered.resources()`), not walked again here;
    `drafts`, when given, the request's `draft_orders()`."""
    patient_id = request.context.get("patientId")
    if resources is None:
        resources = [r for value in prefetch.values() for r in iter_resources(value)]
    if drafts is None:
        drafts = draft_orders(request)
    # A draft order may reference a Medication that travels in the draftOrders Bundle.
    draft_medications = drafts.medications
    record = engine.builder.build(
        itertools.chain(resources, draft_medications) if draft_medications else resources,
        draft_orders=drafts.active,
        patient_id=patient_id if isinstance(patient_id, str) else None,
    )
    facts = Facts(record, as_of=as_of, terminology=engine.terminology, hook=request.hook)
    warnings = list(data_warnings or ())
    if record.skipped["other-patient-data"]:
        warnings.append(
            f"{record.skipped['other-patient-data']} resource(s) about another patient than "
            "context.patientId were ignored"
        )
    fired: list[Finding] = []
    rule_errors: list[str] = []
    # Leg-pain advice is for the living: a chart opened after death gets no cards.
    rules_to_run = service.rules if not record.patient.deceased else ()
    if record.patient.deceased:
        warnings.append("the patient is recorded as deceased: no rules were run")
    for rule in rules_to_run:
        try:
            finding = rule.evaluate(facts)
        except Exception:
            # A broken rule must not take the other cards down; it is logged and reported.
            log.exception("rule %s failed", rule.key)
            rule_errors.append(rule.key)
            continue
        if finding is None:
            continue
        if (finding.rule_id, finding.rule_version) != (rule.id, rule.version) or (
            finding.severity not in SEVERITY_RANK
        ):
            # A finding must name the rule version that made it (the card's provenance).
            log.error("rule %s returned a malformed finding", rule.key)
            rule_errors.append(rule.key)
            continue
        fired.append(finding)
    shown = select_findings(fired, hook=request.hook)
    rules = {rule.id: rule for rule in service.rules}
    release = engine.registry.release.version
    cards: list[Card] = []
    for finding in shown:
        try:
            cards.append(
                render_card(
                    finding,
                    rules[finding.rule_id],
                    hook_instance=str(request.hookInstance),
                    patient_id=record.patient.id,
                    ruleset_release=release,
                )
            )
        except Exception:
            # E.g. a summary over the spec's limit: that card is lost, never the whole answer.
            log.exception("card for %s could not be rendered", finding.rule_id)
            rule_errors.append(f"{finding.rule_id}@{finding.rule_version}")
    extension: dict[str, Any] = {RULESET_EXTENSION: release}
    if warnings:
        extension[DATA_WARNINGS_EXTENSION] = _capped(warnings)
    if rule_errors:
        extension["legpain-cds-rule-errors"] = rule_errors
    return Evaluation(
        response=CdsResponse(cards=cards, extension=extension),
        shown=shown,
        fired=fired,
        record=record,
        rule_errors=rule_errors,
    )


def _capped(warnings: list[str]) -> list[str]:
    if len(warnings) <= MAX_DATA_WARNINGS:
        return list(warnings)
    extra = len(warnings) - (MAX_DATA_WARNINGS - 1)
    return [*warnings[: MAX_DATA_WARNINGS - 1], f"... and {extra} more data warnings"]
