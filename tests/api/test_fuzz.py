"""Fuzzing the HTTP API from its own OpenAPI schema (schemathesis 4): no input is a 5xx.

Two apps: authentication off, so generated bodies reach parsing, validation, prefetch handling
and evaluation; and authentication on, so generated Authorization headers and bodies meet the
authenticator first. The routes declare their request bodies (`openapi_extra`), so the fuzzer
generates CDS Hooks shapes as well as junk. Bounded by `max_examples` to stay well under a
minute; the number of cases run is written to the terminal at the end of the module.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.hooks import HookContext

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.settings import Settings
from tests.support.jwt_keys import ISSUER, PUBLIC_URL, security_engine

MAX_EXAMPLES = 40  # per operation and phase; the auth-on pass needs fewer (one check first)
SERVICE = "leg-pain-patient-view"
ENGINE = security_engine()
CASES: Counter[str] = Counter()


def _app(*, jwt_required: bool) -> FastAPI:
    config = Settings(
        jwt_required=jwt_required,
        public_url=PUBLIC_URL,
        # Never fetched: a generated token cannot name a trusted issuer and carry a valid
        # signature, so the key set is not reached.
        trusted_issuers={ISSUER: "https://ehr.example.org/.well-known/jwks.json"},
        # Nothing the fuzzer invents is on this list, so no generated fhirServer is contacted.
        allowed_fhir_servers=["https://ehr.invalid/fhir"],
        database_url="sqlite://",
    )
    return create_app(config, engine=ENGINE, store=MemoryAuditStore())


open_schema = schemathesis.openapi.from_asgi("/openapi.json", _app(jwt_required=False))
# A real service id, so generated bodies reach the service logic rather than stopping at 404.
open_schema.config.update(parameters={"path.service_id": SERVICE})


@open_schema.hook("map_body")
def _plausible_half(context: HookContext, body: Any) -> Any:
    """Half the service-call bodies get the right hook and the REQUIRED context ids, so their
    fuzzed prefetch, fhirServer and extension reach gathering and evaluation; half stay raw."""
    operation = context.operation
    if operation is None or not operation.path.endswith("{service_id}"):
        return body
    if not isinstance(body, dict) or zlib.crc32(repr(body).encode()) % 2:
        return body
    given = _object(body.get("context"))
    ids = {"userId": "Practitioner/1", "patientId": "patient-1"}
    # Keys the fuzzer left out become "no data" (null), so evaluation runs on what it sent.
    prefetch = {**dict.fromkeys(ENGINE.services[SERVICE].prefetch), **_object(body.get("prefetch"))}
    return {**body, "hook": "patient-view", "context": {**given, **ids}, "prefetch": prefetch}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


locked_schema = schemathesis.openapi.from_asgi("/openapi.json", _app(jwt_required=True))

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
LOCKED_SETTINGS = settings(FUZZ_SETTINGS, max_examples=MAX_EXAMPLES // 3)


@pytest.fixture(scope="module", autouse=True)
def _report_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    summary = ", ".join(f"{name}: {count}" for name, count in sorted(CASES.items()))
    line = f"schemathesis cases run: {sum(CASES.values())} ({summary})"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past pytest's output capture
            reporter.write_line("\n" + line)


def _status(case: schemathesis.Case[Any], label: str) -> int:
    response = case.call()
    CASES[f"{label} {case.operation.label} -> {response.status_code}"] += 1
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    )
    return response.status_code


@open_schema.parametrize()
@FUZZ_SETTINGS
def test_no_input_is_a_server_error(case: schemathesis.Case[Any]) -> None:
    _status(case, "auth off")


@locked_schema.parametrize()
@LOCKED_SETTINGS
def test_no_input_is_a_server_error_with_authentication_on(case: schemathesis.Case[Any]) -> None:
    status = _status(case, "auth on")
    if not case.path.startswith("/cds-services"):
        return  # health, readiness, metrics: open by design
    # Nothing the fuzzer sends is a token signed by a trusted EHR. (The coverage phase also
    # tries methods a path does not have: routing answers those 405 before any dependency.)
    wrong_method = case.method.upper() != case.operation.method.upper()
    assert status == 401 or (wrong_method and status == 405)
