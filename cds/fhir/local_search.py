"""A FHIR server's search, answered locally from one patient's Bundle.

The prefetch queries a service declares (resource type, patient, `code`, `status`,
`clinical-status`, `_sort`/`_count`, or an instance read) are answered from the Bundle's
resources the way the EHR's FHIR server would answer them: what `cds replay`, fixtures and tests
use to fill a request's prefetch (`cds.replay.hook_request`).

Pure: no IO, no clock, the input is never mutated. Bundles of any type work (transaction,
collection, searchset); `urn:uuid:` references of a transaction bundle are rewritten to
`Type/id`, as a FHIR server does when it stores the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from cds.errors import UnsupportedTemplate

# The element a `code` search parameter reads, per resource type (FHIR R4 search parameters).
_CODE_ELEMENT: Mapping[str, str] = {
    "Observation": "code",
    "Condition": "code",
    "Procedure": "code",
    "AllergyIntolerance": "code",
    "DiagnosticReport": "code",
    "ServiceRequest": "code",
    "FamilyMemberHistory": "condition.code",
    "MedicationRequest": "medicationCodeableConcept",
    "MedicationStatement": "medicationCodeableConcept",
    "MedicationAdministration": "medicationCodeableConcept",
    "MedicationDispense": "medicationCodeableConcept",
    "Medication": "code",
}
# The element a `date` sort reads first, per resource type.
_DATE_ELEMENTS: tuple[str, ...] = (
    "effectiveDateTime",
    "effectiveInstant",
    "effectivePeriod.start",
    "authoredOn",
    "performedDateTime",
    "performedPeriod.start",
    "period.start",
    "onsetDateTime",
    "recordedDate",
    "issued",
    "date",
)
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# A reference value as orjson writes it (no spaces); escaped characters stay escaped.
_REFERENCE = re.compile(rb'"reference":"((?:[^"\\]|\\.)*)"')


class LocalSearch:
    """One patient's Bundle, indexed once, answering FHIR queries as a server holding it would."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        # One pass over the entries: this runs for every chart a sweep evaluates. The checks
        # test `type(x) is dict` first: JSON is parsed into dicts, and an isinstance check
        # against the Mapping ABC costs several times more.
        full_urls: dict[str, str] = {}
        by_type: dict[str, list[Mapping[str, Any]]] = {}
        patient_id: str | None = None
        for resource, full_url in _entries(bundle):
            kind = resource.get("resourceType")
            rid = resource.get("id")
            if isinstance(full_url, str) and rid:
                full_urls[full_url] = f"{kind}/{rid}"
            if isinstance(kind, str):
                by_type.setdefault(kind, []).append(resource)
                if patient_id is None and kind == "Patient" and isinstance(rid, str):
                    patient_id = rid
        self.by_type: Mapping[str, list[Mapping[str, Any]]] = by_type
        self.full_urls: Mapping[str, str] = full_urls  # fullUrl (urn:uuid:...) -> "Type/id"
        self._patient_id = patient_id
        # The patient each resource is about ("Patient/<id>" or None), found when first asked.
        self._owners: dict[str, list[str | None]] = {}

    @property
    def patient_id(self) -> str:
        """The id of the bundle's (first) Patient resource; ValueError when it has none."""
        if self._patient_id is None:
            raise ValueError("the bundle holds no Patient resource with an id")
        return self._patient_id

    def _about(self, resource_type: str, wanted: str) -> list[Mapping[str, Any]]:
        """The resources of a type about one patient (reference "Patient/<id>")."""
        resources = self.by_type.get(resource_type, [])
        owners = self._owners.get(resource_type)
        if owners is None:
            owners = self._owners[resource_type] = [
                _patient_of(r, self.full_urls) for r in resources
            ]
        return [r for r, owner in zip(resources, owners, strict=True) if owner == wanted]

    def answer(self, query: str) -> dict[str, Any] | None:
        """A rendered query (no tokens left): an instance read gives the resource or None (no
        data), a type search a searchset Bundle. Raises UnsupportedTemplate for a query this
        search cannot answer faithfully."""
        path, _, raw_params = query.partition("?")
        parts = [p for p in path.strip("/").split("/") if p]
        if len(parts) == 2 and not raw_params:
            return self._read(parts[0], unquote(parts[1]))
        if len(parts) != 1:
            raise UnsupportedTemplate(f"not an instance read or a type search: {query!r}")
        resource_type = parts[0]
        params = _parse_params(raw_params)
        matches = list(self.by_type.get(resource_type, ()))
        count: int | None = None
        sort: str | None = None
        for index, (name, value) in enumerate(params):
            if name in ("patient", "subject"):
                wanted = value if "/" in value else f"Patient/{value}"
                if index == 0:  # the usual first filter: answered from the index
                    matches = self._about(resource_type, wanted)
                else:
                    matches = [r for r in matches if _patient_of(r, self.full_urls) == wanted]
            elif name == "code":
                matches = _filter_codes(resource_type, matches, value)
            elif name == "status":
                allowed = set(value.split(","))
                matches = [r for r in matches if r.get("status") in allowed]
            elif name in ("clinical-status", "verification-status"):
                element = "clinicalStatus" if name == "clinical-status" else "verificationStatus"
                allowed = set(value.split(","))
                matches = [r for r in matches if _codes(r.get(element)) & allowed]
            elif name == "_count":
                if not value.isdigit():
                    raise UnsupportedTemplate(f"_count must be a number: {value!r}")
                count = int(value)
            elif name == "_sort":
                if value.lstrip("-") != "date":
                    raise UnsupportedTemplate(f"only _sort=date or -date is supported: {value!r}")
                sort = value
            else:
                raise UnsupportedTemplate(f"search parameter {name!r} is not supported: {query!r}")
        if sort is not None:
            matches = sorted(matches, key=_date_of, reverse=sort.startswith("-"))
        if count is not None:
            matches = matches[:count]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            # One copy of the whole list: much faster than one per resource.
            "entry": _rewrite(
                [
                    {"fullUrl": f"{r.get('resourceType')}/{r.get('id')}", "resource": r}
                    for r in matches
                ],
                self.full_urls,
            ),
        }

    def _read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        if not _FHIR_ID.match(resource_id):
            return None
        for resource in self.by_type.get(resource_type, ()):
            if resource.get("id") == resource_id:
                rewritten: dict[str, Any] = _rewrite(resource, self.full_urls)
                return rewritten
        return None


