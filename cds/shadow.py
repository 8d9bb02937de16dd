"""Shadow rule versions on live traffic: what a service would have shown with the shadow versions
its hooks file lists (`"shadow": {"rule-id": "version"}`) in place of its pins, for the audit
only. A version proves its burden on real calls before it is released and pinned.

For each call of a service with shadow versions, after its answer has gone out:

- the same data at the same `as_of`: the live call's record and Facts are reused for every
  shadow version at a terminology release the pinned versions read; a record at another
  release is built from the same inputs by the engine's builder for that release
  (`cds.pipeline.record_facts`), as pinned versions get theirs;
- the shadow set is the pins with each shadow version in place of its rule's pinned version
  (or added, for a rule not pinned): the pinned versions' findings are the live call's (pure:
  the same version on the same record gives the same finding), the shadow versions are
  evaluated, and the release's card-selection policy and card rendering make the answer from
  them exactly as they made the live one (`cds.pipeline.select_cards`);
- the would-be cards (rule, version, indicator, summary, uuid) go into the call's audit row
  (`cds.audit.shadow.ShadowRecord`), never into the answer.

Nothing of this can change an answer: the prefetch templates are the pins' alone
(`cds.services`), and shadow versions run in one thread of their own (`ShadowRunner`) once the
response is sent, so their cost is CPU time beside the requests, not time in them. A shadow
version that raises or returns a malformed finding is an error in the row; one slower than
`SLOW_RULE_MS` is named; a call whose shadow versions are not done within `BUDGET_SECONDS`, or
that finds `MAX_WAITING` calls already waiting, has its row written without shadow cards
(`skipped`). Each is counted (`cds_shadow_failures_total`) and logged, at most once per
`LOG_INTERVAL_SECONDS` per version and kind, with how many more since.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from cds.audit.shadow import BUSY, FAILED, TIMEOUT, ShadowCard, ShadowRecord
from cds.cards import RULE_EXTENSION
from cds.cdshooks import HookRequest
from cds.metrics import count_shadow_failure
from cds.pipeline import Engine, Evaluation, attempt_rule, record_facts, select_cards
from cds.rules.base import Fired
from cds.services import ServiceDefinition

log = logging.getLogger("cds.shadow")

SLOW_RULE_MS = 100.0  # a rule version takes well under 1 ms on a typical chart
BUDGET_SECONDS = 2.0  # from the answer to the shadow cards; past it the row goes without them
MAX_WAITING = 64  # calls whose shadow versions wait for the thread: memory stays bounded
LOG_INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class ShadowFailure:
    rule: str  # rule@version
    kind: str  # "error" or "slow"
    detail: str
    exc: Exception | None = None


@dataclass(frozen=True)
class ShadowOutcome:
    record: ShadowRecord
    failures: tuple[ShadowFailure, ...] = ()


def not_evaluated(service: ServiceDefinition, why: str) -> ShadowRecord:
    """The row of a call whose shadow versions were not evaluated."""
    return replace(_frame(service), skipped=why)


def evaluate_shadow(
    engine: Engine, service: ServiceDefinition, request: HookRequest, live: Evaluation
) -> ShadowOutcome:
    """The answer `service` would have given to `request` with its shadow versions in place,
    from the live call's evaluation. Never raises for a shadow version (its failure is in the
    outcome); reads the clock only to time them."""
    started = time.perf_counter()
    if live.inputs is None:
        raise ValueError("the live evaluation does not keep its record inputs")
    frame = _frame(service)
    failures: list[ShadowFailure] = []
    errors: list[str] = []
    slow: dict[str, float] = {}
    cards: list[ShadowCard] = []
    # A deceased patient gets no cards, whatever the versions: no rule is run (as live).
    if not live.record.patient.deceased:
        versions = [shadow.rule for shadow in service.shadow]
        shared = record_facts(
            engine, {rule.terminology for rule in versions}, live.inputs, have=live.facts
        )
        fired = [f for f in live.fired if f.rule_id not in frame.versions]
        gaps = live.gaps
        lacking = {rule_id: list(what) for rule_id, what in frame.lacking.items()}
        for rule in versions:
            # Data the call could not have stops a shadow version as it stops a pinned one.
            stopped = gaps.stopping(rule) if gaps is not None else ()
            if stopped:
                lacking.setdefault(rule.id, []).extend(
                    f"{m.prefetch_key} ({m.unavailability})" for m in stopped
                )
                continue
            began = time.perf_counter()
            result = attempt_rule(rule, shared[rule.terminology])
            took = (time.perf_counter() - began) * 1000
            if took > SLOW_RULE_MS:
                slow[rule.id] = took
                failures.append(ShadowFailure(rule.key, "slow", f"took {took:.0f} ms"))
            if result.failure is not None:
                errors.append(rule.id)
                exc = result.failure if isinstance(result.failure, Exception) else None
                failures.append(ShadowFailure(rule.key, "error", str(result.failure), exc))
            elif result.finding is not None:
                fired.append(Fired(rule, result.finding))
        if gaps is not None:
            fired = gaps.shown(fired)
        frame = replace(frame, lacking={k: tuple(v) for k, v in lacking.items()})
        _, rendered, unrendered = select_cards(engine, fired, request=request, record=live.record)
        for key, exc in unrendered:
            errors.append(key.partition("@")[0])
            failures.append(ShadowFailure(key, "error", "its card could not be rendered", exc))
        for card in rendered:
            provenance = (card.extension or {})[RULE_EXTENSION]
            cards.append(
                ShadowCard(
                    rule=str(provenance["id"]),
                    version=str(provenance["version"]),
                    indicator=card.indicator,
                    summary=card.summary,
                    uuid=str(card.uuid),
                )
            )
    record = replace(
        frame,
        cards=tuple(cards),
        errors=tuple(dict.fromkeys(errors)),
        slow=slow,
        ms=(time.perf_counter() - started) * 1000,
    )
    return ShadowOutcome(record, tuple(failures))


def _frame(service: ServiceDefinition) -> ShadowRecord:
    """What every row of the service's calls says of its shadow versions, evaluated or not."""
    return ShadowRecord(
        versions={s.rule.id: s.rule.version for s in service.shadow},
        pinned={s.rule.id: s.pinned.version for s in service.shadow if s.pinned is not None},
        cards=None,
        lacking={s.rule.id: s.lacking for s in service.shadow if s.lacking},
    )


