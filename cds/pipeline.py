"""The one path every request takes, from a validated HookRequest and its data to cards.

`Engine` holds what is built once at start-up (terminology releases, rule versions, services,
record builders). `evaluate()` is pure and synchronous: the same function serves HTTP,
`cds replay` and tests.

Each rule version reads the record at its own terminology release: the record is built once
per release the service's rules name (normally one), so a value set that grows in a later
release never changes what an older released version sees.

Partial data (`partial_data`): a prefetch key that could not be had stops only what needs it.
A rule is not evaluated when a resource type it declares essential is missing; it runs without
a non-essential one (that type empty). Missing complaint data (`cds.services.COMPLAINT_DATA`)
withholds every candidate-cause finding. The call is a 412 only when no rule can run, or the
Patient is missing. When every key was had, none of this costs anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cds.cards import render_card
from cds.cdshooks import Card, CdsResponse, HookRequest
from cds.errors import BadRequest, MissingData, PrefetchUnavailable
from cds.facts import Facts, RecordFacts
from cds.fhir.bundles import iter_resources, resource_list
from cds.record import PatientRecord, RecordBuilder
from cds.rules.base import SEVERITY_RANK, Finding, Fired, RuleVersion
from cds.rules.registry import RuleRegistry, load_registry
from cds.services import COMPLAINT_DATA, ServiceDefinition, load_services
from cds.terminology import Terminology

log = logging.getLogger(__name__)

RULESET_EXTENSION = "legpain-cds-ruleset"
DATA_WARNINGS_EXTENSION = "legpain-cds-data-warnings"
RULES_NOT_EVALUATED_EXTENSION = "legpain-cds-rules-not-evaluated"
COMPLAINT_TYPES = frozenset(r.resource_type for r in COMPLAINT_DATA)
MAX_DATA_WARNINGS = 20  # a Bundle of 10,000 OperationOutcomes must not make a 10,000-line answer


@dataclass(frozen=True)
class Engine:
    terminologies: dict[str, Terminology]  # terminology release -> its value sets
    registry: RuleRegistry
    services: dict[str, ServiceDefinition]
    builders: dict[str, RecordBuilder]  # terminology release -> record builder

    @classmethod
    def load(cls, hooks_dir: Path) -> Engine:
        """Load and validate everything; raises on a bad hooks/ file or unknown rule version."""
        engine = cls.for_registry(load_registry())
        services = load_services(hooks_dir, engine.registry, engine.terminologies)
        return replace(engine, services=services)

    @classmethod
    def for_registry(cls, registry: RuleRegistry) -> Engine:
        """Every terminology release the registry's versions read, with a record builder each,
        and no services yet (a sweep builds its own from the pins it is given)."""
        releases = {rule.terminology for rule in registry.rules.values()}
        terminologies = {release: Terminology.load(release) for release in sorted(releases)}
        builders = {release: RecordBuilder(t) for release, t in terminologies.items()}
        return cls(terminologies, registry, {}, builders)


@dataclass(frozen=True)
class NotEvaluated:
    """A rule version that was not run: a resource type it declares essential is missing."""

    rule: RuleVersion
    missing: tuple[MissingData, ...]  # the keys of its essential types that could not be had

    def to_wire(self) -> dict[str, Any]:
        """One entry of the response's `legpain-cds-rules-not-evaluated` extension."""
        return {
            "rule": self.rule.id,
            "version": self.rule.version,
            "missing": [
                {
                    "prefetchKey": m.prefetch_key,
                    "resourceType": m.resource_type,
                    "reason": m.unavailability,
                }
                for m in self.missing
            ],
        }


@dataclass(frozen=True)
class DataGaps:
    """What the prefetch keys that could not be had stop, decided from each rule's needs."""

    unavailable: tuple[MissingData, ...]
    not_evaluated: tuple[NotEvaluated, ...]
    # Rules that run without a non-essential type, with the keys they go without.
    run_without: tuple[tuple[RuleVersion, tuple[MissingData, ...]], ...]
    # Complaint data missing: no leg complaint can be looked for, so candidate-cause findings
    # are withheld (never shown on a complaint that might be there, nor hidden silently).
    complaint_missing: tuple[MissingData, ...]

    @property
    def skipped(self) -> frozenset[str]:
        """The rule@version keys not evaluated."""
        return frozenset(n.rule.key for n in self.not_evaluated)

    def stopping(self, rule: RuleVersion) -> tuple[MissingData, ...]:
        """The keys that could not be had of the types `rule` declares essential: any rule
        version, pinned or shadow, is stopped by them alike."""
        return _missing_of(rule, self.unavailable, essential_only=True)

    def shown(self, fired: list[Fired]) -> list[Fired]:
        """The findings that may become cards: candidate causes are withheld while complaint
        data is missing (before selection: a withheld finding must not replace or explain
        another card)."""
        if not self.complaint_missing:
            return fired
        return [item for item in fired if not item.finding.candidate]

    def warnings(self) -> list[str]:
        """For the response's data warnings: each key, why, and what it stopped."""
        warnings = []
        for missing in self.unavailable:
            text = (
                f"prefetch '{missing.prefetch_key}' could not be had ({missing.unavailability}: "
                f"{missing.reason})"
            )
            stopped = [n.rule.key for n in self.not_evaluated if missing in n.missing]
            if stopped:
                text += "; not evaluated: " + ", ".join(stopped)
            without = [rule.key for rule, gone in self.run_without if missing in gone]
            if without:
                text += "; evaluated without it: " + ", ".join(without)
            warnings.append(text)
        if self.complaint_missing:
            keys = ", ".join(
                f"{m.prefetch_key} ({m.unavailability})" for m in self.complaint_missing
            )
            warnings.append(
                "candidate-cause cards could not be considered: a leg complaint could not be "
                f"looked for without {keys}"
            )
        return warnings


