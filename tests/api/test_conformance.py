"""CDS Hooks 2.0 conformance of the service: one test per requirement of
shared/docs/cds-hooks-2.0.md §1 that concerns a service, plus the Inferno Da Vinci CRD test kit's
card and discovery checks (§5), ported: `cards_validation.rb`, `suggestion_actions_validation.rb`,
`server_tests/discovery_services_validation_test.rb` (inferno-framework/davinci-crd-test-kit).

fhir.resources (R4B, wire-compatible with R4 here) validates the resources of `create` actions;
it is imported in the tests only, never on the request path.

§1's 412 ("unable to obtain required data") is read rule by rule: data is required of a call
when no pinned rule can run without it, or it is the Patient; data only some rules need gives a
200 naming the rules not evaluated (docs/architecture.md, "Partial data").
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.cards import RULE_EXTENSION
from cds.facts import Facts
from cds.pipeline import RULESET_EXTENSION, Engine
from cds.replay.hook_request import build_hook_request
from cds.rules.base import Finding, Provenance, RuleLogic, RuleVersion
from cds.settings import Settings
from tests.support.paths import HOOKS

SERVICE_FOR_HOOK = {
    "patient-view": "leg-pain-patient-view",
    "order-select": "leg-pain-order-select",
    "order-sign": "leg-pain-order-sign",
}
PATIENT_VIEW = SERVICE_FOR_HOOK["patient-view"]
ORDER_SELECT = SERVICE_FOR_HOOK["order-select"]
ORDER_SIGN = SERVICE_FOR_HOOK["order-sign"]
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
MAX_BODY = 64 * 1024
ORIGIN = "https://ehr.example.org"
NOW = datetime.now(UTC)  # the route judges at its own clock: data is dated relative to now


# ---------------------------------------------------------------------------------------------
# Data: a patient whose potassium is low, on furosemide (or about to be)

PID = "conformance-patient"


def _ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": PID,
    "gender": "male",
    "birthDate": "1948-07-01",
}
LOW_K: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "conformance-k",
    "status": "final",
    "code": {"coding": [{"system": LOINC, "code": "2823-3", "display": "Potassium"}]},
    "subject": {"reference": f"Patient/{PID}"},
    "effectiveDateTime": _ago(7),
    "valueQuantity": {
        "value": 3.1,
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    },
}
FUROSEMIDE = {
    "coding": [{"system": RXNORM, "code": "4603", "display": "furosemide"}],
    "text": "Furosemide 40 MG Oral Tablet",
}


def _medication_request(rid: str, status: str, **medication: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "authoredOn": _ago(0 if status == "draft" else 30),
        **(medication or {"medicationCodeableConcept": FUROSEMIDE}),
    }


ACTIVE_FUROSEMIDE = _medication_request("conformance-mr", "active")
DRAFT_FUROSEMIDE = _medication_request("draft-furosemide", "draft")
DRAFT_OTHER = _medication_request(
    "draft-other",
    "draft",
    medicationCodeableConcept={
        "coding": [{"system": RXNORM, "code": "161", "display": "acetaminophen"}]
    },
)


def _bundle(resources: list[dict[str, Any]], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def request_for(
    engine: Engine,
    service_id: str,
    *,
    resources: list[dict[str, Any]] | None = None,
    drafts: list[dict[str, Any]] | None = None,
    hook_instance: str | None = None,
) -> dict[str, Any]:
    """A valid request for the service, prefetch filled from `resources`."""
    return build_hook_request(
        _bundle(resources if resources is not None else [PATIENT, LOW_K, ACTIVE_FUROSEMIDE]),
        engine.services[service_id],
        hook_instance=hook_instance or str(uuid.uuid4()),
        draft_orders=drafts if drafts is not None else [DRAFT_FUROSEMIDE],
    )


# ---------------------------------------------------------------------------------------------
# The app under test


def _app(engine: Engine, store: MemoryAuditStore, tmp_path: Any, **overrides: Any) -> TestClient:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'cds.db'}",
        "max_body_bytes": MAX_BODY,
        "cors_origins": ["*"],
        # Nothing in these tests may reach the network: every fhirServer is off this list.
        "allowed_fhir_servers": ["https://fhir.invalid/never"],
        **overrides,
    }
    app = create_app(Settings(**values), engine=engine, store=store)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def store() -> MemoryAuditStore:
    return MemoryAuditStore()


@pytest.fixture
def api(engine: Engine, store: MemoryAuditStore, tmp_path: Any) -> Iterator[TestClient]:
    with _app(engine, store, tmp_path) as client:
        yield client


def _error(response: Any) -> str:
    message: str = response.json()["error"]["message"]
    return message


# ---------------------------------------------------------------------------------------------
# Checks on a response body: the spec (§1 Response) and the CRD kit (cards_validation.rb)


def empty_values(value: Any, path: str = "") -> list[str]:
    """Paths of null, "", [] or {} anywhere in a JSON value (the spec: MUST omit)."""
    found: list[str] = []
    if value is None or value in ("", [], {}):
        return [path or "(root)"]
    if isinstance(value, dict):
        for key, item in value.items():
            found += empty_values(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += empty_values(item, f"{path}[{index}]")
    return found


def _absolute_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def crd_card_errors(card: Any) -> list[str]:
    """The Inferno CRD kit's card checks (cards_validation.rb, suggestion_actions_validation.rb)."""
    errors: list[str] = []

    def need(obj: Any, field: str, kind: type, where: str) -> None:
        if not isinstance(obj, dict) or field not in obj:
            errors.append(f"{where}: missing {field}")
        elif not isinstance(obj[field], kind):
            errors.append(f"{where}: {field} is not {kind.__name__}")

    required: tuple[tuple[str, type], ...] = (
        ("summary", str),
        ("indicator", str),
        ("source", dict),
    )
    for field, kind in required:
        need(card, field, kind, "Card")
    if isinstance(card.get("summary"), str) and len(card["summary"]) >= 140:
        errors.append("Card: summary is 140 characters or more")
    if card.get("indicator") not in ("info", "warning", "critical"):
        errors.append(f"Card: indicator {card.get('indicator')!r}")
    source = card.get("source")
    if isinstance(source, dict):
        need(source, "label", str, "Source")
        need(source, "topic", dict, "Source")
        if isinstance(source.get("topic"), dict):
            need(source["topic"], "code", str, "Source topic")
            need(source["topic"], "system", str, "Source topic")
    optional: dict[str, type] = {
        "uuid": str,
        "detail": str,
        "suggestions": list,
        "overrideReasons": list,
        "links": list,
    }
    for field, expected in optional.items():
        if field in card and not isinstance(card[field], expected):
            errors.append(f"Card: {field} is not {expected.__name__}")
    if card.get("suggestions"):
        if card.get("selectionBehavior") not in ("at-most-one", "any"):
            errors.append("Card: selectionBehavior missing or invalid with suggestions")
        for suggestion in card["suggestions"]:
            need(suggestion, "label", str, "Suggestion")
            actions = suggestion.get("actions")
            if actions is None:
                continue
            if not isinstance(actions, list) or not actions:
                errors.append("Suggestion: actions must be a non-empty array")
                continue
            for action in actions:
                need(action, "type", str, "Action")
                need(action, "description", str, "Action")
                kind_ = action.get("type")
                if kind_ not in ("create", "update", "delete"):
                    errors.append(f"Action: type {kind_!r}")
                elif kind_ in ("create", "update"):
                    errors += fhir_resource_errors(action.get("resource"), f"{kind_} Action")
                elif not isinstance(action.get("resourceId"), list):
                    errors.append("delete Action: resourceId must be an array")
    for reason in card.get("overrideReasons") or []:
        for field in ("code", "system", "display"):
            need(reason, field, str, "OverrideReason Coding")
    for link in card.get("links") or []:
        need(link, "label", str, "Link")
        need(link, "type", str, "Link")
        if not _absolute_url(link.get("url")):
            errors.append("Link: url is not an absolute URL")
        if link.get("type") not in ("absolute", "smart"):
            errors.append(f"Link: type {link.get('type')!r}")
        elif link["type"] == "absolute" and link.get("appContext"):
            errors.append("Link: appContext on an absolute link")
    return errors


