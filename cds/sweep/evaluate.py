"""The sweep's one link to the evaluation path: a chart in, plain per-chart results out.

Everything the sweep knows about how the service turns a record into cards is here, so that
this module alone follows when that path changes:

- `Pins`: a set of pinned rule versions, as the content of a hooks/*.json service file (the
  service in force, another hooks folder, or overrides `rule@version` / `rule@off`); carried by
  value, so Spark executors need no hooks folder of their own;
- `Evaluator(spec)`: the Engine parts (terminology, rule registry, record builder) loaded once
  per process, and one ServiceDefinition per set of pins (unreleased versions allowed: a sweep
  is how a version proves its burden before it is released and pinned);
- `Evaluator.evaluate(chart)`: the chart's hook request built from its Bundle exactly as `cds
  replay` builds one (`cds.replay.hook_request.build_hook_request`), its dates moved
  if asked (`cds.fhir.date_shift`: the prefetch, so that the latest date the service reads is
  the day before as_of), then the service's own call path in process at `as_of`: request
  validation, the prefetch checks of `gather`, `cds.pipeline.evaluate`.

hookInstance is derived from the patient id, so card uuids, and the results, are the same on
every run and every engine. Pure apart from loading the rule code and terminology once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cds.cards import RULE_EXTENSION
from cds.errors import CdsError
from cds.fhir.bundles import resource_list
from cds.fhir.date_shift import days_to_yesterday, shift_in_place
from cds.fhir.gather import split_prefetch
from cds.fhir.local_search import LocalSearch
from cds.fhir.prefetch import resource_type_of
from cds.pipeline import DATA_WARNINGS_EXTENSION, Engine, evaluate
from cds.replay.hook_request import build_hook_request
from cds.rules.registry import load_registry
from cds.service_call import parse_request
from cds.services import ServiceDefinition, ServiceFile, derive_prefetch
from cds.sweep.results import CardResult, ChartResult, Outcome

__all__ = (
    "SWEEP_HOOK",
    "Chart",
    "EvaluationSpec",
    "Evaluator",
    "Pins",
    "PinsError",
    "override_pins",
    "pins_from_folder",
)

SWEEP_HOOK = "patient-view"  # a population has no draft orders: only chart-open services
# hookInstance of a swept chart: uuid5(namespace, patient id).
HOOK_INSTANCE_NAMESPACE = uuid.UUID("0b8f3f4e-61a2-4d0c-9a57-3c2d7e5b9a14")
SWEEP_USER = "Practitioner/cds-sweep"
OFF = "off"  # `rule@off`: the rule is not run


class PinsError(ValueError):
    """A set of pins that cannot be run (unknown rule or version, wrong hook, bad file)."""


@dataclass(frozen=True)
class Pins:
    """A service file's content (see `cds.services.ServiceFile`) and where it came from."""

    service: Mapping[str, Any]
    label: str  # e.g. "hooks/leg-pain-patient-view.json + dvt-risk@1.1.0"

    @property
    def rules(self) -> dict[str, str]:
        return dict(self.service.get("rules") or {})


def pins_from_folder(folder: Path, service_id: str | None = None) -> Pins:
    """The pins of service `service_id` in a hooks folder (by default its one patient-view
    service), read from the file as it is."""
    if not folder.is_dir():
        raise PinsError(f"{folder}: not a folder of service files")
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            content = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise PinsError(f"{path}: not a readable service file ({exc})") from None
        if isinstance(content, dict):
            found.append((path, content))
    if service_id is not None:
        matching = [(p, c) for p, c in found if c.get("id") == service_id]
    else:
        matching = [(p, c) for p, c in found if c.get("hook") == SWEEP_HOOK]
    if len(matching) != 1:
        wanted = f"service {service_id!r}" if service_id else f"exactly one {SWEEP_HOOK} service"
        names = ", ".join(str(c.get("id")) for _, c in found) or "none"
        raise PinsError(f"{folder}: needs {wanted} (found: {names}); name one with --service")
    path, content = matching[0]
    return Pins(content, str(path))


def override_pins(pins: Pins, overrides: Sequence[str]) -> Pins:
    """`pins` with `rule@version` pins changed or added, and `rule@off` rules removed."""
    rules = pins.rules
    for override in overrides:
        rule_id, at, version = override.partition("@")
        if not at or not rule_id or not version:
            raise PinsError(f"not rule@version: {override!r}")
        if version == OFF:
            if rule_id not in rules:
                raise PinsError(f"{override}: {rule_id} is not pinned by {pins.label}")
            del rules[rule_id]
        else:
            rules[rule_id] = version
    return Pins({**pins.service, "rules": rules}, f"{pins.label} + {' '.join(overrides)}")


