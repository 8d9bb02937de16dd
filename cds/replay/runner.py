"""Replaying inputs one after another against a target, and what the runs add up to.

Inputs without expectations pass when the service answers validly (200 and valid cards); a
scenario passes when the answer is as it expects (`cds.replay.judge`).

Over HTTP the service judges at its own clock, not at a scenario's `as_of`. With an in-process
`reference` (this checkout's rules), each scenario is first replayed in process at its `as_of`
and at the replay's "now": one that gets what it expects at its `as_of` but not at "now" (its
data has aged out of a rule's window) cannot be judged over HTTP, and is said to be so before
the run and left out of it (verdict "skip") instead of failing for the wrong reason.
"""

from __future__ import annotations

import asyncio
import statistics
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from cds.errors import ReplayInputError, ReplayTargetUnavailable
from cds.fhir.bundles import entry_resources
from cds.replay.hook_request import build_hook_request
from cds.replay.judge import CardSeen, judge, render_diff
from cds.replay.scenario import (
    BUNDLE_FILE,
    Candidate,
    Expectation,
    InputKind,
    ReplayInput,
    Scenario,
    hook_instance_for,
    load,
)
from cds.replay.targets import Target

Verdict = Literal["pass", "fail", "error", "skip"]  # skip: not judgeable over HTTP
DEFAULT_HOOK = "patient-view"  # what a plain Bundle is replayed as, unless a service is named


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
    # With --validate: the input's FHIR resources that are not valid R4B, one line each.
    invalid_fhir: list[str] = field(default_factory=list)

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
            "invalid_fhir": self.invalid_fhir,
            "seconds": round(self.seconds, 6),
        }


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
        reference: Target | None = None,
        validate: bool = False,
    ) -> None:
        if as_of is not None and as_of.tzinfo is None:
            raise ValueError("as_of must carry a UTC offset")
        if reference is not None and reference.over_http:
            raise ValueError("the reference is the service in process")
        self.target = target
        self.as_of = as_of or datetime.now(UTC)  # one "now" for the whole run
        self.service_id = service_id
        self.reference = reference  # in process: what can be judged over HTTP
        self.validate = validate  # check the input's FHIR resources against R4B
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
        if self.reference is not None:
            self._runner.run(self.reference.aclose())
        self._runner.close()

    def not_judgeable_over_http(self, candidates: Sequence[Candidate]) -> dict[Path, str]:
        """The scenarios among `candidates` that a service judging at its own clock cannot
        judge, with why; empty unless replaying over HTTP with a reference."""
        if not self.target.over_http or self.reference is None:
            return {}
        return self._runner.run(self._not_judgeable(candidates))

    async def _not_judgeable(self, candidates: Sequence[Candidate]) -> dict[Path, str]:
        reasons: dict[Path, str] = {}
        for candidate in candidates:
            try:
                item = load(candidate)
            except ReplayInputError:
                continue  # the run reports it
            if item is None or item.scenario is None:
                continue  # no expectations: judged at "now" in any case
            try:
                reason = await self._date_sensitive(item, item.scenario)
            except (ReplayInputError, ReplayTargetUnavailable):
                continue  # the run reports it
            if reason is not None:
                reasons[candidate.path] = reason
        return reasons

    async def _date_sensitive(self, item: ReplayInput, scenario: Scenario) -> str | None:
        """Why the scenario's outcome at "now" (the service's clock) is not the one it expects
        at its as_of, in process; None when it is the same."""
        assert self.reference is not None
        body = await self._request_for(item, scenario.service)
        then = await self.reference.call(scenario.service, body, scenario.as_of)
        now = await self.reference.call(scenario.service, body, self.as_of)
        _, problems_then = judge(scenario.expect, then.status, then.body)
        _, problems_now = judge(scenario.expect, now.status, now.body)
        if problems_then or not problems_now:
            return None  # fails at its own as_of (judged as usual), or holds at both
        return (
            f"expected at its as_of {scenario.as_of.date().isoformat()}, not at today's date "
            f"{self.as_of.date().isoformat()} ({problems_now[0]})"
        )

    def not_judged(self, candidate: Candidate, reason: str) -> ReplayResult:
        return ReplayResult(
            name=candidate.name,
            path=candidate.path,
            kind="scenario",
            verdict="skip",
            problems=[f"not judged over HTTP: {reason}"],
        )

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
            invalid_fhir=_invalid_fhir(item, body) if self.validate else [],
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


def _invalid_fhir(item: ReplayInput, body: dict[str, Any]) -> list[str]:
    """The FHIR resources the input carries that are not valid R4B: a Bundle's entries, or a
    request's prefetch (resources, and the entries of Bundles) and draft orders."""
    from cds.validation import invalid_resources  # the FHIR models only when asked for

    resources: list[Any] = []
    if item.bundle is not None:
        resources += entry_resources(item.bundle)
        if item.scenario is not None:
            resources += item.scenario.draftOrders or ()
    else:
        prefetch = body.get("prefetch")
        for value in prefetch.values() if isinstance(prefetch, dict) else ():
            if isinstance(value, dict) and value.get("resourceType") == "Bundle":
                resources += entry_resources(value)
            elif value is not None:
                resources.append(value)
        context = body.get("context")
        drafts = context.get("draftOrders") if isinstance(context, dict) else None
        if isinstance(drafts, dict):
            resources += entry_resources(drafts)
    return [f"{found.label}: {found.problem}" for found in invalid_resources(resources)]


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


# Summary statistics (pure): what the CLI table and the reports show.


@dataclass(frozen=True)
class Summary:
    total: int
    passed: int
    failed: int
    errors: int
    skipped: int  # files found by search that were neither requests nor Bundles
    not_judged: int  # scenarios that cannot be judged over HTTP (verdict "skip")
    invalid_fhir: int  # inputs carrying FHIR resources that are not valid R4B (--validate)
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
            "not_judged_over_http": self.not_judged,
            "inputs_with_invalid_fhir": self.invalid_fhir,
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
    calls = [r.seconds for r in results if r.verdict in ("pass", "fail")]
    return Summary(
        total=len(results),
        passed=sum(r.verdict == "pass" for r in results),
        failed=sum(r.verdict == "fail" for r in results),
        errors=sum(r.verdict == "error" for r in results),
        skipped=skipped,
        not_judged=sum(r.verdict == "skip" for r in results),
        invalid_fhir=sum(bool(r.invalid_fhir) for r in results),
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