def fhir_resource_errors(resource: Any, where: str) -> list[str]:
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return [f"{where}: resource is not a FHIR resource"]
    try:
        model = get_fhir_model_class(resource["resourceType"])
        model.model_validate(resource)
    except Exception as exc:
        return [f"{where}: invalid {resource['resourceType']}: {str(exc)[:300]}"]
    return []


def response_errors(engine: Engine, service_id: str, body: Any) -> list[str]:
    """Everything the spec and the CRD kit ask of a service response, as a list of problems."""
    errors: list[str] = []
    if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
        return ["response: no cards array"]
    errors += [
        f"response: unknown field {k}"
        for k in body
        if k not in ("cards", "systemActions", "extension")
    ]
    errors += [
        f"empty value at {p}" for p in empty_values({k: v for k, v in body.items() if k != "cards"})
    ]
    for index, card in enumerate(body["cards"]):
        errors += [f"cards[{index}].{p}" for p in empty_values(card)]
        errors += [f"cards[{index}]: {e}" for e in crd_card_errors(card)]
    service = engine.services[service_id]
    pinned = {rule.id: rule.version for rule in service.rules}
    release = engine.registry.release.version
    if not isinstance(body.get("extension"), dict):  # "MUST be a pre-coordinated JSON object"
        return [*errors, "response: extension is not a JSON object"]
    if body["extension"].get(RULESET_EXTENSION) != release:
        errors.append("response: extension does not carry the ruleset release")
    uuids: list[str] = []
    for card in body["cards"]:
        uuids.append(card.get("uuid", ""))
        rule = card.get("extension", {}).get(RULE_EXTENSION, {})
        topic = card.get("source", {}).get("topic", {})
        if topic.get("code") != rule.get("id") or rule.get("id") not in pinned:
            errors.append(f"card {card.get('uuid')}: source.topic.code is not a pinned rule id")
        elif rule.get("version") != pinned[rule["id"]]:
            errors.append(f"card {card.get('uuid')}: rule version is not the pinned one")
        if rule.get("ruleset") != release:
            errors.append(f"card {card.get('uuid')}: card does not carry the ruleset release")
        for field in ("url", "icon"):
            if field in card["source"] and not _absolute_url(card["source"][field]):
                errors.append(f"card {card.get('uuid')}: source.{field} is not absolute")
        for suggestion in card.get("suggestions", []):
            uuids.append(suggestion.get("uuid", ""))
    if not all(_is_uuid(u) for u in uuids) or len(set(uuids)) != len(uuids):
        errors.append("cards and suggestions need distinct uuids (feedback refers to them)")
    return errors


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _topics(response: Any) -> list[str]:
    return [c["source"]["topic"]["code"] for c in response.json()["cards"]]


def _post(api: TestClient, service_id: str, body: Any) -> Any:
    return api.post(f"/cds-services/{service_id}", json=body)


# ---------------------------------------------------------------------------------------------
# General: JSON


def test_every_answer_is_json(api: TestClient, engine: Engine) -> None:
    answers = [
        api.get("/cds-services"),
        _post(api, PATIENT_VIEW, request_for(engine, PATIENT_VIEW)),
        _post(api, PATIENT_VIEW, {"hook": "patient-view"}),
        _post(api, "no-such-service", {}),
        api.post(f"/cds-services/{PATIENT_VIEW}/feedback", json={"feedback": []}),
    ]
    for response in answers:
        assert response.headers["content-type"].startswith("application/json"), response
        json.loads(response.content)


# ---------------------------------------------------------------------------------------------
# Discovery


def test_discovery_is_at_cds_services_with_a_services_list(api: TestClient) -> None:
    response = api.get("/cds-services")
    assert response.status_code == 200
    assert isinstance(response.json()["services"], list)
    assert response.json()["services"]


def test_discovery_describes_each_service_with_the_required_fields(api: TestClient) -> None:
    for service in api.get("/cds-services").json()["services"]:
        # CRD kit discovery_services_validation_test.rb: hook, description, id are strings.
        for field in ("hook", "description", "id", "title"):
            assert isinstance(service.get(field), str), (field, service)
            assert service[field], (field, service)
        assert set(service) <= {
            "hook",
            "title",
            "description",
            "id",
            "prefetch",
            "usageRequirements",
        }
        assert isinstance(service.get("prefetch", {}), dict)
        assert all(isinstance(v, str) for v in service.get("prefetch", {}).values())
        assert isinstance(service.get("usageRequirements", ""), str)
        assert not empty_values(service)


def test_discovery_lists_one_service_per_hooks_file(api: TestClient) -> None:
    files = {json.loads(p.read_text("utf-8"))["id"]: p for p in HOOKS.glob("*.json")}
    services = api.get("/cds-services").json()["services"]
    assert sorted(s["id"] for s in services) == sorted(files)
    for service in services:
        assert service["hook"] == json.loads(files[service["id"]].read_text("utf-8"))["hook"]


def test_each_discovered_service_lives_at_cds_services_id(api: TestClient, engine: Engine) -> None:
    for service in api.get("/cds-services").json()["services"]:
        response = _post(api, service["id"], request_for(engine, service["id"]))
        assert response.status_code == 200, (service["id"], response.text)


def test_discovery_without_services_is_an_empty_list(
    engine: Engine, store: MemoryAuditStore, tmp_path: Any
) -> None:
    with _app(dataclasses.replace(engine, services={}), store, tmp_path) as api:
        response = api.get("/cds-services")
    assert response.status_code == 200
    assert response.json() == {"services": []}


# The 2.0 query subset: instance reads; type searches with token (optionally :in), date (with
# eq|lt|gt|ge|le), `_count` and `_sort` parameters. Tokens: context.<root primitive field>.
TOKEN_PARAMETERS = {
    "patient",
    "subject",
    "code",
    "status",
    "clinical-status",
    "category",
    "encounter",
}
DATE_PARAMETERS = {"date", "authoredon", "onset-date", "recorded-date"}
CONTEXT_TOKENS = {"context.userId", "context.patientId", "context.encounterId"}
USER_TOKENS = {
    "userPractitionerId",
    "userPractitionerRoleId",
    "userPatientId",
    "userRelatedPersonId",
}


def prefetch_template_errors(template: str) -> list[str]:
    errors = []
    for token in re.findall(r"\{\{(.*?)\}\}", template):
        if token.strip() not in CONTEXT_TOKENS | USER_TOKENS:
            errors.append(f"token {{{{{token}}}}} is not allowed")
    if re.search(r"\{\{|\}\}", re.sub(r"\{\{[^{}]*\}\}", "", template)):
        errors.append("unbalanced token delimiters")
    path, _, query = template.partition("?")
    segments = path.split("/")
    if not re.fullmatch(r"[A-Z][A-Za-z]+", segments[0]):
        errors.append(f"{segments[0]!r} is not a resource type")
    if len(segments) == 2 and query:
        errors.append("an instance read takes no parameters")
    if len(segments) > 2:
        errors.append("only instance reads and type-level searches are allowed")
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        base, _, modifier = name.partition(":")
        if base in ("_count",):
            if not value.isdigit():
                errors.append("_count must be a number")
        elif base == "_sort":
            if not re.fullmatch(r"-?[a-z-]+", value):
                errors.append(f"bad _sort {value!r}")
        elif base in TOKEN_PARAMETERS:
            if modifier not in ("", "in"):
                errors.append(f"modifier :{modifier} is not allowed")
        elif base in DATE_PARAMETERS:
            if modifier or not re.fullmatch(r"(eq|lt|gt|ge|le)?\S+", value):
                errors.append(f"bad date search {part!r}")
        else:
            errors.append(f"parameter {name!r} is outside the 2.0 prefetch subset")
    return errors


def test_prefetch_templates_use_only_allowed_tokens_and_queries(api: TestClient) -> None:
    for service in api.get("/cds-services").json()["services"]:
        for key, template in service.get("prefetch", {}).items():
            assert not prefetch_template_errors(template), (service["id"], key, template)


