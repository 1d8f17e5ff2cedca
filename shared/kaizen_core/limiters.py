"""Client-side rate limits: at most N requests per second from one client.

:class:`AsyncRateLimiter` wraps ``aiolimiter.AsyncLimiter`` (one per event loop, since an
``AsyncLimiter`` must not be shared between loops); :class:`SyncRateLimiter` is the
thread-safe blocking equivalent with the same leaky-bucket behaviour, for
:class:`~kaizen_core.KaizenSyncClient`.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable

from aiolimiter import AsyncLimiter


class AsyncRateLimiter:
    """Allows ``rate`` acquisitions per second (bursts up to ``rate``) per event loop."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncLimiter] = (
            weakref.WeakKeyDictionary()
        )

    async def acquire(self) -> None:
        """Wait until one more request fits in the rate."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = AsyncLimiter(max(self.rate, 1.0), time_period=max(self.rate, 1.0) / self.rate)
            self._limiters[loop] = limiter
        await limiter.acquire()


class SyncRateLimiter:
    """A thread-safe leaky bucket: ``rate`` requests per second, bursts up to ``rate``.

    ``clock`` and ``sleep`` are injectable so tests control time instead of measuring it.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self._clock = clock
        self._sleep = sleep
        self._level = 0.0
        self._last = clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take one slot; return how long the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self._level = max(0.0, self._level - (now - self._last) * self.rate)
            self._last = now
            self._level += 1.0
            overflow = self._level - self.capacity
            return overflow / self.rate if overflow > 0 else 0.0

    def acquire(self) -> None:
        """Block until one more request fits in the rate."""
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)


__all__ = ["AsyncRateLimiter", "SyncRateLimiter"]
