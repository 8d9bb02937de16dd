"""Prometheus metrics the service keeps, in the default registry.

Exposition (`/metrics`) is the API layer's job; this module only defines what is counted, so that
any layer can count without importing the web framework.

Label values always come from small, known sets (route templates, configured service ids, rule
ids, card indicators, fixed reason classes), never from a raw path, a patient or a request: every
new label value is a new time series kept forever by every worker and by Prometheus.

With several worker processes (CDS_WORKERS > 1) `cds serve` sets PROMETHEUS_MULTIPROC_DIR before
the workers start; prometheus_client then keeps each worker's values in files there and
`/metrics` adds them up (cds.api.ops). Nothing here needs to know which mode is in use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Literal

from prometheus_client import Counter, Gauge, Histogram, multiprocess

AuditRecord = Literal["invocation", "feedback"]

AUDIT_WRITE_FAILURES = Counter(
    "cds_audit_write_failures_total",
    "Audit writes that failed. For an invocation the cards still went out (the row is lost); "
    "for feedback the EHR got a 503 and may retry.",
    ["record"],
)
# Export both series from the start at 0, so an alert on rate() works before the first failure.
for _record in ("invocation", "feedback"):
    AUDIT_WRITE_FAILURES.labels(record=_record)


def count_audit_write_failure(record: AuditRecord) -> None:
    AUDIT_WRITE_FAILURES.labels(record=record).inc()


# livesum: with several workers, the sum over the workers alive (an exited worker's queue is gone).
AUDIT_QUEUE_DEPTH = Gauge(
    "cds_audit_queue_depth",
    "Invocation audit rows waiting to be written (cds.audit.writer): in the spools of the "
    "workers, their own and those they took over from dead workers.",
    multiprocess_mode="livesum",
)


def set_audit_queue_depth(rows: int) -> None:
    AUDIT_QUEUE_DEPTH.set(rows)


def forget_dead_worker(pid: int) -> None:
    """Another worker died without shutting down (its audit spool was taken over): its live
    gauges leave the sums (a dead worker's queue depth would otherwise stay for good). Its
    counters and histograms stay, as they must: totals never go back."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and pid != os.getpid():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------------------------------------
# HTTP requests (recorded by cds.api.ops.RequestMetrics, around every request)

# Label value for a request that matched no route, and for a service id that is not configured:
# a scanner probing random paths must not mint new series.
UNMATCHED = "unmatched"
UNKNOWN_SERVICE = "unknown"
# Methods are free-form tokens in HTTP; anything else is folded into one value.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_LABELS = ("route", "service", "method", "status")
HTTP_REQUESTS = Counter(
    "cds_http_requests_total",
    "HTTP requests answered, by route template, CDS service id ('' for routes without one), "
    "method and status code.",
    HTTP_LABELS,
)
# CDS Hooks calls are interactive (the clinician waits): most answer in well under a second, the
# FHIR fallback is bounded by CDS_REQUEST_DEADLINE_SECONDS (10 s by default).
HTTP_DURATION = Histogram(
    "cds_http_request_duration_seconds",
    "Time from receiving a request to sending the last byte of its response (background audit "
    "writes excluded), by route template, service id, method and status code.",
    HTTP_LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0),
)


def observe_request(route: str, service: str, method: str, status: int, seconds: float) -> None:
    labels = {
        "route": route,
        "service": service,
        "method": method if method in KNOWN_METHODS else "other",
        "status": str(status),
    }
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_DURATION.labels(**labels).observe(seconds)


# ---------------------------------------------------------------------------------------------
# Cards and feedback (recorded by cds.api.routes)

CARDS_ISSUED = Counter(
    "cds_cards_issued_total",
    "Cards returned to the EHR, by service id, rule id and indicator (info, warning, critical).",
    ["service", "rule", "indicator"],
)

FeedbackOutcome = Literal["accepted", "overridden"]

