"""``kaizen_core.providers.wrap`` over the real ``openai`` SDK, against the local stand-in.

The stand-in (``tests/standins/openai_server.py``) speaks Chat Completions; the Responses
API endpoint is added here by a small subclass. A guard responder makes the server itself
refuse (400) any request whose messages still carry raw JSON.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from kaizen_core.engine import encode
from kaizen_core.errors import KaizenError, KaizenRateLimitError
from kaizen_core.providers import (
    KaizenProviderError,
    KaizenProviderRateLimitError,
    kaizen_info,
    unwrap,
    wrap,
)

from tests.standins import openai_server
from tests.standins.anthropic_server import has_ktof, looks_like_raw_json
from tests.standins.openai_server import OpenAIStandIn, Reply

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .providers_expected import assert_carries, sent_text
except ImportError:
    from providers_expected import assert_carries, sent_text  # type: ignore[no-redef]

ROWS = {
    "users": [
        {"id": i, "name": f"user{i}", "role": "admin" if i % 2 else "viewer"} for i in range(6)
    ]
}
ROWS_JSON = json.dumps(ROWS)
USER_TEXT = f"Rows: {ROWS_JSON}\nWho are the admins?"
USER_SENT = sent_text(USER_TEXT)  # the engine's rewrite: the table on lines of its own
API_KEY = "sk-test"
TOOL_RESULT = [{"sku": f"A{i}", "qty": i, "price": 9.5 + i} for i in range(5)]


# -- stand-in: Chat Completions from tests/standins, plus the Responses API ---------------------
class _ResponsesHandler(openai_server._Handler):
    """The stand-in's handler plus ``POST /v1/responses`` (non-streaming)."""

    def do_POST(self) -> None:
        if not self.path.split("?", 1)[0].endswith("/responses"):
            super().do_POST()
            return
        request = self._record("POST")
        reply = self.server.standin._next_reply(request.body)
        if reply.status != 200:
            self._send_json(
                reply.status, reply.error or {"error": {"message": "scripted"}}, reply.headers
            )
            return
        text = reply.content or "ok"
        self._send_json(
            200,
            {
                "id": "resp_standin",
                "object": "response",
                "created_at": 1,
                "model": request.body.get("model"),
                "status": "completed",
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "output": [
                    {
                        "type": "message",
                        "id": "msg_standin",
                        "status": "completed",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}],
                    }
                ],
                "usage": {
                    "input_tokens": 1,
                    "output_tokens": 1,
                    "total_tokens": 2,
                    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0},
                },
            },
        )


class _ResponsesServer(openai_server._Server):
    def __init__(self, address: tuple[str, int], standin: OpenAIStandIn) -> None:
        self.standin = standin
        openai_server.ThreadingHTTPServer.__init__(self, address, _ResponsesHandler)


class OpenAIWithResponsesStandIn(OpenAIStandIn):
    """``OpenAIStandIn`` that also answers the Responses API."""

    def start(self) -> OpenAIWithResponsesStandIn:
        if self._server is None:
            self._server = _ResponsesServer((self.host, self.port), self)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
        return self


def _texts(body: dict[str, Any]) -> list[str]:
    """Every text of a chat or responses request body."""
    texts: list[str] = []

    def add(content: Any) -> None:
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p.get("text", "") for p in content if isinstance(p, dict))

    for message in body.get("messages") or []:
        add(message.get("content"))
    if isinstance(body.get("instructions"), str):
        texts.append(body["instructions"])
    items = body.get("input")
    if isinstance(items, str):
        texts.append(items)
    for item in items if isinstance(items, list) else []:
        add(item.get("content") if "content" in item else item.get("output"))
    return texts


def ktof_guard(body: dict[str, Any]) -> Reply | None:
    """Refuse (400) a request that still holds raw JSON or carries no KTOF at all."""
    texts = _texts(body)
    if any(looks_like_raw_json(t) for t in texts) or not any(has_ktof(t) for t in texts):
        return Reply(
            status=400,
            error={"error": {"message": "stand-in expected KTOF", "type": "invalid_request_error"}},
        )
    return None


