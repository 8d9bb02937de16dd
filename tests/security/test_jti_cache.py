"""The jti cache (cds.security.jti_cache): a token is accepted once, in memory or, shared by
every worker, in Redis."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cds.security.jti_cache import MemoryJtiCache, RedisJtiCache, jti_key
from tests.support.jwt_keys import (
    ISSUER,
    bearer,
    claims_for,
)
from tests.support.processes import redis_server
from tests.support.security import (
    DISCOVERY,
    LEEWAY,
    REDIS_URL,
    FakeClock,
    Harness,
    rejected_reasons,
)


def _first(cache: MemoryJtiCache, issuer: str, jti: str, ttl: int = 60) -> bool:
    """A token issued now: after the cache started."""
    return asyncio.run(cache.first_use(issuer, jti, ttl, issued_at=time.time())) == "first_use"


def test_the_same_jti_from_another_issuer_is_not_a_replay() -> None:
    cache = MemoryJtiCache()
    assert _first(cache, "https://a.example.org", "j-1")
    assert _first(cache, "https://b.example.org", "j-1")
    assert not _first(cache, "https://a.example.org", "j-1")


def test_the_memory_cache_is_bounded_and_forgets_expired_tokens() -> None:
    clock = FakeClock()
    cache = MemoryJtiCache(max_entries=3, clock=clock)
    for i in range(5):
        assert _first(cache, ISSUER, f"j-{i}", 60 + i)
    assert len(cache) == 3
    # The entries closest to expiry were dropped first; the newest are still refused.
    assert not _first(cache, ISSUER, "j-4")
    clock.now += 3600
    assert _first(cache, ISSUER, "j-4")
    assert len(cache) == 1


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A cache of the test's own on the shared Redis, started a minute ago (as in a running
    deployment: a token signed just before the cache's very first use would predate it)."""
    prefix = f"test:cds:jti:{uuid.uuid4().hex}:"
    connection = redis.Redis.from_url(REDIS_URL)
    connection.set(f"{prefix}started", int(time.time()) - 60)
    yield prefix
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


# ---------------------------------------------------------------------------------------------
# A cache that restarts empty: tokens issued before it started are refused


def _issued_seconds_ago(harness: Harness, seconds: int) -> dict[str, str]:
    return bearer(harness.keys.sign(claims_for(DISCOVERY, iat=int(time.time()) - seconds)))


@pytest.mark.parametrize("persistent", [False, True], ids=["no persistence", "append-only file"])
def test_a_token_used_before_a_redis_restart_is_not_accepted_again(
    harness: Harness,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    persistent: bool,
) -> None:
    with redis_server(tmp_path, persistent=persistent) as server:
        clock = FakeClock()
        clock.now = time.time() - 10  # the cache's first use: ten seconds ago
        cache = RedisJtiCache(server.url, wall_clock=clock)
        client = harness.client(authenticator=harness.authenticator(jti_cache=cache))
        used = _issued_seconds_ago(harness, 3)
        assert client.get(DISCOVERY, headers=used).status_code == 200
        server.restart()
        clock.now = time.time()
        caplog.set_level(logging.INFO)
        assert client.get(DISCOVERY, headers=used).status_code == 401
        # Without persistence the jti is gone, but the cache knows it started after the token
        # was issued; with it (as compose runs Redis), the jti itself is still there.
        expected = "replayed_jti" if persistent else "issued_before_jti_cache"
        assert rejected_reasons(caplog) == [expected]
        # Tokens issued from now on are accepted as usual.
        assert client.get(DISCOVERY, headers=harness.auth()).status_code == 200


def test_a_token_used_before_a_restart_of_the_service_is_not_accepted_again(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The in-memory cache (one worker, no Redis) starts empty with every process."""
    running = MemoryJtiCache(wall_clock=lambda: time.time() - 10)
    client = harness.client(authenticator=harness.authenticator(jti_cache=running))
    used = _issued_seconds_ago(harness, 3)
    assert client.get(DISCOVERY, headers=used).status_code == 200
    restarted = harness.client()  # a new process: a new, empty cache
    caplog.set_level(logging.INFO)
    assert restarted.get(DISCOVERY, headers=used).status_code == 401
    assert rejected_reasons(caplog) == ["issued_before_jti_cache"]
    assert restarted.get(DISCOVERY, headers=harness.auth()).status_code == 200


def test_the_memory_cache_knows_when_it_started() -> None:
    cache = MemoryJtiCache(wall_clock=lambda: 1_000.7)
    assert asyncio.run(cache.first_use(ISSUER, "j-1", 60, issued_at=999)) == "issued_before_cache"
    assert asyncio.run(cache.first_use(ISSUER, "j-2", 60, issued_at=1_000)) == "first_use"
    assert asyncio.run(cache.first_use(ISSUER, "j-2", 60, issued_at=1_000)) == "replayed"
