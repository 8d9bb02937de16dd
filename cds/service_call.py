"""One CDS service call, from a parsed JSON body to the response: shared by the HTTP route,
`cds replay` (in process) and tests, so all three take exactly the same path.

Raises the `cds.errors` tree for anything the caller got wrong (400, 412, ...).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from cds.cdshooks import HookRequest
from cds.errors import BadRequest, NotFound
from cds.fhir.access import FhirAccess
from cds.fhir.gather import gather
from cds.pipeline import (
    Engine,
    Evaluation,
    draft_orders,
    evaluate,
    partial_data,
    validate_context,
)
from cds.services import ServiceDefinition


@dataclass(frozen=True)
class CallResult:
    service: ServiceDefinition
    request: HookRequest
    evaluation: Evaluation
    wire: dict[str, Any]


def find_service(engine: Engine, service_id: str) -> ServiceDefinition:
    service = engine.services.get(service_id)
    if service is None:
        raise NotFound(f"no CDS service with id '{service_id[:100]}'")
    return service


def parse_request(body: Any) -> HookRequest:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    try:
        return HookRequest.model_validate(body)
    except ValidationError as exc:
        # `from None`: the ValidationError holds the input, access token included; it must not
        # ride along in a traceback that something might log.
        raise BadRequest.invalid(exc.errors()) from None


async def call_service(
    engine: Engine,
    service: ServiceDefinition,
    body: Any,
    *,
    as_of: datetime,
    fhir: FhirAccess,
) -> CallResult:
    # The request deadline runs from here: fetching must be done by then (412).
    deadline = asyncio.get_running_loop().time() + fhir.deadline_seconds
    request = parse_request(body)
    validate_context(service, request)
    drafts = draft_orders(request)
    gathered = await gather(
        service.prefetch, request, drafts.resources, fhir=fhir, deadline=deadline
    )
    # Some data could not be had: what it stops, rule by rule (412 if it stops everything).
    gaps = partial_data(service, gathered.unavailable) if gathered.unavailable else None
    evaluation = evaluate(
        engine,
        service,
        request,
        gathered.values,
        as_of=as_of,
        data_warnings=gathered.data_warnings,
        resources=gathered.resources(),
        drafts=drafts,
        gaps=gaps,
    )
    return CallResult(service, request, evaluation, evaluation.response.to_wire())
