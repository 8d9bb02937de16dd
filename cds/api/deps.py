"""What the app holds for its lifetime, and the dependencies that hand it to the routes: one
`Annotated` alias per resource, so each route declares exactly what it uses.

Every dependency is `async def`: FastAPI runs a plain `def` one in its thread pool, a thread hop
per dependency and request (bench/README.md).

The EHR-authentication dependency (`RequireEhr`) guards the CDS routes (discovery, service
calls, feedback). Health, readiness and metrics do not use it, and CORS preflight (OPTIONS)
never reaches a route. With CDS_JWT_REQUIRED=false there is no authenticator and every caller is
let through (the app logs a loud warning at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from cds.audit.store import AuditStore
from cds.audit.writer import AuditWriter
from cds.fhir.access import FhirAccess
from cds.pipeline import Engine
from cds.security import Authenticator
from cds.service_call import find_service
from cds.services import ServiceDefinition
from cds.settings import Settings
from cds.shadow import ShadowRunner


@dataclass
class AppState:
    """Built once by `create_app` (app.state.cds); the routes see it only through the aliases."""

    settings: Settings
    engine: Engine
    store: AuditStore
    fhir: FhirAccess
    authenticator: Authenticator | None = None  # None: CDS_JWT_REQUIRED=false (local use)
    # Invocation rows go through it (off the request path, batched); built from `store`.
    audit_writer: AuditWriter = field(init=False)
    # Shadow rule versions are evaluated by it, after the answer (cds.shadow).
    shadows: ShadowRunner = field(init=False)

    def __post_init__(self) -> None:
        self.audit_writer = AuditWriter.for_store(self.store, self.settings)
        self.shadows = ShadowRunner(self.engine)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.cds
    return state


async def get_settings(request: Request) -> Settings:
    return app_state(request).settings


async def get_engine(request: Request) -> Engine:
    return app_state(request).engine


async def get_audit_store(request: Request) -> AuditStore:
    return app_state(request).store


async def get_audit_writer(request: Request) -> AuditWriter:
    return app_state(request).audit_writer


async def get_fhir_access(request: Request) -> FhirAccess:
    return app_state(request).fhir


async def get_shadow_runner(request: Request) -> ShadowRunner:
    return app_state(request).shadows


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
AuditStoreDep = Annotated[AuditStore, Depends(get_audit_store)]
AuditWriterDep = Annotated[AuditWriter, Depends(get_audit_writer)]
FhirAccessDep = Annotated[FhirAccess, Depends(get_fhir_access)]
ShadowRunnerDep = Annotated[ShadowRunner, Depends(get_shadow_runner)]


async def get_service(service_id: str, engine: EngineDep) -> ServiceDefinition:
    """The service the path names; 404 before a body is read for nothing."""
    return find_service(engine, service_id)


ServiceDep = Annotated[ServiceDefinition, Depends(get_service)]

# Declared for the OpenAPI document only (so /docs shows the lock); the header is parsed and
# checked by the authenticator itself, which answers every failure with the same bare 401.
_bearer_scheme = HTTPBearer(auto_error=False, bearerFormat="JWT")


async def authenticate_ehr(request: Request, _: Annotated[object, Depends(_bearer_scheme)]) -> None:
    authenticator = app_state(request).authenticator
    if authenticator is not None:
        client = await authenticator.authenticate(
            request.headers.get("authorization"), request.url.path
        )
        # For the audit: which EHR made the call (`ehr_issuer`).
        request.state.ehr_issuer = client.issuer


def ehr_issuer(request: Request) -> str | None:
    """The JWT `iss` of the EHR that made this call; None when authentication is off."""
    issuer = getattr(request.state, "ehr_issuer", None)
    return issuer if isinstance(issuer, str) else None


RequireEhr = Depends(authenticate_ehr)
