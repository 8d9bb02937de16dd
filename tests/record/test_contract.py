"""The record builder keeps its contract: what every entry field holds, on the frozen corpus, at
every terminology release (cds/record/contract.py). A released rule version's fingerprint holds
the contract hashes of the fields it reads, so a builder change that alters one of those fields
would change released behaviour: this names the versions it would touch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from cds.record import PatientRecord, RecordBuilder
from cds.record.contract import field_hashes, load_contract
from cds.rules.registry import load_registry, released_parts
from cds.terminology import Terminology, terminology_releases
from tests.support.record_corpus import corpus_records


def readers(field: str, release: str) -> list[str]:
    """The released rule versions whose fingerprint holds `field` at `release`."""
    part = f"record:{field}@{release}"
    return sorted(
        key for key in load_registry().released.rules if part in (released_parts(key) or {})
    )


def explain(release: str, now: Mapping[str, str], pinned: Mapping[str, str]) -> list[str]:
    lines = []
    for field in sorted(set(now) | set(pinned)):
        if field not in pinned:
            lines.append(f"{release} {field}: new field; add it with tools/record_contract.py")
        elif now.get(field) != pinned[field]:
            who = readers(field, release)
            lines.append(
                f"{release} {field}: the builder's output changed; released versions reading it: "
                + (", ".join(who) or "none (update the contract with tools/record_contract.py)")
            )
    return lines


@pytest.mark.parametrize("release", terminology_releases())
def test_the_builder_keeps_the_record_contract(release: str) -> None:
    builder = RecordBuilder(Terminology.load(release))
    now = field_hashes(corpus_records(builder))
    pinned = load_contract().get(release, {})
    assert not explain(release, now, pinned)


class _ComparatorBlindBuilder(RecordBuilder):
    """A builder that forgets a result's comparator: '<2.5' read as '2.5'."""

    def build(self, *args: Any, **kwargs: Any) -> PatientRecord:
        record = super().build(*args, **kwargs)
        record.labs = {
            analyte: [replace(e, comparator=None) for e in entries]
            for analyte, entries in record.labs.items()
        }
        return record


def test_a_builder_change_names_the_field_and_the_versions_reading_it() -> None:
    release = terminology_releases()[0]
    builder = _ComparatorBlindBuilder(Terminology.load(release))
    now = field_hashes(corpus_records(builder))
    lines = explain(release, now, load_contract()[release])
    assert len(lines) == 1
    assert lines[0].startswith(
        f"{release} PatientRecord.labs.comparator: the builder's output changed"
    )
    assert "diuretic-electrolytes@1.0.0" in lines[0]
