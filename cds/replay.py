"""Replaying patient data against the service and judging the cards that come back.

Three kinds of input, one path through the service:

- a scenario folder (see fixtures/README.md): `scenario.json` with the expected outcome, and
  either `bundle.json` (a patient's record) or `request.json` (a whole hook request);
- a bare CDS Hooks request file: sent as it is;
- a plain FHIR Bundle holding one patient's record (Synthea transaction bundles included): the
  hook request is built from it by `cds.replay_request`, with a hookInstance derived from the
  file's path, so two replays of the same file give the same card uuids.

Two targets: in process, through `cds.service_call.call_service` (the HTTP route's own path) at a
chosen `as_of`; or over HTTP against a running service, which judges at its own clock.

Inputs without expectations pass when the service answers validly (200 and valid cards).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

import httpx
import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from cds.cdshooks import Card, Indicator
from cds.errors import CdsError, ReplayInputError, ReplayTargetUnavailable
from cds.fhir.access import FhirAccess
from cds.pipeline import Engine
from cds.replay_request import build_hook_request
from cds.service_call import call_service, find_service
from cds.services import ServiceDefinition
from cds.settings import Settings

SCENARIO_FILE = "scenario.json"
BUNDLE_FILE = "bundle.json"
REQUEST_FILE = "request.json"
SCENARIO_PARTS = (SCENARIO_FILE, BUNDLE_FILE, REQUEST_FILE)
DEFAULT_HOOK = "patient-view"  # what a plain Bundle is replayed as, unless a service is named

# hookInstance of a request built from a file: uuid5(namespace, resolved path of the file).
HOOK_INSTANCE_NAMESPACE = uuid.UUID("640668c2-5213-40c5-93f6-a8682a001826")

Verdict = Literal["pass", "fail", "error"]
InputKind = Literal["scenario", "request", "bundle"]


# ---------------------------------------------------------------------------------------------
# The scenario format (fixtures/README.md): strict, so a typo is an error rather than a
# silently ignored expectation.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedCard(_Strict):
    rule: str = Field(min_length=1)
    indicator: Indicator
    summary_contains: str | None = Field(default=None, min_length=1)


class Expectation(_Strict):
    status: int = Field(default=200, ge=100, le=599)
    cards: tuple[ExpectedCard, ...] = ()
    absent: tuple[str, ...] = ()
    only: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> Expectation:
        rules = [c.rule for c in self.cards]
        if len(set(rules)) != len(rules):
            raise ValueError("expect.cards names a rule twice")
        both = set(rules) & set(self.absent)
        if both:
            raise ValueError(f"rules both expected and absent: {sorted(both)}")
        if self.status != 200 and (self.cards or self.absent or self.only):
            raise ValueError("cards, absent and only apply to a 200 answer only")
        return self


class Scenario(_Strict):
    description: str = Field(min_length=1)
    service: str = Field(min_length=1)
    as_of: AwareDatetime
    draftOrders: tuple[dict[str, Any], ...] | None = None
    expect: Expectation


@dataclass(frozen=True)
class ReplayInput:
    name: str
    path: Path  # the scenario folder, or the file
    kind: InputKind
    scenario: Scenario | None = None  # None: a bare request or Bundle, no expectations
    request: dict[str, Any] | None = None  # sent as it is
    bundle: dict[str, Any] | None = None  # a patient's record: the request is built from it


@dataclass(frozen=True)
class Candidate:
    """Something found on disk that may be replayable; loaded only when it is replayed."""

    name: str
    path: Path
    explicit: bool  # named on the command line: not being replayable is an error, not a skip


def is_scenario_folder(path: Path) -> bool:
    return path.is_dir() and (path / SCENARIO_FILE).is_file()


def discover(paths: Iterable[Path]) -> list[Candidate]:
    """Scenario folders, and JSON files that may be hook requests or Bundles, under `paths`.

    A folder with a scenario.json is one scenario (not searched further); other folders are
    searched recursively, skipping hidden ones. Order is stable (sorted) so runs compare.
    """
    found: list[Candidate] = []
    for root in paths:
        if root.is_file() and root.name in SCENARIO_PARTS and is_scenario_folder(root.parent):
            # A file of a scenario folder means the scenario (with its expectations).
            found.append(Candidate(root.parent.name, root.parent, explicit=True))
        elif root.is_file() or is_scenario_folder(root):
            found.append(Candidate(root.name, root, explicit=True))
        elif root.is_dir():
            found.extend(_walk(root, root))
        else:
            raise ReplayInputError(f"{root}: no such file or folder")
    return found


def _walk(folder: Path, root: Path) -> Iterable[Candidate]:
    for child in sorted(folder.iterdir()):
        if child.name.startswith((".", "_")):
            continue
        name = child.relative_to(root).as_posix()
        if is_scenario_folder(child):
            yield Candidate(name, child, explicit=False)
        elif child.is_dir():
            yield from _walk(child, root)
        elif child.suffix == ".json":
            yield Candidate(name, child, explicit=False)


def load(candidate: Candidate) -> ReplayInput | None:
    """Read a candidate; None when a file found while searching is neither a hook request nor a
    Bundle (a response, a feedback body...). Raises ReplayInputError for anything unusable."""
    if candidate.path.is_dir():
        return load_scenario(candidate.path, name=candidate.name)
    data = _read_json(candidate.path)
    kind = _kind_of(data)
    if kind is None:
        if candidate.explicit:
            raise ReplayInputError(
                f"{candidate.path}: neither a CDS Hooks request (with 'hook') nor a FHIR Bundle"
            )
        return None
    assert isinstance(data, dict)  # _kind_of only accepts objects
    if kind == "bundle" and not candidate.explicit and not _has_patient(data):
        return None  # a Bundle found by search that is not a patient's record
    if kind == "request":
        return ReplayInput(candidate.name, candidate.path, "request", request=data)
    return ReplayInput(candidate.name, candidate.path, "bundle", bundle=data)


def load_scenario(folder: Path, *, name: str | None = None) -> ReplayInput:
    scenario = read_scenario(folder / SCENARIO_FILE)
    has_bundle = (folder / BUNDLE_FILE).is_file()
    has_request = (folder / REQUEST_FILE).is_file()
    if has_bundle == has_request:
        raise ReplayInputError(f"{folder}: needs exactly one of {BUNDLE_FILE} or {REQUEST_FILE}")
    name = name or folder.name
    if has_request:
        if scenario.draftOrders is not None:
            raise ReplayInputError(f"{folder}: draftOrders applies to {BUNDLE_FILE} only")
        request = _read_json(folder / REQUEST_FILE)
        if not isinstance(request, dict):
            raise ReplayInputError(f"{folder / REQUEST_FILE}: not a JSON object")
        return ReplayInput(name, folder, "scenario", scenario=scenario, request=request)
    bundle = _read_json(folder / BUNDLE_FILE)
    if _kind_of(bundle) != "bundle":
        raise ReplayInputError(f"{folder / BUNDLE_FILE}: not a FHIR Bundle")
    assert isinstance(bundle, dict)
    return ReplayInput(name, folder, "scenario", scenario=scenario, bundle=bundle)


def read_scenario(path: Path) -> Scenario:
    data = _read_json(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'scenario'}: {e['msg']}" for e in exc.errors()
        )
        raise ReplayInputError(f"{path}: {problems}") from exc


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ReplayInputError(f"{path}: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise ReplayInputError(f"{path}: not valid JSON ({exc})") from exc


def _kind_of(data: Any) -> Literal["request", "bundle"] | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("hook"), str):
        return "request"
    if data.get("resourceType") == "Bundle":
        return "bundle"
    return None


def _has_patient(bundle: Mapping[str, Any]) -> bool:
    entries = bundle.get("entry")
    return isinstance(entries, list) and any(
        isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
        for e in entries
    )


def hook_instance_for(path: Path) -> str:
    """The same file always gets the same hookInstance, so replays give identical cards."""
    return str(uuid.uuid5(HOOK_INSTANCE_NAMESPACE, path.resolve().as_posix()))


# ---------------------------------------------------------------------------------------------
# Targets: where requests are answered.


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    seconds: float


class Target(Protocol):
    over_http: bool

    async def services(self) -> Mapping[str, ServiceDefinition]: ...

    async def call(self, service_id: str, body: dict[str, Any], as_of: datetime) -> Answer: ...

    async def aclose(self) -> None: ...


class InProcessTarget:
    """The service's own call path (`cds.service_call`), in this process, at any `as_of`.

    FHIR servers are reached exactly as the running service reaches them (`FhirAccess` from the
    same settings): a request without prefetch and without fhirServer gets the spec's 412; one
    that names a server is fetched from it, subject to the same allow-list. A refused call gets
    the status and body the HTTP route would send (`CdsError.body()`).
    """

    over_http = False

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self._engine = engine
        self.fhir = FhirAccess.from_settings(settings or Settings())

    async def services(self) -> Mapping[str, ServiceDefinition]:
        return self._engine.services

    async def call(self, service_id: str, body: dict[str, Any], as_of: datetime) -> Answer:
        started = time.perf_counter()
        try:
            service = find_service(self._engine, service_id)
            result = await call_service(self._engine, service, body, as_of=as_of, fhir=self.fhir)
        except CdsError as exc:
            return Answer(exc.status_code, exc.body(), time.perf_counter() - started)
        return Answer(200, result.wire, time.perf_counter() - started)

    async def aclose(self) -> None:
        return None


class HttpTarget:
    """A running service at `base_url` (its CDS Hooks base is `{base_url}/cds-services`)."""

    over_http = True

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._services: dict[str, ServiceDefinition] | None = None

    async def services(self) -> Mapping[str, ServiceDefinition]:
        """From the service's discovery endpoint, so bundles get the prefetch it asks for."""
        if self._services is None:
            url = f"{self._base}/cds-services"
            try:
                response = await self._http.get(url)
                response.raise_for_status()
                descriptors = response.json()["services"]
                self._services = {d["id"]: _from_descriptor(d) for d in descriptors}
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise ReplayTargetUnavailable(f"discovery at {url} failed: {exc}") from exc
        return self._services

    async def call(self, service_id: str, body: dict[str, Any], as_of: datetime) -> Answer:
        # as_of is ignored: the service judges at its own clock (the caller warns).
        url = f"{self._base}/cds-services/{service_id}"
        started = time.perf_counter()
        try:
            response = await self._http.post(
                url, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise ReplayTargetUnavailable(f"POST {url} failed: {exc!r}") from exc
        seconds = time.perf_counter() - started
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        return Answer(response.status_code, payload, seconds)

    async def aclose(self) -> None:
        await self._http.aclose()


def _from_descriptor(descriptor: Mapping[str, Any]) -> ServiceDefinition:
    return ServiceDefinition(
        id=str(descriptor["id"]),
        hook=str(descriptor["hook"]),
        title=str(descriptor.get("title") or ""),
        description=str(descriptor.get("description") or ""),
        usage_requirements=descriptor.get("usageRequirements"),
        rules=(),
        prefetch=dict(descriptor.get("prefetch") or {}),
    )


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CardSeen:
    rule: str  # source.topic.code: the rule id ("?" when the card has no topic)
    indicator: str
    summary: str

    @property
    def label(self) -> str:
        return f"{self.rule}:{self.indicator}"


@dataclass
class ReplayResult:
    name: str
    path: Path
    kind: InputKind | None
    verdict: Verdict
    service: str | None = None
    patient_id: str | None = None
    status: int | None = None
    cards: list[CardSeen] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why it did not pass; empty on pass
    diff: str = ""  # human-readable expected vs actual, when it did not pass
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the service call alone
    expected: Expectation | None = None
    description: str | None = None
    response: Any = None  # the body as received (for --show-cards and debugging)

    @property
    def answered(self) -> bool:
        """The service gave a 200 answer: this replay counts as a chart in the statistics."""
        return self.status == 200 and self.verdict != "error"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "kind": self.kind,
            "verdict": self.verdict,
            "description": self.description,
            "service": self.service,
            "patient": self.patient_id,
            "status": self.status,
            "cards": [
                {"rule": c.rule, "indicator": c.indicator, "summary": c.summary} for c in self.cards
            ],
            "expected": self.expected.model_dump(mode="json") if self.expected else None,
            "problems": self.problems,
            "diff": self.diff,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 6),
        }


