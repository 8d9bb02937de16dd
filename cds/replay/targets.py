"""Where replayed requests are answered: in process at any `as_of`, or a running service over
HTTP (which judges at its own clock). Both give an `Answer`: the status and the body as sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
import orjson

from cds.errors import CdsError, ReplayTargetUnavailable
from cds.fhir.access import FhirAccess
from cds.pipeline import Engine
from cds.service_call import call_service, find_service
from cds.services import ServiceDefinition
from cds.settings import Settings


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    seconds: float


class Target(Protocol):
    over_http: bool

    async def services(self) -> Mapping[str, ServiceDefinition]: ...

    async def call(self, service_id: str, body: dict[str, Any], as_of: datetime) -> Answer: ...

    async def aclose(self) -> None: ...


class InProcessTarget:
    """The service's own call path (`cds.service_call`), in this process, at any `as_of`.

    FHIR servers are reached exactly as the running service reaches them (`FhirAccess` from the
    same settings): a request without prefetch and without fhirServer gets the spec's 412; one
    that names a server is fetched from it, subject to the same allow-list. A refused call gets
    the status and body the HTTP route would send (`CdsError.body()`).
    """

    over_http = False

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self._engine = engine
        self.fhir = FhirAccess.from_settings(settings or Settings())

    async def services(self) -> Mapping[str, ServiceDefinition]:
        return self._engine.services

    async def call(self, service_id: str, body: dict[str, Any], as_of: datetime) -> Answer:
        started = time.perf_counter()
        try:
            service = find_service(self._engine, service_id)
            result = await call_service(self._engine, service, body, as_of=as_of, fhir=self.fhir)
        except CdsError as exc:
            return Answer(exc.status_code, exc.body(), time.perf_counter() - started)
        return Answer(200, result.wire, time.perf_counter() - started)

    async def aclose(self) -> None:
        return None


class HttpTarget:
    """A running service at `base_url` (its CDS Hooks base is `{base_url}/cds-services`)."""

    over_http = True

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._services: dict[str, ServiceDefinition] | None = None

    async def services(self) -> Mapping[str, ServiceDefinition]:
        """From the service's discovery endpoint, so bundles get the prefetch it asks for."""
        if self._services is None:
            url = f"{self._base}/cds-services"
            try:
                response = await self._http.get(url)
                response.raise_for_status()
                descriptors = response.json()["services"]
                self._services = {d["id"]: _from_descriptor(d) for d in descriptors}
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise ReplayTargetUnavailable(f"discovery at {url} failed: {exc}") from exc
        return self._services

    async def call(self, service_id: str, body: dict[str, Any], as_of: datetime) -> Answer:
        # as_of is ignored: the service judges at its own clock (the caller warns).
        url = f"{self._base}/cds-services/{service_id}"
        started = time.perf_counter()
        try:
            response = await self._http.post(
                url, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise ReplayTargetUnavailable(f"POST {url} failed: {exc!r}") from exc
        seconds = time.perf_counter() - started
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        return Answer(response.status_code, payload, seconds)

    async def aclose(self) -> None:
        await self._http.aclose()


def _from_descriptor(descriptor: Mapping[str, Any]) -> ServiceDefinition:
    return ServiceDefinition(
        id=str(descriptor["id"]),
        hook=str(descriptor["hook"]),
        title=str(descriptor.get("title") or ""),
        description=str(descriptor.get("description") or ""),
        usage_requirements=descriptor.get("usageRequirements"),
        rules=(),
        prefetch=dict(descriptor.get("prefetch") or {}),
    )
