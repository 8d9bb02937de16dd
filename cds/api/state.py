"""What the app holds for its lifetime, and the Annotated dependencies that hand it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import httpx
from fastapi import Depends, Request

from cds.audit.store import AuditStore
from cds.audit.writer import AuditWriter
from cds.fhir.client import FhirClient
from cds.pipeline import Engine
from cds.security import Authenticator
from cds.security.urls import url_within
from cds.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    store: AuditStore
    fhir_transport: httpx.AsyncBaseTransport | None = None
    authenticator: Authenticator | None = None  # None: CDS_JWT_REQUIRED=false (local use)
    # Invocation rows go through it (off the request path, batched); built from `store`.
    audit_writer: AuditWriter = field(init=False)

    def __post_init__(self) -> None:
        self.audit_writer = AuditWriter.for_store(self.store)

    def fhir_client(self, base_url: str, access_token: str | None) -> FhirClient:
        return FhirClient(
            base_url,
            access_token=access_token,
            timeout_seconds=self.settings.fhir_timeout_seconds,
            max_pages=self.settings.fhir_max_pages,
            max_resources=self.settings.max_prefetch_resources,
            transport=self.fhir_transport,
        )

    def fhir_server_allowed(self, base_url: str) -> bool:
        """Only listed servers are contacted; with no list, any server in local (no-JWT) use."""
        allowed = self.settings.allowed_fhir_servers
        if not allowed:
            return not self.settings.jwt_required
        # Scheme is part of the match: a plain-http fhirServer needs its own http:// entry.
        return any(url_within(base_url, prefix) for prefix in allowed)


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.cds
    return state


State = Annotated[AppState, Depends(get_state)]
