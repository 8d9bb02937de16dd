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
