"""When and how long to retry: pure decisions, shared by the sync and the async client.

The loop itself is stamina's (``stamina.retry_context``); this module decides, per failed
attempt, whether to go again and whether the server dictated the wait:

* retried: HTTP 408, 409, 429, 5xx and transport errors (``httpx.TransportError``, mapped to
  :class:`~kaizen_core.errors.KaizenRequestError`); nothing else;
* ``x-should-retry: true|false`` from the server overrides the status rule;
* ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date) sets the wait, capped at
  :attr:`RetryPolicy.max_retry_after`; otherwise exponential backoff with jitter, capped at
  :attr:`RetryPolicy.max_backoff`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import stamina

if TYPE_CHECKING:
    from stamina._core import _RetryContextIterator

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry settings of one client (taken from :class:`~kaizen_core.config.KaizenClientConfig`).

    ``max_retries`` counts retries, so a call makes at most ``max_retries + 1`` attempts.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 1.0
    max_retry_after: float = 60.0

    def attempts(self) -> int:
        """Total attempts allowed for one logical call."""
        return max(0, self.max_retries) + 1

    def context(self, on: object) -> _RetryContextIterator:
        """A stamina retry loop for one logical call, deciding with ``on`` (a backoff hook)."""
        return stamina.retry_context(
            on=on,  # type: ignore[arg-type]
            attempts=self.attempts(),
            timeout=None,
            wait_initial=self.initial_backoff,
            wait_max=self.max_backoff,
            wait_jitter=self.jitter,
        )


def status_is_retryable(status_code: int, headers: Mapping[str, str] | None = None) -> bool:
    """Whether an answer with this status (and headers) should be retried."""
    should = _header(headers, "x-should-retry")
    if should is not None:
        if should.strip().lower() == "true":
            return True
        if should.strip().lower() == "false":
            return False
    return status_code in RETRYABLE_STATUS_CODES or status_code >= 500


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, else ``Retry-After``.

    ``Retry-After`` may be a number of seconds or an HTTP date. Returns None when absent
    or unreadable; negative waits become 0.
    """
    millis = _header(headers, "retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def server_wait(headers: Mapping[str, str] | None, policy: RetryPolicy) -> float | None:
    """The server-dictated wait, capped by ``policy.max_retry_after`` (None when none given)."""
    wait = parse_retry_after(headers)
    if wait is None:
        return None
    return min(wait, policy.max_retry_after)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


__all__ = [
    "RETRYABLE_STATUS_CODES",
    "RetryPolicy",
    "parse_retry_after",
    "server_wait",
    "status_is_retryable",
]
