"""Security: only trusted EHRs get answers, and a request cannot make the service do harm.

Tokens are signed for real with keys generated here (ES384, RS384, ES256); JWK Sets are served
over real loopback HTTP (or read from a file); the FHIR server is a real loopback server too.
Each rejection is checked through the app (a bare 401) and by the reason code it logs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from pydantic import ValidationError

from cds.api.app import create_app
from cds.api.limits import count_prefetch_resources
from cds.audit.store import MemoryAuditStore
from cds.fhir.access import FhirAccess
from cds.pipeline import Engine
from cds.security import Authenticator
from cds.security.jti_cache import MemoryJtiCache, RedisJtiCache, jti_key
from cds.security.keys import KeyStore
from cds.security.urls import url_within
from cds.settings import Settings
from tests.support.jwt_keys import (
    ISSUER,
    PUBLIC_URL,
    EhrKeys,
    LoopbackServer,
    bearer,
    claims_for,
    security_engine,
    unsigned_token,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
SERVICE = "leg-pain-patient-view"
SERVICE_PATH = f"/cds-services/{SERVICE}"
DISCOVERY = "/cds-services"
LEEWAY = 30
UNAUTHORIZED_BODY = {"error": {"status": 401, "message": "unauthorized"}}
PATIENT_NAME = "Zebediah Quuxley"
PATIENT_BIRTH_DATE = "1931-07-04"


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def engine() -> Engine:
    return security_engine()


@pytest.fixture(scope="module")
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
    engine: Engine, ehr_keys: EhrKeys, ehr: LoopbackServer, tmp_path: Path
) -> Iterator[Harness]:
    with ExitStack() as stack:
        yield Harness(engine, ehr_keys, ehr, tmp_path, stack)


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


# ---------------------------------------------------------------------------------------------
# Acceptance


@pytest.mark.parametrize("alg", ["ES384", "RS384", "ES256"])
def test_a_token_signed_by_a_trusted_ehr_is_accepted(harness: Harness, alg: str) -> None:
    client = harness.client()
    response = client.get(DISCOVERY, headers=bearer(harness.token(alg=alg)))
    assert response.status_code == 200
    assert response.json()["services"]


def test_a_service_call_with_a_valid_token_gets_cards(harness: Harness) -> None:
    client = harness.client()
    token = harness.token(SERVICE_PATH, alg="RS384")
    response = client.post(SERVICE_PATH, json=harness.hook_request(), headers=bearer(token))
    assert response.status_code == 200, response.text
    assert "cards" in response.json()


def test_feedback_needs_a_token_for_its_own_url(harness: Harness) -> None:
    client = harness.client()
    path = f"{SERVICE_PATH}/feedback"
    body = {
        "feedback": [
            {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T12:00:00Z"}
        ]
    }
    assert client.post(path, json=body).status_code == 401
    # A token minted for the service endpoint is not a token for its feedback endpoint.
    assert client.post(path, json=body, headers=harness.auth(SERVICE_PATH)).status_code == 401
    response = client.post(path, json=body, headers=harness.auth(path))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("name", "claims"),
    [
        ("aud as a list", {"aud": ["https://other.example.org", PUBLIC_URL + DISCOVERY]}),
        ("aud with a trailing slash", {"aud": PUBLIC_URL + DISCOVERY + "/"}),
        ("expired within the leeway", {"exp": FromNow(-LEEWAY // 2)}),
        ("nbf within the leeway", {"nbf": FromNow(LEEWAY // 2)}),
        ("iat within the leeway", {"iat": FromNow(LEEWAY // 2)}),
    ],
)
def test_accepted_variations(harness: Harness, name: str, claims: dict[str, Any]) -> None:
    client = harness.client()
    assert client.get(DISCOVERY, headers=harness.auth(**resolve(claims))).status_code == 200, name


@pytest.mark.parametrize("typ", [None, "jwt"])
def test_typ_may_be_absent_or_any_case(harness: Harness, typ: str | None) -> None:
    token = harness.keys.sign(claims_for(DISCOVERY), header={"typ": typ})
    assert harness.client().get(DISCOVERY, headers=bearer(token)).status_code == 200


def test_the_bearer_scheme_is_case_insensitive(harness: Harness) -> None:
    headers = {"Authorization": f"bearer {harness.token()}"}
    assert harness.client().get(DISCOVERY, headers=headers).status_code == 200


def test_the_authenticator_names_the_verified_caller(harness: Harness) -> None:
    authenticator = harness.authenticator()
    token = harness.token(tenant="tenant-42")
    client_info = asyncio.run(authenticator.authenticate(f"Bearer {token}", DISCOVERY))
    assert (client_info.issuer, client_info.tenant) == (ISSUER, "tenant-42")


# ---------------------------------------------------------------------------------------------
# Rejections: each is a bare 401, and the log says why (a short code, never the token)


def _header_only(value: str | None) -> Callable[[Harness], str | None]:
    return lambda _: value


def _signed(alg: str = "ES384", header: dict[str, Any] | None = None, **claims: Any) -> Any:
    def make(h: Harness) -> str:
        return "Bearer " + h.keys.sign(
            claims_for(DISCOVERY, **resolve(claims)), alg=alg, header=header
        )

    return make


def _unsigned(header: dict[str, Any], signature: str = "") -> Any:
    return lambda _: "Bearer " + unsigned_token(header, claims_for(DISCOVERY), signature)


def _hmac(alg: str) -> Any:
    def make(h: Harness) -> str:
        # The classic confusion attack: HMAC keyed with the EHR's *public* key, which anyone has.
        public_pem = h.keys.keys["rs384-1"].as_pem(private=False)
        secret = OctKey.import_key(base64.urlsafe_b64encode(public_pem).decode())
        token = jwt.encode(
            {"alg": alg, "kid": "rs384-1", "typ": "JWT"},
            claims_for(DISCOVERY),
            secret,
            algorithms=[alg],
        )
        return "Bearer " + token

    return make


def _with_key(key: ECKey | RSAKey, kid: str, alg: str = "ES384") -> Any:
    def make(h: Harness) -> str:
        token = h.keys.sign(claims_for(DISCOVERY), alg=alg, kid=kid, key=key)
        return "Bearer " + token

    return make


def _tampered(h: Harness) -> str:
    header, _, signature = h.token().split(".")
    forged = claims_for(DISCOVERY, tenant="someone-else")
    return f"Bearer {header}.{b64(forged)}.{signature}"


ES384 = {"alg": "ES384", "kid": "es384-1", "typ": "JWT"}
REJECTIONS: list[tuple[str, Callable[[Harness], str | None], str]] = [
    ("no Authorization header", _header_only(None), "missing_token"),
    ("Basic credentials", _header_only("Basic dXNlcjpwYXNz"), "malformed"),
    ("Bearer without a token", _header_only("Bearer "), "malformed"),
    ("two parts", _header_only("Bearer abc.def"), "malformed"),
    ("not base64url", _header_only("Bearer a$b.c%d.e&f"), "malformed"),
    ("header not JSON", _header_only("Bearer bm90IGpzb24.e30.c2ln"), "malformed"),
    ("payload not an object", _header_only(f"Bearer {b64(ES384)}.{b64([1, 2])}.c2ln"), "malformed"),
    ("alg none", _unsigned({"alg": "none", "typ": "JWT", "kid": "es384-1"}), "alg_none"),
    ("alg None, signed", _unsigned({"alg": "None", "kid": "es384-1"}, "c2ln"), "alg_none"),
    ("HS256 keyed with the public key", _hmac("HS256"), "alg_symmetric"),
    ("HS384", _hmac("HS384"), "alg_symmetric"),
    ("HS512", _hmac("HS512"), "alg_symmetric"),
    ("EdDSA", _unsigned({"alg": "EdDSA", "kid": "es384-1"}, "c2ln"), "alg_not_allowed"),
    ("ES256K", _unsigned({"alg": "ES256K", "kid": "es384-1"}, "c2ln"), "alg_not_allowed"),
    ("typ is not JWT", _signed(header={"typ": "at+jwt"}), "bad_typ"),
    (
        "crit header",
        _unsigned({**ES384, "crit": ["x-ext"], "x-ext": 1}, "c2ln"),
        "unsupported_header",
    ),
    ("no kid", _signed(header={"kid": None}), "missing_kid"),
    ("unknown iss", _signed(iss="https://evil.example.org"), "unknown_iss"),
    ("iss not a string", _signed(iss=["https://ehr.example.org"]), "unknown_iss"),
    (
        "jku not on the allow-list",
        _signed(header={"jku": "https://evil.example.org/jwks"}),
        "jku_not_allowed",
    ),
    ("unknown kid", _with_key(ECKey.generate_key("P-384"), "ghost"), "unknown_kid"),
    (
        "kid of a key of another type",
        _with_key(RSAKey.generate_key(2048), "es384-1", "RS384"),
        "unknown_kid",
    ),
    ("wrong key, right kid", _with_key(ECKey.generate_key("P-384"), "es384-1"), "bad_signature"),
    ("tampered payload", _tampered, "bad_signature"),
    ("empty signature", lambda h: "Bearer " + h.token().rsplit(".", 1)[0] + ".", "bad_signature"),
    ("expired", _signed(exp=FromNow(-LEEWAY - 5), iat=FromNow(-600)), "expired"),
    ("nbf in the future", _signed(nbf=FromNow(LEEWAY + 60)), "not_yet_valid"),
    ("iat in the future", _signed(iat=FromNow(LEEWAY + 60)), "not_yet_valid"),
    ("no aud", _signed(aud=None), "missing_claim"),
    ("no exp", _signed(exp=None), "missing_claim"),
    ("no iat", _signed(iat=None), "missing_claim"),
    ("no jti", _signed(jti=None), "missing_claim"),
    ("exp not a number", _signed(exp="tomorrow"), "invalid_claim"),
    ("exp a boolean", _signed(exp=True), "invalid_claim"),
    ("jti not a string", _signed(jti=42), "invalid_claim"),
    ("jti too long", _signed(jti="x" * 1000), "invalid_claim"),
    ("valid for days", _signed(lifetime=3 * 86400), "lifetime_too_long"),
    ("aud of another service", _signed(aud=PUBLIC_URL + "/cds-services/other"), "wrong_aud"),
    ("aud as seen behind the proxy", _signed(aud="http://10.0.0.5:8080/cds-services"), "wrong_aud"),
    ("aud over http", _signed(aud="http://cds.example.org/cds-services"), "wrong_aud"),
    ("aud the base URL only", _signed(aud=PUBLIC_URL), "wrong_aud"),
    ("aud list without us", _signed(aud=["https://other.example.org"]), "wrong_aud"),
    ("aud not a string", _signed(aud={"url": PUBLIC_URL + DISCOVERY}), "wrong_aud"),
]


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [pytest.param(make, reason, id=name) for name, make, reason in REJECTIONS],
)
def test_rejected_with_a_bare_401(
    harness: Harness,
    caplog: pytest.LogCaptureFixture,
    authorization: Callable[[Harness], str | None],
    reason: str,
) -> None:
    client = harness.client()
    value = authorization(harness)
    headers = {"Authorization": value} if value is not None else {}
    caplog.set_level(logging.INFO)
    response = client.get(DISCOVERY, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED_BODY
    assert response.headers["www-authenticate"] == "Bearer"
    assert rejected_reasons(caplog) == [reason]
    if value and len(value) > 20:
        token = value.split(" ", 1)[-1]
        assert all(token not in r.getMessage() for r in caplog.records)


def test_a_replayed_token_is_refused_in_memory(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    client = harness.client()
    caplog.set_level(logging.INFO)
    headers = harness.auth()
    assert client.get(DISCOVERY, headers=headers).status_code == 200
    assert client.get(DISCOVERY, headers=headers).status_code == 401
    assert rejected_reasons(caplog) == ["replayed_jti"]


def test_the_same_jti_from_another_issuer_is_not_a_replay() -> None:
    cache = MemoryJtiCache()
    assert asyncio.run(cache.first_use("https://a.example.org", "j-1", 60))
    assert asyncio.run(cache.first_use("https://b.example.org", "j-1", 60))
    assert not asyncio.run(cache.first_use("https://a.example.org", "j-1", 60))


def test_an_invalid_token_does_not_consume_its_jti(harness: Harness) -> None:
    """Only tokens that pass every other check are recorded: junk cannot fill the cache."""
    client = harness.client()
    jti = str(uuid.uuid4())
    wrong_aud = harness.auth(jti=jti, aud=PUBLIC_URL + "/elsewhere")
    assert client.get(DISCOVERY, headers=wrong_aud).status_code == 401
    assert client.get(DISCOVERY, headers=harness.auth(jti=jti)).status_code == 200


def test_the_memory_cache_is_bounded_and_forgets_expired_tokens() -> None:
    clock = FakeClock()
    cache = MemoryJtiCache(max_entries=3, clock=clock)
    for i in range(5):
        assert asyncio.run(cache.first_use(ISSUER, f"j-{i}", 60 + i))
    assert len(cache) == 3
    # The entries closest to expiry were dropped first; the newest are still refused.
    assert not asyncio.run(cache.first_use(ISSUER, "j-4", 60))
    clock.now += 3600
    assert asyncio.run(cache.first_use(ISSUER, "j-4", 60))
    assert len(cache) == 1


# ---------------------------------------------------------------------------------------------
# Replay across workers: Redis


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test:cds:jti:{uuid.uuid4().hex}:"
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


@pytest.mark.redis
def test_a_token_replayed_to_another_worker_is_refused(harness: Harness, redis_prefix: str) -> None:
    # Two apps stand for two workers (or replicas): they share only Redis.
    first = harness.client(
        authenticator=harness.authenticator(jti_cache=RedisJtiCache(REDIS_URL, prefix=redis_prefix))
    )
    second = harness.client(
        authenticator=harness.authenticator(jti_cache=RedisJtiCache(REDIS_URL, prefix=redis_prefix))
    )
    claims = claims_for(DISCOVERY, lifetime=120)
    headers = bearer(harness.keys.sign(claims))
    assert first.get(DISCOVERY, headers=headers).status_code == 200
    assert second.get(DISCOVERY, headers=headers).status_code == 401
    assert first.get(DISCOVERY, headers=headers).status_code == 401
    # Kept until exp + leeway, and no longer.
    connection = redis.Redis.from_url(REDIS_URL)
    ttl = connection.ttl(jti_key(redis_prefix, ISSUER, claims["jti"]))
    connection.close()
    assert 120 + LEEWAY - 5 <= ttl <= 120 + LEEWAY + 1


@pytest.mark.redis
def test_redis_is_used_when_configured(harness: Harness) -> None:
    authenticator = Authenticator.from_settings(harness.settings(redis_url=REDIS_URL))
    assert isinstance(authenticator._jti_cache, RedisJtiCache)
    asyncio.run(authenticator.aclose())


def test_an_unreachable_jti_cache_fails_closed_with_503(harness: Harness) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    unreachable = RedisJtiCache("redis://127.0.0.1:1/0", timeout_seconds=0.5)
    client = harness.client(authenticator=harness.authenticator(jti_cache=unreachable))
    response = client.get(DISCOVERY, headers=harness.auth())
    assert response.status_code == 503
    assert "token" not in response.text.lower()


# ---------------------------------------------------------------------------------------------
# Key sets: URL (loopback http), file, jku, refresh rate limit


def test_an_unknown_kid_triggers_exactly_one_refresh(harness: Harness) -> None:
    clock = FakeClock()
    keys = KeyStore(clock=clock)
    client = harness.client(authenticator=harness.authenticator(keys=keys))
    assert client.get(DISCOVERY, headers=harness.auth()).status_code == 200
    assert harness.ehr.hit_count("/jwks.json") == 1

    ghost = ECKey.generate_key("P-384")
    clock.now += 120  # past the refresh rate limit
    for _ in range(3):
        token = harness.keys.sign(claims_for(DISCOVERY), kid="ghost", key=ghost)
        assert client.get(DISCOVERY, headers=bearer(token)).status_code == 401
    # One refresh for the first unknown kid; the next ones are inside the rate limit.
    assert harness.ehr.hit_count("/jwks.json") == 2


def test_a_rotated_key_is_picked_up_by_that_one_refresh(harness: Harness) -> None:
    clock = FakeClock()
    client = harness.client(authenticator=harness.authenticator(keys=KeyStore(clock=clock)))
    assert client.get(DISCOVERY, headers=harness.auth()).status_code == 200

    rotated = EhrKeys(dict(harness.keys.keys))
    rotated.add("es384-2", ECKey.generate_key("P-384", parameters={"kid": "es384-2"}))
    harness.ehr.json("/jwks.json", rotated.jwks())
    token = rotated.sign(claims_for(DISCOVERY), kid="es384-2")
    # Right after a load the set is not re-read (rate limit); a minute later it is, once.
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 401
    clock.now += 61
    token = rotated.sign(claims_for(DISCOVERY), kid="es384-2")
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200
    assert harness.ehr.hit_count("/jwks.json") == 2


def test_an_expired_key_set_is_reloaded_and_kept_when_the_reload_fails(harness: Harness) -> None:
    clock = FakeClock()
    client = harness.client(authenticator=harness.authenticator(keys=KeyStore(clock=clock)))
    assert client.get(DISCOVERY, headers=harness.auth()).status_code == 200
    harness.ehr.json("/jwks.json", {"error": "down"}, status=500)
    clock.now += 3601
    assert client.get(DISCOVERY, headers=harness.auth()).status_code == 200
    assert harness.ehr.hit_count("/jwks.json") == 2


def test_an_unreachable_key_set_is_a_503_and_is_not_hammered(harness: Harness) -> None:
    harness.ehr.json("/jwks.json", {"error": "down"}, status=500)
    client = harness.client()
    for _ in range(3):
        response = client.get(DISCOVERY, headers=harness.auth())
        assert response.status_code == 503
    assert harness.ehr.hit_count("/jwks.json") == 1


@pytest.mark.parametrize(
    ("name", "document"),
    [
        ("too large", {"keys": [], "padding": "x" * 300_000}),
        ("not a key set", {"kty": "EC"}),
        ("only a symmetric key", {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "es384-1"}]}),
        ("keys without kid", {"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]}),
    ],
)
def test_an_unusable_key_set_gives_no_keys(
    harness: Harness, name: str, document: dict[str, Any]
) -> None:
    harness.ehr.json("/jwks.json", document)
    assert harness.client().get(DISCOVERY, headers=harness.auth()).status_code == 503, name


@pytest.mark.filterwarnings("ignore:Key size should be:joserfc.errors.SecurityWarning")
def test_private_and_weak_keys_in_a_key_set_are_ignored(harness: Harness) -> None:
    weak = RSAKey.generate_key(1024, parameters={"kid": "rs384-1"}, auto_kid=False)
    published = {
        "keys": [
            dict(harness.keys.keys["es384-1"].as_dict(private=True)),  # a leaked private key
            dict(weak.as_dict(private=False)),
        ]
    }
    harness.ehr.json("/jwks.json", published)
    client = harness.client()
    assert client.get(DISCOVERY, headers=harness.auth()).status_code == 503


def test_a_key_set_can_be_a_file(harness: Harness, tmp_path: Path) -> None:
    path = tmp_path / "ehr-jwks.json"
    path.write_text(json.dumps(harness.keys.jwks("rs384-1")))
    client = harness.client(harness.settings(trusted_issuers={ISSUER: str(path)}))
    assert client.get(DISCOVERY, headers=harness.auth(alg="RS384")).status_code == 200
    # ES384's key is not in that file.
    assert client.get(DISCOVERY, headers=harness.auth(alg="ES384")).status_code == 401
    assert harness.ehr.hit_count("/jwks.json") == 0


def test_an_allowed_jku_is_where_the_key_comes_from(harness: Harness) -> None:
    other = EhrKeys({"jku-key": ECKey.generate_key("P-384", parameters={"kid": "jku-key"})})
    jku = f"{harness.ehr.url}/jku-jwks.json"
    harness.ehr.json("/jku-jwks.json", other.jwks())
    client = harness.client()
    token = other.sign(claims_for(DISCOVERY), kid="jku-key", header={"jku": jku})
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200
    assert harness.ehr.hit_count("/jku-jwks.json") == 1
    # The key set named by jku is the only one used: the issuer's own keys do not count there.
    token = harness.keys.sign(claims_for(DISCOVERY), header={"jku": jku})
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 401


# ---------------------------------------------------------------------------------------------
# Settings


def test_trusted_issuers_accept_a_location_or_an_object(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text("{}")
    settings = Settings(
        trusted_issuers=json.dumps(
            {
                "https://a.example.org": "https://a.example.org/jwks",
                "https://b.example.org": {"jwks": str(path), "jku": ["https://b.example.org/k"]},
                "https://c.example.org": "http://127.0.0.1:9999/jwks",
            }
        )
    )
    assert settings.trusted_issuers["https://a.example.org"].jwks == "https://a.example.org/jwks"
    assert settings.trusted_issuers["https://b.example.org"].jku == ("https://b.example.org/k",)


@pytest.mark.parametrize(
    "entry",
    [
        "http://ehr.example.org/jwks",  # key material over plain http
        "http://localhost:8080/jwks",  # a name, not provably loopback
        {"jwks": "https://ehr.example.org/jwks", "jku": ["http://ehr.example.org/k"]},
        {"jwks": "https://ehr.example.org/jwks", "unknown": 1},
        "/nonexistent/jwks.json",
    ],
)
def test_unsafe_trusted_issuers_stop_the_service(entry: Any) -> None:
    with pytest.raises(ValidationError, match="trusted_issuers"):
        Settings(trusted_issuers={ISSUER: entry})


# ---------------------------------------------------------------------------------------------
# What does not need a token


def test_cors_preflight_needs_no_token(harness: Harness) -> None:
    response = harness.client().options(
        SERVICE_PATH,
        headers={
            "Origin": "https://ehr-ui.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://ehr-ui.example.org")
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_discovery_needs_the_token(harness: Harness) -> None:
    client = harness.client()
    assert client.get(DISCOVERY).status_code == 401
    # A token for a service endpoint does not open discovery (aud is per endpoint).
    assert client.get(DISCOVERY, headers=harness.auth(SERVICE_PATH)).status_code == 401


def test_service_calls_need_the_token_even_for_unknown_services(harness: Harness) -> None:
    client = harness.client()
    assert client.post(SERVICE_PATH, json=harness.hook_request()).status_code == 401
    # No token, no hint of which service ids exist.
    assert client.post("/cds-services/nope", json={}).status_code == 401


def test_only_the_cds_routes_need_a_token(harness: Harness) -> None:
    """Health, readiness, metrics (when present) and the API description stay open."""
    client = harness.client()
    open_paths = [
        route.path
        for route in client.app.routes  # type: ignore[attr-defined]
        if "GET" in getattr(route, "methods", set())
        and not route.path.startswith("/cds-services")
        and "{" not in route.path
    ]
    assert "/openapi.json" in open_paths
    for path in open_paths:
        assert client.get(path).status_code != 401, path
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}.items() <= next(
        iter(schemes.values())
    ).items()


def test_with_authentication_off_no_token_is_needed(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False))
    assert client.get(DISCOVERY).status_code == 200


# ---------------------------------------------------------------------------------------------
# The FHIR server allow-list


@pytest.mark.parametrize(
    ("url", "prefix", "allowed"),
    [
        ("https://ehr.example.org/fhir", "https://ehr.example.org/fhir", True),
        ("https://ehr.example.org/fhir", "https://ehr.example.org/fhir/", True),
        ("https://ehr.example.org/fhir/r4", "https://ehr.example.org/fhir", True),
        ("https://EHR.example.org/fhir", "https://ehr.example.org/fhir", True),
        ("https://ehr.example.org:443/fhir", "https://ehr.example.org/fhir", True),
        ("https://ehr.example.org", "https://ehr.example.org", True),
        ("https://ehr.example.org/anything", "https://ehr.example.org", True),
        ("https://ehr.example.org.evil.com", "https://ehr.example.org", False),
        ("https://ehr.example.org.evil.com/fhir", "https://ehr.example.org", False),
        ("https://ehr.example.org@evil.com/fhir", "https://ehr.example.org", False),
        ("https://user:pw@ehr.example.org/fhir", "https://ehr.example.org", False),
        ("https://ehr.example.org:8443/fhir", "https://ehr.example.org", False),
        ("http://ehr.example.org/fhir", "https://ehr.example.org", False),
        ("https://ehr.example.org/fhirx", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir/../admin", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir/%2e%2e/admin", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir%2f..%2fadmin", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir?x=1", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org/fhir#x", "https://ehr.example.org/fhir", False),
        ("https://ehr.example.org\\@evil.com/fhir", "https://ehr.example.org", False),
        ("https://ehr.example.org:notaport/fhir", "https://ehr.example.org", False),
        ("ftp://ehr.example.org/fhir", "ftp://ehr.example.org", False),
    ],
)
def test_fhir_server_prefix_matches_on_a_boundary(url: str, prefix: str, allowed: bool) -> None:
    assert url_within(url, prefix) is allowed


def _access(**settings: Any) -> FhirAccess:
    return FhirAccess.from_settings(Settings(**settings))


def test_with_jwt_on_no_fhir_server_is_allowed_unless_listed(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text("{}")
    on = {"jwt_required": True, "public_url": PUBLIC_URL, "trusted_issuers": {ISSUER: str(path)}}
    assert not _access(**on).allows("https://ehr.example.org/fhir")
    listed = _access(**on, allowed_fhir_servers="https://ehr.example.org/fhir")
    assert listed.allows("https://ehr.example.org/fhir")
    assert not listed.allows("https://ehr.example.org.evil.com/fhir")
    # Plain http is refused unless an http:// entry lists it explicitly.
    assert not listed.allows("http://ehr.example.org/fhir")
    both = _access(**on, allowed_fhir_servers="https://ehr.example.org/fhir,http://10.1.2.3/fhir")
    assert both.allows("http://10.1.2.3/fhir")
    # Local use (no JWT, no list): any server, as `make serve` documents.
    assert _access().allows("http://anything.example.org/fhir")


def test_a_fhir_server_not_on_the_list_is_never_contacted(harness: Harness) -> None:
    serve_fhir(harness.ehr, harness.engine)
    client = harness.client(harness.settings(allowed_fhir_servers=["https://ehr.example.org"]))
    body = harness.hook_request(
        prefetch=None,
        fhirServer=f"{harness.ehr.url}/fhir",
        fhirAuthorization=_fhir_authorization("access-token-not-to-be-sent"),
    )
    response = client.post(SERVICE_PATH, json=body, headers=harness.auth(SERVICE_PATH))
    assert response.status_code == 412
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not [p for p, _ in harness.ehr.requests if p.startswith("/fhir")]


def _fhir_authorization(token: str) -> dict[str, Any]:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }


# ---------------------------------------------------------------------------------------------
# Bounds


def test_a_body_over_the_limit_is_413(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False, max_body_bytes=4096))
    big = harness.hook_request(extension={"padding": "x" * 10_000})
    assert client.post(SERVICE_PATH, json=big).status_code == 413


def test_a_chunked_body_over_the_limit_is_413(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False, max_body_bytes=4096))
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        # No Content-Length: the limit must hold while reading, not only when it is declared.
        yield b'{"hook": "patient-view", "padding": "'
        for _ in range(100):
            sent.append(1)
            yield b"x" * 1024
        yield b'"}'

    response = client.post(
        SERVICE_PATH, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "4096" in response.json()["error"]["message"]


def test_too_many_prefetch_resources_is_413_with_an_explanation(harness: Harness) -> None:
    client = harness.client(harness.settings(jwt_required=False, max_prefetch_resources=5))
    prefetch = full_prefetch(harness.engine)
    key = next(k for k, v in prefetch.items() if v["resourceType"] == "Bundle")
    prefetch[key] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Condition", "id": str(i)}} for i in range(10)],
    }
    response = client.post(SERVICE_PATH, json=harness.hook_request(prefetch=prefetch))
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert "CDS_MAX_PREFETCH_RESOURCES" in message
    assert "at most 5" in message


def test_prefetch_resources_are_counted_through_nested_bundles() -> None:
    nested: dict[str, Any] = {"resourceType": "Patient", "id": "p"}
    for _ in range(500):  # deeper than the Python stack would allow recursively
        nested = {"resourceType": "Bundle", "entry": [{"resource": nested}]}
    assert count_prefetch_resources({"a": nested, "b": None, "c": "junk"}) == 501
    assert count_prefetch_resources(None) == 0


def test_fhir_pages_fetched_are_bounded(harness: Harness) -> None:
    serve_fhir(harness.ehr, harness.engine)
    next_url = f"{harness.ehr.url}/fhir/Condition?page=next"

    def endless(_: str) -> tuple[int, bytes, dict[str, str]]:
        page = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": {"resourceType": "Condition", "id": str(uuid.uuid4())}}],
            "link": [{"relation": "next", "url": next_url}],
        }
        return 200, json.dumps(page).encode(), {}

    harness.ehr.routes["/fhir/Condition"].handler = endless
    client = harness.client(harness.settings(jwt_required=False, fhir_max_pages=3))
    prefetch = full_prefetch(harness.engine)
    del prefetch["Condition"]
    body = harness.hook_request(prefetch=prefetch, fhirServer=f"{harness.ehr.url}/fhir")
    response = client.post(SERVICE_PATH, json=body)
    assert response.status_code == 200, response.text
    assert harness.ehr.hit_count("/fhir/Condition") == 3


def test_a_slow_fhir_server_is_a_412_within_the_request_deadline(harness: Harness) -> None:
    serve_fhir(harness.ehr, harness.engine, delay_seconds=3.0)
    settings = harness.settings(
        jwt_required=False, request_deadline_seconds=0.5, fhir_timeout_seconds=30
    )
    client = harness.client(settings)
    prefetch = full_prefetch(harness.engine)
    del prefetch["Condition"]
    body = harness.hook_request(prefetch=prefetch, fhirServer=f"{harness.ehr.url}/fhir")
    started = time.monotonic()
    response = client.post(SERVICE_PATH, json=body)
    elapsed = time.monotonic() - started
    assert response.status_code == 412
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["expression"] for i in outcome["issue"]] == [["prefetch.Condition"]]
    assert outcome["issue"][0]["code"] == "timeout"
    assert "too slow" in outcome["issue"][0]["diagnostics"]
    assert elapsed < 2.5


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"hook":"patient-view","context":' + b"[" * 2000 + b"]" * 2000 + b"}",
    ],
    ids=["array bomb", "object bomb", "nested in a field"],
)
def test_json_nesting_bombs_are_400(harness: Harness, raw: bytes) -> None:
    client = harness.client(harness.settings(jwt_required=False))
    response = client.post(SERVICE_PATH, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize("where", ["context", "prefetch", "extension"])
def test_deep_but_parseable_json_is_not_a_5xx(harness: Harness, where: str) -> None:
    # ~980 levels: under orjson's parse limit (1024), past Python's recursion limit (1000).
    deep = '{"x":[' * 490 + '"leaf"' + "]}" * 490
    body = harness.hook_request()
    if where == "context":
        body["context"] = {**body["context"], "deep": "DEEP"}
    elif where == "prefetch":
        body["prefetch"] = {
            **body["prefetch"],
            "Condition": {"resourceType": "Bundle", "entry": ["DEEP"]},
        }
    else:
        body["extension"] = {"deep": "DEEP"}
    raw = json.dumps(body).replace('"DEEP"', deep).encode()
    client = harness.client(harness.settings(jwt_required=False))
    response = client.post(SERVICE_PATH, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text


# ---------------------------------------------------------------------------------------------
# Logs


def test_logs_carry_no_token_and_no_patient_data(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    serve_fhir(harness.ehr, harness.engine)
    access_token = f"fhir-access-token-{uuid.uuid4().hex}"
    client = harness.client()
    caplog.set_level(logging.DEBUG)

    tokens: list[str] = []

    def call(body: dict[str, Any], aud_path: str = SERVICE_PATH) -> int:
        token = harness.token(aud_path)
        tokens.append(token)
        status: int = client.post(SERVICE_PATH, json=body, headers=bearer(token)).status_code
        return status

    # Prefetched (with the patient's name and birth date), FHIR-fetched, and failing cases.
    assert call(harness.hook_request()) == 200
    fetching = {
        "prefetch": None,
        "fhirServer": f"{harness.ehr.url}/fhir",
        "fhirAuthorization": _fhir_authorization(access_token),
    }
    assert call(harness.hook_request(**fetching)) == 200
    assert any(h.get("Authorization") == f"Bearer {access_token}" for _, h in harness.ehr.requests)
    harness.ehr.routes.clear()  # now the FHIR server fails: 412
    assert call(harness.hook_request(**fetching)) == 412
    replayed = tokens[0]
    assert (
        client.post(SERVICE_PATH, json=harness.hook_request(), headers=bearer(replayed)).status_code
        == 401
    )
    assert call(harness.hook_request(), aud_path=DISCOVERY) == 401  # wrong aud

    assert caplog.records, "the test must see the logs it checks"
    secrets = [*tokens, access_token, PATIENT_NAME, "Quuxley", "Zebediah", PATIENT_BIRTH_DATE]
    for record in caplog.records:
        text = record.getMessage() + " " + repr(record.__dict__)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        for secret in secrets:
            assert secret not in text, (record.name, record.getMessage())
    # The token's signature part alone is not logged either.
    signatures = [t.rsplit(".", 1)[1] for t in tokens]
    assert not any(s in r.getMessage() for r in caplog.records for s in signatures)
