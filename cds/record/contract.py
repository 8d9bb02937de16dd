"""The record contract: what the record builder's output is, field by field, on a frozen corpus.

A released rule version depends on the record entries' fields it reads (`LabEntry.value`,
`MedicationEntry.end`, ...). What those fields hold is decided by the record builder, which may
be refactored, extended with new fields, or made faster, but must never change what an existing
field holds, at any terminology release a released version reads. So each field's behaviour is
pinned as a hash of its values over a frozen corpus of real records (90 Synthea patients, the
HL7 R4 examples, the fixture records as they were when the contract began): `contract.json`
holds {terminology release: {"PatientRecord.<list>.<field>": hash}}. A rule version's fingerprint
includes the hashes of the fields it reads (`cds.rules.fingerprint`), and the record tests
rebuild the corpus and compare (`tests/record/test_contract.py`), naming the released versions
a change would touch.

Pure: this module hashes records it is given; the corpus is read by the tests and
`tools/record_contract.py`, never by the service.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any

from cds.record.entries import PatientInfo, PatientRecord

CONTRACT_FILE = "contract.json"
_SHORT = 16


def load_contract() -> dict[str, dict[str, str]]:
    """{terminology release: {"PatientRecord.<list>[.<field>]" or "PatientInfo.<field>": hash}}
    as committed."""
    text = resources.files(__package__ or "cds.record").joinpath(CONTRACT_FILE).read_text("utf-8")
    contract: dict[str, dict[str, str]] = json.loads(text)
    return contract


def field_hashes(records: Iterable[PatientRecord]) -> dict[str, str]:
    """The hash of every record field and entry field over `records`, in order.

    `PatientRecord.<list>` is the sequence of entries kept (their references, in order): which
    resources a record keeps is behaviour too. `<Entry>.<field>` is the sequence of that field's
    values over every entry of that type."""
    digests: dict[str, Any] = {}

    def feed(name: str, value: Any) -> None:
        digest = digests.get(name)
        if digest is None:
            digest = digests[name] = hashlib.sha256()
        digest.update(_canonical(value).encode())
        digest.update(b"\n")

    for record in records:
        _feed_entry(feed, "PatientInfo", record.patient)
        feed("PatientRecord.skipped", dict(sorted(record.skipped.items())))
        for f in dataclasses.fields(record):
            value = getattr(record, f.name)
            if f.name in ("patient", "skipped"):
                continue
            if isinstance(value, Mapping):  # labs: analyte -> entries, newest first
                feed(
                    f"PatientRecord.{f.name}",
                    {key: [e.reference for e in entries] for key, entries in sorted(value.items())},
                )
                entries = [e for key in sorted(value) for e in value[key]]
            else:
                feed(f"PatientRecord.{f.name}", [e.reference for e in value])
                entries = list(value)
            for entry in entries:
                _feed_entry(feed, f"PatientRecord.{f.name}", entry)
    return {name: digest.hexdigest()[:_SHORT] for name, digest in sorted(digests.items())}


def _feed_entry(feed: Any, where: str, entry: Any) -> None:
    """Each field of an entry, by where the record holds it ("PatientRecord.labs.value"): a new
    list of entries of an existing type never changes the hashes of the lists already read."""
    for f in dataclasses.fields(entry):
        feed(f"{where}.{f.name}", getattr(entry, f.name))


def _canonical(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


__all__ = ["CONTRACT_FILE", "PatientInfo", "field_hashes", "load_contract"]
