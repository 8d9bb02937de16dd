"""Every exception the service defines, in one tree.

```
Exception
├── CdsError                   a call the service cannot answer: an HTTP status, a message, a body
│   ├── BadRequest             400  the request is malformed (JSON, hook request, context)
│   ├── Unauthorized           401  the EHR's JWT was refused (the reason is logged, never sent)
│   ├── NotFound               404  no such CDS service
│   ├── PrefetchUnavailable    412  no pinned rule can run (or no Patient) with the data had
│   ├── PayloadTooLarge        413  body or prefetch over its bound
│   ├── AuthUnavailable        503  the token could not be checked (key set, jti cache)
│   └── StorageUnavailable     503  feedback could not be stored
├── ServiceConfigError         a hooks/ file is invalid: the service refuses to start
├── SchemaNotCurrent           (RuntimeError) the audit database is not at this code's schema
├── AuditDatabaseUnavailable   the audit database cannot take a write now (rows wait in the
│                              spool, feedback becomes StorageUnavailable)
├── FhirFetchError             the EHR's FHIR server did not give the data (becomes MissingData)
├── KeysUnavailable            no JWK Set can be loaded for an issuer (becomes AuthUnavailable)
├── JtiCacheUnavailable        the jti cache cannot answer (becomes AuthUnavailable)
├── UnresolvedToken            (ValueError) a prefetch template's token has no value in the context
├── UnsupportedTemplate        (ValueError) a query the local FHIR search cannot answer faithfully
├── ReplayInputError           a replay input is unreadable or invalid (`cds replay`)
└── ReplayTargetUnavailable    the service replayed against could not be asked (`cds replay`)
```

A `CdsError` carries its own HTTP answer (`status_code`, `body()`, `headers`): `cds.api.errors`
sends it, and `cds replay` in process reports the same answer without HTTP. The other
exceptions never leave the service as they are: each is caught where the table says and turned
into a `CdsError`, a data warning, a start-up failure or a replay verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal


def error_body(status: int, message: str) -> dict[str, Any]:
    """The JSON body of every error answer that is not the spec's 412 OperationOutcome."""
    return {"error": {"status": status, "message": message}}


class CdsError(Exception):
    """A problem with a call that the caller can understand and act on."""

    status_code: int = 400
    headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        """What the caller is sent."""
        return error_body(self.status_code, self.message)

    def log_reason(self) -> str:
        """What the one log line of the rejected call says: never a token or patient data."""
        return self.message


class BadRequest(CdsError):
    status_code = 400

    @classmethod
    def invalid(cls, errors: Sequence[Mapping[str, Any]]) -> BadRequest:
        """From a validation's errors (pydantic's or FastAPI's): where and what, at most ten.
        Never the input itself: it may hold the access token."""
        parts = []
        for error in errors[:10]:
            location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            parts.append(f"{location or 'body'}: {error.get('msg')}")
        return cls("; ".join(parts))


class Unauthorized(CdsError):
    # Deliberately vague: the message is the authenticator's reason code, logged and never sent
    # (no help for an attacker).
    status_code = 401
    headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": "Bearer"}

    def body(self) -> dict[str, Any]:
        return error_body(self.status_code, "unauthorized")


class NotFound(CdsError):
    status_code = 404


class PayloadTooLarge(CdsError):
    status_code = 413


class AuthUnavailable(CdsError):
    """The token could not be checked (key set or jti cache unreachable): fail closed, but say
    503 rather than 401 so the EHR retries instead of reporting bad credentials."""

    status_code = 503


class StorageUnavailable(CdsError):
    """Feedback could not be stored: the caller must retry, or it is lost."""

    status_code = 503


