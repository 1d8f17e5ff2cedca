"""Retries against a real misbehaving HTTP server on 127.0.0.1 (tests/core/faultserver.py).

Each test asserts the number of attempts, one request id across them, the final outcome and
the exception type. Time is controlled by stamina's testing mode (no backoff sleeps), never
measured; the server-dictated waits are read from stamina's retry hook, not from a clock.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator

import pytest
import stamina
from kaizen_core import (
    KaizenBadRequestError,
    KaizenClient,
    KaizenClientConfig,
    KaizenConnectionError,
    KaizenMalformedResponseError,
    KaizenRateLimitError,
    KaizenServerError,
    KaizenSyncClient,
    KaizenTimeoutError,
)
from kaizen_core._pipeline import retry_hook
from kaizen_core.metrics import InMemoryMetrics
from kaizen_core.retries import RetryPolicy, parse_retry_after, server_wait, status_is_retryable
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

try:
    from .faultserver import FaultServer, Reply, Reset, Stall, envelope
except ImportError:  # pytest's rootdir import mode
    from faultserver import FaultServer, Reply, Reset, Stall, envelope  # type: ignore[no-redef]

OK = Reply(200, envelope("compress", "a: 1"))


@pytest.fixture(autouse=True)
def no_backoff_sleeps() -> Iterator[None]:
    """stamina's testing mode: no sleeping, attempts capped by the client's own setting."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


def sync_client(server: FaultServer, **options: object) -> KaizenSyncClient:
    return KaizenSyncClient(KaizenClientConfig(base_url=server.base_url, api_key=None, **options))


def assert_one_request_id(server: FaultServer, attempts: int) -> None:
    ids = server.request_ids()
    assert len(ids) == attempts
    assert ids[0] and len(set(ids)) == 1, ids


def test_503_then_200_succeeds_on_the_second_attempt() -> None:
    with FaultServer([Reply(503, {"detail": "busy"}), OK]) as server, sync_client(server) as client:
        response = client.compress({"data": {"a": 1}})
    assert response.result == "a: 1"
    assert server.attempts == 2
    assert_one_request_id(server, 2)
    assert response.request_id == server.request_ids()[0]
    assert server.received[0].body == server.received[1].body


async def test_503_then_200_async() -> None:
    with FaultServer([Reply(503), Reply(502), OK]) as server:
        async with KaizenClient(base_url=server.base_url, api_key=None) as client:
            response = await client.compress({"data": {"a": 1}})
    assert response["result"] == "a: 1"
    assert_one_request_id(server, 3)


def test_persistent_503_gives_up_after_max_retries() -> None:
    with FaultServer([Reply(503, {"detail": "down", "code": "unavailable"})]) as server:
        with sync_client(server, max_retries=3) as client, pytest.raises(KaizenServerError) as caught:
            client.compress({"data": 1})
    assert server.attempts == 4
    assert_one_request_id(server, 4)
    error = caught.value
    assert error.status_code == 503 and error.code == "unavailable" and error.detail == "down"
    assert error.request_id == server.request_ids()[0]


def test_429_with_retry_after_then_200() -> None:
    with FaultServer([Reply(429, {"detail": "slow down"}, {"Retry-After": "0"}), OK]) as server:
        with sync_client(server) as client:
            assert client.compress({"data": 1}).result == "a: 1"
    assert_one_request_id(server, 2)


def test_429_exhausted_raises_rate_limit_error_with_retry_after() -> None:
    with FaultServer([Reply(429, {"detail": "slow down"}, {"Retry-After": "7"})]) as server:
        with sync_client(server, max_retries=1) as client, pytest.raises(KaizenRateLimitError) as caught:
            client.compress({"data": 1})
    assert server.attempts == 2
    assert caught.value.retry_after == 7.0


async def test_connection_reset_is_retried_then_raises_connection_error() -> None:
    with FaultServer([Reset()]) as server:
        async with KaizenClient(base_url=server.base_url, api_key=None, max_retries=2) as client:
            with pytest.raises(KaizenConnectionError) as caught:
                await client.compress({"data": 1})
    assert_one_request_id(server, 3)
    assert caught.value.request_id == server.request_ids()[0]


def test_connection_reset_then_success() -> None:
    with FaultServer([Reset(), OK]) as server, sync_client(server) as client:
        assert client.compress({"data": 1}).result == "a: 1"
    assert_one_request_id(server, 2)


def test_stall_past_read_timeout_raises_timeout_error() -> None:
    with FaultServer([Stall(30)]) as server:
        with sync_client(server, read_timeout=0.2, max_retries=1) as client:
            with pytest.raises(KaizenTimeoutError) as caught:
                client.compress({"data": 1})
    assert_one_request_id(server, 2)
    assert "timed out" in str(caught.value)


async def test_stall_then_success_async() -> None:
    with FaultServer([Stall(30), OK]) as server:
        async with KaizenClient(base_url=server.base_url, api_key=None, read_timeout=0.2) as client:
            assert (await client.compress({"data": 1})).result == "a: 1"
    assert_one_request_id(server, 2)


def test_malformed_json_is_not_retried() -> None:
    with FaultServer([Reply(200, b'{"operation": "compress", "result": ')]) as server:
        with sync_client(server) as client, pytest.raises(KaizenMalformedResponseError) as caught:
            client.compress({"data": 1})
    assert server.attempts == 1
    assert caught.value.status_code == 200


