"""CDS Hooks endpoints: discovery, service calls, feedback."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.background import BackgroundTask

from cds.api.deps import (
    AuditStoreDep,
    AuditWriterDep,
    EngineDep,
    FhirAccessDep,
    RequireEhr,
    ServiceDep,
    SettingsDep,
    ShadowRunnerDep,
    ehr_issuer,
)
from cds.api.errors import json_response
from cds.api.limits import enforce_resource_limits, read_json_body
from cds.audit.store import InvocationRecord, IssuedCard, RuleNotEvaluated
from cds.audit.writer import AuditWriter
from cds.cards import RULE_EXTENSION
from cds.cdshooks import CdsResponse, DiscoveryResponse, FeedbackRequest, HookRequest
from cds.errors import AuditDatabaseUnavailable, BadRequest, CdsError, StorageUnavailable
from cds.metrics import count_cards, count_feedback
from cds.pipeline import RULESET_EXTENSION
from cds.service_call import CallResult, call_service
from cds.shadow import ShadowRunner

log = logging.getLogger("cds.invocation")
router = APIRouter()

# Feedback answers 503 within CDS_DATABASE_TIMEOUT_SECONDS plus this (a thread to get to it).
FEEDBACK_MARGIN_SECONDS = 1.0


def _request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring a JSON body. Pydantic's `#/$defs/...` refs point at the root of
    the document, which in OpenAPI is not this schema: they are inlined so that /docs and the
    fuzzer (tests/api/test_fuzz.py) can resolve them. The models are not recursive."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    body = {"required": True, "content": {"application/json": {"schema": inline(schema)}}}
    return {"requestBody": body}


HOOK_REQUEST_SCHEMA = _request_body(HookRequest)
FEEDBACK_SCHEMA = _request_body(FeedbackRequest)


# The answers the routes give, for the OpenAPI document (/docs). The bodies are those of
# `cds.errors`: `error_body` for every error but the 412, an OperationOutcome for the 412.


class ErrorMessage(BaseModel):
    status: int
    message: str


class ErrorBody(BaseModel):
    """Every error answer but the 412."""

    error: ErrorMessage


class OperationOutcomeIssue(BaseModel):
    severity: Literal["error"]
    code: str  # FHIR issue type: not-supported, not-found, forbidden, timeout, security, ...
    diagnostics: str
    expression: list[str]  # prefetch.<key>


class OperationOutcome(BaseModel):
    """The 412's body: one issue per prefetch key that could be neither had nor fetched (the
    diagnostics name the query, why in a word, e.g. `unsupported`, and the details)."""

    resourceType: Literal["OperationOutcome"]
    issue: list[OperationOutcomeIssue]


class FeedbackStored(BaseModel):
    stored: int
    duplicates: int  # items already stored (an EHR retrying)


def _error(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"model": model, "description": description}


UNAUTHORIZED = _error(
    "With CDS_JWT_REQUIRED=true: no token, or one refused (the reason is logged, never sent)"
)
AUTH_UNAVAILABLE = _error("The token could not be checked (JWK Set or jti cache unreachable)")
NO_SUCH_SERVICE = _error("No CDS service with this id")
MALFORMED = _error("The body is not JSON, or not a valid request; the message says where")
TOO_LARGE = _error("The body or its prefetch is over its bound (CDS_MAX_BODY_BYTES, ...)")


@router.get(
    "/cds-services",
    summary="CDS Hooks discovery",
    dependencies=[RequireEhr],
    response_model=DiscoveryResponse,
    responses={401: UNAUTHORIZED, 503: AUTH_UNAVAILABLE},
)
async def discovery(engine: EngineDep) -> Response:
    services = sorted(engine.services.values(), key=lambda s: s.id)
    return json_response(DiscoveryResponse(services=[s.descriptor() for s in services]).to_wire())


@router.post(
    "/cds-services/{service_id}",
    summary="Call a CDS service: cards for this hook request",
    openapi_extra=HOOK_REQUEST_SCHEMA,
    dependencies=[RequireEhr],
    response_model=CdsResponse,
    responses={
        400: MALFORMED,
        401: UNAUTHORIZED,
        404: NO_SUCH_SERVICE,
        412: _error(
            "Data was neither prefetched nor fetchable from fhirServer, and no pinned rule "
            "can run without it (or it is the Patient). Data only some rules need is a 200 "
            "naming them (extension legpain-cds-rules-not-evaluated)",
            OperationOutcome,
        ),
        413: TOO_LARGE,
        503: AUTH_UNAVAILABLE,
    },
)
async def call(
    request: Request,
    service: ServiceDep,
    engine: EngineDep,
    settings: SettingsDep,
    fhir: FhirAccessDep,
    audit_writer: AuditWriterDep,
    shadows: ShadowRunnerDep,
) -> Response:
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    body = await read_json_body(request, settings.max_body_bytes)
    _remember_hook_instance(request, body)
    try:
        enforce_resource_limits(
            body,
            prefetch=settings.max_prefetch_resources,
            draft_orders=settings.max_draft_orders,
        )
        result = await call_service(engine, service, body, as_of=started_at, fhir=fhir)
    except CdsError as exc:
        # A refused call (400, 412, 413) is part of the trail too, when it names its instance.
        failed = _failed_invocation(
            service.id,
            body,
            exc.status_code,
            engine.registry.release.version,
            started_at,
            started,
            ehr_issuer(request),
        )
        if failed is not None:
            await audit_writer.record(failed)  # on disk, never a wait on the database
        raise
    duration_ms = (time.perf_counter() - started) * 1000
    invocation = _invocation(result, started_at, duration_ms, ehr_issuer(request))
    # On disk (the spool) before the cards go out; the writer thread writes it to the database
    # (cds.audit.writer), never waited for.
    await audit_writer.record(invocation)
    background = None
    if service.shadow:
        # The shadow versions run once the answer is sent, and what they would have shown is
        # added to the call's row (cds.shadow); the answer is exactly what it is without them.
        background = BackgroundTask(_audit_with_shadow, shadows, result, invocation, audit_writer)
    count_cards(service.id, ((card.rule_id, card.indicator) for card in invocation.cards))
    log.info(
        "invocation",
        extra={
            "hookInstance": str(result.request.hookInstance),
            "service": service.id,
            "duration_ms": round(duration_ms, 2),
            "cards": len(result.wire["cards"]),
            "status": 200,
        },
    )
    return json_response(result.wire, background=background)


async def _audit_with_shadow(
    shadows: ShadowRunner, result: CallResult, invocation: InvocationRecord, writer: AuditWriter
) -> None:
    """After the response: what the call's shadow versions would have shown, added to its row
    (the same record_id: the writer adds it to the row already kept). Never raises
    (`ShadowRunner.evaluate` does not, nor does `record`)."""
    shadow = await shadows.evaluate(result.service, result.request, result.evaluation)
    await writer.record(replace(invocation, shadow=shadow))


@router.post(
    "/cds-services/{service_id}/feedback",
    summary="Feedback on cards: accepted or overridden",
    openapi_extra=FEEDBACK_SCHEMA,
    dependencies=[RequireEhr],
    response_model=FeedbackStored,
    responses={
        400: MALFORMED,
        401: UNAUTHORIZED,
        404: NO_SUCH_SERVICE,
        413: TOO_LARGE,
        503: _error("The token could not be checked, or the feedback could not be stored"),
    },
)
async def feedback(
    request: Request, service: ServiceDep, settings: SettingsDep, store: AuditStoreDep
) -> Response:
    body = await read_json_body(request, settings.max_body_bytes)
    try:
        parsed = FeedbackRequest.model_validate(body)
    except ValidationError as exc:
        raise BadRequest.invalid(exc.errors()) from exc
    try:
        # In a thread: a slow database must not stall the event loop (and every card request).
        # The store answers within CDS_DATABASE_TIMEOUT_SECONDS whatever the database does; the
        # wait is bounded here too, so the EHR always gets its 503 in time.
        result = await asyncio.wait_for(
            run_in_threadpool(
                store.record_feedback, service.id, list(parsed.feedback), datetime.now(UTC)
            ),
            settings.database_timeout_seconds + FEEDBACK_MARGIN_SECONDS,
        )
    except (AuditDatabaseUnavailable, TimeoutError) as exc:
        # Unstored feedback is lost: tell the EHR so it can retry.
        log.error("feedback could not be stored: %s", exc or "the database did not answer")
        raise StorageUnavailable("feedback could not be stored; please retry") from exc
    except Exception as exc:
        log.exception("feedback could not be stored")
        raise StorageUnavailable("feedback could not be stored; please retry") from exc
    count_feedback(service.id, (item.outcome for item in parsed.feedback), result.duplicates)
    log.info(
        "feedback",
        extra={
            "service": service.id,
            "items": len(parsed.feedback),
            "stored": result.stored,
            "duplicates": result.duplicates,
            "status": 200,
        },
    )
    return json_response({"stored": result.stored, "duplicates": result.duplicates})


def _failed_invocation(
    service_id: str,
    body: dict[str, Any],
    status: int,
    ruleset_release: str,
    started_at: datetime,
    started: float,
    issuer: str | None,
) -> InvocationRecord | None:
    try:
        hook_instance = str(uuid.UUID(str(body.get("hookInstance"))))
    except ValueError:
        return None  # nothing ties it to the EHR's records: the log line is the trail
    context = body.get("context")
    patient_id = context.get("patientId") if isinstance(context, dict) else None
    hook = body.get("hook")
    return InvocationRecord(
        hook_instance=hook_instance,
        service_id=service_id,
        hook=hook[:64] if isinstance(hook, str) else "",
        ruleset_release=ruleset_release,
        patient_id=patient_id[:200] if isinstance(patient_id, str) else None,
        started_at=started_at,
        duration_ms=(time.perf_counter() - started) * 1000,
        status=status,
        ehr_issuer=issuer,
    )


def _remember_hook_instance(request: Request, body: dict[str, Any]) -> None:
    """For the log line of a request rejected after this point (cds.api.errors): the EHR's
    hookInstance is what ties it to the EHR's own logs. Only a bounded string is kept."""
    hook_instance = body.get("hookInstance")
    if isinstance(hook_instance, str):
        request.state.hook_instance = hook_instance[:64]


