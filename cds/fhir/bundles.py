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
