"""The security tests' harness: an EHR that signs real tokens and serves its JWK Set and a FHIR
server on loopback HTTP, and apps built around it. The fixtures are made available to every test
module by tests/conftest.py."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.pipeline import Engine
from cds.security import Authenticator
from cds.security.jti_cache import MemoryJtiCache
from cds.settings import Settings
from tests.support.jwt_keys import (
    ISSUER,
    PUBLIC_URL,
    EhrKeys,
    LoopbackServer,
    bearer,
    claims_for,
    security_engine,
)

REDIS_URL = "redis://127.0.0.1:6379/0"  # the shared server: tests use their own key prefix
SERVICE = "leg-pain-patient-view"
SERVICE_PATH = f"/cds-services/{SERVICE}"
DISCOVERY = "/cds-services"
LEEWAY = 30
PATIENT_NAME = "Zebediah Quuxley"
PATIENT_BIRTH_DATE = "1931-07-04"


@pytest.fixture(scope="session")
def harness_engine() -> Engine:
    return security_engine()


@pytest.fixture(scope="session")
def ehr_keys() -> EhrKeys:
    return EhrKeys.generate()


@pytest.fixture
def ehr(ehr_keys: EhrKeys) -> Iterator[LoopbackServer]:
    """The EHR: its JWK Set at /jwks.json (another at /jku-jwks.json) and a FHIR server at /fhir."""
    server = LoopbackServer()
    server.json("/jwks.json", ehr_keys.jwks())
    with server.running():
        yield server


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    """Builds apps (each used through a started TestClient) and signs tokens for them."""

    engine: Engine
    keys: EhrKeys
    ehr: LoopbackServer
    tmp_path: Path
    stack: ExitStack

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "jwt_required": True,
            "public_url": PUBLIC_URL,
            "trusted_issuers": {
                ISSUER: {
                    "jwks": f"{self.ehr.url}/jwks.json",
                    "jku": [f"{self.ehr.url}/jku-jwks.json"],
                }
            },
            "jwt_leeway_seconds": LEEWAY,
            "allowed_fhir_servers": [f"{self.ehr.url}/fhir"],
            "database_url": f"sqlite:///{self.tmp_path / 'cds.db'}",
        }
        values.update(overrides)
        return Settings(**values)

    def client(
        self, settings: Settings | None = None, *, authenticator: Authenticator | None = None
    ) -> TestClient:
        app = create_app(
            settings or self.settings(),
            engine=self.engine,
            store=MemoryAuditStore(),
            authenticator=authenticator,
        )
        return self.stack.enter_context(TestClient(app))

    def authenticator(self, settings: Settings | None = None, **options: Any) -> Authenticator:
        settings = settings or self.settings()
        assert settings.public_url
        options.setdefault("jti_cache", MemoryJtiCache())
        return Authenticator(
            settings.trusted_issuers,
            public_url=settings.public_url,
            leeway_seconds=settings.jwt_leeway_seconds,
            algorithms=settings.jwt_algorithms,
            **options,
        )

    def token(self, path: str = DISCOVERY, *, alg: str = "ES384", **claims: Any) -> str:
        return self.keys.sign(claims_for(path, **claims), alg=alg)

    def auth(self, path: str = DISCOVERY, **claims: Any) -> dict[str, str]:
        return bearer(self.token(path, **claims))

    def hook_request(self, **overrides: Any) -> dict[str, Any]:
        """A complete patient-view request: every prefetch key given (no FHIR fetching)."""
        body: dict[str, Any] = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "patient-1"},
            "prefetch": full_prefetch(self.engine),
        }
        body.update(overrides)
        return body


@pytest.fixture
def harness(
    harness_engine: Engine, ehr_keys: EhrKeys, ehr: LoopbackServer, tmp_path: Path
) -> Iterator[Harness]:
    with ExitStack() as stack:
        yield Harness(harness_engine, ehr_keys, ehr, tmp_path, stack)


def patient_resource() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "patient-1",
        "name": [{"text": PATIENT_NAME, "family": "Quuxley", "given": ["Zebediah"]}],
        "birthDate": PATIENT_BIRTH_DATE,
        "gender": "male",
    }


def full_prefetch(engine: Engine) -> dict[str, Any]:
    templates = engine.services[SERVICE].prefetch
    return {
        key: patient_resource()
        if template.startswith("Patient/")
        else {"resourceType": "Bundle", "type": "searchset", "entry": []}
        for key, template in templates.items()
    }


def serve_fhir(server: LoopbackServer, engine: Engine, **route_options: Any) -> None:
    """Answer every prefetch template of the service on the loopback FHIR server."""
    for template in engine.services[SERVICE].prefetch.values():
        path = "/fhir/" + template.split("?")[0].replace("{{context.patientId}}", "patient-1")
        document: Any = (
            patient_resource()
            if template.startswith("Patient/")
            else {"resourceType": "Bundle", "type": "searchset", "entry": []}
        )
        server.json(path, document, **route_options)


def rejected_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    prefix = "jwt rejected: "
    return [
        r.getMessage()[len(prefix) :].split(" ")[0]
        for r in caplog.records
        if r.getMessage().startswith(prefix)
    ]


@dataclass(frozen=True)
class FromNow:
    """A claim time relative to when the token is signed (parameters are built at collection,
    which can be minutes before the test runs)."""

    seconds: int


def resolve(claims: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {k: now + v.seconds if isinstance(v, FromNow) else v for k, v in claims.items()}


def b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def fhir_authorization(token: str) -> dict[str, Any]:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }
