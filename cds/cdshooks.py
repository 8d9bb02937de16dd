"""CDS Hooks 2.0 wire models: request, discovery, response (cards), feedback.

Incoming models are strict about what the spec requires and tolerant of what it leaves open
(unknown fields are ignored, `extension` objects are kept). Outgoing models serialise through
`to_wire()`, which omits every optional field without a value: the spec prohibits null, "", []
and {} (only `cards: []` is allowed).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Indicator = Literal["info", "warning", "critical"]


class _Incoming(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Outgoing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = _prune(
            self.model_dump(mode="json", exclude_none=True, by_alias=True)
        )
        return wire


def _prune(value: Any) -> Any:
    """Drop empty strings, lists and objects recursively (the spec's 'MUST omit')."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Request


def _base_url(value: str) -> str:
    """A FHIR base URL the service may send a token to: absolute http(s), a host, no user
    info, query, fragment or dot segments (they would let the URL point somewhere else than
    it reads, past an allow-list prefix check). Scheme and host are lower-cased."""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a malformed port
    except ValueError:
        raise ValueError("fhirServer must be an absolute http(s) URL") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise ValueError("fhirServer must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("fhirServer must not carry user information")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("fhirServer must not have a query or fragment")
    segments = parts.path.split("/")
    if any(s in (".", "..") for s in segments) or any(c in value for c in " \t\r\n\\"):
        raise ValueError("fhirServer must be a plain URL (no dot segments or whitespace)")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path}".rstrip("/")


# RFC 6750 b64token, plus the visible ASCII some servers use: it must fit in an HTTP header.
_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")


class FhirAuthorization(_Incoming):
    access_token: str = Field(min_length=1, repr=False)  # transient: never logged nor stored
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: str
    subject: str
    patient: str | None = None

    @field_validator("access_token")
    @classmethod
    def _header_safe(cls, value: str) -> str:
        if not _TOKEN_CHARS.match(value):
            # The value is never echoed: it is a credential.
            raise ValueError("access_token must be visible ASCII without spaces")
        return value


class HookRequest(_Incoming):
    hook: str = Field(min_length=1)
    hookInstance: UUID
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @field_validator("fhirServer")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _base_url(value)

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is REQUIRED when fhirAuthorization is provided")
        return self


# ---------------------------------------------------------------------------------------------
# Discovery


class ServiceDescriptor(_Outgoing):
    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None
    extension: dict[str, Any] | None = None


class DiscoveryResponse(_Outgoing):
    services: list[ServiceDescriptor]

    def to_wire(self) -> dict[str, Any]:
        # `services: []` is the spec's answer when there are none: keep it even when empty.
        return {"services": [s.to_wire() for s in self.services]}


# ---------------------------------------------------------------------------------------------
# Response


class Coding(_Outgoing):
    system: str
    code: str
    display: str | None = None


class Source(_Outgoing):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Outgoing):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class Suggestion(_Outgoing):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class OverrideReason(_Outgoing):
    code: str
    system: str
    display: str  # the spec: MUST populate display for each override reason


class Card(_Outgoing):
    uuid: str | None = None
    summary: str = Field(max_length=139)  # "<140 characters"
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[OverrideReason] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _selection_behavior_with_suggestions(self) -> Card:
        if self.suggestions and not self.selectionBehavior:
            raise ValueError("selectionBehavior MUST be provided when suggestions are present")
        return self


class CdsResponse(_Outgoing):
    cards: list[Card]
    extension: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"cards": [c.to_wire() for c in self.cards]}
        if self.extension:
            wire["extension"] = self.extension
        return wire


# ---------------------------------------------------------------------------------------------
# Feedback


class FeedbackCoding(_Incoming):
    system: str | None = None
    code: str = Field(min_length=1)
    display: str | None = None


class OverrideReasonFeedback(_Incoming):
    reason: FeedbackCoding | None = None
    userComment: str | None = Field(default=None, max_length=4000)


class AcceptedSuggestion(_Incoming):
    id: str = Field(min_length=1)


class FeedbackItem(_Incoming):
    card: str = Field(min_length=1, max_length=200)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReasonFeedback | None = None
    outcomeTimestamp: datetime

    @field_validator("outcomeTimestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("outcomeTimestamp must carry a UTC offset (RFC 3339)")
        return value

    @model_validator(mode="after")
    def _outcome_fields(self) -> FeedbackItem:
        if self.outcome == "accepted":
            if not self.acceptedSuggestions:
                raise ValueError("acceptedSuggestions is required when outcome is 'accepted'")
            if self.overrideReason is not None:
                raise ValueError("overrideReason is only allowed when outcome is 'overridden'")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is only allowed when outcome is 'accepted'")
        return self


class FeedbackRequest(_Incoming):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=1000)
