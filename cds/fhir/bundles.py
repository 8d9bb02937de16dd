"""Flattening FHIR Bundles into their resources: one owner for the prefetch, draft orders and
replayed bundles alike. Pure (no IO)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def iter_resources(payload: Any) -> Iterator[Mapping[str, Any]]:
    """Every resource in a prefetch value: a resource, or a Bundle (nested Bundles flattened,
    depth first, in order). Iterative, so no nesting depth or cycle can exhaust the stack."""
    return iter(resource_list(payload))


def resource_list(payload: Any) -> list[Mapping[str, Any]]:
    """`iter_resources(payload)` as a new list: what a request's resources are flattened into
    once (a loop appending to a list costs about half of a generator's resumptions)."""
    if not isinstance(payload, dict):
        return []
    kind = payload.get("resourceType")
    if kind != "Bundle":
        return [payload] if isinstance(kind, str) else []
    found: list[Mapping[str, Any]] = []
    append = found.append
    open_bundles = {id(payload)}
    stack: list[Iterator[Any]] = [iter(_entries(payload))]
    while stack:
        for entry in stack[-1]:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue
            kind = resource.get("resourceType")
            if kind == "Bundle":
                if id(resource) not in open_bundles:  # a Python object can contain itself
                    open_bundles.add(id(resource))
                    stack.append(iter(_entries(resource)))
                    break
            elif isinstance(kind, str):
                append(resource)
        else:
            stack.pop()
    return found


def _entries(bundle: Mapping[str, Any]) -> list[Any]:
    entries = bundle.get("entry")
    return entries if isinstance(entries, list) else []


def entry_resources(bundle: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The resources of a Bundle's own entries, a nested Bundle as the resource it is (what a
    FHIR server stores from a transaction or collection); a resource is returned as itself."""
    if bundle.get("resourceType") != "Bundle":
        return [bundle] if isinstance(bundle.get("resourceType"), str) else []
    found: list[Mapping[str, Any]] = []
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and isinstance(resource.get("resourceType"), str):
            found.append(resource)
    return found


def count_resources(payload: Any) -> int:
    """How much a prefetch value (or a draftOrders Bundle) holds, as the request bounds count it:
    a resource is one; a Bundle is as many as its entries, each counted once, at every depth (an
    entry holding a nested Bundle is one, and that Bundle's entries are counted too, since each
    is work for whoever walks it).

    Iterative, not recursive: a deeply nested Bundle must not exhaust the Python stack. Only the
    nested Bundles are stacked, not every resource of a 20,000-entry searchset.
    """
    count = 0
    stack: list[Any] = [payload]
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
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
                stack.append(resource)
    return count
