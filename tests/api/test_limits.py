"""Request bounds (cds.api.limits): the body's size, the prefetch's resource count, and JSON
that is hostile to parse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cds.api.limits import count_prefetch_resources
from tests.support.security import SERVICE_PATH, Harness, full_prefetch


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
    assert count_prefetch_resources({"a": nested, "b": None, "c": "junk"}) == 501
    assert count_prefetch_resources(None) == 0
