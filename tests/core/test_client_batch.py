"""Batch methods: bounded concurrency, input order, per-item errors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest
import stamina
from kaizen_core import (
    AttemptContext,
    KaizenBadRequestError,
    KaizenClient,
    KaizenDecodeError,
    KaizenSyncClient,
    Middleware,
)
from kaizen_core.engine import decode

try:
    from .faultserver import FaultServer, Reply, envelope
except ImportError:  # pytest's rootdir import mode
    from faultserver import FaultServer, Reply, envelope  # type: ignore[no-redef]

PAYLOADS = [{"data": {"id": i, "tags": ["a"] * (i % 4)}} for i in range(30)]


@pytest.fixture(autouse=True)
def no_backoff_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


class InFlight(Middleware):
    """Counts requests in flight (between on_request and on_response) and the peak."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()

    def on_request(self, request: httpx.Request, context: AttemptContext) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def on_response(self, request: httpx.Request, response: httpx.Response, context: AttemptContext) -> None:
        with self.lock:
            self.now -= 1


async def test_async_batch_keeps_order_and_bounds_concurrency() -> None:
    gauge = InFlight()
    # A real server whose answers take a moment, so concurrent requests overlap.
    with FaultServer([Reply(200, envelope("compress", "x"))]) as server:
        async with KaizenClient(base_url=server.base_url, api_key=None, middleware=[gauge]) as client:
            results = await client.compress_batch(PAYLOADS, concurrency=3)
    assert len(results) == len(PAYLOADS) and gauge.peak <= 3
    assert server.attempts == len(PAYLOADS)
    async with KaizenClient(mode="embedded") as client:
        results = await client.compress_batch(PAYLOADS, concurrency=4)
    assert [decode(r.result) for r in results] == [p["data"] for p in PAYLOADS]


def test_sync_batch_keeps_order_and_bounds_concurrency() -> None:
    gauge = InFlight()
    with KaizenSyncClient(mode="embedded", middleware=[gauge]) as client:
        results = client.compress_batch(PAYLOADS, concurrency=2)
    assert [decode(r.result) for r in results] == [p["data"] for p in PAYLOADS]
    assert 1 <= gauge.peak <= 2


BAD = {"ktof": "a:\n   b: 1"}
GOOD = {"ktof": "a: 1"}


async def test_async_per_item_errors_in_place() -> None:
    async with KaizenClient(mode="embedded") as client:
        results = await client.prompts_decode_batch([GOOD, BAD, GOOD, {"nope": 1}], return_exceptions=True)
        assert results[0].result == {"a": 1} and results[2].result == {"a": 1}
        assert isinstance(results[1], KaizenDecodeError) and results[1].line == 2
        assert isinstance(results[3], ValueError)  # local validation, as 0.1.4
        with pytest.raises(KaizenDecodeError):
            await client.prompts_decode_batch([GOOD, BAD])


def test_sync_per_item_errors_in_place() -> None:
    with KaizenSyncClient(mode="embedded") as client:
        results = client.prompts_decode_batch([BAD, GOOD], return_exceptions=True)
        assert isinstance(results[0], KaizenDecodeError) and results[1].result == {"a": 1}
        with pytest.raises(KaizenDecodeError):
            client.prompts_decode_batch([GOOD, BAD])
        encoded = client.prompts_encode_batch([{"prompt": {"k": i}} for i in range(5)])
    assert [r.result for r in encoded] == [f"k: {i}" for i in range(5)]


async def test_failed_batch_cancels_the_rest() -> None:
    script = [Reply(400, {"detail": "bad"})] + [Reply(200, envelope("prompts_decode", 1))] * 5
    with FaultServer(script) as server:
        async with KaizenClient(base_url=server.base_url, api_key=None) as client:
            with pytest.raises(KaizenBadRequestError):
                await client.prompts_decode_batch([GOOD] * 50, concurrency=1)
            await asyncio.sleep(0.05)
    assert server.attempts < 50
