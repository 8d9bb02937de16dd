"""The `jti` cache: a signed token is accepted once, then refused until it has expired (a token
replayed by whoever captured it is refused).

With CDS_REDIS_URL the cache is Redis (`SET key NX EX ttl`: atomic, shared by every worker and
replica, so a token replayed to another worker is still caught). Without it, an in-memory cache
per process, bounded in size: fine for one worker, and the start-up log says so.

A cache that starts empty (a new process; a Redis restarted without its data) cannot know which
tokens were used before, so each cache knows when it started and refuses tokens issued before
then: only tokens minted after the restart are accepted, and a token captured before it stays
refused. To the second, as `iat` is. An EHR whose clock runs behind ours sees its tokens refused
for that many seconds after a cache starts; one running ahead could replay tokens used that many
seconds before the restart (both bounded by CDS_JWT_LEEWAY_SECONDS in practice).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import time
from collections.abc import Callable
from typing import Literal, Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from cds.errors import JtiCacheUnavailable

log = logging.getLogger(__name__)


# first_use: recorded now; replayed: recorded before; issued_before_cache: issued before the
# cache started, so it may have been used while an earlier (lost) cache was keeping count.
JtiUse = Literal["first_use", "replayed", "issued_before_cache"]


class JtiCache(Protocol):
    async def first_use(
        self, issuer: str, jti: str, ttl_seconds: int, *, issued_at: float
    ) -> JtiUse:
        """Record (issuer, jti) for `ttl_seconds`, unless the token (issued at `issued_at`, its
        `iat`) was issued before the cache started or was already recorded."""
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
        self,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._max = max_entries
        self._clock = clock  # expiry: monotonic, immune to clock changes
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._warned_full = False
        # The process starts with an empty cache: what it knew before a restart is gone.
        self.started_at = int(wall_clock())

    async def first_use(
        self, issuer: str, jti: str, ttl_seconds: int, *, issued_at: float
    ) -> JtiUse:
        if issued_at < self.started_at:
            return "issued_before_cache"
        now = self._clock()
        self._purge(now)
        key = jti_key("", issuer, jti)
        if key in self._expiry:
            return "replayed"
        while len(self._expiry) >= self._max:
            _, oldest = heapq.heappop(self._heap)
            self._expiry.pop(oldest, None)
            if not self._warned_full:
                log.warning("jti cache is full (%d entries): evicting", self._max)
                self._warned_full = True
        expires = now + ttl_seconds
        self._expiry[key] = expires
        heapq.heappush(self._heap, (expires, key))
        return "first_use"

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, key = heapq.heappop(self._heap)
            self._expiry.pop(key, None)

    def __len__(self) -> int:
        return len(self._expiry)

    async def aclose(self) -> None:
        return None


class RedisJtiCache:
    """The cache's start is a key of its own (`<prefix>started`, never expiring), set by the
    first worker to use an empty Redis: it goes when the jti keys go (a restart without
    persistence, a flush), and comes back with the time of the next use."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "cds:jti:",
        timeout_seconds: float = 2.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._prefix = prefix
        self._started_key = f"{prefix}started"  # jti keys are hex digests: no clash
        self._wall_clock = wall_clock
        self._redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            # Once, on a new connection, when a pooled one turns out dead (Redis restarted):
            # else the first call on each pooled connection would get a 503. Not on a timeout,
            # which would only double the wait on a Redis that hangs.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )

    async def first_use(
        self, issuer: str, jti: str, ttl_seconds: int, *, issued_at: float
    ) -> JtiUse:
        try:
            # One round trip, one transaction: the start and the jti are written together.
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._started_key, int(self._wall_clock()), nx=True)
                pipe.get(self._started_key)
                pipe.set(jti_key(self._prefix, issuer, jti), b"1", nx=True, ex=max(ttl_seconds, 1))
                _, started, stored = await pipe.execute()
        except RedisError as exc:
            raise JtiCacheUnavailable(type(exc).__name__) from exc
        if issued_at < int(started):
            return "issued_before_cache"
        return "first_use" if stored else "replayed"

    async def aclose(self) -> None:
        await self._redis.aclose()
