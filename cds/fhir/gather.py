"""Gathering the data a service needs: prefetch first, then the EHR's FHIR server.

- key present with data: used as given (OperationOutcomes inside a Bundle are reported, not used);
  a paginated prefetch Bundle (with a `next` link) is completed from the FHIR server if possible;
- key present with null: the EHR has no data of that kind (not missing);
- key present with an OperationOutcome (or something that is not a resource): the EHR could
  not get it, so it is missing;
- key absent (or missing as above): fetched from fhirServer with the fhirAuthorization token,
  if that server is allowed. A key that cannot be had (no fhirServer, the server refusing the
  type, its scope, failing or too slow) is recorded in `Gathered.unavailable` with the class of
  the failure (`cds.errors.Unavailability`) and logged at WARNING, once per key: what that
  stops (some rules, candidate-cause cards, or the whole call with a 412) is the pipeline's
  decision (`cds.pipeline.partial_data`), from what each rule needs;
- Medications that medicationReferences point to, but that neither the prefetch nor the draft
  orders hold, are read from the FHIR server; failing that, only their codes are lost (reported).

Every fetch shares one deadline (CDS_FHIR_TIMEOUT_SECONDS, enforced by the client), and a call
still fetching CDS_REQUEST_DEADLINE_SECONDS after it started stops: what has arrived is used,
the keys still on their way are unavailable (timeout).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cds.cdshooks import HookRequest
from cds.errors import FhirFetchError, MissingData, Unavailability, UnresolvedToken
from cds.fhir.access import UNLISTED_SERVER_FAILURE, FhirAccess
from cds.fhir.bundles import resource_list
from cds.fhir.client import FhirClient
from cds.fhir.prefetch import context_tokens, render, resource_type_of
from cds.metrics import count_fhir_failure

log = logging.getLogger(__name__)

MAX_REFERENCED_MEDICATIONS = 50
REFERENCED_MEDICATIONS_KEY = "_referencedMedications"
_MEDICATION_REFERENCE = re.compile(r"(?:^|/)Medication/([A-Za-z0-9\-.]{1,64})$")


@dataclass
class Gathered:
    values: dict[str, Any]  # prefetch key -> FHIR JSON (None = no data)
    data_warnings: list[str] = field(default_factory=list)
    # Keys that could not be had (absent from `values`), in template order.
    unavailable: list[MissingData] = field(default_factory=list)
    # prefetch key -> (the value, its resources): each value is flattened once, by whoever asks
    # first (the OperationOutcome check, the medication scan, the pipeline). Keyed by the value
    # itself, so a value replaced (fetched, completed) is flattened again.
    _flat: dict[str, tuple[Any, list[Mapping[str, Any]]]] = field(default_factory=dict, repr=False)

    def resources_of(self, key: str) -> list[Mapping[str, Any]]:
        """`cds.fhir.bundles.resource_list(values[key])`; the caller must not change it."""
        value = self.values[key]
        cached = self._flat.get(key)
        if cached is None or cached[0] is not value:
            cached = self._flat[key] = (value, resource_list(value))
        return cached[1]

    def resources(self) -> list[Mapping[str, Any]]:
        """Every resource of every value, in order, as a new list."""
        found: list[Mapping[str, Any]] = []
        for key in self.values:
            found += self.resources_of(key)
        return found


@dataclass(frozen=True)
class FetchPlan:
    """Which prefetch keys need the FHIR server; `split_prefetch` is the one place that decides."""

    to_fetch: tuple[str, ...]  # absent or unusable as given: fetched, else unavailable
    paginated: tuple[str, ...]  # one page of a longer search: completed if possible


def is_operation_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def split_prefetch(
    templates: Mapping[str, str], request: HookRequest
) -> tuple[Gathered, FetchPlan]:
    """Pure: the prefetch values usable as given (with their warnings), and what must be fetched
    or completed from the FHIR server."""
    given = request.prefetch or {}
    values: dict[str, Any] = {}
    gathered = Gathered(values=values)
    to_fetch: list[str] = []
    warnings: list[str] = []
    for key in templates:
        if key not in given:
            to_fetch.append(key)
            continue
        value = given[key]
        if is_operation_outcome(value):
            warnings.append(f"prefetch '{key}' was an OperationOutcome: {_diagnostics(value)}")
            to_fetch.append(key)
            continue
        if value is not None and (
            not isinstance(value, dict) or not isinstance(value.get("resourceType"), str)
        ):
            warnings.append(f"prefetch '{key}' is not a FHIR resource or Bundle: not used")
            to_fetch.append(key)
            continue
        values[key] = value
        for resource in gathered.resources_of(key):
            if resource.get("resourceType") == "OperationOutcome":
                warnings.append(
                    f"prefetch '{key}' carried an OperationOutcome: {_diagnostics(resource)}"
                )
    gathered.data_warnings = warnings
    paginated = tuple(key for key, value in values.items() if _has_next_link(value))
    return gathered, FetchPlan(tuple(to_fetch), paginated)


def _has_next_link(value: Any) -> bool:
    """A Bundle that is one page of a longer search."""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return False
    links = value.get("link")
    return any(
        isinstance(link, dict) and link.get("relation") == "next" and bool(link.get("url"))
        for link in (links if isinstance(links, list) else [])
    )


def unresolved_medications(
    resources: list[Mapping[str, Any]], fhir_server: str | None
) -> tuple[list[str], int]:
    """Medication references ("Medication/id") that no resource at hand resolves, and how many
    unresolved references cannot be fetched at all (not a Medication on the FHIR server)."""
    present = {
        f"Medication/{r['id']}"
        for r in resources
        if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str)
    }
    base = (fhir_server or "").rstrip("/")
    wanted: set[str] = set()
    unfetchable = 0
    for resource in resources:
        holder = resource.get("medicationReference")
        target = holder.get("reference") if isinstance(holder, dict) else None
        if not isinstance(target, str) or target.startswith("#"):
            continue  # none, or contained: resolved inside the resource
        if base and target.startswith(base + "/"):
            target = target[len(base) + 1 :]
        match = _MEDICATION_REFERENCE.search(target)
        if match and f"Medication/{match.group(1)}" in present:
            continue  # the record resolves it by id
        if match and match.start() == 0:
            wanted.add(target)
        else:
            unfetchable += 1
    return sorted(wanted), unfetchable


async def gather(
    templates: Mapping[str, str],
    request: HookRequest,
    draft_resources: list[Mapping[str, Any]],
    *,
    fhir: FhirAccess,
    deadline: float,
) -> Gathered:
    """`draft_resources`: the request's draftOrders flattened (their Medications resolve
    references too). `deadline`: the event loop time by which fetching must be done."""
    gathered, plan = split_prefetch(templates, request)
    to_fetch, paginated = plan.to_fetch, plan.paginated
    medications, unfetchable = unresolved_medications(
        gathered.resources() + draft_resources, request.fhirServer
    )
    if not to_fetch and not paginated and not medications:
        _warn_unfetchable(gathered, unfetchable)
        return gathered
    server = request.fhirServer
    reachable = server is not None and fhir.allows(server)
    if server and not reachable:
        # Needed but never attempted (the allow-list): a misconfiguration operators must see.
        count_fhir_failure("not_allowed", len(to_fetch) + len(paginated) + len(medications))
    if server is None or not reachable:
        unavailability: Unavailability
        if not server:
            why = "no fhirServer"
            reason = "not prefetched, and the request has no fhirServer"
            code, unavailability = "not-found", "not-sent"
        else:
            why = "fhirServer not allowed"
            reason = f"not prefetched, and {fhir.refusal(server)}: it was not contacted"
            code, unavailability = "forbidden", "server-not-allowed"
        for key in to_fetch:
            _lose(gathered, request, _missing(templates, key, reason, code, unavailability))
        for key in paginated:
            gathered.data_warnings.append(
                f"prefetch '{key}' is one page of a longer search; the rest could not be "
                f"fetched ({why})"
            )
        if medications:
            gathered.data_warnings.append(
                f"{len(medications)} referenced Medication(s) are not in the prefetch and could "
                f"not be fetched ({why})"
            )
        _warn_unfetchable(gathered, unfetchable)
        return gathered
    token = request.fhirAuthorization.access_token if request.fhirAuthorization else None
    explain = fhir.explains_failures(server)
    try:
        async with asyncio.timeout_at(deadline) as budget:
            async with fhir.client(server, token) as client:
                try:
                    await _fetch_missing(client, templates, to_fetch, request, gathered, explain)
                    await _complete_pages(client, paginated, gathered, explain)
                    # The prefetch may have lacked Medications the fetched data now references.
                    medications, unfetchable = unresolved_medications(
                        gathered.resources() + draft_resources, server
                    )
                    await _resolve_medications(client, medications, gathered)
                finally:
                    gathered.data_warnings.extend(client.notes)
    except TimeoutError:
        if not budget.expired():
            raise
        _out_of_time(templates, plan, request, gathered, fhir.deadline_seconds)
        medications, unfetchable = unresolved_medications(
            gathered.resources() + draft_resources, server
        )
        if medications:
            gathered.data_warnings.append(
                f"{len(medications)} referenced Medication(s) could not be retrieved before "
                "the request deadline"
            )
    if len(gathered.unavailable) > 1:  # in template order, not the order the failures came in
        order = {key: i for i, key in enumerate(templates)}
        gathered.unavailable.sort(key=lambda m: order[m.prefetch_key])
    _warn_unfetchable(gathered, unfetchable)
    return gathered


def _missing(
    templates: Mapping[str, str],
    key: str,
    reason: str,
    code: str,
    unavailability: Unavailability,
    *,
    query: str | None = None,
    http_status: int | None = None,
) -> MissingData:
    template = templates[key]
    return MissingData(
        key,
        query if query is not None else template,
        reason,
        code,
        unavailability,
        resource_type_of(template),
        http_status,
    )


def _lose(gathered: Gathered, request: HookRequest, missing: MissingData) -> None:
    """Record a key that cannot be had, with one WARNING line: key, type and the failure's
    class, never the query (it carries the patient id), the diagnostics or the token."""
    gathered.unavailable.append(missing)
    status = f", HTTP {missing.http_status}" if missing.http_status is not None else ""
    log.warning(
        "prefetch '%s' (%s) unavailable: %s%s",
        missing.prefetch_key,
        missing.resource_type or "?",
        missing.unavailability,
        status,
        extra={
            "hookInstance": str(request.hookInstance),
            "prefetchKey": missing.prefetch_key,
            "unavailability": missing.unavailability,
        },
    )


def _out_of_time(
    templates: Mapping[str, str],
    plan: FetchPlan,
    request: HookRequest,
    gathered: Gathered,
    seconds: float,
) -> None:
    """The request deadline (CDS_REQUEST_DEADLINE_SECONDS) passed while fetching: the keys not
    yet had are unavailable (timeout); paginated prefetch keeps its first page.

    Not a 503: the EHR can fix it by sending the data as prefetch (503 would say this service is
    down, and invite retries against the same slow server)."""
    reason = (
        f"the FHIR server was too slow: this request's {seconds:g} s deadline "
        "(CDS_REQUEST_DEADLINE_SECONDS) passed before the data arrived. Send it as prefetch, "
        "or retry"
    )
    lost = {m.prefetch_key for m in gathered.unavailable}
    for key in plan.to_fetch:
        if key not in gathered.values and key not in lost:
            _lose(gathered, request, _missing(templates, key, reason, "timeout", "timeout"))
    for key in plan.paginated:
        if _has_next_link(gathered.values[key]):
            gathered.data_warnings.append(
                f"prefetch '{key}' is one page of a longer search; the rest could not be "
                "fetched before the request deadline"
            )


async def _fetch_missing(
    client: FhirClient,
    templates: Mapping[str, str],
    to_fetch: Sequence[str],
    request: HookRequest,
    gathered: Gathered,
    explain: bool,
) -> None:
    """Fetch every key in `to_fetch` at once. Each result is kept as it arrives (a request
    deadline passing keeps what has come); a key that cannot be had is `_lose`-d.

    `explain`: whether the answer may say how the server failed (`FhirAccess.explains_failures`);
    otherwise every failure reads the same (reason and class), so the service cannot be used to
    learn what an unlisted address answers, and the log has the details."""
    if not to_fetch:
        return
    tokens = context_tokens(request.context)
    queries: dict[str, str] = {}
    for key in to_fetch:
        try:
            queries[key] = render(templates[key], tokens)
        except UnresolvedToken as exc:
            _lose(gathered, request, _missing(templates, key, str(exc), "required", "not-sent"))

    def lose(missing: MissingData) -> None:
        if not explain:
            log.warning(
                "fhir fetch of %s failed: %s (%s)",
                missing.prefetch_key,
                missing.reason,
                missing.code,
            )
            missing = replace(
                missing,
                reason=UNLISTED_SERVER_FAILURE,
                code="processing",
                unavailability="unexplained",
                http_status=None,
            )
        _lose(gathered, request, missing)

    async def fetch(key: str, query: str) -> None:
        try:
            result = await client.read(query)
        except FhirFetchError as exc:
            missing = _missing(
                templates,
                key,
                str(exc),
                exc.code,
                exc.unavailability,
                query=query,
                http_status=exc.status,
            )
            lose(missing)
            return
        except Exception as exc:
            # Whatever a FHIR server sends must not become a 500; the type is enough to debug.
            log.warning("unexpected error fetching %s: %s", key, type(exc).__name__)
            reason = "the FHIR server's answer could not be used"
            missing = _missing(templates, key, reason, "exception", "unusable-answer", query=query)
            lose(missing)
            return
        if is_operation_outcome(result):
            reason = f"OperationOutcome: {_diagnostics(result)}"
            missing = _missing(templates, key, reason, "processing", "unusable-answer", query=query)
            lose(missing)
        elif result is not None and (
            not isinstance(result, dict) or not isinstance(result.get("resourceType"), str)
        ):
            reason = "the FHIR server's answer is not a resource"
            missing = _missing(templates, key, reason, "structure", "unusable-answer", query=query)
            lose(missing)
        else:
            gathered.values[key] = result
            for outcome in (r for r in gathered.resources_of(key) if is_operation_outcome(r)):
                gathered.data_warnings.append(
                    f"fetched '{key}' carried an OperationOutcome: {_diagnostics(outcome)}"
                )

    await asyncio.gather(*(fetch(key, query) for key, query in queries.items()))


async def _complete_pages(
    client: FhirClient, keys: Sequence[str], gathered: Gathered, explain: bool
) -> None:
    """Follow the next links of paginated prefetch Bundles; on failure keep the first page."""
    if not keys:
        return
    results = await asyncio.gather(
        *(client.complete_bundle(gathered.values[k], label=f"prefetch '{k}'") for k in keys),
        return_exceptions=True,
    )
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, dict):
            gathered.values[key] = result
        elif isinstance(result, Exception):
            reason = str(result) if isinstance(result, FhirFetchError) else type(result).__name__
            if not explain:
                log.warning("fhir pages of %s not fetched: %s", key, reason)
                reason = UNLISTED_SERVER_FAILURE
            gathered.data_warnings.append(
                f"prefetch '{key}' is one page of a longer search; the rest could not be "
                f"fetched ({reason})"
            )
        elif isinstance(result, BaseException):
            raise result


async def _resolve_medications(
    client: FhirClient, references: list[str], gathered: Gathered
) -> None:
    """Fetch Medications that medicationReferences point to but the data does not hold.
    A failure here only loses those medications' codes (reported), never the whole answer."""
    todo = references[:MAX_REFERENCED_MEDICATIONS]
    if not todo:
        return
    results = await asyncio.gather(*(client.read(ref) for ref in todo), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
    found = [r for r in results if isinstance(r, dict) and r.get("resourceType") == "Medication"]
    lost = len(references) - len(found)
    if lost:
        gathered.data_warnings.append(
            f"{lost} referenced Medication(s) could not be retrieved from the FHIR server"
        )
    if found:
        gathered.values[REFERENCED_MEDICATIONS_KEY] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in found],
        }


def _warn_unfetchable(gathered: Gathered, count: int) -> None:
    if count:
        gathered.data_warnings.append(
            f"{count} medicationReference(s) are neither contained nor a Medication/id on the "
            "FHIR server: not resolved"
        )


def _diagnostics(outcome: Mapping[str, Any]) -> str:
    issues = outcome.get("issue") if isinstance(outcome.get("issue"), list) else []
    texts = [
        str(i.get("diagnostics") or i.get("code") or "issue")
        for i in issues or []
        if isinstance(i, dict)
    ]
    return "; ".join(texts)[:300] or "no diagnostics"