def test_the_prefetch_template_checker_catches_violations() -> None:
    assert prefetch_template_errors("Observation?patient={{Patient.id}}")
    assert prefetch_template_errors("Observation?patient={{context.draftOrders}}")
    assert prefetch_template_errors("Observation?patient={{context.patientId}}&_include=x")
    assert prefetch_template_errors("Observation?subject.name=x")
    assert prefetch_template_errors("Observation?code:text=x")
    assert prefetch_template_errors("Patient/{{context.patientId}}/_history")
    assert not prefetch_template_errors(
        "Observation?patient={{context.patientId}}&code:in=http://x&_sort=-date&_count=1"
    )


# ---------------------------------------------------------------------------------------------
# Service call request: validation (400 with an explanation, never a 500)


@pytest.mark.parametrize("field", ["hook", "hookInstance", "context"])
def test_a_missing_required_field_is_a_400_naming_it(
    api: TestClient, engine: Engine, field: str
) -> None:
    body = request_for(engine, PATIENT_VIEW)
    del body[field]
    response = _post(api, PATIENT_VIEW, body)
    assert response.status_code == 400
    assert field in _error(response)


@pytest.mark.parametrize("value", ["not-a-uuid", "", 42, None, "d1577c69-dfbe-44ad-ba6d"])
def test_a_hook_instance_that_is_not_a_uuid_is_a_400(
    api: TestClient, engine: Engine, value: Any
) -> None:
    body = request_for(engine, PATIENT_VIEW)
    body["hookInstance"] = value
    response = _post(api, PATIENT_VIEW, body)
    assert response.status_code == 400
    assert "hookInstance" in _error(response)


FHIR_AUTHORIZATION = {
    "access_token": "some-opaque-token",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/Observation.read patient/Condition.read",
    "subject": "legpain-cds",
    "patient": PID,
}


def test_fhir_authorization_without_fhir_server_is_a_400(api: TestClient, engine: Engine) -> None:
    body = request_for(engine, PATIENT_VIEW)
    body["fhirAuthorization"] = FHIR_AUTHORIZATION
    response = _post(api, PATIENT_VIEW, body)
    assert response.status_code == 400
    assert "fhirServer" in _error(response)
    assert FHIR_AUTHORIZATION["access_token"] not in response.text


@pytest.mark.parametrize("field", ["access_token", "token_type", "expires_in", "scope", "subject"])
def test_fhir_authorization_missing_a_required_field_is_a_400(
    api: TestClient, engine: Engine, field: str
) -> None:
    body = request_for(engine, PATIENT_VIEW)
    body["fhirServer"] = "https://fhir.invalid/never"
    body["fhirAuthorization"] = {k: v for k, v in FHIR_AUTHORIZATION.items() if k != field}
    response = _post(api, PATIENT_VIEW, body)
    assert response.status_code == 400
    assert f"fhirAuthorization.{field}" in _error(response)
    assert FHIR_AUTHORIZATION["access_token"] not in response.text


def test_fhir_authorization_token_type_must_be_bearer(api: TestClient, engine: Engine) -> None:
    body = request_for(engine, PATIENT_VIEW)
    body["fhirServer"] = "https://fhir.invalid/never"
    body["fhirAuthorization"] = {**FHIR_AUTHORIZATION, "token_type": "MAC"}
    response = _post(api, PATIENT_VIEW, body)
    assert response.status_code == 400
    assert "token_type" in _error(response)


def test_fhir_authorization_patient_is_optional(api: TestClient, engine: Engine) -> None:
    body = request_for(engine, PATIENT_VIEW)
    body["fhirServer"] = "https://fhir.invalid/never"
    body["fhirAuthorization"] = {k: v for k, v in FHIR_AUTHORIZATION.items() if k != "patient"}
    assert _post(api, PATIENT_VIEW, body).status_code == 200  # full prefetch: no fetch


@pytest.mark.parametrize(
    ("service_id", "hook"), [(PATIENT_VIEW, "order-sign"), (ORDER_SELECT, "patient-view")]
)
def test_the_wrong_hook_for_the_service_is_a_400(
    api: TestClient, engine: Engine, service_id: str, hook: str
) -> None:
    body = request_for(engine, service_id)
    body["hook"] = hook
    response = _post(api, service_id, body)
    assert response.status_code == 400
    assert hook in _error(response)


def test_an_unknown_service_is_a_404(api: TestClient, engine: Engine) -> None:
    response = _post(api, "no-such-service", request_for(engine, PATIENT_VIEW))
    assert response.status_code == 404
    assert "no-such-service" in _error(response)
    assert api.post("/cds-services/no-such-service/feedback", json={}).status_code == 404


@pytest.mark.parametrize(
    "raw",
    [b"{", b"{'hook': 1}", b"\xff\xfe", b"", b"NaN", b'{"hook": "patient-view",}', b"[" * 5000],
    ids=["truncated", "single-quotes", "not-utf8", "empty", "nan", "trailing-comma", "deep"],
)
def test_malformed_json_is_a_400(api: TestClient, raw: bytes) -> None:
    for path in (f"/cds-services/{PATIENT_VIEW}", f"/cds-services/{PATIENT_VIEW}/feedback"):
        response = api.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        assert _error(response)


