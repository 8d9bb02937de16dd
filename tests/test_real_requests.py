"""Requests real CDS clients sent, and 90 real-shaped patient records, through the service.

- shared/external/cds-hooks-requests: the AHRQ CQL Services test requests and the requests the
  CDS Hooks sandbox built (captured against a loopback FHIR server serving the Synthea bundles
  on 127.0.0.1:8090). Their fhirServer is rewritten to our loopback FHIR server, which serves
  the same bundles: the sandbox patient is there, the AHRQ patients are not (empty searchsets,
  the realistic partial-prefetch case). With the FHIR server unreachable, a request whose
  prefetch lacks keys gets a 200 naming the rules not evaluated or, when no rule can run
  without those keys (or the Patient is among them), a 412; never a 500.
- shared/external/synthea/bundles: each of the 90 bundles as a patient-view request, prefetch
  filled from the service's templates by `cds.replay.hook_request.build_hook_request`.

Answers are validated with the wire models (`cds.cdshooks.CdsResponse`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.cdshooks import CdsResponse, FeedbackRequest, HookRequest
from cds.fhir.access import FhirAccess
from cds.fhir.bundles import entry_resources
from cds.fhir.client import FhirClient
from cds.fhir.gather import split_prefetch
from cds.fhir.local_search import patient_id_of
from cds.fhir.prefetch import context_tokens, render
from cds.fhirtime import parse_datetime
from cds.pipeline import RULES_NOT_EVALUATED_EXTENSION, Engine
from cds.replay.hook_request import build_hook_request
from cds.service_call import call_service
from cds.settings import Settings
from tests.support.fhir_server import FhirTestServer
from tests.support.paths import CDS_REQUESTS
from tests.support.synthea import SANDBOX_PATIENT, draft_furosemide

SERVICE_FOR_HOOK = {
    "patient-view": "leg-pain-patient-view",
    "order-select": "leg-pain-order-select",
}
REQUEST_FILES = sorted(
    [
        p
        for p in (CDS_REQUESTS / "ahrq-cql-services-examples").glob("*.json")
        if p.name != "feedback.json"
    ]
    + list((CDS_REQUESTS / "sandbox-captured").glob("*.request.json"))
)
FEEDBACK_FILE = CDS_REQUESTS / "ahrq-cql-services-examples" / "feedback.json"
REPLAY_NAMESPACE = uuid.UUID("2b0c5d55-7f5e-4f7c-9d43-5b8a8d7b6f11")


# A loopback base nothing listens on (connection refused), for the whole module.
CLOSED_URL = FhirTestServer.closed_url()


@pytest.fixture(scope="module")
def api(
    engine: Engine,
    tmp_path_factory: pytest.TempPathFactory,
    synthea_fhir_server: FhirTestServer,
) -> Iterator[TestClient]:
    """JWT off, the loopback FHIR servers listed (a loopback server is contacted only when
    listed)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path_factory.mktemp('db') / 'cds.db'}",
        fhir_timeout_seconds=5.0,
        allowed_fhir_servers=[synthea_fhir_server.base, CLOSED_URL],
    )
    with TestClient(create_app(settings, engine=engine, store=MemoryAuditStore())) as client:
        yield client


