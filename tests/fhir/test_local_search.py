"""The local FHIR search (cds.fhir.local_search): a patient's Bundle answering the prefetch
queries as a FHIR server holding it would. What it answers is compared with a real loopback FHIR
server's answers in tests/test_real_requests.py."""

from __future__ import annotations

from typing import Any

import pytest

from cds.errors import UnsupportedTemplate
from cds.fhir.local_search import LocalSearch, patient_id_of
from tests.support.synthea import SANDBOX_PATIENT


@pytest.fixture(scope="module")
def sandbox_patient(synthea_bundles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return next(b for b in synthea_bundles.values() if patient_id_of(b) == SANDBOX_PATIENT)


def test_a_nested_bundle_is_a_resource_of_its_own_not_its_contents() -> None:
    """As a FHIR server stores a collection: an entry that is a Bundle is one Bundle resource."""
    inner = {
        "resourceType": "Bundle",
        "id": "b",
        "entry": [{"resource": {"resourceType": "Patient", "id": "x"}}],
    }
    search = LocalSearch(
        {
            "resourceType": "Bundle",
            "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}, {"resource": inner}],
        }
    )
    assert search.answer("Patient/p") == {"resourceType": "Patient", "id": "p"}
    assert search.answer("Patient/x") is None
    assert search.answer("Bundle/b") == inner


def test_a_read_of_an_id_that_is_not_a_fhir_id_finds_nothing() -> None:
    search = LocalSearch(
        {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]}
    )
    assert search.answer("Patient/p%2F..") is None


@pytest.mark.parametrize(
    "query",
    [
        "Observation?code:in=http://vs",
        "Observation?_include=Observation:subject",
        "Encounter?code=x",
        "Observation?date=ge2020",
    ],
)
def test_what_it_cannot_answer_faithfully_is_refused(
    sandbox_patient: dict[str, Any], query: str
) -> None:
    with pytest.raises(UnsupportedTemplate):
        LocalSearch(sandbox_patient).answer(query)


def test_the_patient_filter_reads_the_index_first_and_the_resources_after() -> None:
    """`patient=` is answered from the per-type index of whom each resource is about; the same
    filter later in a query (after `status`) is applied to what is left, with the same result.
    fullUrl references of a transaction resolve in both."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "p"}},
            {"resource": {"resourceType": "Patient", "id": "q"}},
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c1",
                    "subject": {"reference": "urn:uuid:1"},
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c2",
                    "subject": {"reference": "Patient/q"},
                }
            },
            {"resource": {"resourceType": "Condition", "id": "c3"}},
        ],
    }
    search = LocalSearch(bundle)
    assert search.patient_id == "p"
    for query in ("Condition?patient=p", "Condition?_count=5&subject=Patient/p"):
        found = search.answer(query)
        assert found is not None
        assert [e["resource"]["id"] for e in found["entry"]] == ["c1"]
        assert found["entry"][0]["resource"]["subject"] == {"reference": "Patient/p"}
    found = search.answer("Condition?patient=q")
    assert found is not None
    assert [e["resource"]["id"] for e in found["entry"]] == ["c2"]


def test_a_bundle_without_a_patient_is_refused_when_its_patient_is_asked_for() -> None:
    search = LocalSearch({"resourceType": "Bundle", "entry": [{"resource": {"id": "x"}}]})
    with pytest.raises(ValueError, match="no Patient"):
        _ = search.patient_id
    assert search.answer("Condition?patient=p") == {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 0,
        "entry": [],
    }
