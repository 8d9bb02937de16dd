"""A thin FHIR read client over httpx: GET a query, follow `next` links up to a bound.

The transport is a constructor argument, so tests use a real loopback server (or an
`httpx.MockTransport`) without monkeypatching. The bearer token is sent, never logged: httpx
does not log headers, and this module only ever logs the URL path.

Bounds, so a slow or hostile FHIR server can never hold a request: every HTTP operation and the
client's whole life (all queries, all pages) share one deadline of `timeout_seconds`; a response
body larger than `max_response_bytes` is abandoned; searches stop after `max_pages` pages or
`max_resources` entries (reported in `notes`). Redirects are not followed and `next` links are
only followed on the same server, below the same base: the token never goes anywhere else.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from typing import Any

import httpx
import orjson

from cds.errors import FhirFetchError
from cds.metrics import FhirFailure, count_fhir_failure, count_fhir_fetch

log = logging.getLogger(__name__)

DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024
MAX_CONNECTIONS = 8


class FhirClient:
    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None,
        timeout_seconds: float,
        max_pages: int,
        max_resources: int,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/fhir+json, application/json"}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        self._base = base_url.rstrip("/")
        self._base_url = httpx.URL(self._base)
        self._timeout = timeout_seconds
        self._deadline: float | None = None
        self._max_pages = max_pages
        self._max_resources = max_resources
        self._max_bytes = max_response_bytes
        self.notes: list[str] = []  # data-quality notes for the response (e.g. truncation)
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            follow_redirects=False,  # a redirect could carry the token elsewhere
            # Queries run concurrently; a bound keeps one request from flooding the EHR.
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
            verify=_tls_context(),
        )

    async def __aenter__(self) -> FhirClient:
        self._start_clock()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    def _start_clock(self) -> float:
        if self._deadline is None:
            self._deadline = asyncio.get_running_loop().time() + self._timeout
        return self._deadline

    async def read(self, query: str) -> Any:
        """Run a prefetch-style query relative to the base; searches come back as one Bundle
        holding every page's entries (up to the page bound)."""
        url = f"{self._base}/{query.lstrip('/')}"
        first = await self._get_json(url)
        if not isinstance(first, dict) or first.get("resourceType") != "Bundle":
            return first
        return await self.complete_bundle(first, label=query.split("?")[0])

    async def complete_bundle(self, first: dict[str, Any], *, label: str) -> dict[str, Any]:
        """Follow the `next` links of a searchset page and return one Bundle with every entry."""
        entries = [e for e in first.get("entry") or [] if isinstance(e, dict)]
        pages = 1
        next_url = _next_link(first)
        while next_url and pages < self._max_pages and len(entries) < self._max_resources:
            if not next_url.startswith(("http://", "https://")):
                next_url = f"{self._base}/{next_url.lstrip('/')}"  # relative: below the base
            if not self.is_on_server(next_url):
                # Never send the token elsewhere; the rest of the search is out of reach.
                count_fhir_failure("not_allowed")
                raise FhirFetchError(
                    "a next link points outside the FHIR server (not followed)", code="security"
                )
            page = await self._get_json(next_url)
            if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
                kind = page.get("resourceType") if isinstance(page, dict) else type(page).__name__
                count_fhir_failure("invalid_json")
                raise FhirFetchError(f"a next page was not a Bundle ({kind})", code="structure")
            pages += 1
            entries.extend(e for e in page.get("entry") or [] if isinstance(e, dict))
            next_url = _next_link(page)
        if next_url or len(entries) > self._max_resources:
            log.warning("fhir search truncated after %d pages (%s)", pages, label)
            self.notes.append(
                f"{label}: search truncated after {pages} page(s) and "
                f"{min(len(entries), self._max_resources)} entries"
            )
        complete = {k: v for k, v in first.items() if k != "link"}
        complete["entry"] = entries[: self._max_resources]
        return complete

    def is_on_server(self, url: str) -> bool:
        """Same scheme, host and port as the base, and a path below the base path."""
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError):
            return False
        base = self._base_url
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            return False
        base_path = base.path.rstrip("/")
        if "/../" in target.path + "/" or "/./" in target.path + "/":
            return False
        return target.path == base_path or target.path.startswith(base_path + "/")

    async def _get_json(self, url: str) -> Any:
        deadline = self._start_clock()
        started = time.perf_counter()
        try:
            async with asyncio.timeout_at(deadline):
                result = await self._get_json_unbounded(url)
        except TimeoutError as exc:
            count_fhir_fetch(time.perf_counter() - started, "timeout")
            raise FhirFetchError(
                f"the FHIR server did not answer within {self._timeout:g} s",
                code="timeout",
                unavailability="timeout",
            ) from exc
        except FhirFetchError as exc:
            count_fhir_fetch(time.perf_counter() - started, _failure_class(exc))
            raise
        # (A cancelled fetch, by the request deadline, is not counted: the 412 is.)
        count_fhir_fetch(time.perf_counter() - started, None)
        return result

    async def _get_json_unbounded(self, url: str) -> Any:
        try:
            async with self._http.stream("GET", url) as response:
                status = response.status_code
                if 300 <= status < 400:
                    raise FhirFetchError(
                        f"the FHIR server answered HTTP {status} (not followed)", status=status
                    )
                if status == 404 and "?" not in url:
                    return None  # an instance read of something that is not there: no data
                if status >= 400:
                    raise http_error(status)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self._max_bytes:
                    raise FhirFetchError("the FHIR server's answer is too large", code="too-costly")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise FhirFetchError(
                            "the FHIR server's answer is too large", code="too-costly"
                        )
                    chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise FhirFetchError(
                f"the FHIR server did not answer within {self._timeout:g} s",
                code="timeout",
                unavailability="timeout",
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise FhirFetchError(
                f"the FHIR server could not be reached ({type(exc).__name__})",
                unavailability="unreachable",
            ) from exc
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            raise FhirFetchError(
                "the FHIR server answered with invalid JSON", code="structure"
            ) from exc


# HTTP error statuses by what they say of the data: a type or search the server does not
# support is not transient (the same query gets the same answer), a scope is not a server fault.
_UNSUPPORTED = frozenset({400, 405, 422, 501})
_NOT_FOUND = frozenset({404, 410})
_TIMEOUT = frozenset({408, 504})


def http_error(status: int) -> FhirFetchError:
    """The error for an HTTP error status of the FHIR server, classified."""
    if status in (401, 403):
        return FhirFetchError(
            f"the FHIR server refused access (HTTP {status})",
            code="security",
            unavailability="not-permitted",
            status=status,
        )
    if status in _UNSUPPORTED:
        return FhirFetchError(
            f"the FHIR server does not support this query (HTTP {status})",
            code="not-supported",
            unavailability="unsupported",
            status=status,
        )
    if status in _NOT_FOUND:
        return FhirFetchError(
            f"the FHIR server has no such endpoint (HTTP {status})",
            code="not-found",
            unavailability="not-found",
            status=status,
        )
    if status in _TIMEOUT:
        return FhirFetchError(
            f"the FHIR server timed out (HTTP {status})",
            code="timeout",
            unavailability="timeout",
            status=status,
        )
    return FhirFetchError(
        f"the FHIR server answered HTTP {status}",
        unavailability="server-error" if status >= 500 else "http-error",
        status=status,
    )


def _failure_class(exc: FhirFetchError) -> FhirFailure:
    """The metrics reason class of a failed GET, from how `_get_json_unbounded` raised it."""
    if exc.status is not None:
        return "http_error"  # an HTTP error status (401/403 and 504 included), or a redirect
    if exc.code == "timeout":
        return "timeout"
    if exc.code == "too-costly":
        return "too_large"
    if exc.code == "structure":
        return "invalid_json"
    if isinstance(exc.__cause__, httpx.HTTPError | httpx.InvalidURL | httpx.StreamError):
        return "refused"  # no HTTP answer: connection refused or reset, DNS, TLS
    return "http_error"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client: building one loads the CA bundle, about 0.1 s of CPU
    on the event loop, which a per-request client would pay on every FHIR fallback.
    SSL_CERT_FILE / SSL_CERT_DIR are honoured (a hospital's own CA)."""
    return httpx.create_ssl_context()


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None
