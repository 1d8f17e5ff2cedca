"""``kaizen_usage`` and ``KaizenCallbackHandler``: totals equal the encode events, everywhere."""

from __future__ import annotations

import asyncio
import contextvars
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from kaizen_core import estimate_cost
from langchain_core.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda

from kaizen_langchain import (
    ChatKaizen,
    KaizenCallbackHandler,
    KaizenEncode,
    kaizen_encode,
    kaizen_usage,
)
from tests.langchain.brain_chat_model import BrainChatModel

ROWS = [{"sku": f"S{i:04d}", "price": 3 + i % 11, "stock": i * 7 % 50} for i in range(60)]


class EncodeEvents(BaseCallbackHandler):
    """Collects every ``kaizen_encode`` event payload."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if name == "kaizen_encode":
            self.payloads.append(data)


def _payload(n: int) -> dict[str, Any]:
    return {"rows": ROWS[: 10 + n]}


def test_totals_equal_the_sum_of_the_encode_events() -> None:
    events = EncodeEvents()
    llm = ChatKaizen(llm=BrainChatModel())
    messages = [
        HumanMessage("go"),
        AIMessage("", tool_calls=[{"name": "t", "args": {}, "id": "c1"}]),
        ToolMessage(json.dumps(ROWS), tool_call_id="c1"),
    ]
    with kaizen_usage() as usage:
        for n in range(3):
            kaizen_encode.invoke(_payload(n), config={"callbacks": [events]})
        llm.invoke(messages, config={"callbacks": [events]})
        list(llm.stream(messages, config={"callbacks": [events]}))
    assert len(events.payloads) == usage.encodes == 5
    assert usage.original_tokens == sum(p["original_tokens"] for p in events.payloads)
    assert usage.optimized_tokens == sum(p["optimized_tokens"] for p in events.payloads)
    assert usage.tokens_saved == sum(p["tokens_saved"] for p in events.payloads) > 0
    assert set(usage.per_model) == {"gpt-4o", "brain-1"}
    assert usage.per_model["gpt-4o"].encodes == 3
    assert usage.cost_saved_usd > 0  # gpt-4o is priced; brain-1 is not and adds 0


def test_nothing_is_counted_outside_the_block() -> None:
    with kaizen_usage() as usage:
        pass
    kaizen_encode.invoke(_payload(1))
    assert usage.encodes == 0


def test_nested_blocks_feed_the_outer_one() -> None:
    with kaizen_usage() as outer:
        kaizen_encode.invoke(_payload(1))
        with kaizen_usage() as inner:
            kaizen_encode.invoke(_payload(2))
    assert inner.encodes == 1 and outer.encodes == 2
    assert outer.tokens_saved > inner.tokens_saved > 0


def test_batch_threads_and_copied_contexts_count_every_call() -> None:
    with kaizen_usage() as usage:
        kaizen_encode.batch([_payload(n) for n in range(8)], config={"max_concurrency": 4})
        with ThreadPoolExecutor(4) as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, kaizen_encode.invoke, _payload(n))
                for n in range(8)
            ]
            for future in futures:
                future.result()
    assert usage.encodes == 16
    expected = 2 * sum(
        KaizenEncode().codec.encode_value(_payload(n)).tokens_saved for n in range(8)
    )
    assert usage.tokens_saved == expected


async def test_async_tasks_count_into_their_own_block() -> None:
    async def job(n: int) -> KaizenCallbackHandler:
        with kaizen_usage() as usage:
            for i in range(n):
                await kaizen_encode.ainvoke(_payload(i))
                await asyncio.sleep(0)
        return usage

    results = await asyncio.gather(*(job(n) for n in (1, 2, 3, 4)))
    assert [u.encodes for u in results] == [1, 2, 3, 4]


def test_direct_calls_without_a_run_still_count() -> None:
    """A component used outside any LangChain run reports straight to ``kaizen_usage``."""
    from langchain_core.documents import Document

    from kaizen_langchain import KaizenDocumentCompressor

    with kaizen_usage() as usage:
        KaizenDocumentCompressor().compress_documents([Document(json.dumps(ROWS))], "q")
    assert usage.encodes == 1 and usage.tokens_saved > 0


def test_wrapper_does_not_double_count_model_usage() -> None:
    messages = [HumanMessage(f"price list {json.dumps(ROWS)}")]
    plain_usage, wrapped_usage = UsageMetadataCallbackHandler(), UsageMetadataCallbackHandler()
    plain = BrainChatModel().invoke(messages, config={"callbacks": [plain_usage]})
    wrapped = ChatKaizen(llm=BrainChatModel()).invoke(
        messages, config={"callbacks": [wrapped_usage]}
    )
    [plain_total] = plain_usage.usage_metadata.values()
    [wrapped_total] = wrapped_usage.usage_metadata.values()
    assert plain_total["input_tokens"] == plain.usage_metadata["input_tokens"]
    assert wrapped_total["input_tokens"] == wrapped.usage_metadata["input_tokens"]
    assert wrapped_total["input_tokens"] < plain_total["input_tokens"]


def test_handler_ignores_other_custom_events() -> None:
    handler = KaizenCallbackHandler()

    def step(x: int) -> int:
        from langchain_core.callbacks import dispatch_custom_event

        dispatch_custom_event("something_else", {"original_tokens": 99})
        return x

    RunnableLambda(step).invoke(1, config={"callbacks": [handler]})
    kaizen_encode.invoke(_payload(0), config={"callbacks": [handler]})
    assert handler.encodes == 1 and [e["event"] for e in handler.events] == ["kaizen_encode"]


def test_own_prices_apply_to_snapshots_not_to_other_variants() -> None:
    handler = KaizenCallbackHandler(prices={"gpt-4o": 2.5})
    data = {"original_tokens": 1_000_000, "optimized_tokens": 0}
    handler.record("kaizen_encode", {**data, "model": "gpt-4o-2024-08-06"})
    handler.record("kaizen_encode", {**data, "model": "gpt-4o-mini"})
    per_model = handler.per_model
    assert per_model["gpt-4o-2024-08-06"].cost_saved_usd == 2.5
    assert per_model["gpt-4o-mini"].cost_saved_usd == estimate_cost(1_000_000, "gpt-4o-mini")