@pytest.fixture(scope="module")
def running_server() -> Iterator[OpenAIWithResponsesStandIn]:
    with OpenAIWithResponsesStandIn() as standin:
        yield standin


@pytest.fixture
def server(running_server: OpenAIWithResponsesStandIn) -> OpenAIWithResponsesStandIn:
    """The module's stand-in, emptied, with the KTOF guard on."""
    running_server.reset()
    running_server.responder = ktof_guard
    return running_server


def _messages() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You answer about the rows."},
        {"role": "user", "content": USER_TEXT},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "stock", "arguments": '{"sku": "A1"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(TOOL_RESULT)},
    ]


# -- chat.completions ----------------------------------------------------------------------------
def test_sync_chat_sends_ktof_per_message_and_keeps_roles(server: OpenAIStandIn) -> None:
    client = wrap(openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    messages = _messages()
    snapshot = json.dumps(messages)

    completion = client.chat.completions.create(model="gpt-4o", messages=messages)

    sent = server.chat_requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[0]["content"] == "You answer about the rows."
    assert sent[1]["content"] == USER_SENT
    assert_carries(sent[1]["content"], ROWS)
    assert sent[1]["content"].startswith("Rows:") and sent[1]["content"].endswith("admins?")
    assert sent[2]["tool_calls"] == messages[2]["tool_calls"]  # the model's call: untouched JSON
    assert sent[3]["content"] == encode(TOOL_RESULT) and sent[3]["tool_call_id"] == "call_1"
    assert json.dumps(messages) == snapshot  # the caller's list is not mutated
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    info = kaizen_info(completion)
    assert info is not None and info.provider == "openai" and info.model == "gpt-4o"
    assert info.texts_rewritten == 2 and info.json_blocks == 2
    assert info.saved_tokens > 0 and info.tokens_exact
    assert "kaizen" not in completion.model_dump()  # the vendor object serialises as before


async def test_async_chat_and_stream_pass_through(server: OpenAIStandIn) -> None:
    client = wrap(openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    server.enqueue("first", "streamed answer here")

    completion = await client.chat.completions.create(model="gpt-4o", messages=_messages())
    stream = await client.chat.completions.create(model="gpt-4o", messages=_messages(), stream=True)
    chunks = [chunk async for chunk in stream]

    assert completion.choices[0].message.content == "first"
    assert isinstance(stream, openai.AsyncStream)
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == "streamed answer here"
    )
    assert stream.kaizen.saved_tokens == completion.kaizen.saved_tokens > 0
    assert [r["messages"][1]["content"] for r in server.chat_requests] == [USER_SENT] * 2


async def test_async_chat_takes_messages_from_a_one_shot_iterable(server: OpenAIStandIn) -> None:
    """The SDK accepts any iterable of messages; a generator is read once, not emptied."""
    client = wrap(openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    server.responder = None  # the second request carries no JSON, so no KTOF either

    await client.chat.completions.create(model="gpt-4o", messages=(m for m in _messages()))
    await client.chat.completions.create(
        model="gpt-4o", messages=iter([{"role": "user", "content": "no json here"}])
    )

    first, second = (request["messages"] for request in server.chat_requests)
    assert [m["role"] for m in first] == ["system", "user", "assistant", "tool"]
    assert first[1]["content"] == USER_SENT
    assert second == [{"role": "user", "content": "no json here"}]


def test_sync_stream_helper_is_wrapped(server: OpenAIStandIn) -> None:
    client = wrap(openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    server.enqueue("helper answer")
    with client.chat.completions.stream(model="gpt-4o", messages=_messages()) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "helper answer"
    assert stream.kaizen.texts_rewritten == 2
    assert server.chat_requests[-1]["messages"][3]["content"] == encode(TOOL_RESULT)


def test_decode_response_is_opt_in(server: OpenAIStandIn) -> None:
    answer = encode({"admins": [{"id": 1, "name": "user1"}, {"id": 3, "name": "user3"}]})
    server.enqueue(answer, answer)
    plain = wrap(openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    decoding = wrap(
        openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0),
        decode_response=True,
    )

    assert (
        plain.chat.completions.create(model="gpt-4o", messages=_messages()).kaizen.decoded is None
    )
    decoded = decoding.chat.completions.create(model="gpt-4o", messages=_messages()).kaizen
    assert decoded.decoded == {"admins": [{"id": 1, "name": "user1"}, {"id": 3, "name": "user3"}]}
    assert decoded.decode_error is None


def test_text_without_json_is_sent_unchanged(server: OpenAIStandIn) -> None:
    server.responder = None
    client = wrap(openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    messages = [{"role": "user", "content": "Say [hello] to {everyone} please"}]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert server.chat_requests[-1]["messages"] == messages
    assert completion.kaizen.texts_rewritten == 0 and completion.kaizen.saved_tokens == 0


def test_with_options_and_other_attributes(server: OpenAIStandIn) -> None:
    raw = openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    client = wrap(raw)
    assert unwrap(client) is raw and isinstance(client, openai.OpenAI)
    assert unwrap(wrap(client, decode_response=True)) is raw  # re-wrapping does not stack
    assert client.api_key == API_KEY and client.models is raw.models
    assert client.chat.completions.create.__doc__ == raw.chat.completions.create.__doc__
    tuned = client.with_options(timeout=5)
    tuned.chat.completions.create(model="gpt-4o", messages=_messages())
    assert server.chat_requests[-1]["messages"][1]["content"] == USER_SENT


async def test_raw_and_streaming_response_views_compress_too(server: OpenAIStandIn) -> None:
    sync_client = wrap(openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    raw = sync_client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=_messages()
    )
    assert raw.headers.get("x-request-id") and raw.parse().choices[0].message.content
    async_client = wrap(
        openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    )
    async with async_client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=_messages()
    ) as streamed:
        assert (await streamed.parse()).choices[0].message.content
    raw_responses = sync_client.responses.with_raw_response.create(model="gpt-4o", input=USER_TEXT)
    assert raw_responses.parse().output_text
    sent = server.chat_requests
    assert [r["messages"][1]["content"] for r in sent] == [USER_SENT] * 2
    assert server.requests[-1].body["input"] == USER_SENT


# -- responses -----------------------------------------------------------------------------------
def test_responses_create_compresses_instructions_input_and_tool_outputs(
    server: OpenAIStandIn,
) -> None:
    client = wrap(
        openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0),
        decode_response=True,
    )
    server.enqueue(encode({"ok": [1, 2]}))
    schema = {"fields": [{"n": "a"}, {"n": "b"}]}
    instructions = f"Schema example: {json.dumps(schema)}"
    response = client.responses.create(
        model="gpt-4o",
        instructions=instructions,
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": f"Rows: {ROWS_JSON}"}]},
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "stock",
                "arguments": '{"sku": "A1"}',
            },
            {"type": "function_call_output", "call_id": "c1", "output": json.dumps(TOOL_RESULT)},
        ],
    )
    body = server.requests[-1].body
    assert server.requests[-1].path == "/v1/responses"
    assert body["instructions"] == sent_text(instructions)
    assert_carries(body["instructions"], schema)
    assert body["input"][0]["content"][0]["text"] == sent_text(f"Rows: {ROWS_JSON}")
    assert_carries(body["input"][0]["content"][0]["text"], ROWS)
    assert body["input"][0]["role"] == "user"
    assert body["input"][1]["arguments"] == '{"sku": "A1"}'
    assert body["input"][2]["output"] == encode(TOOL_RESULT)
    assert response.output_text == encode({"ok": [1, 2]})
    assert response.kaizen.decoded == {"ok": [1, 2]} and response.kaizen.texts_rewritten == 3


