"""The jti cache (cds.security.jti_cache): a token is accepted once, in memory or, shared by
every worker, in Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis

from cds.security.jti_cache import MemoryJtiCache, RedisJtiCache, jti_key
from tests.support.jwt_keys import (
    ISSUER,
    bearer,
    claims_for,
)
from tests.support.security import (
    DISCOVERY,
    LEEWAY,
    REDIS_URL,
    FakeClock,
    Harness,
)


def test_the_same_jti_from_another_issuer_is_not_a_replay() -> None:
    cache = MemoryJtiCache()
    assert asyncio.run(cache.first_use("https://a.example.org", "j-1", 60))
    assert asyncio.run(cache.first_use("https://b.example.org", "j-1", 60))
    assert not asyncio.run(cache.first_use("https://a.example.org", "j-1", 60))


def test_the_memory_cache_is_bounded_and_forgets_expired_tokens() -> None:
    clock = FakeClock()
    cache = MemoryJtiCache(max_entries=3, clock=clock)
    for i in range(5):
        assert asyncio.run(cache.first_use(ISSUER, f"j-{i}", 60 + i))
    assert len(cache) == 3
    # The entries closest to expiry were dropped first; the newest are still refused.
    assert not asyncio.run(cache.first_use(ISSUER, "j-4", 60))
    clock.now += 3600
    assert asyncio.run(cache.first_use(ISSUER, "j-4", 60))
    assert len(cache) == 1


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test:cds:jti:{uuid.uuid4().hex}:"
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
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