def patient_id_of(bundle: Mapping[str, Any]) -> str:
    """The id of the bundle's (first) Patient resource."""
    return LocalSearch(bundle).patient_id


def _entries(bundle: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Any]]:
    """(resource, fullUrl) of each entry of a Bundle whose resource is a JSON object, a nested
    Bundle as the resource it is (what a FHIR server stores from a transaction or collection);
    a bare resource is its own one entry (as `cds.fhir.bundles.entry_resources`)."""
    if bundle.get("resourceType") != "Bundle":
        yield bundle, None
        return
    for entry in bundle.get("entry") or ():
        if type(entry) is dict or isinstance(entry, Mapping):
            resource = entry.get("resource")
            if type(resource) is dict or isinstance(resource, Mapping):
                yield resource, entry.get("fullUrl")


def _parse_params(raw: str) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for part in raw.split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise UnsupportedTemplate(f"search parameter without a value: {part!r}")
        if ":" in name:
            raise UnsupportedTemplate(f"search modifiers are not supported: {name!r}")
        params.append((unquote(name), unquote(value)))
    return params


def _filter_codes(
    resource_type: str, resources: list[Mapping[str, Any]], value: str
) -> list[Mapping[str, Any]]:
    element = _CODE_ELEMENT.get(resource_type)
    if element is None:
        raise UnsupportedTemplate(f"'code' is not a search parameter of {resource_type}")
    exact: set[tuple[str, str]] = set()  # system|code
    any_system: set[str] = set()  # code alone
    for token in value.split(","):
        system, bar, code = token.rpartition("|")
        if bar and system:
            exact.add((system, code))
        else:
            any_system.add(code)
    kept = []
    for resource in resources:
        for coding in _codings_at(resource, element):
            found = coding.get("code")
            if found in any_system or (coding.get("system"), found) in exact:
                kept.append(resource)
                break
    return kept


def _codings_at(resource: Mapping[str, Any], element: str) -> Iterable[Mapping[str, Any]]:
    if "." in element:
        values: list[Any] = [resource]
        for step in element.split("."):
            nxt: list[Any] = []
            for value in values:
                if isinstance(value, Mapping):
                    item = value.get(step)
                    nxt.extend(item if isinstance(item, list) else [item])
            values = nxt
    else:  # the usual case, one element: no lists built
        value = resource.get(element)
        values = value if type(value) is list else [value]
    for concept in values:
        if type(concept) is dict or isinstance(concept, Mapping):
            for coding in concept.get("coding") or ():
                if type(coding) is dict or isinstance(coding, Mapping):
                    yield coding


def _codes(concept: Any) -> set[str]:
    if not isinstance(concept, Mapping):
        return set()
    return {
        str(c.get("code"))
        for c in concept.get("coding") or ()
        if isinstance(c, Mapping) and c.get("code")
    }


def _patient_of(resource: Mapping[str, Any], full_urls: Mapping[str, str]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return f"Patient/{resource.get('id')}"
    for element in ("subject", "patient"):
        holder = resource.get(element)
        reference = holder.get("reference") if isinstance(holder, Mapping) else None
        if isinstance(reference, str):
            return full_urls.get(reference, reference)
    return None


def _date_of(resource: Mapping[str, Any]) -> str:
    for path in _DATE_ELEMENTS:
        value: Any = resource
        for step in path.split("."):
            value = value.get(step) if isinstance(value, Mapping) else None
        if isinstance(value, str):
            return value
    return ""


def _rewrite(value: Any, full_urls: Mapping[str, str]) -> Any:
    """A deep copy with references to a fullUrl (e.g. `urn:uuid:...`) replaced by `Type/id`.

    Through orjson rather than a Python walk: several times faster on large records."""
    raw = orjson.dumps(value)
    if full_urls:
        raw = _REFERENCE.sub(
            lambda m: (
                b'"reference":"%s"'
                % full_urls.get(m.group(1).decode(), m.group(1).decode()).encode()
            ),
            raw,
        )
    return orjson.loads(raw)
