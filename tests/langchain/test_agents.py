"""``ChatKaizen`` inside ``langchain.agents.create_agent``: tool results travel as KTOF.

The agent's model is ``ChatKaizen(llm=ChatOpenAI(...))`` at the OpenAI stand-in; the tool
returns a large JSON list. The stand-in's brain calls the tool first, then answers once it
has the tool result, so the agent finishes in two model calls.
``test_agent_invoke_replayed`` runs from the cassette in
tests/cassettes/langchain/test_agents/ (recorded from the stand-in).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kaizen_core import engine
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from kaizen_langchain import ChatKaizen, kaizen_usage
from tests.standins.openai_server import OpenAIStandIn

ORDERS = [
    {
        "order_id": 1000 + i,
        "customer": "acme",
        "sku": f"SKU-{i % 13:03d}",
        "qty": 1 + i % 5,
        "total": round(9.5 * (1 + i % 7), 2),
    }
    for i in range(150)
]
QUESTION = "List the orders of customer 'acme' and tell me the largest one."


@tool
def list_orders(customer: str) -> str:
    """Return every order of a customer as a JSON list."""
    return json.dumps([o for o in ORDERS if o["customer"] == customer])


def build_agent(base_url: str) -> Any:
    llm = ChatOpenAI(
        model="gpt-4o-mini", base_url=base_url, api_key="sk-test", max_retries=0, stream_usage=True
    )
    return create_agent(
        ChatKaizen(llm=llm), tools=[list_orders], system_prompt="You answer from tool data."
    )


def _tool_messages(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for body in bodies for m in body["messages"] if m["role"] == "tool"]


def _assert_ktof_went_out(bodies: list[dict[str, Any]]) -> None:
    assert len(bodies) == 2
    assert bodies[0]["tools"][0]["function"]["name"] == "list_orders"
    [tool_message] = _tool_messages(bodies)
    content = tool_message["content"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    assert engine.decode(content) == ORDERS
    assert len(content) < len(json.dumps(ORDERS)) * 0.6


def _assert_finished(messages: list[Any]) -> None:
    assert isinstance(messages[-1], AIMessage) and not messages[-1].tool_calls
    assert messages[-1].text.startswith("Tool result received:")
    tool_results = [m for m in messages if isinstance(m, ToolMessage)]
    assert json.loads(tool_results[0].content) == ORDERS  # the agent's own state keeps JSON


def test_agent_invoke_sends_ktof_and_finishes(openai_standin: OpenAIStandIn) -> None:
    agent = build_agent(openai_standin.base_url)
    with kaizen_usage() as usage:
        result = agent.invoke({"messages": [("user", QUESTION)]})
    _assert_finished(result["messages"])
    _assert_ktof_went_out(openai_standin.chat_requests)
    assert usage.encodes == 2 and usage.tokens_saved > 0
    assert result["messages"][-1].response_metadata["kaizen"]["tokens_saved"] == usage.tokens_saved


def test_agent_stream_sends_ktof_and_finishes(openai_standin: OpenAIStandIn) -> None:
    agent = build_agent(openai_standin.base_url)
    tokens: list[str] = []
    final: list[Any] = []
    for mode, payload in agent.stream(
        {"messages": [("user", QUESTION)]}, stream_mode=["messages", "values"]
    ):
        if mode == "messages":
            chunk, _meta = payload
            if isinstance(chunk, AIMessage) and isinstance(chunk.content, str):
                tokens.append(chunk.content)
        else:
            final = payload["messages"]
    _assert_finished(final)
    assert "".join(tokens).endswith(final[-1].text)
    _assert_ktof_went_out(openai_standin.chat_requests)


async def test_agent_astream_sends_ktof_and_finishes(openai_standin: OpenAIStandIn) -> None:
    agent = build_agent(openai_standin.base_url)
    final: list[Any] = []
    async for payload in agent.astream({"messages": [("user", QUESTION)]}, stream_mode="values"):
        final = payload["messages"]
    _assert_finished(final)
    _assert_ktof_went_out(openai_standin.chat_requests)


@pytest.mark.vcr
def test_agent_invoke_replayed(openai_standin: OpenAIStandIn, vcr: Any) -> None:
    """Same agent from the recorded cassette: the recorded requests carry KTOF."""
    result = build_agent(openai_standin.base_url).invoke({"messages": [("user", QUESTION)]})
    _assert_finished(result["messages"])
    _assert_ktof_went_out([json.loads(r.body) for r in vcr.requests])
    if vcr.play_count:  # replaying: the answers came from the cassette, not the server
        assert openai_standin.chat_requests == []
