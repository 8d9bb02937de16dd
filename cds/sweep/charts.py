"""From raw input to charts, and charts to results: the work both engines run, so that their
results are the same by construction. Pure (no IO): lines and Bundles come in as values.

Bulk Data exports hold one resource type per file, so a patient's chart is spread over every
file. Each line is given a key, the patient it belongs to (`chart_key`), the engine groups lines
by key (Spark's shuffle, or the local engine's bucket files) and `evaluate_lines` turns one
group into that patient's chart and results. Medications, which belong to no patient, come from
the export's Medication files and join every chart whose orders reference them.

A patient Bundle is already a chart (or several, one per Patient it holds): `evaluate_bundle`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson

from cds.sweep.evaluate import Chart, Evaluator
from cds.sweep.results import ChartResult

NO_PATIENT = ""  # the key of lines whose patient cannot be told: each becomes a problem

# A relative reference to a Patient, as Bulk Data exports write them (`Patient/123`, optionally
# versioned). The id grammar is FHIR's.
_PATIENT_REFERENCE = re.compile(
    rb'"reference"\s*:\s*"Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^"]*)?"'
)
_PATIENT_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class Line(NamedTuple):
    """One line of an NDJSON file and where it is: file and chunk by their index in the
    source plan, line number (1-based) within the chunk. Sorting lines puts them in file
    order, whichever engine grouped them."""

    file: int
    chunk: int
    number: int
    raw: bytes


class LineProblem(NamedTuple):
    """A line that was skipped, and why; the driver turns the position into file:line."""

    file: int
    chunk: int
    number: int
    message: str


def chart_key(raw: bytes, resource_type: str | None) -> str:
    """The id of the patient whose chart a line belongs to, or NO_PATIENT.

    A line that is not a Patient and refers to exactly one patient belongs to that patient:
    found in the raw bytes, without parsing, as this runs on every line of the export. Any
    other line is parsed (Patients, lines with no or several patient references, lines of
    files whose type is not known). Grouping only decides where a line goes: the chart's
    request is then built by the same patient search an EHR's server runs, so a line put in
    the wrong chart is left out of it, never shown as another patient's data.
    """
    if resource_type is not None and resource_type != "Patient":
        referenced: set[bytes] = set(_PATIENT_REFERENCE.findall(raw))
        if len(referenced) == 1:
            return referenced.pop().decode()
    try:
        resource = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NO_PATIENT
    return patient_of(resource) or NO_PATIENT


def patient_of(resource: Any) -> str | None:
    """The patient a parsed resource is about: a Patient's own id, else the id its `subject`
    or `patient` refers to (`Patient/<id>`)."""
    if not isinstance(resource, dict):
        return None
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and _PATIENT_ID.match(rid) else None
    for element in ("subject", "patient"):
        holder = resource.get(element)
        reference = holder.get("reference") if isinstance(holder, dict) else None
        if isinstance(reference, str) and reference.startswith("Patient/"):
            rid = reference.removeprefix("Patient/").split("/_history/")[0]
            return rid if _PATIENT_ID.match(rid) else None
    return None


def evaluate_lines(
    evaluator: Evaluator,
    key: str,
    lines: Iterable[Line],
    medications: Mapping[str, Mapping[str, Any]],
) -> tuple[list[ChartResult], list[LineProblem]]:
    """One group of lines (one key) to its chart's results and the problems found.

    Lines are put in file order first (a shuffle delivers them in any order) so the chart, and
    its results, do not depend on the engine. `medications` maps "Medication/<id>" to the
    export's Medication resources.
    """
    problems: list[LineProblem] = []
    patient: dict[str, Any] | None = None
    resources: list[dict[str, Any]] = []
    referenced: dict[str, None] = {}  # Medications the resources reference, in order
    first: Line | None = None
    # One pass over the group: every line of the export goes through it once.
    for line in sorted(lines):
        first = first or line
        try:
            resource = orjson.loads(line.raw)
        except orjson.JSONDecodeError as exc:
            problems.append(_problem(line, f"not valid JSON ({exc}): skipped"))
            continue
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str):
            problems.append(_problem(line, "not a FHIR resource (no resourceType): skipped"))
        elif key == NO_PATIENT:
            problems.append(
                _problem(
                    line,
                    f"{kind} refers to no patient (subject or patient Patient/<id>): skipped",
                )
            )
        elif patient is None and kind == "Patient" and resource.get("id") == key:
            patient = resource
        else:
            resources.append(resource)
            holder = resource.get("medicationReference")
            reference = holder.get("reference") if isinstance(holder, dict) else None
            if isinstance(reference, str) and reference in medications:
                referenced[reference] = None
    if patient is None:
        if resources and first is not None:
            problems.append(
                _problem(
                    first,
                    f"{len(resources)} resource(s) refer to Patient/{key}, which the export "
                    "does not hold: that chart is skipped",
                )
            )
        return [], problems
    # The Patient first: the request names the bundle's first Patient as context.patientId.
    entries: list[dict[str, Any]] = [{"resource": patient}]
    entries += [{"resource": r} for r in resources]
    entries += [{"resource": medications[reference]} for reference in referenced]
    chart = Chart(key, {"resourceType": "Bundle", "type": "collection", "entry": entries})
    return [evaluator.evaluate(chart)], problems


def evaluate_bundle(evaluator: Evaluator, bundle: Any) -> tuple[list[ChartResult], list[str]]:
    """A patient Bundle to the results of each chart it holds (one per Patient), and the
    problems found (messages about the whole file)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return [], ["not a FHIR Bundle: skipped"]
    charts, problems = charts_of_bundle(bundle)
    return [evaluator.evaluate(chart) for chart in charts], problems


def charts_of_bundle(bundle: Mapping[str, Any]) -> tuple[list[Chart], list[str]]:
    """One chart per Patient of the Bundle. A Bundle with one Patient is its chart as it is
    (its fullUrls resolve its references); with several, each chart holds that Patient, the
    entries about them and the entries about no patient (Medications)."""
    entries = [e for e in bundle.get("entry") or () if isinstance(e, dict)]
    patients = [
        e["resource"]
        for e in entries
        if isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
        and isinstance(e["resource"].get("id"), str)
    ]
    if not patients:
        return [], ["no Patient resource with an id: skipped"]
    if len(patients) == 1:
        return [Chart(str(patients[0]["id"]), bundle)], []
    full_urls = {
        e["fullUrl"]: f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}"
        for e in entries
        if isinstance(e.get("fullUrl"), str) and isinstance(e.get("resource"), dict)
    }
    by_patient: dict[str, list[dict[str, Any]]] = {str(p["id"]): [] for p in patients}
    shared: list[dict[str, Any]] = []
    for entry in entries:
        owner = _owner(entry.get("resource"), full_urls)
        if owner is None:
            shared.append(entry)
        elif owner in by_patient:
            by_patient[owner].append(entry)
    charts = [Chart(pid, {**bundle, "entry": [*mine, *shared]}) for pid, mine in by_patient.items()]
    return charts, []


def _owner(resource: Any, full_urls: Mapping[str, str]) -> str | None:
    if not isinstance(resource, dict):
        return None
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    for element in ("subject", "patient"):
        holder = resource.get(element)
        reference = holder.get("reference") if isinstance(holder, dict) else None
        if isinstance(reference, str):
            resolved = full_urls.get(reference, reference)
            return resolved.removeprefix("Patient/") if resolved.startswith("Patient/") else ""
    return None


def _problem(line: Line, message: str) -> LineProblem:
    return LineProblem(line.file, line.chunk, line.number, message)