def _load(path: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return body


def _valid_answer(response: Any) -> CdsResponse:
    assert response.status_code == 200, response.text
    body = response.json()
    parsed = CdsResponse.model_validate(body)
    assert parsed.to_wire() == body  # nothing the wire model would have omitted or added
    return parsed


def _missing_keys(engine: Engine, service_id: str, body: dict[str, Any]) -> list[str]:
    templates = engine.services[service_id].prefetch
    return list(split_prefetch(templates, HookRequest.model_validate(body))[1].to_fetch)


# ---------------------------------------------------------------------------------------------
# Requests real clients sent


def test_the_request_files_are_all_there() -> None:
    names = [p.name for p in REQUEST_FILES]
    assert len([n for n in names if n.endswith(".request.json")]) == 4
    assert len(names) == 9


@pytest.mark.parametrize("path", REQUEST_FILES, ids=lambda p: p.stem)
def test_real_request_gets_a_valid_answer(
    api: TestClient, engine: Engine, fhir_server: FhirTestServer, path: Path
) -> None:
    body = _load(path)
    service_id = SERVICE_FOR_HOOK[body["hook"]]
    body["fhirServer"] = fhir_server.base
    missing = _missing_keys(engine, service_id, body)
    response = api.post(f"/cds-services/{service_id}", json=body)
    _valid_answer(response)
    # What was absent was fetched, and only that, each with the service's own template.
    tokens = context_tokens(body["context"])
    templates = engine.services[service_id].prefetch
    expected = sorted(
        (path_, parse_qsl(query))
        for path_, _, query in (render(templates[k], tokens).partition("?") for k in missing)
    )
    assert sorted((r.fhir_path, parse_qsl(r.query)) for r in fhir_server.requests) == expected


def test_the_sandbox_patient_is_read_from_the_fhir_server(
    api: TestClient, engine: Engine, fhir_server: FhirTestServer
) -> None:
    """The order-select capture carries no prefetch at all: everything comes over HTTP."""
    body = _load(CDS_REQUESTS / "sandbox-captured" / "order-select--cms-price-check.request.json")
    assert "prefetch" not in body
    body["fhirServer"] = fhir_server.base
    _valid_answer(api.post("/cds-services/leg-pain-order-select", json=body))
    templates = engine.services["leg-pain-order-select"].prefetch
    tokens = context_tokens(body["context"])
    assert sorted(r.fhir_path for r in fhir_server.requests) == sorted(
        render(t, tokens).partition("?")[0] for t in templates.values()
    )
    assert f"Patient/{SANDBOX_PATIENT}" in {r.fhir_path for r in fhir_server.requests}
    served = fhir_server.data.by_patient
    assert served[("Condition", SANDBOX_PATIENT)], "the Synthea bundles are loaded"


@pytest.mark.parametrize("path", REQUEST_FILES, ids=lambda p: p.stem)
def test_real_request_with_the_fhir_server_unreachable_is_412_or_200_never_500(
    api: TestClient, engine: Engine, path: Path
) -> None:
    body = _load(path)
    service_id = SERVICE_FOR_HOOK[body["hook"]]
    body["fhirServer"] = CLOSED_URL
    missing = _missing_keys(engine, service_id, body)
    response = api.post(f"/cds-services/{service_id}", json=body)
    if not missing:
        _valid_answer(response)  # a complete prefetch needs no FHIR server
        return
    rules = engine.services[service_id].rules
    stopped = [
        rule.id
        for rule in rules
        if any(r.essential and r.resource_type in missing for r in rule.requires)
    ]
    if "Patient" in missing or len(stopped) == len(rules):
        assert response.status_code == 412, response.text
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert sorted(i["expression"][0] for i in outcome["issue"]) == sorted(
            f"prefetch.{k}" for k in missing
        )
        assert all("could not be reached" in i["diagnostics"] for i in outcome["issue"])
        assert all("unreachable" in i["diagnostics"] for i in outcome["issue"])
        return
    _valid_answer(response)
    entries = response.json()["extension"][RULES_NOT_EVALUATED_EXTENSION]
    assert [e["rule"] for e in entries] == stopped
    for entry in entries:
        assert {m["reason"] for m in entry["missing"]} == {"unreachable"}
        assert {m["prefetchKey"] for m in entry["missing"]} <= set(missing)


def test_the_real_requests_are_partial_prefetch(engine: Engine) -> None:
    """None of the real files carries every key this service asks for: the fallback is the
    common case, not a corner case."""
    for path in REQUEST_FILES:
        body = _load(path)
        assert _missing_keys(engine, SERVICE_FOR_HOOK[body["hook"]], body), path.name


@pytest.mark.parametrize("path", REQUEST_FILES, ids=lambda p: p.stem)
def test_real_request_completed_with_nulls_needs_no_fhir_server(
    api: TestClient, engine: Engine, path: Path
) -> None:
    """The same requests with every missing key sent as null ("no data"): 200, no fetch."""
    body = _load(path)
    service_id = SERVICE_FOR_HOOK[body["hook"]]
    body["fhirServer"] = CLOSED_URL
    body["prefetch"] = {
        **body.get("prefetch", {}),
        **dict.fromkeys(_missing_keys(engine, service_id, body)),
    }
    _valid_answer(api.post(f"/cds-services/{service_id}", json=body))


def test_ahrq_feedback_is_accepted_by_every_service(api: TestClient, engine: Engine) -> None:
    feedback = _load(FEEDBACK_FILE)
    FeedbackRequest.model_validate(feedback)
    for service_id in engine.services:
        response = api.post(f"/cds-services/{service_id}/feedback", json=feedback)
        assert response.status_code == 200, response.text
        assert sum(response.json().values()) == len(feedback["feedback"])


# ---------------------------------------------------------------------------------------------
# The 90 Synthea patients


def _hook_instance(stem: str) -> str:
    return str(uuid.uuid5(REPLAY_NAMESPACE, stem))


def test_every_synthea_patient_gets_a_valid_patient_view_answer(
    api: TestClient, engine: Engine, synthea_bundles: dict[str, dict[str, Any]]
) -> None:
    service = engine.services["leg-pain-patient-view"]
    started = time.perf_counter()
    cards: dict[str, int] = {}
    for stem, bundle in synthea_bundles.items():
        body = build_hook_request(bundle, service, hook_instance=_hook_instance(stem))
        assert set(body["prefetch"]) == set(service.prefetch)
        assert body["context"]["patientId"] == patient_id_of(bundle)
        response = api.post(f"/cds-services/{service.id}", json=body)
        cards[stem] = len(_valid_answer(response).cards)
    assert len(cards) == 90
    assert time.perf_counter() - started < 20


def test_prefetch_built_locally_equals_what_the_fhir_server_returns(
    api: TestClient,
    engine: Engine,
    fhir_server: FhirTestServer,
    synthea_bundles: dict[str, dict[str, Any]],
) -> None:
    """`build_hook_request` and a FHIR server answer the templates alike: the same request
    without prefetch, fetched over HTTP, gives the same answer, card uuids included."""
    service = engine.services["leg-pain-patient-view"]
    for stem, bundle in list(synthea_bundles.items())[::9]:  # every 9th: ten patients
        body = build_hook_request(bundle, service, hook_instance=_hook_instance(stem))
        with_prefetch = api.post(f"/cds-services/{service.id}", json=body)
        fetched_body = {
            **{k: v for k, v in body.items() if k != "prefetch"},
            "fhirServer": fhir_server.base,
        }
        fetched = api.post(f"/cds-services/{service.id}", json=fetched_body)
        assert _valid_answer(fetched).to_wire() == _valid_answer(with_prefetch).to_wire(), stem
        # Same resources, entry by entry.
        queries = {
            k: render(t, context_tokens(body["context"])) for k, t in service.prefetch.items()
        }
        served = asyncio.run(_read_all(fhir_server.base, queries))
        for key in service.prefetch:
            assert _ids(served[key]) == _ids(body["prefetch"][key]), (stem, key)


async def _read_all(base: str, queries: dict[str, str]) -> dict[str, Any]:
    async with FhirClient(
        base,
        access_token=None,
        timeout_seconds=10,
        max_pages=100,
        max_resources=100_000,
        max_bytes=64 * 1024 * 1024,
    ) as client:
        return {key: await client.read(query) for key, query in queries.items()}


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    return sorted(f"{r['resourceType']}/{r['id']}" for r in entry_resources(value))


def test_every_synthea_patient_in_process_at_the_date_of_their_record(
    engine: Engine, synthea_bundles: dict[str, dict[str, Any]]
) -> None:
    """The same path at each record's own date (the last encounter), so date windows see data:
    every answer is valid, for patient-view (all 90) and order-sign with a drafted furosemide."""

    fhir = FhirAccess.from_settings(Settings())  # the bodies name no fhirServer: never used

    async def run() -> None:
        for index, (stem, bundle) in enumerate(synthea_bundles.items()):
            as_of = _record_date(bundle) + timedelta(days=1)
            calls: list[tuple[str, Any]] = [("leg-pain-patient-view", None)]
            if index % 3 == 0:  # a third of them again as order-sign, to keep the file fast
                calls.append(("leg-pain-order-sign", [draft_furosemide(patient_id_of(bundle))]))
            for service_id, drafts in calls:
                service = engine.services[service_id]
                body = build_hook_request(
                    bundle, service, hook_instance=_hook_instance(stem), draft_orders=drafts
                )
                result = await call_service(engine, service, body, as_of=as_of, fhir=fhir)
                assert CdsResponse.model_validate(result.wire).to_wire() == result.wire
                assert not result.evaluation.rule_errors, (stem, result.evaluation.rule_errors)

    asyncio.run(run())


def _record_date(bundle: dict[str, Any]) -> Any:
    dates = [
        parse_datetime((r.get("period") or {}).get("start"))
        for r in entry_resources(bundle)
        if r.get("resourceType") == "Encounter"
    ]
    return max(d for d in dates if d is not None)
