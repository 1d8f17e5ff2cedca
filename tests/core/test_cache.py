"""Response caches: keys, the in-memory LRU+TTL, and Redis against a real redis-server
(including a second client process that finds the first one's entry)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator

import pytest
from kaizen_core import (
    CacheBackend,
    InMemoryCache,
    InMemoryMetrics,
    KaizenClient,
    KaizenClientConfig,
    KaizenSyncClient,
    RedisCache,
)
from kaizen_core.cache import cache_key, canonical_json

try:
    from .faultserver import FaultServer, Reply
except ImportError:  # pytest's rootdir import mode
    from faultserver import FaultServer, Reply  # type: ignore[no-redef]

ROWS = {"rows": [{"id": i, "name": f"n{i}"} for i in range(3)]}


def test_key_is_endpoint_plus_hash_of_the_canonical_body() -> None:
    a = cache_key("/v1/compress", {"data": {"x": 1, "y": [1, 2]}, "options": {"indent": 2}})
    b = cache_key("/v1/compress", {"options": {"indent": 2}, "data": {"y": [1, 2], "x": 1}})
    assert a == b and a.startswith("kaizen:v1/compress:") and len(a.rsplit(":", 1)[1]) == 64
    assert a != cache_key("/v1/optimize", {"data": {"x": 1, "y": [1, 2]}, "options": {"indent": 2}})
    assert a != cache_key("/v1/compress", {"data": {"x": 1, "y": [2, 1]}, "options": {"indent": 2}})
    assert canonical_json({"b": "é", "a": 1}) == '{"a":1,"b":"é"}'.encode()


def test_in_memory_lru_and_ttl() -> None:
    clock = [100.0]
    cache = InMemoryCache(max_entries=2, ttl=10)
    import kaizen_core.cache as cache_module

    real = cache_module.time.monotonic
    cache_module.time.monotonic = lambda: clock[0]  # type: ignore[assignment]
    try:
        cache.set("a", b"1")
        cache.set("b", b"2")
        assert cache.get("a") == b"1"  # a is now the most recent
        cache.set("c", b"3")  # evicts b, the least recently used
        assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1", None, b"3")
        cache.set("short", b"s", ttl=1)
        clock[0] += 5
        assert cache.get("short") is None and cache.get("c") == b"3"
        clock[0] += 10
        assert cache.get("c") is None and len(cache) == 0
    finally:
        cache_module.time.monotonic = real  # type: ignore[assignment]
    assert isinstance(cache, CacheBackend)


def test_sync_client_answers_repeats_from_the_cache() -> None:
    metrics = InMemoryMetrics()
    cache = InMemoryCache()
    with KaizenSyncClient(mode="embedded", cache=cache, metrics=metrics) as client:
        first = client.optimize({"data": ROWS})
        second = client.optimize({"data": ROWS})
        other = client.optimize({"data": ROWS, "options": {"delimiter": "|"}})
        client.health()
        client.health()
    assert second.result == first.result and second.stats == first.stats
    assert other.result != first.result
    assert len(cache) == 2  # health is never cached
    summary = metrics.summary()
    assert (summary["calls"], summary["cache_hits"]) == (5, 1)


async def test_async_client_uses_the_async_side(redis_server: str) -> None:
    cache = RedisCache(redis_server, prefix=f"{uuid.uuid4().hex}:")
    metrics = InMemoryMetrics()
    async with KaizenClient(mode="embedded", cache=cache, metrics=metrics) as client:
        first = await client.compress({"data": ROWS})
        second = await client.compress({"data": ROWS})
    await cache.aclose()
    assert first.result == second.result
    assert [r.cache_hit for r in metrics.records] == [False, True]


def test_redis_entry_expires(redis_server: str) -> None:
    cache = RedisCache(redis_server, prefix=f"{uuid.uuid4().hex}:", ttl=60)
    cache.set("k", b"v")
    cache.set("gone", b"v", ttl=0.001)
    import redis

    raw = redis.Redis.from_url(redis_server)
    assert 0 < raw.pttl(cache.prefix + "k") <= 60_000
    assert cache.get("k") == b"v"
    assert raw.pttl(cache.prefix + "gone") in (-2, 0, 1)  # 1 ms expiry: gone or about to be
    cache.close()
    raw.close()


SECOND_PROCESS = textwrap.dedent(
    """
    import json, sys
    from kaizen_core import InMemoryMetrics, KaizenSyncClient, RedisCache

    url, prefix, base_url = sys.argv[1:4]
    metrics = InMemoryMetrics()
    # This process talks to a server that only ever fails: only the cache can answer.
    with KaizenSyncClient(base_url=base_url, api_key=None, max_retries=0,
                          cache=RedisCache(url, prefix=prefix), metrics=metrics) as client:
        response = client.compress({"data": json.loads(sys.argv[4])})
    print(json.dumps({"result": response.result, "cache_hits": metrics.summary()["cache_hits"]}))
    """
)


def test_a_second_process_sees_the_first_ones_entry(redis_server: str) -> None:
    prefix = f"{uuid.uuid4().hex}:"
    with KaizenSyncClient(mode="embedded", cache=RedisCache(redis_server, prefix=prefix)) as client:
        expected = client.compress({"data": ROWS}).result
    with FaultServer([Reply(503, {"detail": "down"})]) as failing:
        done = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, redis_server, prefix, failing.base_url, json.dumps(ROWS)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert failing.attempts == 0
    assert json.loads(done.stdout) == {"result": expected, "cache_hits": 1}


@pytest.fixture
def unreadable_entry_cache() -> Iterator[InMemoryCache]:
    cache = InMemoryCache()
    cache.set(cache_key("/v1/compress", {"data": 1}), b"\xff not json")
    yield cache


def test_an_unreadable_entry_is_a_miss(unreadable_entry_cache: InMemoryCache) -> None:
    with KaizenSyncClient(KaizenClientConfig(mode="embedded", cache=unreadable_entry_cache)) as client:
        assert client.compress({"data": 1}).result == "1"
    assert unreadable_entry_cache.get(cache_key("/v1/compress", {"data": 1})) is not None


@pytest.mark.parametrize("entry", [{"operation": "compress", "result": {"not": "text"}}, [1, 2]])
async def test_an_entry_that_is_not_the_envelope_is_a_miss(entry: object) -> None:
    """An entry from another version (or writer) is asked of the service again and replaced."""
    key = cache_key("/v1/compress", {"data": 1})
    cache = InMemoryCache()
    cache.set(key, json.dumps(entry).encode())
    metrics = InMemoryMetrics()
    config = KaizenClientConfig(mode="embedded", cache=cache, metrics=metrics)
    async with KaizenClient(config) as client:
        assert (await client.compress({"data": 1})).result == "1"
    with KaizenSyncClient(config) as client:
        assert client.compress({"data": 1}).result == "1"  # the replaced entry answers
    assert json.loads(cache.get(key) or b"")["result"] == "1"
    assert [record.cache_hit for record in metrics.records] == [False, True]
