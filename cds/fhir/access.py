"""Which EHR FHIR servers this service may contact, what it may say about their failures, and
the client it contacts them with.

Built once from the settings (`FhirAccess.from_settings`) and shared by the HTTP route and
`cds replay` in process, so both fetch exactly alike.

A server on CDS_ALLOWED_FHIR_SERVERS is trusted by the operator: it is contacted, and a 412 says
what went wrong with it. Without a list and with authentication off (local use), any server the
caller names is contacted, which makes the service a way into its own network: so such a server
is refused when it is on a loopback or link-local address (checked on the URL, and on the address
a name resolves to, before anything is sent), and its failures all read the same (the details go
to the log), so that a caller cannot tell an open port from a closed one by the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from cds.fhir.client import FhirClient, is_internal_address
from cds.security.urls import url_within
from cds.settings import Settings

# What a 412 says of any failure of a server that is not listed.
UNLISTED_SERVER_FAILURE = (
    "the FHIR server did not give usable data (not on CDS_ALLOWED_FHIR_SERVERS: the reason is "
    "in the service log)"
)


@dataclass(frozen=True)
class FhirAccess:
    allowed_servers: tuple[str, ...]  # CDS_ALLOWED_FHIR_SERVERS: base URL prefixes
    # No list in local use (no JWT): any server but internal ones. With JWT on, an empty list
    # allows none.
    any_server: bool
    timeout_seconds: float  # shared by every fetch of one call (the client's whole life)
    max_pages: int
    max_resources: int
    max_bytes: int  # decompressed, all the answers of one call together
    # A call still fetching this long after it started answers 412 (send prefetch instead).
    deadline_seconds: float
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
            max_bytes=settings.fhir_max_bytes_per_call,
            deadline_seconds=settings.request_deadline_seconds,
            transport=transport,
        )

    def listed(self, base_url: str) -> bool:
        # Scheme is part of the match: a plain-http fhirServer needs its own http:// entry.
        return any(url_within(base_url, prefix) for prefix in self.allowed_servers)

    def allows(self, base_url: str) -> bool:
        """Only listed servers are contacted (the EHR's token goes to them), or in local use any
        server whose URL names no internal address (`client` checks names once resolved)."""
        if self.listed(base_url):
            return True
        return self.any_server and not is_internal_address(urlsplit(base_url).hostname or "")

    def refusal(self, base_url: str) -> str:
        """Why a server `allows` refuses is not contacted, for the 412."""
        if self.any_server:
            return (
                "fhirServer is a loopback or link-local address, contacted only when "
                "CDS_ALLOWED_FHIR_SERVERS lists it"
            )
        return "fhirServer is not on this service's allow-list (CDS_ALLOWED_FHIR_SERVERS)"

    def explains_failures(self, base_url: str) -> bool:
        """Whether a 412 may say how this server failed (only a listed one's)."""
        return self.listed(base_url)

    def client(self, base_url: str, access_token: str | None) -> FhirClient:
        return FhirClient(
            base_url,
            access_token=access_token,
            timeout_seconds=self.timeout_seconds,
            max_pages=self.max_pages,
            max_resources=self.max_resources,
            max_bytes=self.max_bytes,
            transport=self.transport,
            refuse_internal=not self.listed(base_url),
        )
