"""A thin FHIR read client over httpx: GET a query, follow `next` links up to a bound.

The transport is a constructor argument, so tests use a real loopback server (or an
`httpx.MockTransport`) without monkeypatching. The bearer token is sent, never logged: httpx
does not log headers, and this module only ever logs the URL path.

Bounds, so a slow or hostile FHIR server can never hold a request nor swell a worker: every
HTTP operation and the client's whole life (all queries, all pages) share one deadline of
`timeout_seconds`; all the answers of the client's life together may hold at most `max_bytes`
(counted after decompression, as they are decompressed: a gzip bomb is abandoned at the bound,
never inflated past it); searches stop after `max_pages` pages or
`max_resources` entries (reported in `notes`). Redirects are not followed and `next` links are
only followed on the same server, below the same base: the token never goes anywhere else.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import ssl
import time
import zlib
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
import orjson

from cds.errors import FhirFetchError
from cds.metrics import FhirFailure, count_fhir_failure, count_fhir_fetch

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 8
# Only what `_Decoder` decodes within the byte bound (httpx would also offer br and zstd when
# their packages are installed, and inflate them without a bound).
ACCEPT_ENCODING = "gzip, deflate"


class FhirClient:
    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None,
        timeout_seconds: float,
        max_pages: int,
        max_resources: int,
        max_bytes: int,
        transport: httpx.AsyncBaseTransport | None = None,
        refuse_internal: bool = False,
    ) -> None:
        """`refuse_internal`: never connect to a loopback, link-local or unspecified address,
        whatever name the base URL gives (`cds.fhir.access`: a server nobody listed)."""
        headers = {
            "Accept": "application/fhir+json, application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        self._base = base_url.rstrip("/")
        self._base_url = httpx.URL(self._base)
        self._timeout = timeout_seconds
        self._deadline: float | None = None
        self._max_pages = max_pages
        self._max_resources = max_resources
        self._budget = _ByteBudget(max_bytes)  # shared by every answer of this client's life
        self.notes: list[str] = []  # data-quality notes for the response (e.g. truncation)
        # Queries run concurrently; a bound keeps one request from flooding the EHR.
        limits = httpx.Limits(max_connections=MAX_CONNECTIONS)
        if transport is None and refuse_internal:
            transport = _ExternalOnlyTransport(verify=_tls_context(), limits=limits)
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            follow_redirects=False,  # a redirect could carry the token elsewhere
            limits=limits,
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
                if declared.isdigit() and int(declared) > self._budget.room:
                    raise self._budget.exceeded()
                body = bytearray()
                if response.is_stream_consumed:
                    # Answered from memory, already decoded (an httpx.MockTransport in tests):
                    # there is nothing left to bound but its size.
                    body += self._budget.take(response.content)
                else:
                    # Raw bytes, decoded here: a chunk inflates to no more than the room left.
                    decoder = _Decoder(response.headers.get("content-encoding", ""))
                    async for chunk in response.aiter_raw():
                        body += self._budget.take(decoder.decode(chunk, self._budget.room + 1))
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
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise FhirFetchError(
                "the FHIR server answered with invalid JSON", code="structure"
            ) from exc


class _ByteBudget:
    """The bytes one client (one call) may still take in, whatever its answers say of their
    size. Exceeding it fails the fetch that did, and every fetch after it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    @property
    def room(self) -> int:
        return max(self.limit - self.taken, 0)

    def take(self, data: bytes) -> bytes:
        self.taken += len(data)
        if self.taken > self.limit:
            raise self.exceeded()
        return data

    def exceeded(self) -> FhirFetchError:
        return FhirFetchError(
            f"the FHIR server's answers exceed {self.limit:,} bytes for this call "
            "(CDS_FHIR_MAX_BYTES_PER_CALL); send the data as prefetch",
            code="too-costly",
        )


class _Decoder:
    """A response body's content coding undone, never producing more than asked for: zlib stops
    at `limit` bytes of output and keeps the rest of its input, so a chunk of a gzip bomb costs
    no more memory than the budget has room for."""

    def __init__(self, content_encoding: str) -> None:
        coding = content_encoding.strip().lower()
        if coding in ("", "identity"):
            self._zlib = None
        elif coding in ("gzip", "x-gzip", "deflate"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        else:
            raise FhirFetchError(
                f"the FHIR server's answer has an unsupported content coding ({coding[:40]})",
                code="structure",
            )

    def decode(self, data: bytes, limit: int) -> bytes:
        """`data` decoded, at most `limit` bytes of it. Fewer than `limit` means all of `data`
        was decoded (zlib holds nothing back); exactly `limit` may leave some undecoded, which
        is never read: the caller passes its budget's room + 1, so it is then over budget."""
        if self._zlib is None:
            return data
        try:
            return self._zlib.decompress(data, limit)
        except zlib.error as exc:
            raise FhirFetchError(
                "the FHIR server's answer could not be decompressed", code="structure"
            ) from exc


def is_internal_address(host: str) -> bool:
    """A loopback, link-local or unspecified IP address (IPv4, IPv6, or IPv4 mapped in IPv6);
    False for a name."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_link_local or address.is_unspecified


class _ExternalOnlyBackend(httpcore.AsyncNetworkBackend):
    """Connects as httpcore does, then drops a connection whose peer is an internal address,
    before a byte is sent: the address a name resolved to when connecting is the one that
    counts (a name checked earlier could resolve elsewhere by then)."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        peer = stream.get_extra_info("server_addr")
        if not isinstance(peer, tuple) or is_internal_address(str(peer[0])):
            await stream.aclose()
            raise httpcore.ConnectError(f"{host} is an internal address: not contacted")
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are never contacted")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _ExternalOnlyTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport on `_ExternalOnlyBackend`. httpx has no parameter for the network
    backend, so the connection pool it builds is replaced by the same one on that backend."""

    def __init__(self, *, verify: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_ExternalOnlyBackend(),
        )


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
