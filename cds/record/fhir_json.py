"""Small tolerant readers of raw FHIR JSON: FHIR from the wild has every shape; these never
raise, they answer None (or an empty value) for anything unexpected."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cds.fhirtime import parse_datetime
from cds.record.entries import Codings


def str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def codings_of(concept: Any) -> Codings:
    if not isinstance(concept, dict):
        return ()
    codings = concept.get("coding")
    if not isinstance(codings, list):
        return ()
    return tuple(c for c in codings if isinstance(c, dict))


def concept_text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    text = str_or_none(concept.get("text"))
    if text:
        return text
    codings = codings_of(concept)
    for coding in codings:
        display = str_or_none(coding.get("display"))
        if display:
            return display
    for coding in codings:
        code = str_or_none(coding.get("code"))
        if code:
            return code
    return ""


def status_code(concept: Any) -> str | None:
    """The code of a status CodeableConcept; a bare string (the STU3 shape) is taken as is."""
    if isinstance(concept, str):
        return concept or None
    for coding in codings_of(concept):
        code = str_or_none(coding.get("code"))
        if code:
            return code
    return None


def finite_number(value: Any) -> float | None:
    """A finite float, or None: JSON true is not a number, nor is an int too big for a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def period_bounds(period: Any) -> tuple[datetime | None, datetime | None]:
    if not isinstance(period, dict):
        return None, None
    return parse_datetime(period.get("start")), parse_datetime(period.get("end"))


def belongs_to_other_patient(resource: Mapping[str, Any], patient_id: str) -> bool:
    """True when the resource's subject (or patient) is plainly another Patient. References we
    cannot resolve here (urn:uuid, contained, logical identifiers) are given the benefit of the
    doubt: the EHR answered a search for this patient."""
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return isinstance(rid, str) and bool(rid) and rid != patient_id
    for field_name in ("subject", "patient"):
        target = resource.get(field_name)
        if not isinstance(target, dict):
            continue
        reference = target.get("reference")
        if not isinstance(reference, str) or "Patient/" not in reference:
            continue
        tail = reference.split("Patient/", 1)[1].split("/_history", 1)[0]
        return tail != patient_id
    return False


def reference_of(resource: Mapping[str, Any]) -> str:
    rid = str_or_none(resource.get("id")) or "?"
    return f"{resource.get('resourceType')}/{rid}"


def loose_code(code: str) -> str:
    """A code as compared by the complaint pre-filter: coarser than any ValueSet comparison."""
    return code.strip().replace(".", "").upper()