async def test_async_responses_create(server: OpenAIStandIn) -> None:
    client = wrap(openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    response = await client.responses.create(model="gpt-4o", input=f"Rows: {ROWS_JSON}")
    sent = server.requests[-1].body["input"]
    assert sent == sent_text(f"Rows: {ROWS_JSON}")
    assert_carries(sent, ROWS)
    assert response.kaizen.saved_tokens > 0


# -- errors --------------------------------------------------------------------------------------
def test_rate_limit_maps_to_kaizen_error_with_retry_hint(server: OpenAIStandIn) -> None:
    server.enqueue(Reply(status=429, headers={"retry-after": "7", "x-request-id": "req_limit"}))
    client = wrap(openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    with pytest.raises(KaizenProviderRateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=_messages())
    error = caught.value
    assert isinstance(error, KaizenRateLimitError) and isinstance(error, KaizenError)
    assert isinstance(error.original, openai.RateLimitError) and error.__cause__ is error.original
    assert error.status_code == 429 and error.retry_after == 7.0 and error.provider == "openai"
    assert error.request_id == error.original.request_id is not None


async def test_vendor_retries_are_counted_before_the_error_surfaces(server: OpenAIStandIn) -> None:
    server.enqueue(
        Reply(status=429, headers={"retry-after-ms": "10"}),
        Reply(status=429, headers={"retry-after-ms": "1500"}),
    )
    client = wrap(openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=1))
    with pytest.raises(KaizenProviderRateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=_messages())
    assert len(server.chat_requests) == 2  # the SDK's own retry ran once, then gave up
    assert caught.value.retry_after == 1.5  # the hint of the answer that surfaced


def test_server_refusal_maps_to_provider_error(server: OpenAIStandIn) -> None:
    raw = openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    with pytest.raises(openai.BadRequestError):  # unwrapped: raw JSON reaches the guard
        raw.chat.completions.create(model="gpt-4o", messages=_messages())
    with pytest.raises(KaizenProviderError) as caught:
        wrap(raw).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": '{"a": [1]}x'}]
        )
    assert caught.value.status_code == 400 and not isinstance(caught.value, KaizenRateLimitError)


