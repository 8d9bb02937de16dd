"""Which EHR FHIR servers this service may contact, and the client it contacts them with.

Built once from the settings (`FhirAccess.from_settings`) and shared by the HTTP route and
`cds replay` in process, so both fetch exactly alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from cds.fhir.client import FhirClient
from cds.security.urls import url_within
from cds.settings import Settings


@dataclass(frozen=True)
class FhirAccess:
    allowed_servers: tuple[str, ...]  # CDS_ALLOWED_FHIR_SERVERS: base URL prefixes
    # No list in local use (no JWT): any server. With JWT on, an empty list allows none.
    any_server: bool
    timeout_seconds: float  # shared by every fetch of one call (the client's whole life)
    max_pages: int
    max_resources: int
    # A call still fetching this long after it started answers 412 (send prefetch instead).
    deadline_seconds: float
    max_bytes: int  # decompressed, all the answers of one call together
    transport: httpx.AsyncBaseTransport | None = None  # tests: a loopback or mock transport

    @classmethod
    def from_settings(
        cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> FhirAccess:
        return cls(
            allowed_servers=tuple(settings.allowed_fhir_servers),
            any_server=not settings.allowed_fhir_servers and not settings.jwt_required,
            timeout_seconds=settings.fhir_timeout_seconds,
            max_pages=settings.fhir_max_pages,
            max_resources=settings.max_prefetch_resources,
            deadline_seconds=settings.request_deadline_seconds,
            max_bytes=settings.fhir_max_bytes_per_call,
            transport=transport,
        )

    def allows(self, base_url: str) -> bool:
        """Only listed servers are contacted (the EHR's token goes to them)."""
        if self.any_server:
            return True
        # Scheme is part of the match: a plain-http fhirServer needs its own http:// entry.
        return any(url_within(base_url, prefix) for prefix in self.allowed_servers)

    def client(self, base_url: str, access_token: str | None) -> FhirClient:
        return FhirClient(
            base_url,
            access_token=access_token,
            timeout_seconds=self.timeout_seconds,
            max_pages=self.max_pages,
            max_resources=self.max_resources,
            max_bytes=self.max_bytes,
            transport=self.transport,
        )
