"""Settings (cds.settings): what a bad value does at start-up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cds.settings import Settings
from tests.support.jwt_keys import ISSUER


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


def test_the_accepted_jwt_algorithms_default_to_es384_and_rs384() -> None:
    assert Settings().jwt_algorithms == ["ES384", "RS384"]
    assert Settings(jwt_algorithms="ES256, PS384").jwt_algorithms == ["ES256", "PS384"]
    assert Settings(jwt_algorithms='["RS256"]').jwt_algorithms == ["RS256"]


@pytest.mark.parametrize("value", ["HS256", "none", "ES384,EdDSA", ""])
def test_only_asymmetric_jwt_algorithms_can_be_accepted(value: str) -> None:
    with pytest.raises(ValidationError, match="jwt_algorithms"):
        Settings(jwt_algorithms=value)
