"""Metrics: one record per logical call, handed to a :class:`MetricsCollector`.

:class:`CallRecord` carries the endpoint, final status, latency, retries, whether the cache
answered, and what the call saved (characters/bytes and tokens, taken from the response's
``stats`` and ``token_stats``). :class:`InMemoryMetrics` keeps them and sums them up; plug in
your own collector (Prometheus, OpenTelemetry...) by implementing ``record``.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class CallRecord:
    """The outcome of one logical call (all of its attempts)."""

    path: str
    status_code: int | None
    latency_ms: float
    attempts: int
    cache_hit: bool = False
    bytes_saved: int = 0
    tokens_saved: int = 0
    error: str | None = None
    request_id: str | None = None

    @property
    def retries(self) -> int:
        """Attempts beyond the first."""
        return max(0, self.attempts - 1)


@runtime_checkable
class MetricsCollector(Protocol):
    """Receives one :class:`CallRecord` per logical call; must be thread-safe."""

    def record(self, call: CallRecord) -> None:
        """Take one record."""
        ...


@dataclass
class InMemoryMetrics:
    """Keeps every record in memory and summarises them (thread-safe)."""

    records: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, call: CallRecord) -> None:
        with self._lock:
            self.records.append(call)

    def reset(self) -> None:
        """Forget every record."""
        with self._lock:
            self.records.clear()

    def summary(self) -> dict[str, Any]:
        """Totals: calls, errors, retries, cache hits, saved bytes/tokens, latency p50/p95/max,
        and calls per status code."""
        with self._lock:
            records = list(self.records)
        latencies = sorted(r.latency_ms for r in records)
        by_status: dict[str, int] = {}
        for r in records:
            key = str(r.status_code) if r.status_code is not None else "none"
            by_status[key] = by_status.get(key, 0) + 1
        return {
            "calls": len(records),
            "errors": sum(1 for r in records if r.error is not None),
            "retries": sum(r.retries for r in records),
            "cache_hits": sum(1 for r in records if r.cache_hit),
            "bytes_saved": sum(r.bytes_saved for r in records),
            "tokens_saved": sum(r.tokens_saved for r in records),
            "latency_ms_p50": statistics.median(latencies) if latencies else 0.0,
            "latency_ms_p95": _percentile(latencies, 0.95),
            "latency_ms_max": latencies[-1] if latencies else 0.0,
            "by_status": by_status,
        }


def savings_of(body: Any) -> tuple[int, int]:
    """(bytes saved, tokens saved) read from a response body's ``stats``/``token_stats``.

    Bytes come from ``token_stats`` when present (raw minus optimized, first model), else
    the character ``reduction`` of ``stats``; tokens from ``token_stats`` (first model).
    """
    if not isinstance(body, Mapping):
        return 0, 0
    saved_bytes, saved_tokens = 0, 0
    stats = body.get("stats")
    if isinstance(stats, Mapping) and isinstance(stats.get("reduction"), int):
        saved_bytes = stats["reduction"]
    token_stats = body.get("token_stats")
    if isinstance(token_stats, Mapping):
        raw, optimized = token_stats.get("raw"), token_stats.get("optimized")
        if isinstance(raw, Mapping) and isinstance(optimized, Mapping):
            for model, counts in raw.items():
                other = optimized.get(model)
                if isinstance(counts, Mapping) and isinstance(other, Mapping):
                    saved_tokens = int(counts.get("tokens", 0)) - int(other.get("tokens", 0))
                    if "bytes" in counts and "bytes" in other:
                        saved_bytes = int(counts["bytes"]) - int(other["bytes"])
                    break
    return saved_bytes, saved_tokens


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


__all__ = ["CallRecord", "InMemoryMetrics", "MetricsCollector", "savings_of"]