def partial_data(service: ServiceDefinition, unavailable: Iterable[MissingData]) -> DataGaps:
    """Which rules the keys that could not be had stop, and whether candidate-cause findings
    can be shown. Raises the spec's 412 (`PrefetchUnavailable`, naming every key) when the
    Patient is missing or no pinned rule can run. Pure: call it only when a key is missing."""
    missing = tuple(unavailable)
    if any(m.resource_type == "Patient" for m in missing):
        raise PrefetchUnavailable(missing=list(missing))
    not_evaluated: list[NotEvaluated] = []
    run_without: list[tuple[RuleVersion, tuple[MissingData, ...]]] = []
    for rule in service.rules:
        blocking = _missing_of(rule, missing, essential_only=True)
        if blocking:
            not_evaluated.append(NotEvaluated(rule, blocking))
            continue
        gone = _missing_of(rule, missing, essential_only=False)
        if gone:
            run_without.append((rule, gone))
    if len(not_evaluated) == len(service.rules):
        raise PrefetchUnavailable(missing=list(missing))
    complaint = tuple(m for m in missing if m.resource_type in COMPLAINT_TYPES)
    return DataGaps(missing, tuple(not_evaluated), tuple(run_without), complaint)


def _missing_of(
    rule: RuleVersion, missing: tuple[MissingData, ...], *, essential_only: bool
) -> tuple[MissingData, ...]:
    """The missing keys of the types `rule` reads (or declares essential), by type name."""
    types = {r.resource_type for r in rule.requires if r.essential or not essential_only}
    return tuple(m for t in sorted(types) for m in missing if m.resource_type == t)


@dataclass(frozen=True)
class RecordInputs:
    """What a call's records are built from: kept with its Evaluation, so that the call's
    shadow versions (cds.shadow) read the same data at the same as_of."""

    resources: list[Mapping[str, Any]]  # the prefetch's resources, then the drafts' Medications
    draft_orders: list[Mapping[str, Any]]  # the orders that count as active
    patient_id: str | None
    as_of: datetime


@dataclass
class Evaluation:
    response: CdsResponse
    shown: list[Fired]
    fired: list[Fired]
    record: PatientRecord
    rule_errors: list[str] = field(default_factory=list)
    not_evaluated: tuple[NotEvaluated, ...] = ()
    # The record's Facts per terminology release the pinned versions read, and what the records
    # were built from: shadow versions reuse both (cds.shadow).
    facts: dict[str, RecordFacts] = field(default_factory=dict)
    inputs: RecordInputs | None = None
    gaps: DataGaps | None = None  # what data could not be had stops shadow versions alike


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
    gaps: DataGaps | None = None,
) -> Evaluation:
    """`resources`, when given, are the prefetch values' resources already flattened (as
    `iter_resources` gives them, in order; `Gathered.resources()`), not walked again here;
    `drafts`, when given, the request's `draft_orders()`; `gaps`, when some data could not be
    had, what that stops (`partial_data`)."""
    patient_id = request.context.get("patientId")
    if resources is None:
        resources = [r for value in prefetch.values() for r in iter_resources(value)]
    if drafts is None:
        drafts = draft_orders(request)
    # A draft order may reference a Medication that travels in the draftOrders Bundle.
    inputs = RecordInputs(
        # A copy only when there is something to add: `resources` is usually the list the
        # call flattened its prefetch into, made for this call alone.
        resources=[*resources, *drafts.medications]
        if drafts.medications or not isinstance(resources, list)
        else resources,
        draft_orders=drafts.active,
        patient_id=patient_id if isinstance(patient_id, str) else None,
        as_of=as_of,
    )
    shared = record_facts(engine, {rule.terminology for rule in service.rules}, inputs)
    # What the record says of the patient is the same at every release (value sets only decide
    # which entries each release selects).
    record = next(iter(shared.values())).record if shared else PatientRecord()
    # What missing data stopped comes first: the warnings are capped, and this matters most.
    warnings = [*(gaps.warnings() if gaps is not None else ()), *(data_warnings or ())]
    if record.skipped["other-patient-data"]:
        warnings.append(
            f"{record.skipped['other-patient-data']} resource(s) about another patient than "
            "context.patientId were ignored"
        )
    # Leg-pain advice is for the living: a chart opened after death gets no cards.
    rules_to_run = service.rules if not record.patient.deceased else ()
    if record.patient.deceased:
        warnings.append("the patient is recorded as deceased: no rules were run")
    if gaps is not None and gaps.not_evaluated:
        skipped = gaps.skipped
        rules_to_run = tuple(rule for rule in rules_to_run if rule.key not in skipped)
    fired: list[Fired] = []
    rule_errors: list[str] = []
    for rule in rules_to_run:
        result = run_rule(rule, shared[rule.terminology])
        if result is None:
            rule_errors.append(rule.key)
        elif result.finding is not None:
            fired.append(Fired(rule, result.finding))
    if gaps is not None:
        fired = gaps.shown(fired)
    release = engine.registry.release
    shown, cards, unrendered = select_cards(engine, fired, request=request, record=record)
    for key, exc in unrendered:
        # E.g. a summary over the spec's limit: that card is lost, never the whole answer.
        log.error("card for %s could not be rendered", key, exc_info=exc)
        rule_errors.append(key)
    extension: dict[str, Any] = {RULESET_EXTENSION: release.version}
    if warnings:
        extension[DATA_WARNINGS_EXTENSION] = _capped(warnings)
    if rule_errors:
        extension["legpain-cds-rule-errors"] = rule_errors
    not_evaluated = gaps.not_evaluated if gaps is not None else ()
    if not_evaluated:
        extension[RULES_NOT_EVALUATED_EXTENSION] = [n.to_wire() for n in not_evaluated]
    return Evaluation(
        response=CdsResponse(cards=cards, extension=extension),
        shown=shown,
        fired=fired,
        record=record,
        rule_errors=rule_errors,
        not_evaluated=not_evaluated,
        facts=shared,
        inputs=inputs,
        gaps=gaps,
    )