@dataclass(frozen=True)
class EvaluationSpec:
    """Everything an evaluating process needs: small, picklable, sent once per worker."""

    baseline: Pins
    as_of: datetime
    candidate: Pins | None = None
    shift_to_now: bool = False
    # Add a coded leg complaint to every chart (`ADDED_COMPLAINT`): the burden of the
    # candidate-cause cards on a population where everyone reports night cramps, their worst case.
    with_complaint: bool = False


@dataclass(frozen=True)
class Chart:
    """One patient's record: a Bundle holding their Patient, their resources and the shared
    resources (Medications) those reference. Entries may carry fullUrls (`urn:uuid:`)."""

    patient_id: str
    bundle: Mapping[str, Any]


@dataclass(frozen=True)
class _Service:
    definition: ServiceDefinition
    unreleased: tuple[str, ...]


@dataclass
class Evaluator:
    spec: EvaluationSpec
    engine: Engine = field(init=False)
    baseline: _Service = field(init=False)
    candidate: _Service | None = field(init=False)

    def __post_init__(self) -> None:
        self.engine = Engine.for_registry(load_registry())
        self.baseline = _service(self.spec.baseline, self.engine)
        self.candidate = (
            None if self.spec.candidate is None else _service(self.spec.candidate, self.engine)
        )

    @property
    def unreleased(self) -> tuple[str, ...]:
        """Pinned versions not in released.json (allowed in a sweep, named in its report)."""
        found = set(self.baseline.unreleased)
        if self.candidate is not None:
            found |= set(self.candidate.unreleased)
        return tuple(sorted(found))

    @property
    def read_types(self) -> frozenset[str]:
        """The resource types the services' prefetch templates read: an export's other files
        (claims, billing...) need not be read at all."""
        services = [self.baseline] + ([self.candidate] if self.candidate else [])
        return frozenset(
            resource_type_of(template)
            for service in services
            for template in service.definition.prefetch.values()
        ) - {""}

    def pinned(self) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
        """rule@version of every rule each set of pins runs."""
        base = tuple(r.key for r in self.baseline.definition.rules)
        if self.candidate is None:
            return base, None
        return base, tuple(r.key for r in self.candidate.definition.rules)

    def evaluate(self, chart: Chart) -> ChartResult:
        """The chart under the baseline pins (and the candidate's). Never raises for a chart:
        what goes wrong is that chart's `error`."""
        hook_instance = uuid.uuid5(HOOK_INSTANCE_NAMESPACE, chart.patient_id)
        services = [self.baseline.definition]
        if self.candidate is not None:
            services.append(self.candidate.definition)
        bodies: list[dict[str, Any] | Outcome] = []
        search: LocalSearch | None = None  # the chart, indexed once for every set of pins
        for service in services:
            try:
                search = search or LocalSearch(chart.bundle)
                body = build_hook_request(
                    search, service, hook_instance=hook_instance, user_id=SWEEP_USER
                )
                bodies.append(body)
            except Exception as exc:  # e.g. a template the local search cannot answer
                bodies.append(Outcome((), error=f"{type(exc).__name__}: {exc}"))
        if self.spec.shift_to_now:
            try:
                self._move_dates([b for b in bodies if isinstance(b, dict)])
            except Exception as exc:  # one chart's failure must not stop a population's sweep
                failed = Outcome((), error=f"dates not moved: {type(exc).__name__}: {exc}")
                bodies = [failed for _ in services]
        if self.spec.with_complaint:
            for built in bodies:
                if isinstance(built, dict):
                    _add_complaint(built["prefetch"], chart.patient_id, self.spec.as_of)
        outcomes = [
            body if isinstance(body, Outcome) else self._outcome(service, body)
            for service, body in zip(services, bodies, strict=True)
        ]
        return ChartResult(
            chart.patient_id, outcomes[0], outcomes[1] if len(outcomes) > 1 else None
        )

    def _move_dates(self, bodies: list[dict[str, Any]]) -> None:
        """The record as the service reads it (every set of pins' prefetch: the same shift for
        both) moved so its latest date is the day before as_of. The bodies were just built
        here, so they are moved in place; only what the rules can read is walked."""
        resources = [
            resource
            for body in bodies
            for value in body["prefetch"].values()
            for resource in resource_list(value)
        ]
        days = days_to_yesterday(resources, self.spec.as_of)
        for body in bodies:
            shift_in_place(body["prefetch"], days)

    def _outcome(self, service: ServiceDefinition, body: dict[str, Any]) -> Outcome:
        try:
            request = parse_request(body)
            gathered, _ = split_prefetch(service.prefetch, request)
            evaluation = evaluate(
                self.engine,
                service,
                request,
                gathered.values,
                as_of=self.spec.as_of,
                data_warnings=gathered.data_warnings,
                resources=gathered.resources(),
            )
        except CdsError as exc:
            return Outcome((), error=exc.message)
        except Exception as exc:  # one chart's failure must not stop a population's sweep
            return Outcome((), error=f"{type(exc).__name__}: {exc}")
        candidate = {fired.rule_id: fired.finding.candidate for fired in evaluation.shown}
        cards = []
        for card in evaluation.response.cards:
            provenance = (card.extension or {}).get(RULE_EXTENSION) or {}
            topic = card.source.topic.code if card.source.topic else None
            cards.append(
                CardResult(
                    rule=str(provenance.get("id") or topic or "?"),
                    version=str(provenance.get("version") or "?"),
                    indicator=card.indicator,
                    summary=card.summary,
                    candidate=candidate.get(topic or "", False),
                )
            )
        extension = evaluation.response.extension or {}
        notes = [str(w) for w in extension.get(DATA_WARNINGS_EXTENSION) or ()]
        notes += [f"rule failed: {key}" for key in evaluation.rule_errors]
        return Outcome(tuple(cards), tuple(notes))


