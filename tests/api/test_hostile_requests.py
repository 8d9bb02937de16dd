"""Request bodies that are costly to walk, sent to a real `cds serve` worker: refused before the
work (413), in bounded time, the worker's RSS rising no more than RSS_BOUND_MIB. (The body's
own size is bounded by CDS_MAX_BODY_BYTES: it is parsed whole before any count.)"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from cds.audit.database import upgrade
from tests.support.databases import sqlite_url
from tests.support.served import Service, peak_rss_growth, running_service

RSS_BOUND_MIB = 150
ANSWER_WITHIN_SECONDS = 10  # generous on a busy machine: never a hang


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("hostile-requests")
    database = sqlite_url(directory)
    upgrade(database)
    with running_service(directory, database_url=database) as served:
        yield served


def order_sign(orders: int) -> dict[str, Any]:
    drafts = [
        {
            "resource": {
                "resourceType": "MedicationRequest",
                "id": f"draft-{i}",
                "status": "draft",
                "intent": "order",
                "subject": {"reference": "Patient/patient-1"},
                "medicationCodeableConcept": {"text": "furosemide 40 mg"},
            }
        }
        for i in range(orders)
    ]
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/1",
            "patientId": "patient-1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": drafts},
        },
        "prefetch": {},
    }


def test_fifty_thousand_drafted_orders_are_refused_before_any_work(service: Service) -> None:
    """They held a worker's event loop for 1.1 s, every call's answer waiting behind them."""
    body = orjson.dumps(order_sign(50_000))
    started = time.monotonic()
    with peak_rss_growth(service.process.pid) as growth:
        response = httpx.post(
            f"{service.url}/cds-services/leg-pain-order-sign",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=ANSWER_WITHIN_SECONDS,
        )
    assert response.status_code == 413, response.text
    assert "CDS_MAX_DRAFT_ORDERS" in response.text
    assert time.monotonic() - started < ANSWER_WITHIN_SECONDS
    assert growth[0] < RSS_BOUND_MIB, f"the worker grew by {growth[0]:.0f} MiB"
