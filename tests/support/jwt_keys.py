"""Helpers for the security tests: an EHR's signing keys and tokens, a real loopback HTTP server
(for JWK Sets and FHIR), and an Engine that does not depend on which rule versions are released.

Keys are generated per test session and tokens are signed for real (joserfc), so every check in
`cds.security` runs against genuine ES384 / RS384 signatures.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from cds.pipeline import Engine
from cds.record import RecordBuilder
from cds.rules.registry import load_registry
from cds.services import load_services
from cds.terminology import Terminology
from tests.support.paths import HOOKS

ISSUER = "https://ehr.example.org"
PUBLIC_URL = "https://cds.example.org"


# ---------------------------------------------------------------------------------------------
# Keys and tokens


@dataclass
class EhrKeys:
    """One EHR's private keys by kid; `jwks()` is what it publishes."""

    keys: dict[str, ECKey | RSAKey] = field(default_factory=dict)

    @classmethod
    def generate(cls) -> EhrKeys:
        return cls(
            {
                "es384-1": ECKey.generate_key("P-384", parameters={"kid": "es384-1"}),
                "rs384-1": RSAKey.generate_key(2048, parameters={"kid": "rs384-1"}),
                "es256-1": ECKey.generate_key("P-256", parameters={"kid": "es256-1"}),
            }
        )

    def add(self, kid: str, key: ECKey | RSAKey) -> None:
        self.keys[kid] = key

    def jwks(self, *kids: str) -> dict[str, Any]:
        chosen = kids or tuple(self.keys)
        return {"keys": [dict(self.keys[kid].as_dict(private=False)) for kid in chosen]}

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        alg: str = "ES384",
        kid: str | None = None,
        header: Mapping[str, Any] | None = None,
        key: ECKey | RSAKey | OctKey | None = None,
    ) -> str:
        kid = kid or {"ES384": "es384-1", "RS384": "rs384-1", "ES256": "es256-1"}.get(alg, "x")
        signing_key = key if key is not None else self.keys[kid]
        full_header = {"alg": alg, "kid": kid, "typ": "JWT", **(header or {})}
        full_header = {k: v for k, v in full_header.items() if v is not None}
        return jwt.encode(
            full_header, dict(claims), signing_key, algorithms=[alg], default_type=None
        )


def claims_for(
    path: str, *, iss: str = ISSUER, lifetime: int = 300, **overrides: Any
) -> dict[str, Any]:
    """The CDS Hooks 2.0 payload an EHR sends to `PUBLIC_URL + path`; None removes a claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss,
        "aud": PUBLIC_URL + path,
        "exp": now + lifetime,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "tenant": "tenant-1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(
    header: Mapping[str, Any], claims: Mapping[str, Any], signature: str = ""
) -> str:
    """A token nobody signed (alg none, or a forged signature)."""
    return f"{_b64(header)}.{_b64(claims)}.{signature}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------------------
# A real HTTP server on 127.0.0.1


Handler = Callable[[str], tuple[int, bytes, dict[str, str]]]


@dataclass
class Route:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay_seconds: float = 0.0
    handler: Handler | None = None  # path+query -> (status, body, headers), overrides the above


class LoopbackServer:
    """A tiny threaded HTTP server: routes by path, counts hits, records request headers."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    server.requests.append((self.path, dict(self.headers.items())))
                    route = server.routes.get(path)
                if route is None:
                    self._send(404, b'{"resourceType":"OperationOutcome"}', {})
                    return
                if route.delay_seconds:
                    time.sleep(route.delay_seconds)
                if route.handler is not None:
                    status, body, headers = route.handler(self.path)
                else:
                    status, body, headers = route.status, route.body, {}
                self._send(status, body, {"Content-Type": route.content_type, **headers})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a deadline test): nothing to answer

            def log_message(self, *args: Any) -> None:
                pass  # keep test output clean

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def json(self, path: str, document: Any, **options: Any) -> None:
        self.routes[path] = Route(body=json.dumps(document).encode(), **options)

    def hit_count(self, path: str) -> int:
        with self._lock:
            return self.hits.get(path, 0)

    @contextmanager
    def running(self) -> Iterator[LoopbackServer]:
        # A short poll interval: shutdown() waits for the next poll, once per test.
        thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()


# ---------------------------------------------------------------------------------------------
# The engine


def security_engine() -> Engine:
    """The real hooks/ and rules, loaded as if every rule version were released: what these
    tests check (the HTTP edge) must not depend on the state of the rule release process."""
    registry = load_registry()
    released = dataclasses.replace(registry.released, rules={key: "test" for key in registry.rules})
    registry = dataclasses.replace(registry, released=released)
    terminologies = {
        release: Terminology.load(release)
        for release in sorted({rule.terminology for rule in registry.rules.values()})
    }
    services = load_services(HOOKS, registry, terminologies)
    builders = {release: RecordBuilder(t) for release, t in terminologies.items()}
    return Engine(terminologies, registry, services, builders)
