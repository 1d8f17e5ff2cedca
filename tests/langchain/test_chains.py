"""``KaizenEncode() | llm | KaizenDecode()`` with ``ChatOpenAI`` at the OpenAI stand-in.

The stand-in's responder plays a model that reads the KTOF it was sent and answers with
those rows as a KTOF table (streamed in 8-character deltas), so every entry point can be
checked end to end over real HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest
from kaizen_core import engine
from langchain_openai import ChatOpenAI

from kaizen_langchain import KaizenDecode, KaizenEncode, kaizen_usage
from tests.standins.openai_server import OpenAIStandIn, Reply

ROWS = [
    {"id": i, "sku": f"SKU-{i:04d}", "qty": i % 9, "price": round(0.75 * i, 2)} for i in range(200)
]


def echo_rows(body: dict[str, Any]) -> Reply:
    """Answer with the rows of the (KTOF) user message, as a KTOF table under ``items``."""
    sent = engine.decode(body["messages"][-1]["content"])
    return Reply(content=engine.encode({"items": sent["rows"]}))


@pytest.fixture
def chain(openai_standin: OpenAIStandIn) -> Any:
    openai_standin.responder = echo_rows
    llm = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_standin.base_url, api_key="sk-test", max_retries=0
    )
    return KaizenEncode() | llm | KaizenDecode()


def _sent_ktof(server: OpenAIStandIn) -> list[str]:
    return [body["messages"][-1]["content"] for body in server.chat_requests]


def test_invoke_sends_ktof_and_decodes_the_answer(
    chain: Any, openai_standin: OpenAIStandIn
) -> None:
    with kaizen_usage() as usage:
        assert chain.invoke({"rows": ROWS}) == {"items": ROWS}
    [sent] = _sent_ktof(openai_standin)
    assert sent.startswith("rows[200]")
    assert usage.encodes == 1 and usage.decodes == 1 and usage.tokens_saved > 0


async def test_ainvoke(chain: Any) -> None:
    assert await chain.ainvoke({"rows": ROWS[:50]}) == {"items": ROWS[:50]}


def test_batch_keeps_order(chain: Any, openai_standin: OpenAIStandIn) -> None:
    inputs = [{"rows": ROWS[:n]} for n in (3, 30, 120)]
    assert chain.batch(inputs) == [{"items": ROWS[:n]} for n in (3, 30, 120)]
    assert len(openai_standin.chat_requests) == 3


def _assert_incremental(values: list[Any]) -> None:
    assert values[-1] == {"items": ROWS}
    sizes = [len(v["items"]) for v in values if isinstance(v, dict) and "items" in v]
    assert sizes == sorted(sizes)
    assert len(set(sizes)) > 100, "rows must arrive one by one while the answer streams"
    assert sizes[0] < 10


def test_stream_yields_rows_incrementally(chain: Any) -> None:
    _assert_incremental(list(chain.stream({"rows": ROWS})))


async def test_astream_yields_rows_incrementally(chain: Any) -> None:
    _assert_incremental([v async for v in chain.astream({"rows": ROWS})])


async def test_astream_events_show_encode_stream_and_decode(chain: Any) -> None:
    events = [e async for e in chain.astream_events({"rows": ROWS}, version="v2")]
    custom = [e["name"] for e in events if e["event"] == "on_custom_event"]
    assert custom == ["kaizen_encode", "kaizen_decode"]
    model_chunks = [e for e in events if e["event"] == "on_chat_model_stream"]
    parser_chunks = [e["data"]["chunk"] for e in events if e["event"] == "on_parser_stream"]
    assert len(model_chunks) > 100
    _assert_incremental(parser_chunks)
    names = {e["name"] for e in events if e["event"] == "on_chain_start"}
    assert {"KaizenEncode"} <= names
    end = [e for e in events if e["event"] == "on_chain_end" and e["name"] == "RunnableSequence"]
    assert end[-1]["data"]["output"] == {"items": ROWS}