# ---------------------------------------------------------------------------------------------
# Judging an answer


def cards_of(body: Any) -> tuple[list[CardSeen], list[str]]:
    """The cards of a 200 body, and what makes the body or its cards invalid."""
    if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
        return [], ["the answer has no 'cards' list"]
    cards: list[CardSeen] = []
    problems: list[str] = []
    for number, raw in enumerate(body["cards"], start=1):
        if not isinstance(raw, dict):
            problems.append(f"card {number} is not a JSON object")
            continue
        try:
            Card.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            problems.append(f"card {number} is not a valid CDS Hooks card: {where}: {first['msg']}")
        cards.append(CardSeen(_rule_of(raw), str(raw.get("indicator")), str(raw.get("summary"))))
    per_rule = Counter(c.rule for c in cards if c.rule != "?")
    for rule, count in sorted(per_rule.items()):
        if count > 1:
            problems.append(f"rule {rule} produced {count} cards (one per rule is the design)")
    return cards, problems


def _rule_of(card: Mapping[str, Any]) -> str:
    source = card.get("source")
    topic = source.get("topic") if isinstance(source, dict) else None
    code = topic.get("code") if isinstance(topic, dict) else None
    return code if isinstance(code, str) else "?"


def error_lines(body: Any) -> list[str]:
    """What a non-200 body says: its OperationOutcome issues, or its error message."""
    if isinstance(body, dict):
        if body.get("resourceType") == "OperationOutcome":
            issues = body.get("issue")
            return [
                str(i.get("diagnostics") or i.get("code"))
                for i in (issues if isinstance(issues, list) else [])
                if isinstance(i, dict)
            ] or ["OperationOutcome without issues"]
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return [str(error["message"])]
        if "detail" in body:
            return [str(body["detail"])]
    text = body if isinstance(body, str) else json.dumps(body)
    return [text[:300]]