@pytest.mark.parametrize(
    "body", [[], "patient-view", 1, None, True], ids=["list", "str", "int", "null", "bool"]
)
def test_a_body_that_is_not_an_object_is_a_400(api: TestClient, body: Any) -> None:
    for path in (f"/cds-services/{PATIENT_VIEW}", f"/cds-services/{PATIENT_VIEW}/feedback"):
        response = api.post(
            path, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert "object" in _error(response)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_body_is_a_413(api: TestClient, engine: Engine, chunked: bool) -> None:
    body = request_for(engine, PATIENT_VIEW)
    body["extension"] = {"padding": "x" * (MAX_BODY + 1)}
    raw = json.dumps(body).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 8192):
            yield raw[start : start + 8192]

    for path in (f"/cds-services/{PATIENT_VIEW}", f"/cds-services/{PATIENT_VIEW}/feedback"):
        if chunked:
            response = api.post(
                path, content=chunks(), headers={"Content-Type": "application/json"}
            )
        else:
            response = api.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.text)
        assert str(MAX_BODY) in _error(response)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda b: b["context"].pop("patientId"), "patientId"),
        (lambda b: b["context"].pop("userId"), "userId"),
        (lambda b: b["context"].update(patientId=7), "patientId"),
        (lambda b: b.update(context=[]), "context"),
        (lambda b: b.update(prefetch=[]), "prefetch"),
        (lambda b: b.update(hook=""), "hook"),
    ],
    ids=[
        "no-patientId",
        "no-userId",
        "patientId-not-string",
        "context-list",
        "prefetch-list",
        "empty-hook",
    ],
)
def test_an_invalid_context_or_prefetch_is_a_400(
    api: TestClient, engine: Engine, mutate: Any, needle: str
) -> None:
    body = request_for(engine, PATIENT_VIEW)
    mutate(body)
    response = _post(api, PATIENT_VIEW, body)
    assert response.status_code == 400
    assert needle in _error(response)


@pytest.mark.parametrize(
    ("service_id", "mutate", "needle"),
    [
        (ORDER_SELECT, lambda c: c.pop("draftOrders"), "draftOrders"),
        (ORDER_SELECT, lambda c: c.update(draftOrders=[]), "draftOrders"),
        (ORDER_SELECT, lambda c: c.pop("selections"), "selections"),
        (ORDER_SELECT, lambda c: c.update(selections="MedicationRequest/x"), "selections"),
        (ORDER_SIGN, lambda c: c.pop("draftOrders"), "draftOrders"),
        (
            ORDER_SIGN,
            lambda c: c.update(draftOrders={"resourceType": "MedicationRequest"}),
            "draftOrders",
        ),
    ],
)
def test_order_hooks_need_their_context(
    api: TestClient, engine: Engine, service_id: str, mutate: Any, needle: str
) -> None:
    body = request_for(engine, service_id)
    mutate(body["context"])
    response = _post(api, service_id, body)
    assert response.status_code == 400
    assert needle in _error(response)


def test_other_methods_and_paths_are_4xx_not_500(api: TestClient) -> None:
    assert api.get(f"/cds-services/{PATIENT_VIEW}").status_code == 405
    assert api.put("/cds-services").status_code == 405
    assert api.get("/no-such-path").status_code == 404


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=JSON_VALUES)
def test_never_a_500_for_arbitrary_json(api: TestClient, body: Any) -> None:
    for path in (f"/cds-services/{PATIENT_VIEW}", f"/cds-services/{PATIENT_VIEW}/feedback"):
        response = api.post(
            path, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text


def test_a_broken_rule_costs_its_own_card_never_the_answer(
    engine: Engine, store: MemoryAuditStore, tmp_path: Any
) -> None:
    @dataclasses.dataclass(frozen=True)
    class Raises(RuleLogic):
        def evaluate(self, facts: Facts) -> Finding | None:
            raise RuntimeError("bug in a rule")

    @dataclasses.dataclass(frozen=True)
    class TooLong(RuleLogic):
        def evaluate(self, facts: Facts) -> Finding | None:
            return Finding(
                severity="warning",
                summary="x" * 200,
                explanation="A summary over the limit.",
                specificity=50,
            )

    @dataclasses.dataclass(frozen=True)
    class NotAFinding(RuleLogic):
        def evaluate(self, facts: Facts) -> Finding | None:
            return "a card, surely"  # type: ignore[return-value]

    provenance = Provenance(
        guideline="test", url="https://example.org", released="2026-11-21", changes="-"
    )
    broken = tuple(
        RuleVersion(
            id=rule_id,
            version="1.0.0",
            title=rule_id,
            severities=("warning",),
            logic=logic,
            requires=(),
            valuesets=(),
            terminology="2026.11",
            provenance=provenance,
        )
        for rule_id, logic in (
            ("raises", Raises()),
            ("too-long", TooLong()),
            ("not-a-finding", NotAFinding()),
        )
    )
    service = engine.services[PATIENT_VIEW]
    patched = dataclasses.replace(
        engine,
        services={
            **engine.services,
            PATIENT_VIEW: dataclasses.replace(service, rules=(*service.rules, *broken)),
        },
    )
    with _app(patched, store, tmp_path) as api:
        response = _post(api, PATIENT_VIEW, request_for(engine, PATIENT_VIEW))
    assert response.status_code == 200, response.text
    assert "diuretic-electrolytes" in _topics(response)
    errors = response.json()["extension"]["legpain-cds-rule-errors"]
    assert sorted(errors) == ["not-a-finding@1.0.0", "raises@1.0.0", "too-long@1.0.0"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), hook=st.sampled_from(sorted(SERVICE_FOR_HOOK)), replacement=JSON_VALUES)
