"""CDS Hooks 2.0 authentication: the EHR's `Authorization: Bearer <JWT>` on every call.

Checks, in order (each failure is a bare 401 whose short reason code is logged, never the token):
the header and compact-JWS shape; `alg` (one of CDS_JWT_ALGORITHMS, ES384 and RS384 unless
configured; never `none` or HS*); `typ` (JWT when present); `kid` (REQUIRED by the spec); `iss`
(a key of CDS_TRUSTED_ISSUERS); the key (`_verification_key`: the issuer's configured JWK Set
first; the token's `jku` only for a kid that set does not hold, and only a URL on the issuer's
allow-list); the signature; the claims (`iss`, `aud`, `exp`, `iat`, `jti` required; times within
CDS_JWT_LEEWAY_SECONDS; `aud` is this endpoint's public URL); and last the jti cache (each token
once, none issued before the cache started), so only tokens that are otherwise valid are
recorded (an attacker cannot fill it with junk).

The payload is read before the signature is checked only to learn `iss`, which picks the key set;
a forged `iss` then fails the signature check with that issuer's keys.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry

from cds.errors import AuthUnavailable, JtiCacheUnavailable, KeysUnavailable, Unauthorized
from cds.security.jti_cache import JtiCache, MemoryJtiCache, RedisJtiCache
from cds.security.keys import KeyStore, VerifyKey
from cds.settings import DEFAULT_JWT_ALGORITHMS, JwtAlgorithm, Settings, TrustedIssuer

log = logging.getLogger(__name__)
# CDS Hooks tokens are minted per call (the sandbox: 5 minutes). A token valid for longer is
# refused: it would sit in the jti cache as long, and a leaked one would stay useful.
MAX_TOKEN_LIFETIME_SECONDS = 3600
MAX_TOKEN_CHARS = 16 * 1024
MAX_JTI_CHARS = 256
# The signature part may be empty so that `alg: none` tokens are refused by name (alg_none).
_BEARER = re.compile(r"Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)", re.IGNORECASE)
_REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")


@dataclass(frozen=True)
class VerifiedClient:
    """Who called, once the token checked out. `tenant` is the spec's OPTIONAL claim."""

    issuer: str
    jti: str
    tenant: str | None = None


