"""The `jti` cache: a signed token is accepted once, then refused until it has expired (a token
replayed by whoever captured it is refused).

With CDS_REDIS_URL the cache is Redis (`SET key NX EX ttl`: atomic, shared by every worker and
replica, so a token replayed to another worker is still caught). Without it, an in-memory cache
per process, bounded in size: fine for one worker, and the start-up log says so.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cds.errors import JtiCacheUnavailable

log = logging.getLogger(__name__)


class JtiCache(Protocol):
    async def first_use(self, issuer: str, jti: str, ttl_seconds: int) -> bool:
        """Record (issuer, jti) for `ttl_seconds`; False when it was already recorded."""
        ...

    async def aclose(self) -> None: ...


def jti_key(prefix: str, issuer: str, jti: str) -> str:
    # Hashed: the key length is fixed and nothing the caller chose is used as a Redis key verbatim.
    digest = hashlib.sha256(f"{issuer}\n{jti}".encode()).hexdigest()
    return f"{prefix}{digest}"


class MemoryJtiCache:
    """Per-process cache; when full, the entry closest to expiry is dropped first (the smallest
    replay window any eviction can open, and only trusted, signed tokens can fill it)."""

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = max_entries
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._warned_full = False

    async def first_use(self, issuer: str, jti: str, ttl_seconds: int) -> bool:
        now = self._clock()
        self._purge(now)
        key = jti_key("", issuer, jti)
        if key in self._expiry:
            return False
        while len(self._expiry) >= self._max:
            _, oldest = heapq.heappop(self._heap)
            self._expiry.pop(oldest, None)
            if not self._warned_full:
                log.warning("jti cache is full (%d entries): evicting", self._max)
                self._warned_full = True
        expires = now + ttl_seconds
        self._expiry[key] = expires
        heapq.heappush(self._heap, (expires, key))
        return True

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, key = heapq.heappop(self._heap)
            self._expiry.pop(key, None)

    def __len__(self) -> int:
        return len(self._expiry)

    async def aclose(self) -> None:
        return None


class RedisJtiCache:
    def __init__(self, url: str, *, prefix: str = "cds:jti:", timeout_seconds: float = 2.0) -> None:
        self._prefix = prefix
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )

    async def first_use(self, issuer: str, jti: str, ttl_seconds: int) -> bool:
        try:
            stored = await self._redis.set(
                jti_key(self._prefix, issuer, jti), b"1", nx=True, ex=max(ttl_seconds, 1)
            )
        except RedisError as exc:
            raise JtiCacheUnavailable(type(exc).__name__) from exc
        return bool(stored)

    async def aclose(self) -> None:
        await self._redis.aclose()