def _one_line(lines: Sequence[str], width: int = 160) -> str:
    first = lines[0] if len(lines[0]) <= width else lines[0][: width - 3] + "..."
    return first + (f" (+{len(lines) - 1} more)" if len(lines) > 1 else "")


def judge(
    expected: Expectation | None,
    status: int,
    body: Any,
    *,
    rules_run: frozenset[str] | None = None,
) -> tuple[list[CardSeen], list[str]]:
    """(cards, problems): problems empty means the outcome is as expected.

    Without expectations the answer must be a valid 200. With them: the status, each expected
    card by rule with its indicator (and in the listed order), absent rules, and `only`.
    `rules_run`, when known (in process), explains a missing card whose rule the service does
    not run at all, the usual cause while rules are being pinned.
    """
    cards: list[CardSeen] = []
    problems: list[str] = []
    if status == 200:
        cards, problems = cards_of(body)
    elif status == 412 and not (
        isinstance(body, dict) and body.get("resourceType") == "OperationOutcome"
    ):
        problems.append("a 412 answer must carry an OperationOutcome")
    wanted = 200 if expected is None else expected.status
    if status != wanted:
        detail = "" if status == 200 else f": {_one_line(error_lines(body))}"
        what = "a valid answer (200)" if expected is None else str(wanted)
        problems.insert(0, f"status: expected {what}, got {status}{detail}")
        return cards, problems
    if expected is None or status != 200:
        return cards, problems
    positions: list[tuple[int, str]] = []
    by_rule: dict[str, tuple[int, CardSeen]] = {}
    for index, card in enumerate(cards):
        by_rule.setdefault(card.rule, (index, card))
    for want in expected.cards:
        if want.rule not in by_rule:
            why = ""
            if rules_run is not None and want.rule not in rules_run:
                why = " (the service does not run this rule: not pinned in its hooks/ file)"
            problems.append(f"missing card {want.rule}:{want.indicator}{why}")
            continue
        index, card = by_rule[want.rule]
        positions.append((index, want.rule))
        if card.indicator != want.indicator:
            problems.append(f"{want.rule}: expected {want.indicator}, got {card.indicator}")
        if want.summary_contains and want.summary_contains.lower() not in card.summary.lower():
            problems.append(
                f"{want.rule}: summary does not contain {want.summary_contains!r}: {card.summary!r}"
            )
    for (first, rule_a), (second, rule_b) in itertools.pairwise(positions):
        if second < first:
            problems.append(f"order: expected {rule_a} before {rule_b}")
    for rule in expected.absent:
        if rule in by_rule:
            problems.append(f"{rule}: must be absent, got {by_rule[rule][1].label}")
    if expected.only:
        allowed = {c.rule for c in expected.cards}
        for card in cards:
            if card.rule not in allowed:
                problems.append(f"unexpected card {card.label} (expect.only: no other card)")
    return cards, problems


