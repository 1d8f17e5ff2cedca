"""Response caches for the deterministic Kaizen endpoints (opt-in).

Every encode/decode endpoint is a pure function of its request body, so a response can be
reused for an identical body. The key is ``kaizen:<endpoint>:<sha256 of the canonical body>``
(:func:`cache_key`); the value is the response body as bytes.

A backend implements :class:`CacheBackend`: the sync pair ``get``/``set`` (used by
:class:`~kaizen_core.KaizenSyncClient`) and the async pair ``aget``/``aset`` (used by
:class:`~kaizen_core.KaizenClient`). Two ship here: :class:`InMemoryCache` (LRU + TTL, one
process, thread-safe) and :class:`RedisCache` (shared between processes; ``redis.asyncio`` for
the async client, ``redis`` for the sync one).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

CACHEABLE_PATHS = frozenset(
    {
        "/v1/compress",
        "/v1/decompress",
        "/v1/optimize",
        "/v1/optimize/request",
        "/v1/optimize/response",
        "/v1/prompts/encode",
        "/v1/prompts/decode",
    }
)


def canonical_json(body: Any) -> bytes:
    """``body`` as compact JSON with sorted keys: equal requests give equal bytes."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def cache_key(path: str, body: Any, *, namespace: str = "kaizen") -> str:
    """The cache key of a request: endpoint plus the SHA-256 of its canonical JSON body."""
    digest = hashlib.sha256(canonical_json(body)).hexdigest()
    return f"{namespace}:{path.strip('/')}:{digest}"


@runtime_checkable
class CacheBackend(Protocol):
    """Where cached response bodies live. ``ttl`` is in seconds; None means no expiry."""

    def get(self, key: str) -> bytes | None:
        """The cached bytes, or None (blocking)."""
        ...

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` (blocking)."""
        ...

    async def aget(self, key: str) -> bytes | None:
        """The cached bytes, or None."""
        ...

    async def aset(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``."""
        ...


class InMemoryCache:
    """A thread-safe LRU cache with per-entry expiry, for one process.

    ``max_entries`` bounds the size (least recently used entries go first); ``ttl`` is the
    default lifetime in seconds when ``set`` gets none (None: no expiry).
    """

    def __init__(self, max_entries: int = 1024, ttl: float | None = None) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"InMemoryCache(max_entries={self.max_entries}, ttl={self.ttl}, size={len(self)})"

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires = entry
            if expires is not None and expires <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        lifetime = self.ttl if ttl is None else ttl
        expires = None if lifetime is None else time.monotonic() + lifetime
        with self._lock:
            self._entries[key] = (value, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()

    async def aget(self, key: str) -> bytes | None:
        return self.get(key)

    async def aset(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self.set(key, value, ttl)


class RedisCache:
    """A cache in Redis, shared by every process that points at the same server.

    ``url`` is a redis URL (``redis://host:port/db``); ``prefix`` is prepended to keys;
    ``ttl`` is the default expiry in seconds. The connections are created on first use:
    a blocking one for the sync client, and one ``redis.asyncio`` client per event loop.
    Requires the ``redis`` extra.
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "", ttl: float | None = None) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl = ttl
        self._sync: Any = None
        self._async: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisCache(url={_without_password(self.url)!r}, prefix={self.prefix!r}, ttl={self.ttl})"

    def _sync_client(self) -> Any:
        with self._lock:
            if self._sync is None:
                import redis

                self._sync = redis.Redis.from_url(self.url)
            return self._sync

    def _async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async.get(id(loop))
            if entry is None or entry[0] is not loop:
                import redis.asyncio

                entry = (loop, redis.asyncio.Redis.from_url(self.url))
                self._async[id(loop)] = entry
            return entry[1]

    def _expiry_ms(self, ttl: float | None) -> int | None:
        lifetime = self.ttl if ttl is None else ttl
        return None if lifetime is None else max(1, int(lifetime * 1000))

    def get(self, key: str) -> bytes | None:
        value = self._sync_client().get(self.prefix + key)
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._sync_client().set(self.prefix + key, value, px=self._expiry_ms(ttl))

    async def aget(self, key: str) -> bytes | None:
        value = await self._async_client().get(self.prefix + key)
        return None if value is None else bytes(value)

    async def aset(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._async_client().set(self.prefix + key, value, px=self._expiry_ms(ttl))

    def close(self) -> None:
        """Close the blocking connection pool (async pools close with :meth:`aclose`)."""
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async client of the running loop, and the blocking one."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async.pop(id(loop), None)
        if entry is not None:
            await entry[1].aclose()
        self.close()


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


__all__ = [
    "CACHEABLE_PATHS",
    "CacheBackend",
    "InMemoryCache",
    "RedisCache",
    "cache_key",
    "canonical_json",
]
