"""``get_openai_callback`` around ``ChatKaizen(llm=ChatOpenAI(...))`` counts each call once.

The wrapper delegates to ``ChatOpenAI._generate``/``_stream`` (never ``invoke``), so the one
LLM run LangChain reports is the wrapper's, carrying the provider's usage. The OpenAI stand-in
answers with a scripted usage; the callback's totals must equal it exactly (not twice, not
zero), on invoke, ainvoke, stream and astream.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from kaizen_langchain import ChatKaizen
from tests.standins.openai_server import OpenAIStandIn, Reply

with warnings.catch_warnings():
    # langchain-community announces its sunset on import; get_openai_callback still lives there.
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.callbacks.manager import get_openai_callback

PROMPT_TOKENS, COMPLETION_TOKENS = 321, 17
ROWS = [{"sku": f"S{i:03d}", "price": 3 + i % 11, "stock": i * 7 % 50} for i in range(40)]
MESSAGES = [HumanMessage(f"Cheapest item? {json.dumps(ROWS)}")]


@pytest.fixture
def server() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn() as standin:
        standin.enqueue(
            Reply(
                content="S000 is the cheapest.",
                usage={"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS},
            )
        )
        yield standin


def _chat(server: OpenAIStandIn) -> ChatKaizen:
    llm = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=server.base_url,
        api_key="sk-test",
        max_retries=0,
        stream_usage=True,
    )
    return ChatKaizen(llm=llm)


def _assert_counted_once(callback: object, server: OpenAIStandIn) -> None:
    assert len(server.chat_requests) == 1
    assert "[40]{sku,price,stock}" in server.chat_requests[0]["messages"][0]["content"]
    assert callback.successful_requests == 1  # type: ignore[attr-defined]
    assert callback.prompt_tokens == PROMPT_TOKENS  # type: ignore[attr-defined]
    assert callback.completion_tokens == COMPLETION_TOKENS  # type: ignore[attr-defined]
    assert callback.total_tokens == PROMPT_TOKENS + COMPLETION_TOKENS  # type: ignore[attr-defined]
    assert callback.total_cost > 0  # type: ignore[attr-defined]  # gpt-4o-mini is priced


def test_invoke_is_counted_once(server: OpenAIStandIn) -> None:
    with get_openai_callback() as callback:
        answer = _chat(server).invoke(MESSAGES)
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] == PROMPT_TOKENS
    _assert_counted_once(callback, server)


async def test_ainvoke_is_counted_once(server: OpenAIStandIn) -> None:
    with get_openai_callback() as callback:
        await _chat(server).ainvoke(MESSAGES)
    _assert_counted_once(callback, server)


def test_stream_is_counted_once(server: OpenAIStandIn) -> None:
    with get_openai_callback() as callback:
        text = "".join(str(chunk.content) for chunk in _chat(server).stream(MESSAGES))
    assert text == "S000 is the cheapest."
    assert server.chat_requests[0]["stream"] is True
    _assert_counted_once(callback, server)


async def test_astream_is_counted_once(server: OpenAIStandIn) -> None:
    with get_openai_callback() as callback:
        chunks = [chunk async for chunk in _chat(server).astream(MESSAGES)]
    assert "".join(str(chunk.content) for chunk in chunks) == "S000 is the cheapest."
    _assert_counted_once(callback, server)