def _service(pins: Pins, engine: Engine) -> _Service:
    registry = engine.registry
    try:
        spec = ServiceFile.model_validate(pins.service)
    except ValidationError as exc:
        raise PinsError(f"{pins.label}: {exc}") from None
    if spec.hook != SWEEP_HOOK:
        raise PinsError(
            f"{pins.label}: service {spec.id!r} answers {spec.hook}; a population has no draft "
            f"orders, so only {SWEEP_HOOK} services can be swept"
        )
    rules = []
    for rule_id, version in sorted(spec.rules.items()):
        try:
            rules.append(registry.get(rule_id, version))
        except KeyError as exc:
            raise PinsError(f"{pins.label}: {exc.args[0]}") from None
    definition = ServiceDefinition.of(spec, rules, derive_prefetch(rules, engine.terminologies))
    unreleased = tuple(r.key for r in rules if not registry.is_released(r))
    return _Service(definition, unreleased)


# The complaint `--with-complaint` adds: a sleep-related leg cramp (ICD-10-CM G47.62, of the
# `leg-cramp` value set, clinical-content.md §1.6), active, coded a week before the chart is judged.
ADDED_COMPLAINT_CODING = {
    "system": "http://hl7.org/fhir/sid/icd-10-cm",
    "code": "G47.62",
    "display": "Sleep related leg cramps",
}
ADDED_COMPLAINT_DAYS_AGO = 7
ADDED_COMPLAINT_ID = "cds-sweep-added-complaint"


def _add_complaint(prefetch: dict[str, Any], patient_id: str, as_of: datetime) -> None:
    """The chart's Condition searchset (every service reads Conditions for complaints) with the
    added complaint in it; a chart with no Conditions gets a searchset of its own."""
    when = (as_of - timedelta(days=ADDED_COMPLAINT_DAYS_AGO)).isoformat()
    condition = {
        "resourceType": "Condition",
        "id": ADDED_COMPLAINT_ID,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {
            "coding": [dict(ADDED_COMPLAINT_CODING)],
            "text": ADDED_COMPLAINT_CODING["display"],
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "onsetDateTime": when,
        "recordedDate": when,
    }
    entry = {"fullUrl": f"Condition/{ADDED_COMPLAINT_ID}", "resource": condition}
    searchset = prefetch.get("Condition")
    if not isinstance(searchset, dict) or searchset.get("resourceType") != "Bundle":
        searchset = prefetch["Condition"] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [],
        }
    entries = searchset.setdefault("entry", [])
    entries.append(entry)
    searchset["total"] = len(entries)
