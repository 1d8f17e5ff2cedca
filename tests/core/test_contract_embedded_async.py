"""The embedded host's async side and its worker-thread policy for large bodies."""

from __future__ import annotations

import asyncio
import threading
from typing import AsyncIterator, Iterator, List

import httpx
import pytest

from kaizen_core import engine
from kaizen_core.router import Reply, RouterSettings
from kaizen_core.transports import EMBEDDED_BASE_URL, OFFLOAD_THRESHOLD_BYTES, EmbeddedTransport

PATHS_AND_BODIES = [
    ("/v1/compress", {"data": {"a": [1, 2]}}),
    ("/v1/decompress", {"data": "a[2]: 1,2"}),
    ("/v1/optimize", {"data": [{"x": 1}, {"x": 2}]}),
    (
        "/v1/optimize/request",
        {"prompt": 'see {"k": [1, 2, 3]} ok', "metadata": {"m": 1}, "token_models": ["gpt-4o"]},
    ),
    ("/v1/optimize/response", {"ktof": "a: 1"}),
    ("/v1/prompts/encode", {"prompt": {"a": 1}, "schemas": {"s": {}}}),
    ("/v1/prompts/decode", {"ktof": "a: 1", "replay_meta": {"r": 1}}),
    ("/v1/decompress", {"data": "a[3]: 1"}),
    ("/v1/compress", {"data": 1, "options": {"indent": 0}}),
]


class RecordingTransport(EmbeddedTransport):
    """The embedded transport, noting which thread answered each request."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: List[int] = []

    def _handle(self, request: httpx.Request, body: bytes) -> Reply:
        self.threads.append(threading.get_ident())
        return super()._handle(request, body)


@pytest.mark.parametrize(("path", "body"), PATHS_AND_BODIES, ids=[p for p, _ in PATHS_AND_BODIES])
async def test_async_side_answers_like_the_sync_side(
    embedded_http: httpx.Client, path: str, body: dict
) -> None:
    headers = {"x-request-id": "same-id"}
    async with httpx.AsyncClient(
        transport=EmbeddedTransport(), base_url=EMBEDDED_BASE_URL
    ) as client:
        async_answer = await client.post(path, json=body, headers=headers)
    sync_answer = embedded_http.post(path, json=body, headers=headers)
    assert async_answer.status_code == sync_answer.status_code
    assert async_answer.content == sync_answer.content
    assert async_answer.headers["x-request-id"] == "same-id"
    assert async_answer.request.url.path == path


async def test_small_bodies_stay_on_the_loop_thread_and_large_ones_move_to_a_worker() -> None:
    transport = RecordingTransport()
    rows = [{"id": i, "name": f"name-{i}"} for i in range(OFFLOAD_THRESHOLD_BYTES // 20)]
    async with httpx.AsyncClient(transport=transport, base_url=EMBEDDED_BASE_URL) as client:
        small = await client.post("/v1/compress", json={"data": [1]})
        large = await client.post("/v1/compress", json={"data": rows})
    assert len(large.request.content) >= OFFLOAD_THRESHOLD_BYTES
    assert small.json()["result"] == "[1]: 1"
    assert large.json()["result"] == engine.encode(rows)
    loop_thread = threading.get_ident()
    assert transport.threads[0] == loop_thread and transport.threads[1] != loop_thread


async def test_streamed_request_bodies_are_read() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b'{"data"', b": [1, 2", b", 3]}"):
            yield part

    async with httpx.AsyncClient(
        transport=EmbeddedTransport(), base_url=EMBEDDED_BASE_URL
    ) as client:
        response = await client.post("/v1/compress", content=chunks())
    assert response.json()["result"] == "[3]: 1,2,3"


def test_sync_side_reads_streamed_bodies_and_works_inside_a_running_loop() -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"data": "a'
        yield b'b"}'

    async def inside_loop() -> str:
        with httpx.Client(transport=EmbeddedTransport(), base_url=EMBEDDED_BASE_URL) as client:
            return client.post("/v1/compress", content=chunks()).json()["result"]

    assert asyncio.run(inside_loop()) == "ab"


def test_repr_shows_settings_not_keys() -> None:
    transport = EmbeddedTransport(
        RouterSettings(api_keys=frozenset({"secret-key"}), max_body_bytes=10)
    )
    assert repr(transport) == "EmbeddedTransport(api_keys=1, max_body_bytes=10)"
    assert "secret-key" not in repr(transport)
