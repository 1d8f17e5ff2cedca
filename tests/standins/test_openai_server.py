"""The OpenAI stand-in answers the real ``openai`` SDK over HTTP as documented."""

from __future__ import annotations

import json

import openai
import pytest

from tests.standins.openai_server import OpenAIStandIn, Reply, ToolCall, openai_standin

__all__ = ["openai_standin"]


@pytest.fixture
def client(openai_standin: OpenAIStandIn) -> openai.OpenAI:
    return openai.OpenAI(base_url=openai_standin.base_url, api_key="sk-test", max_retries=0)


def test_plain_answer_echoes_model_and_counts_usage(
    client: openai.OpenAI, openai_standin: OpenAIStandIn
) -> None:
    result = client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "hello there"}]
    )
    assert result.model == "gpt-4.1-mini"
    assert "hello there" in (result.choices[0].message.content or "")
    assert result.usage is not None and result.usage.prompt_tokens > 0
    assert result._request_id and result._request_id.startswith("req_")
    assert openai_standin.chat_requests[-1]["messages"][0]["content"] == "hello there"


def test_stream_with_usage_chunk_and_done(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "stream please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Stand-in answer to: stream please"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1


def test_tool_call_arguments_come_from_the_prompt(client: openai.OpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "adder",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                },
            },
        }
    ]
    messages = [{"role": "user", "content": "What is 1 + 2"}]
    result = client.chat.completions.create(model="m", messages=messages, tools=tools)
    call = result.choices[0].message.tool_calls[0]
    assert call.function.name == "adder" and json.loads(call.function.arguments) == {"a": 1, "b": 2}
    assert result.choices[0].finish_reason == "tool_calls"

    streamed = list(
        client.chat.completions.create(model="m", messages=messages, tools=tools, stream=True)
    )
    pieces = [
        d.function.arguments
        for c in streamed
        for d in (c.choices[0].delta.tool_calls or [])
        if d.function and d.function.arguments
    ]
    assert json.loads("".join(pieces)) == {"a": 1, "b": 2}

    after_tool = [
        *messages,
        {"role": "assistant", "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "3"},
    ]
    final = client.chat.completions.create(model="m", messages=after_tool, tools=tools)
    assert final.choices[0].message.content == "Tool result received: 3"


def test_json_schema_response_format_validates(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "setup": {"type": "string"},
            "rating": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
        },
        "$defs": {"Tag": {"type": "string", "enum": ["cat", "dog"]}},
    }
    result = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "rate it 7"}],
        response_format={"type": "json_schema", "json_schema": {"name": "j", "schema": schema}},
    )
    value = json.loads(result.choices[0].message.content or "")
    assert value["rating"] == 7 and value["tags"] == ["cat"] and isinstance(value["setup"], str)


def test_scripted_replies_errors_and_api_key() -> None:
    with OpenAIStandIn(api_key="sk-right") as server:
        wrong = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-right", max_retries=0)
        server.enqueue(Reply(status=429, headers={"retry-after": "0"}), "scripted")
        server.enqueue(Reply(tool_calls=[ToolCall("t", {"x": 1}, id="call_1")]))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
        ok = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
        assert ok.choices[0].message.content == "scripted"
        call = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "a"}]
        )
        assert call.choices[0].message.tool_calls[0].id == "call_1"
        assert server.pending_replies == 0
        assert len(server.chat_requests) == 3


def test_stop_sequences_and_embeddings(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stop=["answer"]
    )
    assert result.choices[0].message.content == "Stand-in "
    vectors = client.embeddings.create(model="e", input=["cats purr", "cats purr", "dogs"])
    assert vectors.data[0].embedding == vectors.data[1].embedding != vectors.data[2].embedding