FEEDBACK = Counter(
    "cds_feedback_total",
    "Feedback items the service took (stored or already stored), by service id and outcome.",
    ["service", "outcome"],
)
FEEDBACK_DUPLICATES = Counter(
    "cds_feedback_duplicates_total",
    "Feedback items that were already stored (an EHR retry), by service id. Included in "
    "cds_feedback_total.",
    ["service"],
)


def count_cards(service: str, cards: Iterable[tuple[str, str]]) -> None:
    """`cards`: (rule id, indicator) of every card in a response."""
    for rule, indicator in cards:
        CARDS_ISSUED.labels(service=service, rule=rule, indicator=indicator).inc()


def count_feedback(service: str, outcomes: Iterable[FeedbackOutcome], duplicates: int) -> None:
    for outcome in outcomes:
        FEEDBACK.labels(service=service, outcome=outcome).inc()
    if duplicates:
        FEEDBACK_DUPLICATES.labels(service=service).inc(duplicates)


# ---------------------------------------------------------------------------------------------
# FHIR fetches (recorded by cds.fhir.client for every GET, and cds.fhir.gather for a server that
# is not on the allow-list)

FhirFailure = Literal[
    "timeout",  # no (complete) answer within CDS_FHIR_TIMEOUT_SECONDS
    "refused",  # no HTTP answer at all: connection refused or reset, DNS, TLS
    "http_error",  # an HTTP error status (401/403 included) or a redirect (never followed)
    "invalid_json",  # an answer that is not JSON, or a next page that is not a Bundle
    "too_large",  # an answer over the response size bound
    "not_allowed",  # not attempted: fhirServer off the allow-list, or a next link off the server
]
FHIR_FAILURE_REASONS: tuple[FhirFailure, ...] = (
    "timeout",
    "refused",
    "http_error",
    "invalid_json",
    "too_large",
    "not_allowed",
)

FHIR_FETCHES = Counter(
    "cds_fhir_fetches_total",
    "HTTP GETs sent to EHR FHIR servers (missing prefetch, further pages, referenced Medications).",
)
FHIR_FETCH_FAILURES = Counter(
    "cds_fhir_fetch_failures_total",
    "FHIR fetches that did not give usable data, by reason class. not_allowed counts fetches "
    "that were needed but never attempted (so it is not part of cds_fhir_fetches_total).",
    ["reason"],
)
FHIR_FETCH_DURATION = Histogram(
    "cds_fhir_fetch_duration_seconds",
    "Duration of one FHIR GET (whole body read), successful or not.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
for _reason in FHIR_FAILURE_REASONS:  # every reason exported at 0 from the start (alerts)
    FHIR_FETCH_FAILURES.labels(reason=_reason)


def count_fhir_fetch(seconds: float, failure: FhirFailure | None) -> None:
    FHIR_FETCHES.inc()
    FHIR_FETCH_DURATION.observe(seconds)
    if failure is not None:
        FHIR_FETCH_FAILURES.labels(reason=failure).inc()


def count_fhir_failure(reason: FhirFailure, fetches: int = 1) -> None:
    """A failure found after the GET itself succeeded (a next page that is not a Bundle), or
    fetches that were needed but not attempted (not_allowed)."""
    if fetches:
        FHIR_FETCH_FAILURES.labels(reason=reason).inc(fetches)


# ---------------------------------------------------------------------------------------------
# Shadow rule versions (recorded by cds.shadow; they never change an answer)

ShadowFailure = Literal[
    "error",  # a shadow version raised, returned a malformed finding, or its card failed
    "slow",  # a shadow version took longer than cds.shadow.SLOW_RULE_MS on one call
    "timeout",  # a call's shadow versions were not done within cds.shadow.BUDGET_SECONDS
    "busy",  # a call's shadow versions were not evaluated: too many calls already waiting
]

SHADOW_FAILURES = Counter(
    "cds_shadow_failures_total",
    "Shadow rule versions that failed or were slow (per version and call), and calls whose "
    "shadow versions were given up (timeout, busy), by service id and reason. Answers are never "
    "affected.",
    ["service", "reason"],
)


def count_shadow_failure(service: str, reason: ShadowFailure) -> None:
    SHADOW_FAILURES.labels(service=service, reason=reason).inc()