def _invocation(
    result: CallResult, started_at: datetime, duration_ms: float, issuer: str | None
) -> InvocationRecord:
    cards = tuple(
        IssuedCard(
            uuid=card["uuid"],
            rule_id=card["extension"][RULE_EXTENSION]["id"],
            rule_version=card["extension"][RULE_EXTENSION]["version"],
            indicator=card["indicator"],
        )
        for card in result.wire["cards"]
    )
    patient_id = result.request.context.get("patientId")
    not_evaluated = tuple(
        RuleNotEvaluated(
            n.rule.id,
            n.rule.version,
            tuple((m.prefetch_key, m.unavailability) for m in n.missing),
        )
        for n in result.evaluation.not_evaluated
    )
    return InvocationRecord(
        hook_instance=str(result.request.hookInstance),
        service_id=result.service.id,
        hook=result.request.hook,
        ruleset_release=result.wire["extension"][RULESET_EXTENSION],
        patient_id=patient_id if isinstance(patient_id, str) else None,
        started_at=started_at,
        duration_ms=duration_ms,
        status=200,
        cards=cards,
        ehr_issuer=issuer,
        rules_not_evaluated=not_evaluated,
    )


def without_validation_errors(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents a 422 for every route with a parameter or a body; no route here ever
    answers 422 (a request that fails validation gets the 400 above: cds.api.errors). Removed,
    with its schemas. Idempotent: FastAPI hands back the same cached document each time."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document
