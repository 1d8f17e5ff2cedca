"""Encoding many texts through a Kaizen client: one concurrent, bounded batch, in order.

The clients talk to the session's real ``kaizen serve`` through a gathering transport that
holds each request until ``release_at`` requests are in flight at once. Requests sent one by
one never reach that number: the transport then fails the request (after a generous wait),
so the tests prove concurrency without timing anything. ``max_in_flight`` shows the bound.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
from kaizen_core import KaizenClient, KaizenSyncClient
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from kaizen_langchain import ChatKaizen, KaizenDocumentCompressor, KaizenEncode
from tests.langchain.brain_chat_model import BrainChatModel

WAIT_S = 20.0  # only reached when requests arrive one at a time (the failure being tested)


def _rows(tag: str, n: int = 6) -> list[dict[str, Any]]:
    return [{"id": i, "tag": tag, "score": i * 3} for i in range(n)]


def _messages() -> list[Any]:
    """Five distinct JSON-bearing texts, one repeated text, one text without JSON."""
    return [
        SystemMessage(content=f"Schema: {json.dumps({'cols': _rows('schema', 3)})}"),
        HumanMessage(content=f"Data A: {json.dumps(_rows('a'))}"),
        AIMessage(content="Looking up B."),
        ToolMessage(content=json.dumps(_rows("b")), tool_call_id="call-b"),
        ToolMessage(content=json.dumps(_rows("b")), tool_call_id="call-b2"),
        HumanMessage(
            content=[
                {"type": "text", "text": f"Data C: {json.dumps(_rows('c'))}"},
                {"type": "text", "text": f"Data D: {json.dumps(_rows('d'))}"},
            ]
        ),
    ]


DISTINCT_JSON_TEXTS = 5


class GatheringAsyncTransport(httpx.AsyncBaseTransport):
    """Forwards to ``inner`` once ``release_at`` requests have been in flight together."""

    def __init__(self, release_at: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.release_at = release_at
        self.paths: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._released: asyncio.Event | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._released is None:
            self._released = asyncio.Event()
        self.paths.append(request.url.path)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.in_flight >= self.release_at:
                self._released.set()
            try:
                await asyncio.wait_for(self._released.wait(), WAIT_S)
            except TimeoutError as exc:
                raise AssertionError("requests arrived one at a time") from exc
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


class GatheringSyncTransport(httpx.BaseTransport):
    """Blocking twin of :class:`GatheringAsyncTransport` (requests on worker threads)."""

    def __init__(self, release_at: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.release_at = release_at
        self.paths: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._released = False
        self._changed = threading.Condition()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._changed:
            self.paths.append(request.url.path)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.in_flight >= self.release_at:
                self._released = True
                self._changed.notify_all()
            released = self._changed.wait_for(lambda: self._released, WAIT_S)
        try:
            if not released:
                raise AssertionError("requests arrived one at a time")
            return self.inner.handle_request(request)
        finally:
            with self._changed:
                self.in_flight -= 1

    def close(self) -> None:
        self.inner.close()


async def _expected(messages: list[Any]) -> list[Any]:
    return await KaizenEncode().ainvoke(messages)  # in-process (no environment in these tests)


async def test_async_client_encodes_the_messages_concurrently_bounded_in_order(
    kaizen_server: str,
) -> None:
    transport = GatheringAsyncTransport(release_at=2)
    async with KaizenClient(
        base_url=kaizen_server, async_transport=transport, batch_concurrency=2
    ) as client:
        encoded = await KaizenEncode(client=client).ainvoke(_messages())
    assert encoded == await _expected(_messages())
    assert transport.paths == ["/v1/prompts/encode"] * DISTINCT_JSON_TEXTS
    assert transport.max_in_flight == 2  # concurrent, and never more than batch_concurrency


async def test_all_texts_in_flight_together_within_the_default_bound(kaizen_server: str) -> None:
    transport = GatheringAsyncTransport(release_at=DISTINCT_JSON_TEXTS)
    async with KaizenClient(base_url=kaizen_server, async_transport=transport) as client:
        encoded = await KaizenEncode(client=client).ainvoke(_messages())
    assert encoded == await _expected(_messages())
    assert transport.max_in_flight == DISTINCT_JSON_TEXTS


async def test_chat_kaizen_and_document_compressor_batch_too(kaizen_server: str) -> None:
    transport = GatheringAsyncTransport(release_at=3)
    async with KaizenClient(
        base_url=kaizen_server, async_transport=transport, batch_concurrency=3
    ) as client:
        answer = await ChatKaizen(llm=BrainChatModel(), client=client).ainvoke(_messages())
        calls = len(transport.paths)
        documents = [Document(page_content=json.dumps(_rows(tag)), id=tag) for tag in "pqrst"]
        compressed = await KaizenDocumentCompressor(client=client).acompress_documents(
            documents, "q"
        )
    assert answer.response_metadata["kaizen"]["tokens_saved"] > 0
    assert calls == DISTINCT_JSON_TEXTS
    assert [d.id for d in compressed] == list("pqrst")
    local = await KaizenDocumentCompressor().acompress_documents(documents, "q")
    assert [d.page_content for d in compressed] == [d.page_content for d in local]
    assert transport.max_in_flight == 3


def test_sync_client_encodes_the_messages_as_one_batch(kaizen_server: str) -> None:
    transport = GatheringSyncTransport(release_at=3)
    with KaizenSyncClient(
        base_url=kaizen_server, transport=transport, batch_concurrency=3
    ) as client:
        encoded = KaizenEncode(client=client).invoke(_messages())
    assert encoded == KaizenEncode().invoke(_messages())
    assert transport.paths == ["/v1/prompts/encode"] * DISTINCT_JSON_TEXTS
    assert transport.max_in_flight == 3


async def test_sync_client_under_ainvoke_batches_off_the_event_loop(kaizen_server: str) -> None:
    transport = GatheringSyncTransport(release_at=DISTINCT_JSON_TEXTS)
    with KaizenSyncClient(base_url=kaizen_server, transport=transport) as client:
        encoded = await KaizenEncode(client=client).ainvoke(_messages())
    assert encoded == await _expected(_messages())
    assert transport.max_in_flight == DISTINCT_JSON_TEXTS


@pytest.mark.parametrize("count", [0, 1])
async def test_nothing_to_send_sends_nothing(kaizen_server: str, count: int) -> None:
    transport = GatheringAsyncTransport(release_at=1)
    messages = [HumanMessage(content="no json here")] * count
    async with KaizenClient(base_url=kaizen_server, async_transport=transport) as client:
        assert await KaizenEncode(client=client).ainvoke(messages or "plain") == (
            messages or "plain"
        )
    assert transport.paths == []