def test_never_a_500_for_a_valid_request_with_one_part_replaced(
    api: TestClient, engine: Engine, data: st.DataObject, hook: str, replacement: Any
) -> None:
    service_id = SERVICE_FOR_HOOK[hook]
    body = request_for(engine, service_id, hook_instance="0e3b6c1e-4f7a-4a43-9d55-2f5d1c9b8a71")
    path = data.draw(st.sampled_from(_paths(body)))
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = replacement
    response = _post(api, service_id, body)
    assert response.status_code in (200, 400, 412), response.text
    if response.status_code == 200:
        assert not response_errors(engine, service_id, response.json())


# ---------------------------------------------------------------------------------------------
# Response


@pytest.fixture
def answers(api: TestClient, engine: Engine) -> dict[str, Any]:
    """One answer per service, each with a card (the diuretic rule), validated below."""
    out = {}
    for service_id in SERVICE_FOR_HOOK.values():
        resources = [PATIENT, LOW_K] if service_id != PATIENT_VIEW else None
        response = _post(api, service_id, request_for(engine, service_id, resources=resources))
        assert response.status_code == 200, response.text
        out[service_id] = response.json()
    return out


def test_the_answer_is_200_with_a_cards_array(answers: dict[str, Any]) -> None:
    for body in answers.values():
        assert isinstance(body["cards"], list)
        assert body["cards"], "these requests are built to produce a card"


def test_no_card_answer_is_cards_empty(api: TestClient, engine: Engine) -> None:
    response = _post(api, PATIENT_VIEW, request_for(engine, PATIENT_VIEW, resources=[PATIENT]))
    assert response.status_code == 200
    assert response.json()["cards"] == []
    assert not response_errors(engine, PATIENT_VIEW, response.json())


def test_answers_meet_the_spec_and_the_crd_card_checks(
    engine: Engine, answers: dict[str, Any]
) -> None:
    for service_id, body in answers.items():
        assert response_errors(engine, service_id, body) == [], service_id


def test_no_null_or_empty_values_anywhere(answers: dict[str, Any]) -> None:
    for body in answers.values():
        assert empty_values(body) == []


def test_summary_is_under_140_characters(answers: dict[str, Any]) -> None:
    for body in answers.values():
        assert all(len(card["summary"]) < 140 for card in body["cards"])


def test_indicator_is_info_warning_or_critical(answers: dict[str, Any]) -> None:
    for body in answers.values():
        assert {card["indicator"] for card in body["cards"]} <= {"info", "warning", "critical"}


def test_source_has_a_label_and_the_rule_as_topic(answers: dict[str, Any]) -> None:
    for body in answers.values():
        for card in body["cards"]:
            assert card["source"]["label"]
            assert card["source"]["topic"]["code"] == card["extension"][RULE_EXTENSION]["id"]
            assert card["source"]["topic"]["system"]


def test_each_card_carries_its_rule_version_and_the_answer_its_ruleset(
    engine: Engine, answers: dict[str, Any]
) -> None:
    for service_id, body in answers.items():
        pinned = json.loads((HOOKS / f"{service_id}.json").read_text("utf-8"))["rules"]
        assert body["extension"][RULESET_EXTENSION] == engine.registry.release.version
        for card in body["cards"]:
            rule = card["extension"][RULE_EXTENSION]
            assert rule["version"] == pinned[rule["id"]]
            assert rule["ruleset"] == engine.registry.release.version


def test_suggestions_come_with_selection_behavior(answers: dict[str, Any]) -> None:
    seen = 0
    for body in answers.values():
        for card in body["cards"]:
            if card.get("suggestions"):
                seen += 1
                assert card["selectionBehavior"] in ("at-most-one", "any")
    assert seen


def test_actions_have_type_and_description_and_create_a_valid_fhir_resource(
    answers: dict[str, Any],
) -> None:
    actions = [
        action
        for body in answers.values()
        for card in body["cards"]
        for suggestion in card.get("suggestions", [])
        for action in suggestion.get("actions", [])
    ]
    assert actions
    for action in actions:
        assert action["type"] in ("create", "update", "delete")
        assert action["description"]
        if action["type"] == "create":
            assert action["resource"]["resourceType"] == "ServiceRequest"
            assert fhir_resource_errors(action["resource"], "create") == []
            assert action["resource"]["subject"] == {"reference": f"Patient/{PID}"}


def test_override_reasons_each_have_a_display(answers: dict[str, Any]) -> None:
    reasons = [
        r for body in answers.values() for c in body["cards"] for r in c.get("overrideReasons", [])
    ]
    assert reasons
    for reason in reasons:
        assert reason["code"]
        assert reason["system"]
        assert reason["display"]


def test_cards_carry_no_links_and_the_link_checks_would_catch_a_bad_one(
    answers: dict[str, Any],
) -> None:
    """The service shows no links (cds.cdshooks.Card has none), so the spec's link rules apply
    to nothing it answers today. The CRD checks that would judge links are held here on cards
    made from a real one, so that links added later cannot slip past them."""
    cards = [card for body in answers.values() for card in body["cards"]]
    assert cards
    assert not any("links" in card for card in cards)
    card = cards[0]
    assert crd_card_errors(card) == []
    good = {"label": "Guideline", "url": "https://example.org/guideline", "type": "absolute"}
    assert crd_card_errors({**card, "links": [good]}) == []
    bad = [
        {"label": "Relative", "url": "/guideline", "type": "absolute"},
        {"label": "Context", "url": "https://example.org/a", "type": "absolute", "appContext": "x"},
        {"label": "Kind", "url": "https://example.org/b", "type": "other"},
        {"url": "https://example.org/c", "type": "smart"},
    ]
    assert crd_card_errors({**card, "links": bad}) == [
        "Link: url is not an absolute URL",
        "Link: appContext on an absolute link",
        "Link: type 'other'",
        "Link: missing label",
    ]


