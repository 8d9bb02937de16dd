"""Request bounds beyond the body size: how many FHIR resources a request's prefetch holds,
and the 412 for a request whose FHIR fetching outlived CDS_REQUEST_DEADLINE_SECONDS.

A 20 MB body of tiny resources is far more work for the record builder than 20 MB of a few
large ones, so the count is bounded on its own (CDS_MAX_PREFETCH_RESOURCES).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cds.errors import MissingData, PayloadTooLarge, PrefetchUnavailable


def count_prefetch_resources(prefetch: Any) -> int:
    """Resources in a prefetch object: each Bundle entry (nested Bundles included) or resource.

    Iterative, not recursive: a deeply nested Bundle must not exhaust the Python stack.
    """
    if not isinstance(prefetch, dict):
        return 0
    count = 0
    stack: list[Any] = list(prefetch.values())
    while stack:
        value = stack.pop()
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") != "Bundle":
            count += 1
            continue
        entries = value.get("entry")
        if not isinstance(entries, list):
            continue
        count += len(entries)
        # An entry's resource counts once more, as a resource of its own (a nested Bundle
        # counts its entries instead): the stack holds only the nested Bundles, not every
        # resource of a 20,000-entry searchset.
        resources = [e.get("resource") for e in entries if isinstance(e, dict)]
        kinds = [r.get("resourceType") for r in resources if isinstance(r, dict)]
        nested = kinds.count("Bundle")
        count += len(kinds) - nested
        if nested:
            stack.extend(
                r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Bundle"
            )
    return count


def enforce_prefetch_limit(prefetch: Any, limit: int) -> None:
    count = count_prefetch_resources(prefetch)
    if count > limit:
        raise PayloadTooLarge(
            f"prefetch holds {count} FHIR resources; this service accepts at most {limit} per "
            "request (CDS_MAX_PREFETCH_RESOURCES). Narrow the prefetch queries, or omit the keys "
            "so the service fetches what it needs from fhirServer."
        )


def deadline_exceeded(
    templates: Mapping[str, str], prefetch: Any, seconds: float
) -> PrefetchUnavailable:
    """The spec's 412 for a FHIR server too slow for CDS_REQUEST_DEADLINE_SECONDS.

    412 rather than 503: the EHR can fix it by sending the data as prefetch (503 would say this
    service is down, and invite retries against the same slow server). The keys named are those
    the service had to fetch or complete: absent, unusable, or one page of a longer search.
    """
    given = prefetch if isinstance(prefetch, dict) else {}
    keys = [k for k in templates if _needed_fetching(given, k)] or list(templates)
    reason = (
        f"the FHIR server was too slow: this request's {seconds:g} s deadline "
        "(CDS_REQUEST_DEADLINE_SECONDS) passed before the data arrived. Send it as prefetch, "
        "or retry"
    )
    return PrefetchUnavailable(
        missing=[MissingData(k, templates[k], reason, "timeout") for k in keys]
    )


def _needed_fetching(given: Mapping[str, Any], key: str) -> bool:
    if key not in given:
        return True
    value = given[key]
    if value is None:
        return False  # "no data" is an answer
    if not isinstance(value, dict) or value.get("resourceType") in (None, "OperationOutcome"):
        return True
    links = value.get("link")
    return any(
        isinstance(link, dict) and link.get("relation") == "next"
        for link in (links if isinstance(links, list) else [])
    )