class Authenticator:
    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        *,
        public_url: str,
        leeway_seconds: int,
        jti_cache: JtiCache,
        algorithms: Collection[JwtAlgorithm] = DEFAULT_JWT_ALGORITHMS,
        keys: KeyStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = dict(issuers)
        self._public_url = public_url.rstrip("/")
        self._leeway = leeway_seconds
        self._jti_cache = jti_cache
        self._algorithms: frozenset[str] = frozenset(algorithms)
        self.keys = keys or KeyStore()
        self._clock = clock
        # strict_check_header=False: EHRs add their own header fields; `crit` is refused below.
        self._registry = JWSRegistry(algorithms=sorted(self._algorithms), strict_check_header=False)
        # joserfc's default (512 bytes) refuses headers that carry a certificate chain (x5c);
        # the whole token is still capped by MAX_TOKEN_CHARS.
        self._registry.max_header_length = MAX_TOKEN_CHARS

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        if not settings.public_url:
            raise ValueError("CDS_PUBLIC_URL is required for JWT authentication")
        jti_cache: JtiCache
        if settings.redis_url:
            jti_cache = RedisJtiCache(settings.redis_url)
        else:
            jti_cache = MemoryJtiCache()
            if settings.workers > 1:
                log.warning(
                    "jti cache is per process (CDS_REDIS_URL is not set) with %d workers: "
                    "a token can be replayed once to each worker",
                    settings.workers,
                )
        return cls(
            settings.trusted_issuers,
            public_url=settings.public_url,
            leeway_seconds=settings.jwt_leeway_seconds,
            jti_cache=jti_cache,
            algorithms=settings.jwt_algorithms,
        )

    def audience(self, path: str) -> str:
        """The URL of the endpoint as the EHR sees it (behind any proxy): what `aud` must be."""
        return self._public_url + path

    async def authenticate(self, authorization: str | None, path: str) -> VerifiedClient:
        """Verify the Authorization header for a call to `path`; raises Unauthorized (401)."""
        token = _bearer_token(authorization)
        try:
            obj = jws.extract_compact(token.encode("ascii"), registry=self._registry)
            header = obj.headers()
            claims: Any = orjson.loads(obj.payload or b"")
        except (JoseError, ValueError, TypeError):
            raise _reject("malformed") from None
        _check_header(header, self._algorithms)
        if not isinstance(claims, dict):
            raise _reject("malformed")
        iss = claims.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None or not isinstance(iss, str):
            raise _reject("unknown_iss")
        key = await self._verification_key(issuer, header, iss)
        try:
            valid = jws.validate_compact(obj, key, registry=self._registry)
        except JoseError:
            valid = False
        if not valid:
            raise _reject("bad_signature", iss)
        jti, exp = self._check_claims(claims, self.audience(path), iss)
        ttl = math.ceil(exp + self._leeway - self._clock())
        try:
            use = await self._jti_cache.first_use(iss, jti, ttl, issued_at=claims["iat"])
        except JtiCacheUnavailable as exc:
            log.error("jwt not checked: the jti cache is unavailable (%s)", exc)
            raise AuthUnavailable("authentication is temporarily unavailable") from None
        if use == "issued_before_cache":
            raise _reject("issued_before_jti_cache", iss)
        if use == "replayed":
            raise _reject("replayed_jti", iss)
        tenant = claims.get("tenant")
        return VerifiedClient(iss, jti, tenant if isinstance(tenant, str) else None)

    async def _verification_key(
        self, issuer: TrustedIssuer, header: Mapping[str, Any], iss: str
    ) -> VerifyKey:
        """The key for the token's kid: from the issuer's configured JWK Set when it holds one,
        whatever `jku` says, so an EHR whose tokens name a jku on the internet (the CDS Hooks
        sandbox does) can be trusted on a closed network with its key set saved as a file.
        Only a kid the configured set does not hold sends us to the token's jku, and only when
        that jku is on the issuer's allow-list."""
        # Both checked by _check_header: a non-empty string, and one of CDS_JWT_ALGORITHMS.
        kid, alg = str(header["kid"]), cast(JwtAlgorithm, header["alg"])
        key = await self._key_from(issuer.jwks, kid, alg, iss)
        if key is not None:
            return key
        jku = header.get("jku")
        if jku is None:
            raise _reject("unknown_kid", iss)
        # Exact match: a jku is a URL we will fetch keys from, so "close" is not good enough.
        if not isinstance(jku, str) or jku not in issuer.jku:
            raise _reject("jku_not_allowed", iss)
        key = await self._key_from(jku, kid, alg, iss)
        if key is None:
            raise _reject("unknown_kid", iss)
        return key

    async def _key_from(
        self, location: str, kid: str, alg: JwtAlgorithm, iss: str
    ) -> VerifyKey | None:
        try:
            return await self.keys.key_for(location, kid, alg)
        except KeysUnavailable:
            log.warning("jwt not checked: the JWK Set of %s is unavailable", iss)
            raise AuthUnavailable("authentication is temporarily unavailable") from None

    def _check_claims(
        self, claims: Mapping[str, Any], audience: str, iss: str
    ) -> tuple[str, float]:
        if any(claims.get(name) is None for name in _REQUIRED_CLAIMS):
            raise _reject("missing_claim", iss)
        now = self._clock()
        exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf")
        if (
            not _numeric_date(exp)
            or not _numeric_date(iat)
            or not (nbf is None or _numeric_date(nbf))
        ):
            raise _reject("invalid_claim", iss)
        if exp <= now - self._leeway:
            raise _reject("expired", iss)
        if iat > now + self._leeway or (nbf is not None and nbf > now + self._leeway):
            raise _reject("not_yet_valid", iss)
        if exp - now > MAX_TOKEN_LIFETIME_SECONDS:
            raise _reject("lifetime_too_long", iss)
        if not _audience_matches(claims["aud"], audience):
            raise _reject("wrong_aud", iss)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS:
            raise _reject("invalid_claim", iss)
        return jti, float(exp)

    async def aclose(self) -> None:
        await self._jti_cache.aclose()


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise _reject("missing_token")
    if len(authorization) > MAX_TOKEN_CHARS:
        raise _reject("malformed")
    match = _BEARER.fullmatch(authorization.strip())
    if match is None:
        raise _reject("malformed")
    return match.group(1)


def _check_header(header: Mapping[str, Any], algorithms: Collection[str]) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise _reject("malformed")
    if alg.lower() == "none":
        raise _reject("alg_none")
    if alg.upper().startswith("HS"):
        raise _reject("alg_symmetric")
    if alg not in algorithms:
        raise _reject("alg_not_allowed")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise _reject("bad_typ")
    # `crit` names extensions we would have to understand; `b64` changes what is signed (RFC 7797).
    if "crit" in header or "b64" in header:
        raise _reject("unsupported_header")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _reject("missing_kid")


def _numeric_date(value: Any) -> bool:
    # bool is an int in Python; NaN and infinity would make every comparison meaningless.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _audience_matches(aud: Any, audience: str) -> bool:
    expected = audience.rstrip("/")
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return any(isinstance(v, str) and v.rstrip("/") == expected for v in values)


def _reject(reason: str, iss: str | None = None) -> Unauthorized:
    """A 401 carrying only a reason code; `iss` is logged only once it is a trusted issuer."""
    if iss is None:
        log.info("jwt rejected: %s", reason)
    else:
        log.info("jwt rejected: %s (iss %s)", reason, iss)
    return Unauthorized(reason)
