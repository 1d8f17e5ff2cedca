"""Middleware: runs once per attempt, sees request and response, can short-circuit, and
works unchanged in both clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import stamina
from kaizen_core import (
    AttemptContext,
    KaizenClient,
    KaizenServerError,
    KaizenSyncClient,
    Middleware,
)

try:
    from .faultserver import FaultServer, Reply, envelope
except ImportError:  # pytest's rootdir import mode
    from faultserver import FaultServer, Reply, envelope  # type: ignore[no-redef]


@pytest.fixture(autouse=True)
def no_backoff_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


class Recorder(Middleware):
    """Tags each request and records what it saw."""

    def __init__(self, name: str, seen: list[str]) -> None:
        self.name = name
        self.seen = seen

    def on_request(self, request: httpx.Request, context: AttemptContext) -> None:
        request.headers[f"x-{self.name}"] = str(context.attempt)
        self.seen.append(f"{self.name}>{context.attempt}:{context.request_id == request.headers['x-request-id']}")

    def on_response(self, request: httpx.Request, response: httpx.Response, context: AttemptContext) -> None:
        self.seen.append(f"{self.name}<{response.status_code}")


class ShortCircuit(Middleware):
    """Answers /v1/compress itself; lets everything else through."""

    def on_request(self, request: httpx.Request, context: AttemptContext) -> httpx.Response | None:
        if request.url.path == "/v1/compress":
            return httpx.Response(200, json=envelope("compress", "from-middleware"))
        return None


class Replace503(Middleware):
    """Turns a 503 into a 200, as a fallback would."""

    def on_response(self, request: httpx.Request, response: httpx.Response, context: AttemptContext) -> httpx.Response | None:
        if response.status_code == 503:
            return httpx.Response(200, json=envelope("compress", "replaced"))
        return None


def test_runs_per_attempt_in_order_and_sees_both_sides() -> None:
    seen: list[str] = []
    chain = (Recorder("a", seen), Recorder("b", seen))
    with FaultServer([Reply(503), Reply(200, envelope("compress", "ok"))]) as server:
        with KaizenSyncClient(base_url=server.base_url, api_key=None, middleware=chain) as client:
            assert client.compress({"data": 1}).result == "ok"
    assert seen == ["a>1:True", "b>1:True", "b<503", "a<503", "a>2:True", "b>2:True", "b<200", "a<200"]
    assert [(r.headers["x-a"], r.headers["x-b"]) for r in server.received] == [("1", "1"), ("2", "2")]


async def test_short_circuit_sends_nothing() -> None:
    with FaultServer([Reply(500)]) as server:
        async with KaizenClient(base_url=server.base_url, api_key=None, middleware=[ShortCircuit()]) as client:
            assert (await client.compress({"data": 1})).result == "from-middleware"
            with pytest.raises(KaizenServerError):
                await client.optimize({"data": 1})
    assert [r.path for r in server.received] == ["/v1/optimize"] * 3


def test_response_replacement_stops_the_retry() -> None:
    with FaultServer([Reply(503)]) as server:
        with KaizenSyncClient(base_url=server.base_url, api_key=None, middleware=[Replace503()]) as client:
            assert client.compress({"data": 1}).result == "replaced"
    assert server.attempts == 1


def test_embedded_host_runs_middleware_too() -> None:
    seen: list[str] = []
    with KaizenSyncClient(mode="embedded", middleware=[Recorder("m", seen)]) as client:
        client.compress({"data": 1})
    assert seen == ["m>1:True", "m<200"]
