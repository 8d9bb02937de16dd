"""The FHIR read client (cds.fhir.client): its bounds against a real loopback FHIR server."""

from __future__ import annotations

import json
import uuid

from tests.support.security import SERVICE_PATH, Harness, full_prefetch, serve_fhir


def test_fhir_pages_fetched_are_bounded(harness: Harness) -> None:
    serve_fhir(harness.ehr, harness.engine)
    next_url = f"{harness.ehr.url}/fhir/Condition?page=next"

    def endless(_: str) -> tuple[int, bytes, dict[str, str]]:
        page = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": {"resourceType": "Condition", "id": str(uuid.uuid4())}}],
            "link": [{"relation": "next", "url": next_url}],
        }
        return 200, json.dumps(page).encode(), {}

    harness.ehr.routes["/fhir/Condition"].handler = endless
    client = harness.client(harness.settings(jwt_required=False, fhir_max_pages=3))
    prefetch = full_prefetch(harness.engine)
    del prefetch["Condition"]
    body = harness.hook_request(prefetch=prefetch, fhirServer=f"{harness.ehr.url}/fhir")
    response = client.post(SERVICE_PATH, json=body)
    assert response.status_code == 200, response.text
    assert harness.ehr.hit_count("/fhir/Condition") == 3