def test_a_success_body_that_is_not_the_envelope_is_a_malformed_response() -> None:
    """Valid JSON without the endpoint's fields: a KaizenError (not pydantic's), not retried."""
    metrics = InMemoryMetrics()
    no_stats = Reply(200, envelope("optimize", "a: 1"))
    with FaultServer([no_stats]) as server:
        with sync_client(server, metrics=metrics) as client:
            with pytest.raises(KaizenMalformedResponseError) as caught:
                client.optimize({"data": {"a": 1}})
    assert server.attempts == 1
    assert caught.value.status_code == 200
    assert caught.value.request_id == server.request_ids()[0]
    assert "OptimizeResponse: stats: Field required" in str(caught.value)
    (record,) = metrics.records
    assert record.error == "KaizenMalformedResponseError" and record.attempts == 1


async def test_a_success_body_that_is_not_the_envelope_async() -> None:
    with FaultServer([Reply(200, envelope("compress", {"not": "text"}))]) as server:
        async with KaizenClient(base_url=server.base_url, api_key=None) as client:
            with pytest.raises(KaizenMalformedResponseError, match="CompressResponse: result"):
                await client.compress({"data": 1})
    assert server.attempts == 1


def test_400_is_not_retried() -> None:
    with FaultServer([Reply(400, {"detail": "bad option", "code": "invalid_option"})]) as server:
        with sync_client(server) as client, pytest.raises(KaizenBadRequestError):
            client.compress({"data": 1})
    assert server.attempts == 1


def test_x_should_retry_overrides_the_status_rule() -> None:
    with FaultServer([Reply(503, {}, {"x-should-retry": "false"})]) as server:
        with sync_client(server) as client, pytest.raises(KaizenServerError):
            client.compress({"data": 1})
    assert server.attempts == 1
    with FaultServer([Reply(400, {}, {"x-should-retry": "true"}), OK]) as server:
        with sync_client(server) as client:
            assert client.compress({"data": 1}).result == "a: 1"
    assert_one_request_id(server, 2)


@pytest.mark.parametrize("status", [408, 409, 500, 504])
def test_other_retryable_statuses(status: int) -> None:
    with FaultServer([Reply(status), OK]) as server, sync_client(server) as client:
        assert client.compress({"data": 1}).result == "a: 1"
    assert server.attempts == 2


def test_max_retries_zero_makes_one_attempt() -> None:
    with FaultServer([Reply(503)]) as server, sync_client(server, max_retries=0) as client:
        with pytest.raises(KaizenServerError):
            client.compress({"data": 1})
    assert server.attempts == 1


@pytest.fixture
def retry_waits() -> Iterator[list[float]]:
    """The waits stamina schedules (what it *would* sleep), real backoff mode."""
    waits: list[float] = []

    def hook(details: RetryDetails) -> None:
        waits.append(details.wait_for)

    set_on_retry_hooks([hook])
    with stamina.set_testing(False):
        yield waits
    set_on_retry_hooks(None)


def test_server_wait_is_honoured_and_capped(retry_waits: list[float]) -> None:
    script = [
        Reply(429, {}, {"retry-after-ms": "20"}),
        Reply(503, {}, {"Retry-After": "0.03"}),
        Reply(503, {}, {"Retry-After": "3600"}),
        OK,
    ]
    with FaultServer(script) as server:
        with sync_client(server, max_retries=3, max_retry_after=0.04) as client:
            assert client.compress({"data": 1}).result == "a: 1"
    assert retry_waits == pytest.approx([0.02, 0.03, 0.04])
    assert_one_request_id(server, 4)


def test_backoff_without_server_wait_is_exponential_and_capped(retry_waits: list[float]) -> None:
    with FaultServer([Reply(500), Reply(500), Reply(500), OK]) as server:
        with sync_client(server, max_retries=3, initial_backoff=0.01, max_backoff=0.025, backoff_jitter=0.0) as client:
            client.compress({"data": 1})
    assert retry_waits == pytest.approx([0.01, 0.02, 0.025])


# -- the pure decisions -----------------------------------------------------------------------


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    future = email.utils.formatdate(time.time() + 120, usegmt=True)
    assert 100 < (parse_retry_after({"retry-after": future}) or 0) <= 120
    past = email.utils.formatdate(time.time() - 120, usegmt=True)
    assert parse_retry_after({"retry-after": past}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    assert server_wait({"retry-after": "100"}, RetryPolicy(max_retry_after=5)) == 5


def test_status_rule() -> None:
    assert [s for s in (400, 401, 404, 408, 409, 413, 422, 429, 500, 503) if status_is_retryable(s)] == [
        408, 409, 429, 500, 503,
    ]
    assert status_is_retryable(404, {"X-Should-Retry": "true"})
    assert not status_is_retryable(500, {"x-should-retry": "false"})


def test_retry_hook_only_retries_kaizen_failures() -> None:
    decide = retry_hook(RetryPolicy())
    assert decide(KaizenConnectionError("reset")) is True
    assert decide(ValueError("not ours")) is False
    error = KaizenRateLimitError(429, {}, {"retry-after": "3"})
    error.should_retry = True  # what check_response sets
    assert decide(error) == 3.0