def record_facts(
    engine: Engine,
    releases: Iterable[str],
    inputs: RecordInputs,
    have: Mapping[str, RecordFacts] | None = None,
) -> dict[str, RecordFacts]:
    """The record's Facts at each terminology release, each record built once (those already
    in `have` are reused as they are)."""
    shared: dict[str, RecordFacts] = {}
    for terminology in sorted(releases):
        if have is not None and terminology in have:
            shared[terminology] = have[terminology]
            continue
        record = engine.builders[terminology].build(
            inputs.resources, draft_orders=inputs.draft_orders, patient_id=inputs.patient_id
        )
        shared[terminology] = RecordFacts(
            record, as_of=inputs.as_of, terminology=engine.terminologies[terminology]
        )
    return shared


def select_cards(
    engine: Engine, fired: Iterable[Fired], *, request: HookRequest, record: PatientRecord
) -> tuple[list[Fired], list[Card], list[tuple[str, Exception]]]:
    """The release's card-selection policy over what fired, and the cards it shows: (the
    findings shown, their cards, and rule@version and the error of each card that could not
    be rendered; the caller logs those)."""
    release = engine.registry.release
    shown = engine.registry.policy.select(fired, hook=request.hook)
    cards: list[Card] = []
    unrendered: list[tuple[str, Exception]] = []
    for item in shown:
        try:
            cards.append(
                render_card(
                    item,
                    hook_instance=str(request.hookInstance),
                    patient_id=record.patient.id,
                    ruleset_release=release.version,
                )
            )
        except Exception as exc:
            unrendered.append((item.rule.key, exc))
    return shown, cards, unrendered


@dataclass(frozen=True)
class RuleResult:
    finding: Finding | None
    # Why the version failed: the exception it raised, or what is wrong with what it returned.
    failure: Exception | str | None = None


def attempt_rule(rule: RuleVersion, shared: RecordFacts) -> RuleResult:
    """One rule version on one record. Never raises: a failure is in the result (its caller
    decides how to log it)."""
    facts = Facts(shared, valuesets=rule.valuesets, reader=rule.key)
    try:
        finding = rule.logic.evaluate(facts)
    except Exception as exc:
        return RuleResult(None, exc)
    if finding is not None and (
        not isinstance(finding, Finding) or finding.severity not in SEVERITY_RANK
    ):
        return RuleResult(None, "returned a malformed finding")
    return RuleResult(finding)


def run_rule(rule: RuleVersion, shared: RecordFacts) -> RuleResult | None:
    """One rule version on one record; None when it failed (logged: a broken rule must not take
    the other cards down) or returned something that is not a finding."""
    result = attempt_rule(rule, shared)
    if isinstance(result.failure, Exception):
        log.error("rule %s failed", rule.key, exc_info=result.failure)
        return None
    if result.failure is not None:
        log.error("rule %s %s", rule.key, result.failure)
        return None
    return result


def _capped(warnings: list[str]) -> list[str]:
    if len(warnings) <= MAX_DATA_WARNINGS:
        return list(warnings)
    extra = len(warnings) - (MAX_DATA_WARNINGS - 1)
    return [*warnings[: MAX_DATA_WARNINGS - 1], f"... and {extra} more data warnings"]
