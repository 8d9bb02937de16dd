"""Populations for the sweep: patient Bundles written as a FHIR Bulk Data export folder.

`write_export(bundles, folder, copies=n)` writes one NDJSON file per resource type, as
`$export` does, with every `urn:uuid:` reference resolved to `Type/id` (what a FHIR server
stores). Each copy of a patient gets new ids (every id and reference suffixed `-<copy>`), so
90 Synthea patients make a population of any size. `types` limits the export to the types
asked for (`$export?_type=...`); by default every type is written.
"""

from __future__ import annotations

import contextlib
import gzip
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any, cast

import orjson

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REFERENCE = re.compile(rb'"reference":"urn:uuid:([^"]+)"')


def export_lines(bundle: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """(resource type, NDJSON line without its newline) for each resource of a Bundle, with
    fullUrl references (`urn:uuid:...`) written as `Type/id`."""
    entries = [e for e in bundle.get("entry") or () if isinstance(e.get("resource"), dict)]
    by_uuid = {
        str(e["fullUrl"]).removeprefix("urn:uuid:"): (
            f"{e['resource']['resourceType']}/{e['resource'].get('id')}"
        )
        for e in entries
        if str(e.get("fullUrl", "")).startswith("urn:uuid:")
    }

    def resolve(match: re.Match[bytes]) -> bytes:
        target = by_uuid.get(match.group(1).decode())
        return match.group(0) if target is None else b'"reference":"' + target.encode() + b'"'

    return [
        (e["resource"]["resourceType"], _REFERENCE.sub(resolve, orjson.dumps(e["resource"])))
        for e in entries
    ]


def clone_line(line: bytes, copy: int) -> bytes:
    """The line with every UUID (ids, references, identifiers) suffixed with `-<copy>`."""
    suffix = b"-%d" % copy
    return _UUID.sub(lambda m: m.group(0) + suffix, line)


def write_export(
    bundles: Iterable[Mapping[str, Any]],
    folder: Path,
    *,
    copies: int = 1,
    types: frozenset[str] | None = None,
    gzip_types: frozenset[str] = frozenset(),
) -> int:
    """Write the export; returns the number of patients written. Copy 0 keeps the original
    ids. `gzip_types` are written as `.ndjson.gz`."""
    folder.mkdir(parents=True, exist_ok=True)
    patients = 0
    with contextlib.ExitStack() as files_open:
        files: dict[str, IO[bytes]] = {}
        for bundle in bundles:
            lines = [(t, line) for t, line in export_lines(bundle) if types is None or t in types]
            for copy in range(copies):
                for resource_type, line in lines:
                    stream = files.get(resource_type)
                    if stream is None:
                        name = f"{resource_type}.ndjson"
                        opened = (
                            gzip.open(folder / f"{name}.gz", "wb")  # noqa: SIM115 (closed by the stack)
                            if resource_type in gzip_types
                            else (folder / name).open("wb")
                        )
                        stream = files_open.enter_context(cast(IO[bytes], opened))
                        files[resource_type] = stream
                    stream.write((clone_line(line, copy) if copy else line) + b"\n")
                    patients += resource_type == "Patient"
    return patients
