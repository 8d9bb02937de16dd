"""Matching a request's `fhirServer` against CDS_ALLOWED_FHIR_SERVERS.

The service sends the EHR's access token to that server, so a loose match is a token leak
(and a server-side request forgery). A plain `startswith` lets `https://ehr.example.org.evil.com`
or `https://ehr.example.org@evil.com` through; here scheme, host and port must be equal and the
path must be the prefix's path or below it, segment by segment.
"""

from __future__ import annotations

from urllib.parse import SplitResult, unquote, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_within(url: str, prefix: str) -> bool:
    """True when `url` is `prefix` itself or a path below it on the same origin."""
    try:
        target, allowed = urlsplit(url), urlsplit(prefix)
        target_port, allowed_port = _port(target), _port(allowed)
    except ValueError:  # e.g. a port that is not a number
        return False
    scheme = target.scheme.lower()
    if scheme not in _DEFAULT_PORTS or scheme != allowed.scheme.lower():
        return False
    # userinfo can make a URL look like it names a host it does not; a base URL never needs
    # a query or a fragment. Refuse rather than guess what the EHR meant.
    if target.username is not None or target.password is not None:
        return False
    if target.query or target.fragment or "\\" in url:
        return False
    if not target.hostname or target.hostname != allowed.hostname or target_port != allowed_port:
        return False
    segments = unquote(target.path).split("/")
    if any(s in (".", "..") for s in segments) or "%2f" in target.path.lower():
        return False  # would let the path climb out of the allowed prefix once normalised
    base = allowed.path.rstrip("/")
    path = target.path.rstrip("/")
    return path == base or path.startswith(base + "/")


def _port(parts: SplitResult) -> int | None:
    return parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
