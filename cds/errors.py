"""One small exception tree; `cds.api.errors` maps it to HTTP in one place.

Everything a caller can cause is a `CdsError` with a status and a message that explains what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class CdsError(Exception):
    """A problem with a request that the caller can understand and act on."""

    status_code: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(CdsError):
    status_code = 400


class Unauthorized(CdsError):
    # Deliberately vague when raised: the message is logged, never sent (no help for an attacker).
    status_code = 401


class Forbidden(CdsError):
    status_code = 403


class NotFound(CdsError):
    status_code = 404


class PayloadTooLarge(CdsError):
    status_code = 413


class StorageUnavailable(CdsError):
    """Feedback could not be stored: the caller must retry, or it is lost."""

    status_code = 503


@dataclass(frozen=True)
class MissingData:
    """One piece of data a service needed but could not obtain (for the 412 OperationOutcome)."""

    prefetch_key: str
    query: str
    reason: str
    # FHIR issue type for the OperationOutcome: not-found (nowhere to fetch from), forbidden
    # (fhirServer not allowed), timeout, security (401/403), structure (bad JSON), transient...
    code: str = "transient"


@dataclass
class PrefetchUnavailable(CdsError):
    """The spec's 412: required data was neither prefetched nor retrievable from the FHIR server."""

    missing: list[MissingData] = field(default_factory=list)
    status_code: int = 412

    def __post_init__(self) -> None:
        keys = ", ".join(m.prefetch_key for m in self.missing)
        super().__init__(f"Required data unavailable: {keys}")

    def operation_outcome(self) -> dict[str, Any]:
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": m.code,
                    "diagnostics": f"prefetch '{m.prefetch_key}' ({m.query}): {m.reason}",
                    "expression": [f"prefetch.{m.prefetch_key}"],
                }
                for m in self.missing
            ],
        }