def render_diff(
    expected: Expectation | None,
    status: int | None,
    cards: Sequence[CardSeen],
    problems: Sequence[str],
    body: Any = None,
) -> str:
    """Expected against actual, for a person reading a failed run."""
    lines = [f"  - {p}" for p in problems]
    if expected is not None:
        want = ", ".join(f"{c.rule}:{c.indicator}" for c in expected.cards) or "(none)"
        lines.append(f"  expected: status {expected.status}; cards {want}")
        if expected.absent:
            lines.append(f"            absent {', '.join(expected.absent)}")
        if expected.only:
            lines.append("            and no other card")
    got = "(no answer)" if status is None else f"status {status}"
    lines.append(f"  actual:   {got}; {len(cards)} card{'s' if len(cards) != 1 else ''}")
    for number, card in enumerate(cards, start=1):
        lines.append(f"    {number}. {card.label:36} {card.summary}")
    if status is not None and status != 200:
        lines += [f"    {line}" for line in error_lines(body)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The replayer


class Replayer:
    """Replays inputs one after another on one event loop (so one HTTP connection pool).

    `as_of` applies to inputs without their own (bare requests and Bundles); a scenario is
    always judged at its `as_of`. Neither can be set over HTTP: the service uses its clock.
    `service_id` is the service for bare requests and Bundles; by default the one service that
    answers the request's hook (patient-view for a Bundle).
    """

    def __init__(
        self,
        target: Target,
        *,
        as_of: datetime | None = None,
        service_id: str | None = None,
    ) -> None:
        if as_of is not None and as_of.tzinfo is None:
            raise ValueError("as_of must carry a UTC offset")
        self.target = target
        self.as_of = as_of or datetime.now(UTC)  # one "now" for the whole run
        self.service_id = service_id
        self._runner = asyncio.Runner()

    def __enter__(self) -> Replayer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._runner.run(self.target.aclose())
        self._runner.close()

    def replay_candidate(self, candidate: Candidate) -> ReplayResult | None:
        """Load and replay; None when the file is not replayable and was only found by search."""
        try:
            item = load(candidate)
        except ReplayInputError as exc:
            return _error(candidate.name, candidate.path, None, str(exc))
        return None if item is None else self.replay(item)

    def replay(self, item: ReplayInput) -> ReplayResult:
        return self._runner.run(self._replay(item))

    async def _replay(self, item: ReplayInput) -> ReplayResult:
        scenario = item.scenario
        warnings: list[str] = []
        try:
            service_id = await self._service_for(item)
            body = await self._request_for(item, service_id)
        except (ReplayInputError, ReplayTargetUnavailable) as exc:
            return _error(item.name, item.path, item.kind, str(exc), scenario)
        as_of = scenario.as_of if scenario else self.as_of
        if scenario and self.target.over_http:
            warnings.append(
                f"as_of {scenario.as_of.isoformat()} not applied over HTTP: the service "
                "judged at its own clock (date-sensitive outcomes may differ)"
            )
        context = body.get("context")
        patient = context.get("patientId") if isinstance(context, dict) else None
        try:
            answer = await self.target.call(service_id, body, as_of)
        except ReplayTargetUnavailable as exc:
            return _error(item.name, item.path, item.kind, str(exc), scenario, service_id)
        except Exception as exc:
            # An in-process crash: the HTTP route would answer 500; the tester needs the trace.
            trace = "".join(traceback.format_exception(exc)).rstrip()
            return _error(
                item.name,
                item.path,
                item.kind,
                f"the service raised {type(exc).__name__}: {exc}\n{trace}",
                scenario,
                service_id,
            )
        expected = scenario.expect if scenario else None
        # Which rules the service runs is known in process only (discovery does not list them).
        services = {} if self.target.over_http else await self.target.services()
        service = services.get(service_id)
        rules_run = frozenset(r.id for r in service.rules) if service else None
        cards, problems = judge(expected, answer.status, answer.body, rules_run=rules_run)
        return ReplayResult(
            name=item.name,
            path=item.path,
            kind=item.kind,
            verdict="fail" if problems else "pass",
            service=service_id,
            patient_id=patient if isinstance(patient, str) else None,
            status=answer.status,
            cards=cards,
            problems=problems,
            diff=render_diff(expected, answer.status, cards, problems, answer.body)
            if problems
            else "",
            warnings=warnings,
            seconds=answer.seconds,
            expected=expected,
            description=scenario.description if scenario else None,
            response=answer.body,
        )

    async def _service_for(self, item: ReplayInput) -> str:
        if item.scenario is not None:
            return item.scenario.service
        if self.service_id is not None:
            return self.service_id
        hook = item.request.get("hook") if item.request is not None else DEFAULT_HOOK
        services = await self.target.services()
        matching = sorted(s.id for s in services.values() if s.hook == hook)
        if len(matching) != 1:
            found = ", ".join(matching) or "none"
            raise ReplayInputError(
                f"no single service answers hook {hook!r} ({found}): pass --service"
            )
        return matching[0]

    async def _request_for(self, item: ReplayInput, service_id: str) -> dict[str, Any]:
        if item.request is not None:
            return item.request
        assert item.bundle is not None
        services = await self.target.services()
        service = services.get(service_id)
        if service is None:
            raise ReplayInputError(f"no service {service_id!r} to build a request for")
        bundle_path = item.path / BUNDLE_FILE if item.path.is_dir() else item.path
        drafts = list(item.scenario.draftOrders or ()) if item.scenario else None
        try:
            return build_hook_request(
                item.bundle,
                service,
                hook_instance=hook_instance_for(bundle_path),
                draft_orders=drafts or None,
            )
        except ValueError as exc:
            raise ReplayInputError(f"{bundle_path}: cannot build a hook request: {exc}") from exc


def _error(
    name: str,
    path: Path,
    kind: InputKind | None,
    message: str,
    scenario: Scenario | None = None,
    service: str | None = None,
) -> ReplayResult:
    return ReplayResult(
        name=name,
        path=path,
        kind=kind,
        verdict="error",
        service=service,
        problems=[message.splitlines()[0]],
        diff="\n".join(f"  {line}" for line in message.splitlines()),
        expected=scenario.expect if scenario else None,
        description=scenario.description if scenario else None,
    )


# ---------------------------------------------------------------------------------------------
# Summary statistics (pure): what the CLI table and the reports show.


@dataclass(frozen=True)
class Summary:
    total: int
    passed: int
    failed: int
    errors: int
    skipped: int  # files found by search that were neither requests nor Bundles
    cards_by_rule: dict[str, dict[str, int]]  # rule -> indicator -> cards
    charts: int  # 200 answers: the charts the card statistics are over
    cards_median: float
    cards_max: int
    charts_without_card: int
    wall_seconds: float
    call_seconds_mean: float
    call_seconds_median: float
    call_seconds_max: float

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.errors == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "scenarios": self.total,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped_files": self.skipped,
            "cards_by_rule": self.cards_by_rule,
            "charts": self.charts,
            "cards_per_chart": {
                "median": self.cards_median,
                "max": self.cards_max,
                "without_card": self.charts_without_card,
                "without_card_share": (
                    round(self.charts_without_card / self.charts, 4) if self.charts else None
                ),
            },
            "seconds": {
                "wall": round(self.wall_seconds, 3),
                "per_scenario_mean": round(self.call_seconds_mean, 6),
                "per_scenario_median": round(self.call_seconds_median, 6),
                "per_scenario_max": round(self.call_seconds_max, 6),
            },
        }


def summarize(results: Sequence[ReplayResult], *, skipped: int, wall_seconds: float) -> Summary:
    by_rule: dict[str, Counter[str]] = {}
    per_chart: list[int] = []
    for result in results:
        if not result.answered:
            continue
        per_chart.append(len(result.cards))
        for card in result.cards:
            by_rule.setdefault(card.rule, Counter())[card.indicator] += 1
    calls = [r.seconds for r in results if r.verdict != "error"]
    return Summary(
        total=len(results),
        passed=sum(r.verdict == "pass" for r in results),
        failed=sum(r.verdict == "fail" for r in results),
        errors=sum(r.verdict == "error" for r in results),
        skipped=skipped,
        cards_by_rule={rule: dict(counts) for rule, counts in sorted(by_rule.items())},
        charts=len(per_chart),
        cards_median=statistics.median(per_chart) if per_chart else 0.0,
        cards_max=max(per_chart, default=0),
        charts_without_card=sum(n == 0 for n in per_chart),
        wall_seconds=wall_seconds,
        call_seconds_mean=statistics.fmean(calls) if calls else 0.0,
        call_seconds_median=statistics.median(calls) if calls else 0.0,
        call_seconds_max=max(calls, default=0.0),
    )