# ---------------------------------------------------------------------------------------------
# Off the request path

_Job = tuple["Future[ShadowOutcome]", Callable[[], ShadowOutcome]]


@dataclass
class ShadowRunner:
    """Evaluates calls' shadow versions in one daemon thread, one call at a time, off the event
    loop (a slow shadow version cannot hold up other requests; the GIL shares the CPU with
    them). One per process. `evaluate` never raises."""

    engine: Engine
    budget_seconds: float = BUDGET_SECONDS
    max_waiting: int = MAX_WAITING
    _queue: queue.Queue[_Job | None] = field(init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _logged: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._queue = queue.Queue(maxsize=self.max_waiting)

    async def evaluate(
        self, service: ServiceDefinition, request: HookRequest, live: Evaluation
    ) -> ShadowRecord:
        """The call's shadow record: evaluated, or not (`skipped`), never an exception."""
        future: Future[ShadowOutcome] = Future()
        self._start()
        try:
            self._queue.put_nowait(
                (future, lambda: evaluate_shadow(self.engine, service, request, live))
            )
        except queue.Full:
            count_shadow_failure(service.id, "busy")
            self._log(
                (service.id, "busy"),
                f"shadow versions of {service.id} not evaluated for a call: "
                f"{self.max_waiting} calls already waiting",
            )
            return not_evaluated(service, BUSY)
        try:
            # A timeout cancels the job if it has not started; one running is left to finish
            # (a thread cannot be stopped) and its result is dropped.
            outcome = await asyncio.wait_for(asyncio.wrap_future(future), self.budget_seconds)
        except TimeoutError:
            count_shadow_failure(service.id, "timeout")
            self._log(
                (service.id, "timeout"),
                f"shadow versions of {service.id} not done within {self.budget_seconds:g} s of "
                "the answer: the call's audit row is written without their cards",
            )
            return not_evaluated(service, TIMEOUT)
        except Exception as exc:
            count_shadow_failure(service.id, "error")
            self._log((service.id, "failed"), f"shadow versions of {service.id} failed", exc)
            return not_evaluated(service, FAILED)
        for failure in outcome.failures:
            count_shadow_failure(service.id, "slow" if failure.kind == "slow" else "error")
            verb = "is slow" if failure.kind == "slow" else "failed"
            self._log(
                (failure.rule, failure.kind),
                f"shadow version {failure.rule} {verb}: {failure.detail}",
                failure.exc,
            )
        return outcome.record

    def close(self, timeout: float = 1.0) -> None:
        """Stop the thread (at shutdown). A job still running is left to the daemon thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                return
            thread.join(timeout)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="cds-shadow", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            future, work = job
            if not future.set_running_or_notify_cancel():
                continue  # given up on while it waited
            try:
                future.set_result(work())
            except BaseException as exc:  # reported by `evaluate`; the thread goes on
                future.set_exception(exc)

    def _log(self, key: tuple[str, str], message: str, exc: Exception | None = None) -> None:
        """One line per `key` at most every LOG_INTERVAL_SECONDS, with how many were not
        logged in between (a broken shadow version fails on every call). Called on the event
        loop only."""
        now = time.monotonic()
        last, quiet = self._logged.get(key, (float("-inf"), 0))
        if now - last < LOG_INTERVAL_SECONDS:
            self._logged[key] = (last, quiet + 1)
            return
        self._logged[key] = (now, 0)
        more = f" ({quiet} more since the last report)" if quiet else ""
        log.warning("%s%s; answers are not affected", message, more, exc_info=exc)
