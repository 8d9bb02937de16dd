"""The trusted EHRs' key sets (cds.security.keys): URL (loopback http), file, jku, and the
refresh rate limit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, get_args

import pytest
from joserfc.jwk import ECKey, RSAKey

from cds.security.keys import ALGORITHM_KEYS, KeyStore
from cds.settings import JwtAlgorithm
from tests.support.jwt_keys import (
    ISSUER,
    EhrKeys,
    bearer,
    claims_for,
)
from tests.support.paths import REPO
from tests.support.security import (
    DISCOVERY,
    FakeClock,
    Harness,
)

SANDBOX_JWKS = REPO / "docker" / "jwks" / "sandbox.cds-hooks.org.json"


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


def test_an_allowed_jku_is_followed_for_a_kid_the_configured_set_does_not_hold(
    harness: Harness,
) -> None:
    other = EhrKeys({"jku-key": ECKey.generate_key("P-384", parameters={"kid": "jku-key"})})
    jku = f"{harness.ehr.url}/jku-jwks.json"
    harness.ehr.json("/jku-jwks.json", other.jwks())
    client = harness.client()
    token = other.sign(claims_for(DISCOVERY), kid="jku-key", header={"jku": jku})
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200
    assert harness.ehr.hit_count("/jku-jwks.json") == 1


def test_a_kid_the_configured_set_holds_is_verified_with_it_whatever_jku_says(
    harness: Harness,
) -> None:
    """The configured JWK Set is asked first: its keys verify their own kids, and the token's
    jku is not fetched, allowed or not."""
    allowed_jku = f"{harness.ehr.url}/jku-jwks.json"
    harness.ehr.json("/jku-jwks.json", EhrKeys.generate().jwks())  # other keys, same kids
    client = harness.client()
    for jku in (allowed_jku, "https://somewhere-else.example.org/jwks.json"):
        token = harness.keys.sign(claims_for(DISCOVERY), header={"jku": jku})
        assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200, jku
    assert harness.ehr.hit_count("/jku-jwks.json") == 0


SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


def test_sandbox_tokens_are_verified_on_a_closed_network(harness: Harness, tmp_path: Path) -> None:
    """The CDS Hooks sandbox's tokens always carry a jku on the internet. With its key set saved
    as a local file (README, "Trying it with the CDS Hooks sandbox"), they are verified with that
    file and nothing is fetched. (The test signs with its own key under the sandbox's kid.)"""
    sandbox = EhrKeys({SANDBOX_KID: ECKey.generate_key("P-384", parameters={"kid": SANDBOX_KID})})
    jwks = tmp_path / "sandbox-jwks.json"
    jwks.write_text(json.dumps(sandbox.jwks()))
    keys = KeyStore()
    settings = harness.settings(trusted_issuers={SANDBOX_ISSUER: str(jwks)})
    client = harness.client(settings, authenticator=harness.authenticator(settings, keys=keys))
    # The header and payload the sandbox sends (jwt-generator.js): ES384, typ, kid, jku.
    claims = claims_for(DISCOVERY, iss=SANDBOX_ISSUER, tenant=None)
    token = sandbox.sign(claims, kid=SANDBOX_KID, header={"jku": SANDBOX_JKU})
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200
    assert keys.loads == 1  # the file, once; the jku was never followed


def test_the_shipped_sandbox_key_set_holds_the_key_its_tokens_name() -> None:
    keys = KeyStore()
    key = asyncio.run(keys.key_for(str(SANDBOX_JWKS), SANDBOX_KID, "ES384"))
    assert key is not None
    assert key.get("crv") == "P-384"


def test_every_algorithm_a_setting_may_name_has_its_key_type() -> None:
    assert set(ALGORITHM_KEYS) == set(get_args(JwtAlgorithm))
