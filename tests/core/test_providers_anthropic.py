"""``kaizen_core.providers.wrap`` over the real ``anthropic`` SDK, against the local stand-in.

The stand-in (``tests/standins/anthropic_server.py``) runs with ``require_ktof``: it answers
400 to any request whose system prompt or message texts still carry raw JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from kaizen_core.engine import encode
from kaizen_core.errors import KaizenRateLimitError
from kaizen_core.providers import (
    KaizenProviderError,
    KaizenProviderRateLimitError,
    kaizen_info,
    wrap,
)

from tests.standins.anthropic_server import AnthropicStandin

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .providers_expected import assert_carries, sent_text
except ImportError:
    from providers_expected import assert_carries, sent_text  # type: ignore[no-redef]

ROWS = {
    "orders": [{"id": i, "item": f"widget-{i}", "qty": i * 2, "paid": i % 2 == 0} for i in range(6)]
}
TOOL_RESULT = {"stock": [{"sku": f"A{i}", "qty": i} for i in range(4)]}
SYSTEM_SCHEMA = {"columns": [{"name": "id", "type": "int"}, {"name": "item", "type": "str"}]}
API_KEY = "sk-ant-test"
SYSTEM_TEXT = f"You read order tables. Columns: {json.dumps(SYSTEM_SCHEMA)}"
USER_TEXT = f"Orders: {json.dumps(ROWS)}\nWhich are unpaid?"
USER_SENT = sent_text(USER_TEXT)  # the engine's rewrite: the table on lines of its own


@pytest.fixture(scope="module")
def running_server() -> Iterator[AnthropicStandin]:
    with AnthropicStandin() as standin:
        yield standin


@pytest.fixture
def server(running_server: AnthropicStandin) -> AnthropicStandin:
    """The module's stand-in, emptied, refusing raw JSON."""
    running_server.reset()
    running_server.require_ktof = True
    return running_server


def _kwargs() -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 256,
        "system": SYSTEM_TEXT,
        "messages": [
            {"role": "user", "content": USER_TEXT},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me check stock."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "stock",
                        "input": {"sku": ["A1", "A2"]},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": json.dumps(TOOL_RESULT),
                    },
                    {"type": "text", "text": "Use that."},
                ],
            },
        ],
    }


def test_sync_messages_keep_system_roles_and_tool_use(server: AnthropicStandin) -> None:
    client = wrap(anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    kwargs = _kwargs()
    snapshot = json.dumps(kwargs)

    message = client.messages.create(**kwargs)

    sent = server.requests[-1].json
    assert sent["system"] == sent_text(SYSTEM_TEXT)
    assert_carries(sent["system"], SYSTEM_SCHEMA)
    assert sent["system"].startswith("You read order tables. Columns:")
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][0]["content"] == USER_SENT
    assert_carries(USER_SENT, ROWS)
    assert sent["messages"][1]["content"] == kwargs["messages"][1]["content"]  # tool_use untouched
    tool_result = sent["messages"][2]["content"][0]
    assert tool_result["tool_use_id"] == "toolu_1" and tool_result["content"] == encode(TOOL_RESULT)
    assert json.dumps(kwargs) == snapshot
    assert isinstance(message, anthropic.types.Message)
    info = kaizen_info(message)
    assert info is not None and info.texts_rewritten == 3 and info.saved_tokens > 0
    assert info.tokens_exact is False  # Claude's tokenizer is not offline: a labelled estimate


