"""The frozen corpus the record contract is computed on (cds/record/contract.py): the 90 Synthea
patients and the HL7 R4 examples in ../shared, and the fixture records and the unit tests' small
records as they were when the contract began (tests/record/contract_corpus.json.gz). Never
change it: the contract's hashes are of the builder's output on exactly these records."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import orjson

from cds.fhir.bundles import resource_list
from cds.record import PatientRecord, RecordBuilder
from tests.support.paths import HL7_EXAMPLES, REPO, SYNTHEA_BUNDLES

# The fixture records and every small record the unit tests built, frozen when the contract began.
FROZEN_RECORDS = REPO / "tests" / "record" / "contract_corpus.json.gz"


def corpus_records(builder: RecordBuilder) -> Iterator[PatientRecord]:
    """Every corpus record built by `builder`, always in the same order."""
    for path in sorted(SYNTHEA_BUNDLES.glob("*.json")):
        resources = resource_list(orjson.loads(path.read_bytes()))
        patient = next((r.get("id") for r in resources if r.get("resourceType") == "Patient"), None)
        yield builder.build(resources, patient_id=patient if isinstance(patient, str) else None)
    for path in sorted(HL7_EXAMPLES.glob("*.json")):
        yield builder.build(resource_list(orjson.loads(path.read_bytes())))
    items = json.loads(gzip.decompress(FROZEN_RECORDS.read_bytes()))["items"]
    for item in items:
        yield builder.build(
            item["resources"], draft_orders=item["draft_orders"], patient_id=item["patient_id"]
        )
