"""What a sweep reads (cds.sweep.sources): which files, in which order, and chunks that give
every line exactly once with its true line number."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from cds.sweep import sources
from cds.sweep.sources import (
    Chunk,
    SourceError,
    chunks_of,
    plan_sources,
    read_chunk,
    read_medications,
    type_of_file,
)

READ = frozenset({"Observation", "Condition"})


def write(path: Path, lines: list[bytes]) -> Path:
    data = b"".join(line + b"\n" for line in lines)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def test_plan_reads_only_what_the_services_read(tmp_path: Path) -> None:
    write(tmp_path / "Observation-2.ndjson", [b'{"resourceType":"Observation"}'])
    write(tmp_path / "Observation-1.ndjson.gz", [b'{"resourceType":"Observation"}'])
    write(tmp_path / "Patient.ndjson", [b'{"resourceType":"Patient","id":"p"}'])
    write(tmp_path / "Claim.ndjson", [b"{never read"])
    write(tmp_path / "Medication.000.ndjson", [b'{"resourceType":"Medication","id":"m"}'])
    write(tmp_path / "output-7.ndjson", [b'{"resourceType":"Condition"}'])
    (tmp_path / "manifest.json").write_text("{}")

    plan = plan_sources([tmp_path], READ)

    assert [(f.path.name, f.resource_type, f.index) for f in plan.chart_files] == [
        ("Observation-1.ndjson.gz", "Observation", 0),
        ("Observation-2.ndjson", "Observation", 1),
        ("Patient.ndjson", "Patient", 2),
        ("output-7.ndjson", "Condition", 3),  # typed by its first line
    ]
    assert [f.path.name for f in plan.medication_files] == ["Medication.000.ndjson"]
    assert plan.skipped_files == ((tmp_path / "Claim.ndjson", "Claim"),)
    assert plan.bundle_files == ()  # an export: its .json manifest is not a Bundle


def test_a_folder_without_ndjson_is_a_bundle_folder(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    assert plan_sources([tmp_path], READ).bundle_files == (tmp_path / "a.json",)
    with pytest.raises(SourceError, match="nothing to sweep"):
        plan_sources([tmp_path / "a.json", tmp_path / "notes.txt"][1:], READ)
    with pytest.raises(SourceError, match="no such file"):
        plan_sources([tmp_path / "missing"], READ)


@pytest.mark.parametrize("read_bytes", [3, 1 << 20])
def test_chunks_give_every_line_once_with_its_line_number(
    tmp_path: Path, read_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "READ_BYTES", read_bytes)
    lines = [b'{"n":%d,"pad":"%s"}' % (i, b"x" * (i % 13)) for i in range(200)]
    lines[17] = b""  # a blank line still counts
    path = tmp_path / "Observation.ndjson"
    # One line ends in CR LF, and the last has no end of line.
    path.write_bytes(b"\n".join(lines[:50]) + b"\r\n" + b"\n".join(lines[50:]))
    plan = plan_sources([tmp_path], READ)

    for chunk_bytes in (1, 7, 64, 1000, 10**6):
        seen: list[tuple[int, bytes]] = []
        for chunk in chunks_of(plan, chunk_bytes):
            read = [line for block in read_chunk(path, chunk) for line in block]
            seen += [(len(seen) + number + 1, raw) for number, raw in enumerate(read)]
        assert seen == [(i + 1, line) for i, line in enumerate(lines)], chunk_bytes


def test_a_compressed_file_is_one_chunk(tmp_path: Path) -> None:
    path = write(tmp_path / "Observation.ndjson.gz", [b"{}"] * 50)
    plan = plan_sources([tmp_path], READ)
    assert chunks_of(plan, 1) == [Chunk(0, 0, 0, None)]
    assert sum(len(block) for block in read_chunk(path, Chunk(0, 0, 0, None))) == 50
    assert type_of_file(path) == "Observation"


def test_medications_and_their_bad_lines(tmp_path: Path) -> None:
    write(
        tmp_path / "Medication.ndjson",
        [
            b'{"resourceType":"Medication","id":"m1","code":{"text":"a"}}',
            b"{broken",
            b'{"resourceType":"Patient","id":"p"}',
            b"",
            b'{"resourceType":"Medication"}',
        ],
    )
    medications, problems = read_medications(plan_sources([tmp_path], READ))
    assert list(medications) == ["Medication/m1"]
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [
        (2, "not valid JSON"),
        (3, "not a Medication: skipped"),
        (5, "Medication without id"),
    ]
