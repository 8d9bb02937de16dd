"""CDS Hooks 2.0 authentication (cds.security.authenticator): only trusted EHRs get answers.

Tokens are signed for real with keys generated here (ES384, RS384, ES256, and the RSA key with
RS256 and PS384); JWK Sets are served
over real loopback HTTP (tests/support/security.py). Each rejection is checked through the app
(a bare 401) and by the reason code it logs.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from cds.security import Authenticator
from cds.security.jti_cache import RedisJtiCache
from tests.support.jwt_keys import (
    ISSUER,
    PUBLIC_URL,
    bearer,
    claims_for,
    unsigned_token,
)
from tests.support.security import (
    DISCOVERY,
    LEEWAY,
    PATIENT_BIRTH_DATE,
    PATIENT_NAME,
    REDIS_URL,
    SERVICE_PATH,
    FromNow,
    Harness,
    b64,
    fhir_authorization,
    rejected_reasons,
    resolve,
    serve_fhir,
)

UNAUTHORIZED_BODY = {"error": {"status": 401, "message": "unauthorized"}}


# ---------------------------------------------------------------------------------------------
# Acceptance


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_a_token_signed_by_a_trusted_ehr_is_accepted(harness: Harness, alg: str) -> None:
    client = harness.client()
    response = client.get(DISCOVERY, headers=bearer(harness.token(alg=alg)))
    assert response.status_code == 200
    assert response.json()["services"]


@pytest.mark.parametrize(
    ("alg", "kid"), [("ES256", "es256-1"), ("RS256", "rs384-1"), ("PS384", "rs384-1")]
)
def test_other_asymmetric_algorithms_are_refused_unless_configured(
    harness: Harness, caplog: pytest.LogCaptureFixture, alg: str, kid: str
) -> None:
    token = harness.keys.sign(claims_for(DISCOVERY), alg=alg, kid=kid)
    caplog.set_level(logging.INFO)
    assert harness.client().get(DISCOVERY, headers=bearer(token)).status_code == 401
    assert rejected_reasons(caplog) == ["alg_not_allowed"]

    configured = harness.client(harness.settings(jwt_algorithms=[alg]))
    token = harness.keys.sign(claims_for(DISCOVERY), alg=alg, kid=kid)
    assert configured.get(DISCOVERY, headers=bearer(token)).status_code == 200
    # Naming an algorithm replaces the default list: ES384 is no longer accepted there.
    assert configured.get(DISCOVERY, headers=harness.auth()).status_code == 401


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
    # The service first: its jti cache refuses tokens issued before it started (to the second).
    client = harness.client()
    headers = {"Authorization": f"bearer {harness.token()}"}
    assert client.get(DISCOVERY, headers=headers).status_code == 200


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


def _with_key(
    key: ECKey | RSAKey, kid: str, alg: str = "ES384", header: dict[str, Any] | None = None
) -> Any:
    def make(h: Harness) -> str:
        token = h.keys.sign(claims_for(DISCOVERY), alg=alg, kid=kid, key=key, header=header)
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
        "unknown kid, jku not on the allow-list",
        _with_key(
            ECKey.generate_key("P-384"), "ghost", header={"jku": "https://evil.example.org/k"}
        ),
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


# ---------------------------------------------------------------------------------------------
# Each token once: the jti cache, asked last


def test_a_replayed_token_is_refused_in_memory(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    client = harness.client()
    caplog.set_level(logging.INFO)
    headers = harness.auth()
    assert client.get(DISCOVERY, headers=headers).status_code == 200
    assert client.get(DISCOVERY, headers=headers).status_code == 401
    assert rejected_reasons(caplog) == ["replayed_jti"]


def test_an_invalid_token_does_not_consume_its_jti(harness: Harness) -> None:
    """Only tokens that pass every other check are recorded: junk cannot fill the cache."""
    client = harness.client()
    jti = str(uuid.uuid4())
    wrong_aud = harness.auth(jti=jti, aud=PUBLIC_URL + "/elsewhere")
    assert client.get(DISCOVERY, headers=wrong_aud).status_code == 401
    assert client.get(DISCOVERY, headers=harness.auth(jti=jti)).status_code == 200


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
        "fhirAuthorization": fhir_authorization(access_token),
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