def test_detail_is_markdown_text(answers: dict[str, Any]) -> None:
    for body in answers.values():
        for card in body["cards"]:
            assert isinstance(card.get("detail", ""), str)
            assert "<script" not in card.get("detail", "").lower()


def test_card_uuids_are_deterministic(api: TestClient, engine: Engine) -> None:
    instance = str(uuid.uuid4())
    first = _post(
        api, PATIENT_VIEW, request_for(engine, PATIENT_VIEW, hook_instance=instance)
    ).json()
    again = _post(
        api, PATIENT_VIEW, request_for(engine, PATIENT_VIEW, hook_instance=instance)
    ).json()
    other = _post(api, PATIENT_VIEW, request_for(engine, PATIENT_VIEW)).json()

    def ids(body: dict[str, Any]) -> list[str]:
        return [c["uuid"] for c in body["cards"]] + [
            s["uuid"] for c in body["cards"] for s in c.get("suggestions", [])
        ]

    assert ids(first)
    assert ids(first) == ids(again)
    assert not set(ids(first)) & set(ids(other))


# ---------------------------------------------------------------------------------------------
# The mature order hooks: order-select (draftOrders + selections) and order-sign


def test_order_select_judges_the_selected_draft(api: TestClient, engine: Engine) -> None:
    body = request_for(
        engine, ORDER_SELECT, resources=[PATIENT, LOW_K], drafts=[DRAFT_FUROSEMIDE, DRAFT_OTHER]
    )
    assert body["context"]["selections"] == [
        "MedicationRequest/draft-furosemide",
        "MedicationRequest/draft-other",
    ]
    response = _post(api, ORDER_SELECT, body)
    assert response.status_code == 200
    cards = {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}
    assert "ordered" in cards["diuretic-electrolytes"]["summary"]
    # Only the selected orders count: with furosemide drafted but not selected, no card.
    body["context"]["selections"] = ["MedicationRequest/draft-other"]
    response = _post(api, ORDER_SELECT, body)
    assert response.status_code == 200
    assert "diuretic-electrolytes" not in _topics(response)


def test_order_sign_judges_every_draft(api: TestClient, engine: Engine) -> None:
    body = request_for(
        engine, ORDER_SIGN, resources=[PATIENT, LOW_K], drafts=[DRAFT_OTHER, DRAFT_FUROSEMIDE]
    )
    assert "selections" not in body["context"]
    response = _post(api, ORDER_SIGN, body)
    assert response.status_code == 200
    assert "diuretic-electrolytes" in _topics(response)
    assert not response_errors(engine, ORDER_SIGN, response.json())


def test_a_draft_referencing_a_medication_in_draft_orders_is_resolved(
    api: TestClient, engine: Engine
) -> None:
    medication = {"resourceType": "Medication", "id": "draft-med", "code": FUROSEMIDE}
    draft = _medication_request(
        "draft-by-reference", "draft", medicationReference={"reference": "Medication/draft-med"}
    )
    body = request_for(engine, ORDER_SIGN, resources=[PATIENT, LOW_K], drafts=[draft, medication])
    response = _post(api, ORDER_SIGN, body)
    assert response.status_code == 200, response.text
    assert "diuretic-electrolytes" in _topics(response)
    assert "extension" not in response.json() or not any(
        "Medication" in w for w in response.json()["extension"].get("legpain-cds-data-warnings", [])
    )


# ---------------------------------------------------------------------------------------------
# Feedback


def _feedback(card: str, **item: Any) -> dict[str, Any]:
    return {
        "feedback": [
            {
                "card": card,
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-21T10:05:31Z",
                **item,
            }
        ]
    }


@pytest.fixture
def issued(api: TestClient, engine: Engine) -> dict[str, Any]:
    response = _post(api, PATIENT_VIEW, request_for(engine, PATIENT_VIEW))
    card: dict[str, Any] = response.json()["cards"][0]
    return card