# Why a prefetch key could not be had, as a class an EHR's integrator can act on (the response
# extension, the audit and the WARNING log line name it; the diagnostics say the rest).
Unavailability = Literal[
    "unsupported",  # the FHIR server does not support the query (400, 405, 422, 501): the type
    # or a search parameter is not exposed. Not transient: retrying gives the same answer
    "not-permitted",  # 401 / 403: the token's scopes do not cover the type
    "not-found",  # 404 / 410 for a search: no such endpoint on the server
    "timeout",  # no answer within CDS_FHIR_TIMEOUT_SECONDS / the request deadline (408, 504)
    "server-error",  # 5xx (but 501 and 504)
    "http-error",  # any other HTTP error status (409, 429, ...)
    "unreachable",  # no HTTP answer: connection refused or reset, DNS, TLS
    "unusable-answer",  # a redirect, invalid JSON, not a resource, an OperationOutcome, too large,
    # a next link off the server
    "server-not-allowed",  # fhirServer is not on CDS_ALLOWED_FHIR_SERVERS: never contacted
    "not-sent",  # absent from the prefetch (or not usable as sent) with no fhirServer to fetch
    # it from, or a template token the context does not give
    "unexplained",  # a server not on CDS_ALLOWED_FHIR_SERVERS failed: how is in the service log
    # only, so that answers never tell what an unlisted address does
]


@dataclass(frozen=True)
class MissingData:
    """One prefetch key the service could not obtain: it stops the rules that need its type
    (the 412 OperationOutcome when no rule can run, or the Patient is missing)."""

    prefetch_key: str
    query: str
    reason: str
    # FHIR issue type for the OperationOutcome: not-found (nowhere to fetch from), forbidden
    # (fhirServer not allowed), timeout, security (401/403), not-supported, structure, transient...
    code: str = "transient"
    unavailability: Unavailability = "server-error"
    resource_type: str = ""  # the type the key's template reads (keys are type names here)
    http_status: int | None = None  # the FHIR server's status, when it answered with an error


@dataclass
class PrefetchUnavailable(CdsError):
    """The spec's 412: data was neither prefetched nor retrievable from the FHIR server, and
    without it no pinned rule can run, or the Patient itself is missing (`cds.pipeline.
    partial_data` decides). Names every key that could not be had, and why."""

    missing: list[MissingData] = field(default_factory=list)
    status_code: int = 412

    def __post_init__(self) -> None:
        keys = ", ".join(m.prefetch_key for m in self.missing)
        super().__init__(f"Required data unavailable: {keys}")

    def body(self) -> dict[str, Any]:
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": m.code,
                    "diagnostics": (
                        f"prefetch '{m.prefetch_key}' ({m.query}): {m.unavailability}: {m.reason}"
                    ),
                    "expression": [f"prefetch.{m.prefetch_key}"],
                }
                for m in self.missing
            ],
        }

    def log_reason(self) -> str:
        # Keys and failure classes only: the queries carry the patient id, the diagnostics
        # whatever the FHIR server said.
        missing = ", ".join(f"{m.prefetch_key} ({m.unavailability})" for m in self.missing)
        return f"required data unavailable: {missing}"


class ServiceConfigError(Exception):
    """A hooks/ file is invalid: the service refuses to start."""


class SchemaNotCurrent(RuntimeError):
    """The audit database is reachable but not at the schema this code writes."""


class AuditDatabaseUnavailable(Exception):
    """The audit database cannot take a write now: down, hung, read-only, not migrated, or its
    SQLite file deleted or replaced. The same write may succeed later, unchanged."""


class FhirFetchError(Exception):
    """The FHIR server could not give us the data (refused, failed, timed out, bad JSON).

    `code` is the FHIR issue type reported in the 412 OperationOutcome; `unavailability` the
    class of the failure (`Unavailability`); `status` the HTTP status, when there was one."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "transient",
        unavailability: Unavailability = "unusable-answer",
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.unavailability: Unavailability = unavailability
        self.status = status


class KeysUnavailable(Exception):
    """No key set could be loaded for a location (and none is cached)."""


class JtiCacheUnavailable(Exception):
    """The jti cache could not answer: the token can be neither accepted nor refused safely."""


class UnresolvedToken(ValueError):
    """A prefetch template names a `{{context.x}}` token the request's context does not give."""


class UnsupportedTemplate(ValueError):
    """A prefetch template uses a search feature the local FHIR search does not implement."""


class ReplayInputError(Exception):
    """A replay input that cannot be replayed (unreadable, invalid scenario, unknown service...)."""


class ReplayTargetUnavailable(Exception):
    """The service being replayed against could not be asked (connection refused, timeout...)."""
