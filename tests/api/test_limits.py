"""Request bounds (cds.api.limits): the body's size, the prefetch's resource count, and JSON
that is hostile to parse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cds.api.limits import count_prefetch_resources
from tests.support.security import SERVICE_PATH, Harness, full_prefetch

ORDER_SIGN = "leg-pain-order-sign"


def test_a_body_over_the_limit_is_413(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False, max_body_bytes=4096))
    big = harness.hook_request(extension={"padding": "x" * 10_000})
    assert client.post(SERVICE_PATH, json=big).status_code == 413


def test_a_chunked_body_over_the_limit_is_413(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False, max_body_bytes=4096))
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        # No Content-Length: the limit must hold while reading, not only when it is declared.
        yield b'{"hook": "patient-view", "padding": "'
        for _ in range(100):
            sent.append(1)
            yield b"x" * 1024
        yield b'"}'

    response = client.post(
        SERVICE_PATH, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "4096" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"hook":"patient-view","context":' + b"[" * 2000 + b"]" * 2000 + b"}",
    ],
    ids=["array bomb", "object bomb", "nested in a field"],
)
def test_json_nesting_bombs_are_400(harness: Harness, raw: bytes) -> None:
    client = harness.client(harness.settings(jwt_required=False))
    response = client.post(SERVICE_PATH, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize("where", ["context", "prefetch", "extension"])
def test_deep_but_parseable_json_is_not_a_5xx(harness: Harness, where: str) -> None:
    # ~980 levels: under orjson's parse limit (1024), past Python's recursion limit (1000).
    deep = '{"x":[' * 490 + '"leaf"' + "]}" * 490
    body = harness.hook_request()
    if where == "context":
        body["context"] = {**body["context"], "deep": "DEEP"}
    elif where == "prefetch":
        body["prefetch"] = {
            **body["prefetch"],
            "Condition": {"resourceType": "Bundle", "entry": ["DEEP"]},
        }
    else:
        body["extension"] = {"deep": "DEEP"}
    raw = json.dumps(body).replace('"DEEP"', deep).encode()
    client = harness.client(harness.settings(jwt_required=False))
    response = client.post(SERVICE_PATH, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text


def test_too_many_prefetch_resources_is_413_with_an_explanation(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False, max_prefetch_resources=5))
    prefetch = full_prefetch(harness.engine)
    key = next(k for k, v in prefetch.items() if v["resourceType"] == "Bundle")
    prefetch[key] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Condition", "id": str(i)}} for i in range(10)],
    }
    response = client.post(SERVICE_PATH, json=harness.hook_request(prefetch=prefetch))
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert "CDS_MAX_PREFETCH_RESOURCES" in message
    assert "at most 5" in message


def test_prefetch_resources_are_counted_through_nested_bundles() -> None:
    nested: dict[str, Any] = {"resourceType": "Patient", "id": "p"}
    for _ in range(500):  # deeper than the Python stack would allow recursively
        nested = {"resourceType": "Bundle", "entry": [{"resource": nested}]}
    # One per entry, at every depth: 500 entries (the last one holding the Patient).
    assert count_prefetch_resources({"a": nested, "b": None, "c": "junk"}) == 500
    assert count_prefetch_resources(None) == 0


def test_each_bundle_entry_counts_once() -> None:
    entries = [{"resource": {"resourceType": "Observation", "id": str(i)}} for i in range(25_000)]
    searchset = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    prefetch = {"Observation": searchset, "Patient": {"resourceType": "Patient", "id": "p"}}
    assert count_prefetch_resources(prefetch) == 25_001


def test_a_prefetch_of_exactly_the_bound_is_accepted(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False, max_prefetch_resources=12))
    prefetch = full_prefetch(harness.engine)
    key = next(k for k, v in prefetch.items() if v["resourceType"] == "Bundle")
    others = sum(1 for v in prefetch.values() if v["resourceType"] != "Bundle")
    prefetch[key] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": {"resourceType": "Condition", "id": str(i), "subject": {}}}
            for i in range(12 - others)
        ],
    }
    response = client.post(SERVICE_PATH, json=harness.hook_request(prefetch=prefetch))
    assert response.status_code == 200, response.text


def order_sign_request(harness: Harness, orders: int) -> dict[str, Any]:
    templates = harness.engine.services[ORDER_SIGN].prefetch
    drafts = [
        {
            "resourceType": "MedicationRequest",
            "id": f"draft-{i}",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/patient-1"},
            "medicationCodeableConcept": {"text": "furosemide 40 mg"},
        }
        for i in range(orders)
    ]
    return harness.hook_request(
        hook="order-sign",
        context={
            "userId": "Practitioner/1",
            "patientId": "patient-1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": d} for d in drafts],
            },
        },
        prefetch={k: v for k, v in full_prefetch(harness.engine).items() if k in templates},
    )


def test_too_many_draft_orders_is_413_before_any_work(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False, max_draft_orders=10))
    path = f"/cds-services/{ORDER_SIGN}"
    assert client.post(path, json=order_sign_request(harness, 10)).status_code == 200
    response = client.post(path, json=order_sign_request(harness, 11))
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert "11 resources" in message
    assert "CDS_MAX_DRAFT_ORDERS" in message
    assert "at most 10" in message
