"""Service settings, read from `CDS_*` environment variables and validated at start-up.

A bad value stops the service with a message naming the variable, before it serves anything.
"""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The asymmetric JWS algorithms the authenticator knows how to verify (the key each needs is in
# cds.security.keys.ALGORITHM_KEYS). Never `none` nor HS*: a shared secret is not an EHR's key.
JwtAlgorithm = Literal[
    "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"
]
# What the CDS Hooks 2.0 spec names for EHR tokens; others only when an EHR needs them.
DEFAULT_JWT_ALGORITHMS: tuple[JwtAlgorithm, ...] = ("ES384", "RS384")


def is_loopback_http(url: str) -> bool:
    """http is trusted only on this machine (tests, a local EHR simulator), never on a network."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False  # a name (even "localhost") resolves through DNS/hosts: not provably local


DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'cds.db'}"
# The audit database's URL schemes (cds.audit.connection loads PostgreSQL through psycopg 3).
DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "postgres", "postgresql+psycopg"})


def _sqlite_folder(rest: str) -> Path | None:
    """The folder of the file named by a SQLite URL's part after `sqlite://` (`/relative.db`,
    `//absolute.db`); None for an in-memory database."""
    path = rest.partition("?")[0].removeprefix("/")
    if path in ("", ":memory:"):
        return None
    return Path(path).parent


class TrustedIssuer(BaseModel):
    """One trusted EHR: where its JWK Set lives, and which `jku` header URLs it may point at."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jwks: str = Field(min_length=1)
    jku: tuple[str, ...] = ()

    @property
    def jwks_is_url(self) -> bool:
        return self.jwks.startswith(("https://", "http://"))

    @model_validator(mode="after")
    def _safe_locations(self) -> TrustedIssuer:
        # Key material decides who is trusted: fetch it only over https (or loopback http).
        for url in (*((self.jwks,) if self.jwks_is_url else ()), *self.jku):
            if not (url.startswith("https://") or is_loopback_http(url)):
                raise ValueError(f"{url!r} must be an https URL (http only for a loopback IP)")
        if not self.jwks_is_url and not Path(self.jwks).is_file():
            raise ValueError(f"JWK Set file {self.jwks!r} does not exist")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CDS_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    hooks_dir: Path = PROJECT_ROOT / "hooks"
    database_url: str = DEFAULT_DATABASE_URL
    # Every audit database operation (connect, a pooled connection, statements, commit) ends
    # within this; feedback then gets 503, invocation rows wait in the spool.
    database_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # The audit spool (cds.audit.spool): rows on local disk from before the response until the
    # database has them. On the same machine as the workers, on a disk that survives them.
    audit_spool_dir: Path = PROJECT_ROOT / "var" / "spool"
    # About 400,000 rows (hours of calls in an outage); beyond, rows are lost and counted.
    audit_spool_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024 * 1024)
    # fdatasync each row before the response: survives a power cut too (bench/README.md).
    audit_spool_fsync: bool = False
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = False  # one JSON line per request on stdout (cds.api.access_log)

    # Fetching what the EHR did not prefetch.
    fhir_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    fhir_max_pages: int = Field(default=10, ge=1, le=1000)
    # All the FHIR answers of one call, decompressed. The largest Synthea patient's whole record
    # is 3.5 MB (and a call fetches only part of it); parsed, FHIR JSON takes six to ten times
    # its size in memory, so three hostile calls at once hold 120 MiB at most.
    fhir_max_bytes_per_call: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    request_deadline_seconds: float = Field(default=10.0, gt=0, le=120)
    allowed_fhir_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Request bounds.
    max_body_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_prefetch_resources: int = Field(default=50_000, ge=1)
    # An order set is tens of orders; 50,000 held a worker's event loop for a second.
    max_draft_orders: int = Field(default=500, ge=1)

    # The HTTP server (cds.api.http_protocol): what a client may send and hold, per worker.
    http_max_header_bytes: int = Field(default=32 * 1024, ge=4096, le=1024 * 1024)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    http_body_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    http_max_connections: int = Field(default=4096, ge=1, le=1_000_000)
    # On SIGTERM: calls in progress get this long to finish, then are cancelled; the audit rows
    # still queued after it stay in the spool for the next start.
    shutdown_timeout_seconds: int = Field(default=15, ge=0, le=600)

    # EHR authentication (CDS Hooks 2.0 security).
    jwt_required: bool = False
    public_url: str | None = None
    # iss -> JWK Set location (https URL or file path), or {"jwks": ..., "jku": [allowed URLs]}.
    trusted_issuers: Annotated[dict[str, TrustedIssuer], NoDecode] = Field(default_factory=dict)
    jwt_leeway_seconds: int = Field(default=60, ge=0, le=600)
    jwt_algorithms: Annotated[list[JwtAlgorithm], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_JWT_ALGORITHMS), min_length=1
    )
    redis_url: str | None = None

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])

    @field_validator("allowed_fhir_servers", "cors_origins", "jwt_algorithms", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        # Accept a JSON list or a comma-separated string: both are natural in an env file.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_issuers", mode="before")
    @classmethod
    def _parse_issuers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if isinstance(value, dict):  # a bare location is short for {"jwks": location}
            return {iss: {"jwks": v} if isinstance(v, str) else v for iss, v in value.items()}
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme, separator, rest = value.partition("://")
        if not separator or scheme.lower() not in DATABASE_SCHEMES:
            shown = scheme if separator else value[:40]
            raise ValueError(
                f"unsupported database {shown!r}: use sqlite:///path/to/cds.db or "
                "postgresql://user:password@host:5432/database"
            )
        folder = _sqlite_folder(rest) if scheme.lower() == "sqlite" else None
        # The default's folder, var/ in the checkout, is the service's own, made on first use.
        if folder is not None and value != DEFAULT_DATABASE_URL and not folder.is_dir():
            # A typo must not create a new folder and an empty audit somewhere unexpected.
            raise ValueError(f"the folder of the SQLite database does not exist: {folder}")
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.jwt_required:
            if not self.public_url:
                raise ValueError(
                    "CDS_PUBLIC_URL is required when CDS_JWT_REQUIRED=true (aud check)"
                )
            if not self.trusted_issuers:
                raise ValueError("CDS_TRUSTED_ISSUERS is required when CDS_JWT_REQUIRED=true")
        for prefix in self.allowed_fhir_servers:
            if not prefix.startswith(("http://", "https://")):
                raise ValueError(
                    f"CDS_ALLOWED_FHIR_SERVERS entry is not an http(s) URL: {prefix!r}"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
