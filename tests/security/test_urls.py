"""The FHIR server allow-list match (cds.security.urls): a prefix that must end on a path
boundary, on the same origin."""

from __future__ import annotations

import pytest

from cds.security.urls import url_within


@pytest.mark.parametrize(
    ("url", "prefix", "allowed"),
    [
        ("https://ehr.example.org/fhir", "https://ehr.example.org/fhir", True),
        ("https://ehr.example.org/fhir", "https://ehr.example.org/fhir/", True),
        ("https://ehr.example.org/fhir/r4", "https://ehr.example.org/fhir", True),
        ("https://EHR.example.org/fhir", "https://ehr.example.org/fhir", True),
        ("https://ehr.example.org:443/fhir", "https://ehr.example.org/fhir", True),
        ("https://ehr.example.org", "https://ehr.example.org", True),
        ("https://ehr.example.org/anything", "https://ehr.example.org", True),
        ("https://ehr.example.org.evil.com", "https://ehr.example.org", False),
        ("https://ehr.example.org.evil.com/fhir", "https://ehr.example.org", False),
        ("https://ehr.example.org@evil.com/fhir", "https://ehr.example.org", False),
        ("https://user:pw@ehr.example.org/fhir", "https://ehr.example.org", False),
        ("https://ehr.example.org:8443/fhir", "https://ehr.example.org", False),
        ("http://ehr.example.org/fhir", "https://ehr.example.org", False),
        ("https://ehr.example.org/fhirx", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir/../admin", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir/%2e%2e/admin", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir%2f..%2fadmin", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir?x=1", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir#x", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org\\@evil.com/fhir", "https://ehr.example.org", False),
        ("https://ehr.example.org:notaport/fhir", "https://ehr.example.org", False),
        ("ftp://ehr.example.org/fhir", "ftp://ehr.example.org", False),
    ],
)
def test_fhir_server_prefix_matches_on_a_boundary(url: str, prefix: str, allowed: bool) -> None:
    assert url_within(url, prefix) is allowed