def test_raw_response_view_compresses_too(server: AnthropicStandin) -> None:
    client = wrap(anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    raw = client.messages.with_raw_response.create(**_kwargs())
    assert isinstance(raw.parse(), anthropic.types.Message)
    with client.messages.with_streaming_response.create(**_kwargs()) as streamed:
        assert isinstance(streamed.parse(), anthropic.types.Message)
    assert [r.json["messages"][0]["content"] for r in server.requests] == [USER_SENT] * 2


def test_system_as_text_blocks(server: AnthropicStandin) -> None:
    client = wrap(anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    kwargs = _kwargs()
    kwargs["system"] = [
        {"type": "text", "text": json.dumps(SYSTEM_SCHEMA), "cache_control": {"type": "ephemeral"}}
    ]
    client.messages.create(**kwargs)
    system = server.requests[-1].json["system"]
    assert system == [
        {"type": "text", "text": encode(SYSTEM_SCHEMA), "cache_control": {"type": "ephemeral"}}
    ]


async def test_async_create_stream_and_stream_helper(server: AnthropicStandin) -> None:
    client = wrap(
        anthropic.AsyncAnthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    )
    server.answers.extend(["plain answer", "streamed via create", "streamed via helper"])

    message = await client.messages.create(**_kwargs())
    stream = await client.messages.create(**_kwargs(), stream=True)
    text = "".join(
        [event.delta.text async for event in stream if event.type == "content_block_delta"]
    )
    async with client.messages.stream(**_kwargs()) as helper:
        helper_text = await helper.get_final_text()

    assert message.content[0].text == "plain answer"
    assert isinstance(stream, anthropic.AsyncStream) and text == "streamed via create"
    assert helper_text == "streamed via helper" and helper.kaizen.texts_rewritten == 3
    assert stream.kaizen.saved_tokens == message.kaizen.saved_tokens > 0
    assert len(server.requests) == 3
    assert [r.json["messages"][0]["content"] for r in server.requests] == [USER_SENT] * 3
    assert all(r.json["system"] == sent_text(SYSTEM_TEXT) for r in server.requests)


def test_sync_stream_helper(server: AnthropicStandin) -> None:
    client = wrap(anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    server.answers.append("helper text")
    with client.messages.stream(**_kwargs()) as stream:
        assert stream.get_final_text() == "helper text"
    assert stream.kaizen.json_blocks == 3


def test_decode_response(server: AnthropicStandin) -> None:
    client = wrap(
        anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0),
        decode_response=True,
    )
    server.answers.extend(
        [f"```toon\n{encode({'unpaid': [1, 3, 5]})}\n```", "No KTOF here, sorry."]
    )
    assert client.messages.create(**_kwargs()).kaizen.decoded == {"unpaid": [1, 3, 5]}
    prose = client.messages.create(**_kwargs()).kaizen
    assert prose.decoded is None and prose.decode_error


def test_rate_limit_with_retry_hint_and_request_id(server: AnthropicStandin) -> None:
    server.fail_next(429, "slow down", retry_after="12")
    client = wrap(anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    with pytest.raises(KaizenProviderRateLimitError) as caught:
        client.messages.create(**_kwargs())
    error = caught.value
    assert isinstance(error, KaizenRateLimitError)
    assert isinstance(error.original, anthropic.RateLimitError)
    assert error.status_code == 429 and error.retry_after == 12.0
    assert error.request_id == "req_error0001" == error.original.request_id
    assert error.body["error"]["type"] == "rate_limit_error"


async def test_async_rate_limit_after_counted_vendor_retry(server: AnthropicStandin) -> None:
    server.fail_next(429, retry_after="0")
    server.fail_next(429, retry_after="3")
    client = wrap(
        anthropic.AsyncAnthropic(api_key=API_KEY, base_url=server.base_url, max_retries=1)
    )
    with pytest.raises(KaizenProviderRateLimitError) as caught:
        await client.messages.create(**_kwargs())
    assert len(server.requests) == 2 and caught.value.retry_after == 3.0


async def test_stream_helper_maps_errors(server: AnthropicStandin) -> None:
    server.fail_next(529, "overloaded")
    client = wrap(
        anthropic.AsyncAnthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    )
    with pytest.raises(KaizenProviderError) as caught:
        async with client.messages.stream(**_kwargs()):
            pass  # pragma: no cover - the 529 is raised on entry
    assert caught.value.status_code == 529 and not isinstance(caught.value, KaizenRateLimitError)


async def test_errors_in_the_middle_of_a_stream_are_mapped(server: AnthropicStandin) -> None:
    server.fail_next_stream_midway("rate_limit_error", "too fast")
    server.fail_next_stream_midway("overloaded_error", "busy")
    client = wrap(
        anthropic.AsyncAnthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    )
    stream = await client.messages.create(**_kwargs(), stream=True)
    with pytest.raises(KaizenProviderRateLimitError) as caught:
        [event async for event in stream]
    assert (
        isinstance(caught.value.original, anthropic.APIStatusError)
        and caught.value.status_code == 429
    )
    async with client.messages.stream(**_kwargs()) as helper:
        with pytest.raises(KaizenProviderError) as overloaded:
            [event async for event in helper]
    assert (
        overloaded.value.body["error"]["type"] == "overloaded_error"
        and overloaded.value.status_code == 529
    )
    assert not isinstance(overloaded.value, KaizenRateLimitError)


async def test_async_wrapper_runs_calls_concurrently(server: AnthropicStandin) -> None:
    """The stand-in answers only once all N requests arrived; a blocking wrapper gets 504s."""
    count = 6
    server.expect_concurrent(count)
    client = wrap(
        anthropic.AsyncAnthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    )
    messages = await asyncio.gather(*(client.messages.create(**_kwargs()) for _ in range(count)))
    assert len(server.requests) == count
    assert all(m.kaizen.texts_rewritten == 3 for m in messages)


def test_count_tokens_sees_the_compressed_prompt(server: AnthropicStandin) -> None:
    server.require_ktof = False
    client = wrap(anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    with pytest.raises(KaizenProviderError):  # the stand-in has no count_tokens route: 404
        client.messages.count_tokens(model="claude-haiku-4-5", messages=_kwargs()["messages"])
    sent = server.requests[-1]
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.json["messages"][0]["content"] == USER_SENT


@pytest.mark.vcr
def test_cassette_messages_roundtrip(server: AnthropicStandin, vcr: Any) -> None:
    """Recorded from the stand-in (``--record-mode=once``), replayed offline afterwards."""
    server.answers.append(encode({"unpaid": [1, 3, 5]}))
    client = wrap(
        anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0),
        decode_response=True,
    )
    message = client.messages.create(**_kwargs())
    assert message.kaizen.decoded == {"unpaid": [1, 3, 5]}
    sent = json.loads(vcr.requests[0].body)
    assert sent["messages"][0]["content"] == USER_SENT
    assert_carries(sent["messages"][0]["content"], ROWS)
    assert vcr.play_count == 1 or vcr.dirty


def test_cassettes_hold_no_api_key(vcr_cassette_dir: str) -> None:
    cassettes = [path.read_text() for path in Path(vcr_cassette_dir).glob("*.yaml")]
    assert len(cassettes) == 1 and not any(API_KEY in text for text in cassettes)
