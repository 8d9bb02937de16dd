"""The trusted EHRs' public keys: JWK Sets fetched over https (or read from a file), cached.

An unknown `kid` makes the store re-read that JWK Set once (the EHR may have rotated its key),
but no more often than every `min_refresh_seconds` per location: a stream of tokens with made-up
`kid`s must not turn this service into a traffic generator against the EHR's JWKS endpoint.
A set that cannot be refreshed is kept (stale keys beat no keys while the EHR's endpoint is down).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

from cds.errors import KeysUnavailable
from cds.settings import JwtAlgorithm, is_loopback_http

log = logging.getLogger(__name__)

VerifyKey = ECKey | RSAKey

# Which key each algorithm CDS_JWT_ALGORITHMS may name needs: (kty, crv). RSA keys have no curve.
ALGORITHM_KEYS: dict[JwtAlgorithm, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
}
MIN_RSA_BITS = 2048
MAX_KEYS_PER_SET = 100


@dataclass
class _Entry:
    keys: dict[str, list[VerifyKey]] = field(default_factory=dict)  # kid -> keys
    loaded_at: float | None = None  # when keys were last loaded successfully
    attempted_at: float | None = None  # when a load was last tried (success or not)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class KeyStore:
    """JWK Sets by location (an https URL, a loopback http URL, or a file path)."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 3600.0,
        min_refresh_seconds: float = 60.0,
        timeout_seconds: float = 5.0,
        max_bytes: int = 256 * 1024,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._transport = transport
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self.loads = 0  # how many times a set was (re)read: for tests and metrics

    async def key_for(self, location: str, kid: str, alg: JwtAlgorithm) -> VerifyKey | None:
        """The key `kid` of the set at `location` that can verify `alg`, after at most one
        (rate-limited) refresh when it is not in the cached set. None when there is none."""
        entry = self._entries.setdefault(location, _Entry())
        if entry.loaded_at is None or self._clock() - entry.loaded_at >= self._ttl:
            await self._load(location, entry)
        if entry.loaded_at is None:
            raise KeysUnavailable(location)
        key = _select(entry.keys.get(kid, []), alg)
        if key is None and kid not in entry.keys:
            await self._load(location, entry)
            key = _select(entry.keys.get(kid, []), alg)
        return key

    async def _load(self, location: str, entry: _Entry) -> None:
        asked_at = self._clock()
        async with entry.lock:
            # Another request may have refreshed while we waited, or one did just now: either
            # way the set is as fresh as the rate limit allows.
            if entry.attempted_at is not None and (
                entry.attempted_at >= asked_at
                or self._clock() - entry.attempted_at < self._min_refresh
            ):
                return
            entry.attempted_at = self._clock()
            self.loads += 1
            try:
                entry.keys = _parse_key_set(await self._read(location))
                entry.loaded_at = self._clock()
            except (OSError, httpx.HTTPError, ValueError) as exc:
                # The reason is about our configuration or the EHR's endpoint, never the caller.
                log.warning("JWK Set at %s could not be loaded: %s", location, exc)

    async def _read(self, location: str) -> bytes:
        if location.startswith("https://") or is_loopback_http(location):
            return await self._fetch(location)
        if location.startswith(("http://", "https:")):
            raise ValueError("JWK Sets are only fetched over https (or http on a loopback IP)")
        return await asyncio.to_thread(_read_file, Path(location), self._max_bytes)

    async def _fetch(self, url: str) -> bytes:
        # A short-lived client per fetch: fetches are rare (TTL, rate limit), and a client
        # bound to no event loop cannot break when the app runs on another one.
        async with (
            httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout),
                follow_redirects=False,  # the configured location is the trusted one
                transport=self._transport,
                headers={"Accept": "application/jwk-set+json, application/json"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise ValueError(f"larger than {self._max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)


def _read_file(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"larger than {max_bytes} bytes")
    return data


def _parse_key_set(raw: bytes) -> dict[str, list[VerifyKey]]:
    """Public RSA and EC signing keys that carry a `kid`; anything else is skipped (RFC 7517 §5:
    a key that is not understood is ignored, not fatal). Raises ValueError for a bad document."""
    try:
        document: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set (no 'keys' array)")
    keys: dict[str, list[VerifyKey]] = {}
    for data in document["keys"][:MAX_KEYS_PER_SET]:
        key = _import_public_key(data)
        if key is not None:
            keys.setdefault(str(data["kid"]), []).append(key)
    if not keys:
        raise ValueError("no usable signing key (RSA >= 2048 bits or EC, with a kid)")
    return keys


def _import_public_key(data: Any) -> VerifyKey | None:
    if not isinstance(data, dict) or not isinstance(data.get("kid"), str):
        return None
    if data.get("kty") not in ("RSA", "EC") or data.get("use", "sig") != "sig":
        return None  # symmetric ("oct") keys can never verify a CDS Hooks JWT
    if "d" in data:
        return None  # a private key published by mistake: do not become its second user
    try:
        key = JWKRegistry.import_key(data)
    except (JoseError, ValueError, TypeError):
        return None
    if isinstance(key, RSAKey):
        if key.raw_value.key_size < MIN_RSA_BITS:
            return None
        return key
    return key if isinstance(key, ECKey) else None


def _select(candidates: list[VerifyKey], alg: JwtAlgorithm) -> VerifyKey | None:
    kty, crv = ALGORITHM_KEYS[alg]
    for key in candidates:
        declared = key.get("alg")
        if declared is not None and declared != alg:
            continue  # the key's owner said which algorithm it is for
        if key.key_type == kty and (crv is None or key.get("crv") == crv):
            return key
    return None
