"""A CDS Hooks request built from one patient's FHIR Bundle, as an EHR would send it.

Each of the service's prefetch templates is answered from the bundle by the local FHIR search
(`cds.fhir.local_search`), the way the EHR's FHIR server would answer it. Used by `cds replay`,
fixtures, tests and benchmarks.

Pure: no IO, no clock, the input is never mutated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import orjson

from cds.errors import UnresolvedToken
from cds.fhir.bundles import entry_resources
from cds.fhir.local_search import LocalSearch
from cds.fhir.prefetch import context_tokens, render
from cds.services import ServiceDefinition

DEFAULT_USER_ID = "Practitioner/cds-replay"
# Prefetch keys whose searchsets get the Medications their resources reference, as a FHIR
# server answers `...&_include=MedicationRequest:medication`.
_MEDICATION_ORDER_TYPES = frozenset(
    {"MedicationRequest", "MedicationStatement", "MedicationAdministration", "MedicationDispense"}
)


def build_hook_request(
    bundle: Mapping[str, Any] | LocalSearch,
    service: ServiceDefinition,
    *,
    hook_instance: str | UUID,
    draft_orders: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    user_id: str = DEFAULT_USER_ID,
    encounter_id: str | None = None,
) -> dict[str, Any]:
    """A CDS Hooks 2.0 request for `service`, its prefetch filled from `bundle`.

    - every template the service declares is answered from the bundle; a search gives a
      searchset Bundle (possibly empty), a read that finds nothing gives null ("no data");
    - a template whose token has no value in the context is left out, as the spec tells an EHR
      to do with a key it cannot satisfy;
    - the Medications of the bundle that the medication orders reference are added to their
      searchsets as `_include` results: the service would fetch them from the EHR's FHIR server,
      which a request built here does not name;
    - `draft_orders` (resources or a Bundle) becomes `context.draftOrders` for order-select and
      order-sign; in order-select every draft order is selected.

    `bundle` may be given as the LocalSearch of one: a chart asked for under several services is
    indexed once.

    Raises ValueError when the bundle has no Patient, UnsupportedTemplate for a template the
    local search cannot answer faithfully.
    """
    search = bundle if isinstance(bundle, LocalSearch) else LocalSearch(bundle)
    patient_id = search.patient_id
    context: dict[str, Any] = {"userId": user_id, "patientId": patient_id}
    if encounter_id is not None:
        context["encounterId"] = encounter_id
    if service.hook in ("order-select", "order-sign"):
        drafts = _draft_bundle(draft_orders)
        context["draftOrders"] = drafts
        if service.hook == "order-select":
            context["selections"] = [
                f"{r.get('resourceType')}/{r.get('id')}"
                for r in entry_resources(drafts)
                if r.get("id")
            ]
    tokens = context_tokens(context)
    prefetch: dict[str, Any] = {}
    for key, template in service.prefetch.items():
        try:
            query = render(template, tokens)
        except UnresolvedToken:
            continue
        prefetch[key] = search.answer(query)
    _include_medications(prefetch, search)
    return {
        "hook": service.hook,
        "hookInstance": str(hook_instance),
        "context": context,
        "prefetch": prefetch,
    }


def _draft_bundle(
    draft_orders: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    if draft_orders is None:
        resources: list[Mapping[str, Any]] = []
    elif isinstance(draft_orders, Mapping):
        resources = entry_resources(draft_orders)
    else:
        resources = list(draft_orders)
    # A copy (through orjson, several times faster than a Python walk): never shared with the
    # caller's data.
    entries = orjson.loads(orjson.dumps([{"resource": r} for r in resources]))
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _include_medications(prefetch: dict[str, Any], chart: LocalSearch) -> None:
    """Medications of the chart that the medication searchsets reference, added to those
    searchsets with search.mode "include" (what `_include` gives from a FHIR server). Copies,
    like the rest of the request: the bundle is never shared with what is built from it."""
    medications = {
        f"Medication/{r.get('id')}": r
        for r in chart.by_type.get("Medication", ())
        if isinstance(r.get("id"), str)
    }
    if not medications:
        return
    for key, value in prefetch.items():
        if key not in _MEDICATION_ORDER_TYPES or not isinstance(value, dict):
            continue
        entries = value.get("entry") or []
        wanted: list[str] = []
        for entry in entries:
            holder = entry.get("resource", {}).get("medicationReference")
            reference = holder.get("reference") if isinstance(holder, dict) else None
            if reference in medications and reference not in wanted:
                wanted.append(reference)
        entries.extend(
            {
                "fullUrl": reference,
                "resource": orjson.loads(orjson.dumps(medications[reference])),
                "search": {"mode": "include"},
            }
            for reference in wanted
        )
        value["entry"] = entries
