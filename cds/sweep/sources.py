"""What a sweep reads: FHIR Bulk Data export folders and folders of patient Bundles (IO).

An export folder holds NDJSON files, one resource type per file, `.ndjson` or `.ndjson.gz`,
named by type as `$export` names them (`Observation.ndjson`, `Observation-2.ndjson`,
`Observation.000.ndjson.gz`); a file whose name does not start with a type is typed by its
first line. Files of a type that no swept service reads (Claim, ExplanationOfBenefit, ...) are
not read at all. Medication files are read whole by the driver: Medications belong to no
patient and join the charts whose orders reference them. Every other file is chart data.

A Bundle folder holds `*.json` files, each a Bundle with whole charts (Synthea, `cds replay`'s
inputs). A SOURCE holding `.ndjson` files is an export; otherwise a Bundle folder (or file).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from cds.sweep.results import Problem

NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz")
SHARED_TYPE = "Medication"
READ_BYTES = 8 * 1024 * 1024
_TYPE_FROM_NAME = re.compile(r"^([A-Z][A-Za-z]+)(?:$|[.\-_])")


class SourceError(ValueError):
    """A SOURCE that cannot be swept (missing, empty, neither an export nor Bundles)."""


@dataclass(frozen=True)
class NdjsonFile:
    index: int  # position in the plan: the order lines are put in
    path: Path
    resource_type: str | None
    size: int  # bytes on disk

    @property
    def compressed(self) -> bool:
        return self.path.name.endswith(".gz")


@dataclass(frozen=True)
class SourcePlan:
    chart_files: tuple[NdjsonFile, ...]
    medication_files: tuple[NdjsonFile, ...]
    bundle_files: tuple[Path, ...]
    skipped_files: tuple[tuple[Path, str], ...]  # (file, resource type no service reads)

    def file(self, index: int) -> NdjsonFile:
        return self.chart_files[index]

    @property
    def chart_bytes(self) -> int:
        return sum(f.size for f in self.chart_files)


def plan_sources(sources: Sequence[Path], read_types: frozenset[str]) -> SourcePlan:
    """Which files to read, in a stable order (sorted by path), for services reading
    `read_types` (Patient is always read)."""
    ndjson: list[Path] = []
    bundles: list[Path] = []
    for source in sources:
        if not source.exists():
            raise SourceError(f"{source}: no such file or folder")
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        files = [p for p in files if not any(part.startswith(".") for part in p.parts[-1:])]
        found = [p for p in files if p.name.endswith(NDJSON_SUFFIXES)]
        if found:
            ndjson += found
        else:
            bundles += [p for p in files if p.suffix == ".json"]
    if not ndjson and not bundles:
        raise SourceError(
            "nothing to sweep: no .ndjson or .ndjson.gz files (an export) and no .json "
            f"Bundles in {', '.join(str(s) for s in sources)}"
        )
    wanted = read_types | {"Patient"}
    charts: list[NdjsonFile] = []
    medications: list[NdjsonFile] = []
    skipped: list[tuple[Path, str]] = []
    for path in sorted(set(ndjson)):
        resource_type = type_of_file(path)
        size = path.stat().st_size
        if resource_type == SHARED_TYPE:
            medications.append(NdjsonFile(len(medications), path, resource_type, size))
        elif resource_type is not None and resource_type not in wanted:
            skipped.append((path, resource_type))
        else:
            charts.append(NdjsonFile(len(charts), path, resource_type, size))
    return SourcePlan(
        tuple(charts), tuple(medications), tuple(sorted(set(bundles))), tuple(skipped)
    )


def type_of_file(path: Path) -> str | None:
    """The resource type a file holds: from its name, else from its first line."""
    match = _TYPE_FROM_NAME.match(path.name)
    if match:
        return match.group(1)
    with open_lines(path) as stream:
        for raw in stream:
            if raw.strip():
                try:
                    first = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return None
                kind = first.get("resourceType") if isinstance(first, dict) else None
                return kind if isinstance(kind, str) else None
    return None


def open_lines(path: Path) -> BinaryIO:
    """The file as a binary stream of lines, gunzipped if it is `.gz`."""
    if path.name.endswith(".gz"):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


@dataclass(frozen=True)
class Chunk:
    """A byte range of an NDJSON file: the lines that start within [start, end). A
    compressed file is one chunk (it cannot be entered in the middle)."""

    file: int
    index: int  # within the file
    start: int
    end: int | None  # None: to the end of the file


def chunks_of(plan: SourcePlan, chunk_bytes: int) -> list[Chunk]:
    """Every chart file cut into chunks of about `chunk_bytes`, so one large file (an export's
    Observations) is read by every worker, not one."""
    found: list[Chunk] = []
    for file in plan.chart_files:
        if file.compressed or file.size <= chunk_bytes:
            found.append(Chunk(file.index, 0, 0, None))
            continue
        starts = range(0, file.size, chunk_bytes)
        found += [
            Chunk(file.index, i, start, min(start + chunk_bytes, file.size))
            for i, start in enumerate(starts)
        ]
    return found


def read_chunk(path: Path, chunk: Chunk) -> Iterator[list[bytes]]:
    """Every line that starts in the chunk, without its end of line, blank ones included (they
    count in line numbers), in blocks: lists of consecutive lines, read and split a block of
    bytes at a time (a line at a time costs several times more)."""
    with open_lines(path) as stream:
        if chunk.start > 0:
            # The line holding byte start-1 belongs to the previous chunk; skip past its end.
            stream.seek(chunk.start - 1)
            stream.readline()
        remaining = None if chunk.end is None else chunk.end - stream.tell()
        carry = b""
        while remaining is None or remaining > 0:
            block = stream.read(READ_BYTES if remaining is None else min(READ_BYTES, remaining))
            if not block:
                break
            if remaining is not None:
                remaining -= len(block)
            text = carry + block
            lines = text.split(b"\n")
            carry = lines.pop()  # the last line may continue in the next block
            yield _without_cr(lines) if b"\r" in text else lines
        if carry:
            if chunk.end is not None:  # it started in this chunk: it ends in the next one
                carry += stream.readline().rstrip(b"\n")
            yield _without_cr([carry])


def _without_cr(lines: list[bytes]) -> list[bytes]:
    """Lines ended by CR LF lose the CR too (as Spark's reader drops it)."""
    return [line.removesuffix(b"\r") for line in lines]


def read_medications(plan: SourcePlan) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """Every Medication of the export, by "Medication/<id>"; bad lines become problems."""
    medications: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for file in plan.medication_files:
        with open_lines(file.path) as stream:
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                try:
                    resource = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    problems.append(
                        Problem(str(file.path), number, f"not valid JSON ({exc}): skipped")
                    )
                    continue
                rid = resource.get("id") if isinstance(resource, dict) else None
                if not isinstance(resource, dict) or resource.get("resourceType") != SHARED_TYPE:
                    problems.append(Problem(str(file.path), number, "not a Medication: skipped"))
                elif not isinstance(rid, str):
                    problems.append(Problem(str(file.path), number, "Medication without id"))
                else:
                    medications.setdefault(f"Medication/{rid}", resource)
    return medications, problems


def read_bundle(path: Path) -> tuple[Any, str | None]:
    """A Bundle file's JSON, or None and why it cannot be read."""
    try:
        return orjson.loads(path.read_bytes()), None
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc}): skipped"
    except orjson.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc}): skipped"


def cores() -> int:
    """The cores this process may run on (a container's share, not the host's count)."""
    return len(os.sched_getaffinity(0))