def test_connection_failure_maps_without_status() -> None:
    client = wrap(openai.OpenAI(api_key=API_KEY, base_url="http://127.0.0.1:9/v1", max_retries=0))
    with pytest.raises(KaizenProviderError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code is None
    assert isinstance(caught.value.original, openai.APIConnectionError)


# -- non-blocking --------------------------------------------------------------------------------
async def test_async_wrapper_runs_calls_concurrently(server: OpenAIStandIn) -> None:
    """All N requests must be in flight together: the server answers none before the N-th."""
    count = 6
    barrier = threading.Barrier(count)

    def wait_for_all(body: dict[str, Any]) -> Reply | None:
        barrier.wait(timeout=20)  # a blocking wrapper sends one at a time: this breaks
        return ktof_guard(body)

    server.responder = wait_for_all
    client = wrap(openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0))
    results = await asyncio.gather(
        *(
            client.chat.completions.create(model="gpt-4o", messages=_messages())
            for _ in range(count)
        )
    )
    assert len(server.chat_requests) == count
    assert all(r.kaizen.texts_rewritten == 2 for r in results)


# -- recorded traffic ----------------------------------------------------------------------------
@pytest.mark.vcr
async def test_cassette_chat_roundtrip(server: OpenAIStandIn, vcr: Any) -> None:
    """Recorded from the stand-in (``--record-mode=once``), replayed offline afterwards."""
    server.enqueue(encode({"admins": ["user1", "user3", "user5"]}))
    client = wrap(
        openai.AsyncOpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0),
        decode_response=True,
    )
    completion = await client.chat.completions.create(model="gpt-4o", messages=_messages())
    assert completion.kaizen.decoded == {"admins": ["user1", "user3", "user5"]}
    sent = json.loads(vcr.requests[0].body)
    assert sent["messages"][1]["content"] == USER_SENT
    assert_carries(sent["messages"][1]["content"], ROWS)
    assert vcr.play_count == 1 or vcr.dirty  # replayed from the cassette, or just recorded


def test_cassettes_hold_no_api_key(vcr_cassette_dir: str) -> None:
    cassettes = [path.read_text() for path in Path(vcr_cassette_dir).glob("*.yaml")]
    assert len(cassettes) == 1 and not any(API_KEY in text for text in cassettes)
