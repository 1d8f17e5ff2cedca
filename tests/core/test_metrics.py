"""Metrics: one record per logical call with status, retries, cache hits and savings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina
from kaizen_core import (
    CallRecord,
    InMemoryCache,
    InMemoryMetrics,
    KaizenClient,
    KaizenServerError,
    KaizenSyncClient,
    MetricsCollector,
)
from kaizen_core.metrics import savings_of

try:
    from .faultserver import FaultServer, Reply, envelope
except ImportError:  # pytest's rootdir import mode
    from faultserver import FaultServer, Reply, envelope  # type: ignore[no-redef]

ROWS = [{"id": i, "name": f"user-{i}", "score": i * 1.5} for i in range(20)]


@pytest.fixture(autouse=True)
def no_backoff_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


def test_records_status_retries_and_errors() -> None:
    metrics = InMemoryMetrics()
    script = [Reply(503), Reply(200, envelope("compress", "x")), Reply(500)]
    with FaultServer(script) as server:
        with KaizenSyncClient(base_url=server.base_url, api_key=None, metrics=metrics, max_retries=1) as client:
            client.compress({"data": 1})
            with pytest.raises(KaizenServerError):
                client.compress({"data": 2})
    ok, failed = metrics.records
    assert (ok.status_code, ok.attempts, ok.retries, ok.error) == (200, 2, 1, None)
    assert (failed.status_code, failed.attempts, failed.error) == (500, 2, "KaizenServerError")
    assert ok.request_id == server.request_ids()[0] and ok.latency_ms >= 0
    summary = metrics.summary()
    assert (summary["calls"], summary["errors"], summary["retries"]) == (2, 1, 2)
    assert summary["by_status"] == {"200": 1, "500": 1}


async def test_bytes_and_tokens_saved_from_the_response() -> None:
    metrics = InMemoryMetrics()
    async with KaizenClient(mode="embedded", metrics=metrics, cache=InMemoryCache()) as client:
        response = await client.optimize_request({"prompt": ROWS, "token_models": ["gpt-4o"]})
        await client.optimize_request({"prompt": ROWS, "token_models": ["gpt-4o"]})
    raw, optimized = response.token_stats.raw["gpt-4o"], response.token_stats.optimized["gpt-4o"]
    first, cached = metrics.records
    assert first.tokens_saved == raw.tokens - optimized.tokens > 0
    assert first.bytes_saved == raw.bytes - optimized.bytes > 0
    assert (cached.cache_hit, cached.tokens_saved) == (True, first.tokens_saved)
    assert metrics.summary()["tokens_saved"] == 2 * first.tokens_saved


def test_savings_without_token_stats_use_the_character_reduction() -> None:
    assert savings_of({"stats": {"reduction": 40}}) == (40, 0)
    assert savings_of({"result": "x"}) == (0, 0)
    assert savings_of("not a body") == (0, 0)


def test_collector_protocol_and_reset() -> None:
    class Counting:
        def __init__(self) -> None:
            self.calls = 0

        def record(self, call: CallRecord) -> None:
            self.calls += 1

    counting = Counting()
    assert isinstance(counting, MetricsCollector)
    with KaizenSyncClient(mode="embedded", metrics=counting) as client:
        client.health()
    assert counting.calls == 1
    metrics = InMemoryMetrics()
    metrics.record(CallRecord("/", 200, 1.0, 1))
    metrics.reset()
    assert metrics.summary()["calls"] == 0 and metrics.summary()["latency_ms_p95"] == 0.0