def test_valid_feedback_is_200(
    api: TestClient, issued: dict[str, Any], store: MemoryAuditStore
) -> None:
    accepted = {
        "card": issued["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": issued["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2026-11-21T10:05:31Z",
    }
    reason = issued["overrideReasons"][0]
    overridden = {
        "card": issued["uuid"],
        "outcome": "overridden",
        "overrideReason": {
            "reason": {"system": reason["system"], "code": reason["code"]},
            "userComment": "ok",
        },
        "outcomeTimestamp": "2026-11-21T10:06:00+01:00",
    }
    response = api.post(
        f"/cds-services/{PATIENT_VIEW}/feedback", json={"feedback": [accepted, overridden]}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 2, "duplicates": 0}
    assert len(store.feedback) == 2


def test_feedback_accepted_without_accepted_suggestions_is_400(
    api: TestClient, issued: dict[str, Any]
) -> None:
    response = api.post(
        f"/cds-services/{PATIENT_VIEW}/feedback", json=_feedback(issued["uuid"], outcome="accepted")
    )
    assert response.status_code == 400
    assert "acceptedSuggestions" in _error(response)


@pytest.mark.parametrize("outcome", ["ignored", "", None, "ACCEPTED"])
def test_feedback_with_a_bad_outcome_is_400(
    api: TestClient, issued: dict[str, Any], outcome: Any
) -> None:
    response = api.post(
        f"/cds-services/{PATIENT_VIEW}/feedback", json=_feedback(issued["uuid"], outcome=outcome)
    )
    assert response.status_code == 400
    assert "outcome" in _error(response)


@pytest.mark.parametrize("stamp", ["2026-11-21T10:05:31", "2026-11-21", "yesterday", None])
def test_feedback_timestamp_without_offset_is_400(
    api: TestClient, issued: dict[str, Any], stamp: Any
) -> None:
    response = api.post(
        f"/cds-services/{PATIENT_VIEW}/feedback",
        json=_feedback(issued["uuid"], outcomeTimestamp=stamp),
    )
    assert response.status_code == 400
    assert "outcomeTimestamp" in _error(response)


@pytest.mark.parametrize(
    "body",
    [{}, {"feedback": []}, {"feedback": [{}]}, {"feedback": {"card": "x"}}],
    ids=["no-feedback", "empty", "empty-item", "not-a-list"],
)
def test_feedback_without_items_is_400(api: TestClient, body: Any) -> None:
    response = api.post(f"/cds-services/{PATIENT_VIEW}/feedback", json=body)
    assert response.status_code == 400


def test_feedback_for_an_unknown_service_is_404(api: TestClient, issued: dict[str, Any]) -> None:
    response = api.post("/cds-services/no-such-service/feedback", json=_feedback(issued["uuid"]))
    assert response.status_code == 404


def test_the_same_feedback_twice_is_stored_once(
    api: TestClient, issued: dict[str, Any], store: MemoryAuditStore
) -> None:
    body = _feedback(issued["uuid"])
    first = api.post(f"/cds-services/{PATIENT_VIEW}/feedback", json=body)
    second = api.post(f"/cds-services/{PATIENT_VIEW}/feedback", json=body)
    assert first.json() == {"stored": 1, "duplicates": 0}
    assert second.status_code == 200
    assert second.json() == {"stored": 0, "duplicates": 1}
    assert len(store.feedback) == 1


# ---------------------------------------------------------------------------------------------
# CORS


@pytest.mark.parametrize(
    "path",
    ["/cds-services", f"/cds-services/{PATIENT_VIEW}", f"/cds-services/{PATIENT_VIEW}/feedback"],
)
def test_cors_preflight_succeeds(api: TestClient, path: str) -> None:
    response = api.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET" if path == "/cds-services" else "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status_code in (200, 204), response.text
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type"} <= allowed
    methods = response.headers["access-control-allow-methods"]
    assert ("GET" if path == "/cds-services" else "POST") in methods


def test_cors_headers_on_actual_answers(
    api: TestClient, engine: Engine, issued: dict[str, Any]
) -> None:
    headers = {"Origin": ORIGIN}
    answers = [
        api.get("/cds-services", headers=headers),
        api.post(
            f"/cds-services/{PATIENT_VIEW}", json=request_for(engine, PATIENT_VIEW), headers=headers
        ),
        api.post(
            f"/cds-services/{PATIENT_VIEW}/feedback",
            json=_feedback(issued["uuid"]),
            headers=headers,
        ),
        api.post(f"/cds-services/{PATIENT_VIEW}", json={}, headers=headers),  # 400
        api.post(
            f"/cds-services/{PATIENT_VIEW}",
            json={k: v for k, v in request_for(engine, PATIENT_VIEW).items() if k != "prefetch"},
            headers=headers,
        ),  # 412
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 400, 412]
    for answer in answers:
        assert answer.headers["access-control-allow-origin"] in ("*", ORIGIN)


# ---------------------------------------------------------------------------------------------
# 412


def test_missing_data_is_a_412_with_an_operation_outcome(api: TestClient, engine: Engine) -> None:
    """The spec's "unable to obtain required data ... SHALL respond with an HTTP 412": data is
    required when no pinned rule can run without it, or it is the Patient (a key only some
    rules need stops those, and the others answer: tests/test_partial_data.py)."""
    keys = list(request_for(engine, PATIENT_VIEW)["prefetch"])
    for missing in ([k for k in keys if k != "Patient"], ["Patient"]):
        body = request_for(engine, PATIENT_VIEW)
        for key in missing:
            del body["prefetch"][key]
        response = _post(api, PATIENT_VIEW, body)
        assert response.status_code == 412
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        expressions = sorted(e for i in outcome["issue"] for e in i["expression"])
        assert expressions == sorted(f"prefetch.{key}" for key in missing)
        assert fhir_resource_errors(outcome, "412") == []


def test_data_only_some_rules_need_is_a_200_naming_the_rules_not_evaluated(
    api: TestClient, engine: Engine
) -> None:
    """Data that only some rules need is not "required data" of the call: the others answer,
    and the response's extension names the rules not evaluated and why."""
    body = request_for(engine, PATIENT_VIEW)
    del body["prefetch"]["FamilyMemberHistory"]
    response = _post(api, PATIENT_VIEW, body)
    assert response.status_code == 200, response.text
    assert "diuretic-electrolytes" in _topics(response)
    assert not response_errors(engine, PATIENT_VIEW, response.json())
    entries = response.json()["extension"]["legpain-cds-rules-not-evaluated"]
    readers = [
        r.id
        for r in engine.services[PATIENT_VIEW].rules
        if any(q.resource_type == "FamilyMemberHistory" for q in r.requires)
    ]
    assert [e["rule"] for e in entries] == readers
    assert all(
        e["missing"]
        == [
            {
                "prefetchKey": "FamilyMemberHistory",
                "resourceType": "FamilyMemberHistory",
                "reason": "not-sent",
            }
        ]
        for e in entries
    )
