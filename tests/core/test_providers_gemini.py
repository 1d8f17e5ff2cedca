"""``kaizen_core.providers.wrap`` over the real ``google-genai`` SDK, against the local stand-in.

The stand-in (``tests/standins/gemini_server.py``) runs with ``require_ktof``: it answers 400
to any request whose contents or system instruction still carry raw JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from kaizen_core.engine import encode
from kaizen_core.errors import KaizenRateLimitError
from kaizen_core.providers import (
    KaizenProviderError,
    KaizenProviderRateLimitError,
    kaizen_info,
    wrap,
)

from tests.standins.gemini_server import GeminiStandin

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .providers_expected import assert_carries, sent_text
except ImportError:
    from providers_expected import assert_carries, sent_text  # type: ignore[no-redef]

ROWS = {
    "flights": [{"code": f"KZ{i}", "from": "BER", "to": "LIS", "seats": 10 + i} for i in range(6)]
}
USER_TEXT = f"Flights: {json.dumps(ROWS)}\nWhich has most seats?"
USER_SENT = sent_text(USER_TEXT)  # the engine's rewrite: the table on lines of its own
WEATHER = {"forecast": [{"day": d, "temp": 20 + i} for i, d in enumerate(["mon", "tue", "wed"])]}
MODEL = "gemini-2.5-flash"
API_KEY = "gemini-test"


@pytest.fixture(scope="module")
def running_server() -> Iterator[GeminiStandin]:
    with GeminiStandin() as standin:
        yield standin


@pytest.fixture
def server(running_server: GeminiStandin) -> GeminiStandin:
    """The module's stand-in, emptied, refusing raw JSON."""
    running_server.reset()
    running_server.require_ktof = True
    return running_server


def _client(server: GeminiStandin, **http: Any) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options={"base_url": server.base_url, **http})


def _contents() -> list[Any]:
    return [
        types.Content(
            role="user",
            parts=[types.Part(text=USER_TEXT)],
        ),
        types.Content(
            role="model",
            parts=[
                types.Part(function_call=types.FunctionCall(name="weather", args={"city": "LIS"}))
            ],
        ),
        {
            "role": "user",
            "parts": [{"function_response": {"name": "weather", "response": WEATHER}}],
        },
    ]


def test_sync_generate_content_per_part(server: GeminiStandin) -> None:
    client = wrap(_client(server))
    contents = _contents()
    columns = {"cols": [{"n": "code"}, {"n": "seats"}]}
    system = f"Columns: {json.dumps(columns)}"

    response = client.models.generate_content(
        model=MODEL, contents=contents, config={"system_instruction": system}
    )

    sent = server.requests[-1].json
    assert server.requests[-1].path.endswith(f"/models/{MODEL}:generateContent")
    assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
    assert sent["contents"][0]["parts"][0]["text"] == USER_SENT
    assert_carries(USER_SENT, ROWS)
    assert sent["contents"][1]["parts"][0]["functionCall"] == {
        "name": "weather",
        "args": {"city": "LIS"},
    }
    function_response = sent["contents"][2]["parts"][0]["functionResponse"]
    assert function_response == {"name": "weather", "response": {"output": encode(WEATHER)}}
    assert sent["systemInstruction"]["parts"][0]["text"] == sent_text(system)
    assert_carries(sent["systemInstruction"]["parts"][0]["text"], columns)
    assert contents[2]["parts"][0]["function_response"]["response"] == WEATHER  # not mutated
    assert isinstance(response, types.GenerateContentResponse) and response.text == "ok"
    info = kaizen_info(response)
    assert info is not None and info.provider == "gemini" and info.texts_rewritten == 3
    assert info.saved_chars > 0


def test_plain_string_contents_and_config_object(server: GeminiStandin) -> None:
    client = wrap(_client(server), decode_response=True)
    server.answers.append(encode({"best": "KZ5"}))
    schema = {"fields": [{"name": "code"}, {"name": "seats"}]}
    config = types.GenerateContentConfig(
        system_instruction=f"Be brief. {json.dumps(schema)}", temperature=0.1
    )
    response = client.models.generate_content(
        model=MODEL, contents=f"Flights: {json.dumps(ROWS)}", config=config
    )
    sent = server.requests[-1].json
    flights = sent_text(f"Flights: {json.dumps(ROWS)}")
    assert sent["contents"] == [{"role": "user", "parts": [{"text": flights}]}]
    assert_carries(flights, ROWS)
    assert sent["systemInstruction"]["parts"][0]["text"] == sent_text(
        f"Be brief. {json.dumps(schema)}"
    )
    assert_carries(sent["systemInstruction"]["parts"][0]["text"], schema)
    assert (
        config.system_instruction == f"Be brief. {json.dumps(schema)}"
    )  # the caller's config is untouched
    assert sent["generationConfig"]["temperature"] == 0.1
    assert response.kaizen.decoded == {"best": "KZ5"}


def test_sync_stream_chunks_carry_savings(server: GeminiStandin) -> None:
    client = wrap(_client(server))
    server.answers.append("a streamed answer of some length")
    stream = client.models.generate_content_stream(model=MODEL, contents=_contents())
    chunks = list(stream)
    assert "".join(c.text for c in chunks) == "a streamed answer of some length"
    assert len(chunks) > 1 and all(c.kaizen is stream.kaizen for c in chunks)
    assert stream.kaizen.texts_rewritten == 2  # the user text and the function response
    assert server.requests[-1].path.endswith(":streamGenerateContent")


async def test_async_generate_and_stream(server: GeminiStandin) -> None:
    client = wrap(_client(server))
    server.answers.extend(["async answer", "async streamed answer"])
    response = await client.aio.models.generate_content(model=MODEL, contents=_contents())
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents=_contents())
    text = "".join([chunk.text async for chunk in stream])
    assert response.text == "async answer" and text == "async streamed answer"
    assert response.kaizen.saved_tokens == stream.kaizen.saved_tokens > 0
    assert [r.json["contents"][0]["parts"][0]["text"] for r in server.requests] == [USER_SENT] * 2


def test_wrapping_the_aio_side_alone(server: GeminiStandin) -> None:
    aio = wrap(_client(server).aio)
    response = asyncio.run(aio.models.generate_content(model=MODEL, contents=_contents()))
    assert response.kaizen.texts_rewritten == 2


async def test_rate_limit_retry_info_becomes_retry_after(server: GeminiStandin) -> None:
    server.fail_next(429, "Resource has been exhausted", retry_after="17")
    client = wrap(_client(server))
    with pytest.raises(KaizenProviderRateLimitError) as caught:
        await client.aio.models.generate_content(model=MODEL, contents=_contents())
    error = caught.value
    assert isinstance(error, KaizenRateLimitError) and isinstance(
        error.original, errors.ClientError
    )
    assert error.status_code == 429 and error.retry_after == 17.0
    assert error.body["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_rate_limit_with_sdk_retries_counted(server: GeminiStandin) -> None:
    server.fail_next(429, retry_after="0")
    server.fail_next(429, retry_after="4", retry_after_header=True)
    retry = types.HttpRetryOptions(attempts=2, initial_delay=0.0, max_delay=0.0, jitter=0.0)
    client = wrap(_client(server, retry_options=retry))
    with pytest.raises(KaizenProviderRateLimitError) as caught:
        client.models.generate_content(model=MODEL, contents=_contents())
    assert len(server.requests) == 2 and caught.value.retry_after == 4.0


def test_stream_errors_are_mapped(server: GeminiStandin) -> None:
    server.fail_next(503, "unavailable")
    client = wrap(_client(server))
    with pytest.raises(KaizenProviderError) as caught:
        list(client.models.generate_content_stream(model=MODEL, contents=_contents()))
    assert caught.value.status_code == 503 and caught.value.retry_after is None


async def test_async_wrapper_runs_calls_concurrently(server: GeminiStandin) -> None:
    """The stand-in answers only once all N requests arrived; a blocking wrapper gets 504s."""
    count = 5
    server.expect_concurrent(count)
    client = wrap(_client(server))
    responses = await asyncio.gather(
        *(
            client.aio.models.generate_content(model=MODEL, contents=_contents())
            for _ in range(count)
        )
    )
    assert len(server.requests) == count and all(r.text == "ok" for r in responses)


# -- chat sessions ------------------------------------------------------------------------------
MORE_ROWS = {"flights": [{"code": f"KZ{i}", "seats": 40 + i} for i in range(10, 14)]}
FOLLOW_UP = f"And these: {json.dumps(MORE_ROWS)}"
SYSTEM = f"Columns: {json.dumps({'cols': [{'n': 'code'}, {'n': 'seats'}]})}"


def _texts(contents: list[Any]) -> list[tuple[str, str]]:
    """(role, text) of each part of ``contents`` (request JSON or ``types.Content``)."""
    pairs = []
    for content in contents:
        if isinstance(content, types.Content):
            pairs.extend((content.role or "", part.text or "") for part in content.parts or [])
        else:
            pairs.extend((content["role"], part["text"]) for part in content["parts"])
    return pairs


def test_sync_chat_sends_ktof_every_turn_and_keeps_what_the_user_sent(
    server: GeminiStandin,
) -> None:
    client = wrap(_client(server))
    server.answers.extend(["KZ5 has most", "KZ13 now"])
    chat = client.chats.create(model=MODEL, config={"system_instruction": SYSTEM})
    assert isinstance(chat, genai.chats.Chat)

    first = chat.send_message(USER_TEXT)
    second = chat.send_message(FOLLOW_UP)

    sent = [request.json for request in server.requests]
    assert all(r.path.endswith(f"/models/{MODEL}:generateContent") for r in server.requests)
    assert len(sent) == 2
    assert _texts(sent[0]["contents"]) == [("user", USER_SENT)]
    assert _texts(sent[1]["contents"]) == [
        ("user", USER_SENT),  # the earlier turn, compressed again to the same KTOF
        ("model", "KZ5 has most"),
        ("user", sent_text(FOLLOW_UP)),
    ]
    assert_carries(sent_text(FOLLOW_UP), MORE_ROWS)
    assert [s["systemInstruction"]["parts"][0]["text"] for s in sent] == [sent_text(SYSTEM)] * 2
    assert (first.text, second.text) == ("KZ5 has most", "KZ13 now")
    assert first.kaizen.texts_rewritten == 2  # the message and the system instruction
    assert second.kaizen.texts_rewritten == 3  # the history's message too
    assert second.kaizen.saved_tokens > first.kaizen.saved_tokens > 0
    assert _texts(chat.get_history()) == [
        ("user", USER_TEXT),
        ("model", "KZ5 has most"),
        ("user", FOLLOW_UP),
        ("model", "KZ13 now"),
    ]
    assert chat.get_history(curated=True) == chat.get_history()


def test_sync_chat_stream_turn_and_history_given_at_creation(server: GeminiStandin) -> None:
    client = wrap(_client(server))
    history = [
        {"role": "user", "parts": [{"text": USER_TEXT}]},
        {"role": "model", "parts": [{"text": "KZ5"}]},
    ]
    server.answers.extend(["streamed over several chunks", "done"])
    chat = client.chats.create(model=MODEL, history=history)

    stream = chat.send_message_stream(FOLLOW_UP)
    chunks = list(stream)
    chat.send_message("thanks")

    assert "".join(chunk.text for chunk in chunks) == "streamed over several chunks"
    assert len(chunks) > 1 and all(chunk.kaizen.texts_rewritten == 2 for chunk in chunks)
    first, second = (request.json for request in server.requests)
    assert server.requests[0].path.endswith(":streamGenerateContent")
    assert _texts(first["contents"]) == [
        ("user", USER_SENT),
        ("model", "KZ5"),
        ("user", sent_text(FOLLOW_UP)),
    ]
    resent = _texts(second["contents"])
    assert resent[:3] == _texts(first["contents"]) and resent[-1] == ("user", "thanks")
    # The SDK records a streamed answer as one model turn per chunk, and sends them back so.
    assert {role for role, _ in resent[3:-1]} == {"model"}
    assert "".join(text for _, text in resent[3:-1]) == "streamed over several chunks"
    history = _texts(chat.get_history())
    assert history[:3] == [("user", USER_TEXT), ("model", "KZ5"), ("user", FOLLOW_UP)]
    assert "".join(text for _, text in history[3:-2]) == "streamed over several chunks"
    assert history[-2:] == [("user", "thanks"), ("model", "done")]


async def test_async_chat_send_and_stream(server: GeminiStandin) -> None:
    for client in (wrap(_client(server)).aio, wrap(_client(server).aio)):
        server.reset()
        server.require_ktof = True
        server.answers.extend(["async one", "async streamed two"])
        chat = client.chats.create(model=MODEL, config={"system_instruction": SYSTEM})
        assert isinstance(chat, genai.chats.AsyncChat)

        first = await chat.send_message(USER_TEXT)
        stream = await chat.send_message_stream(FOLLOW_UP)
        chunks = [chunk async for chunk in stream]

        assert first.text == "async one" and first.kaizen.texts_rewritten == 2
        assert "".join(chunk.text for chunk in chunks) == "async streamed two"
        assert all(chunk.kaizen.texts_rewritten == 3 for chunk in chunks)
        first_sent, second_sent = (request.json for request in server.requests)
        assert _texts(first_sent["contents"]) == [("user", USER_SENT)]
        assert _texts(second_sent["contents"]) == [
            ("user", USER_SENT),
            ("model", "async one"),
            ("user", sent_text(FOLLOW_UP)),
        ]
        assert second_sent["systemInstruction"]["parts"][0]["text"] == sent_text(SYSTEM)
        history = _texts(chat.get_history())
        assert history[:3] == [("user", USER_TEXT), ("model", "async one"), ("user", FOLLOW_UP)]
        assert "".join(text for _, text in history[3:]) == "async streamed two"


async def test_chat_errors_are_mapped_once_and_leave_history_alone(
    server: GeminiStandin,
) -> None:
    server.fail_next(429, retry_after="5")
    client = wrap(_client(server))  # held: google-genai 2.x closes aiohttp when it is collected
    chat = client.aio.chats.create(model=MODEL)
    with pytest.raises(errors.ClientError) as caught:
        await chat.send_message(USER_TEXT)
    error = caught.value
    assert type(error).__name__ == "KaizenProviderRateLimitError[ClientError]"
    assert isinstance(error, KaizenProviderRateLimitError) and error.retry_after == 5.0
    assert type(error.original) is errors.ClientError and chat.get_history() == []
    assert (await chat.send_message(USER_TEXT)).text == "ok"  # the session goes on
    assert _texts(chat.get_history()) == [("user", USER_TEXT), ("model", "ok")]


@pytest.mark.vcr
def test_cassette_generate_content_roundtrip(server: GeminiStandin, vcr: Any) -> None:
    """Recorded from the stand-in (``--record-mode=once``), replayed offline afterwards."""
    server.answers.append(encode({"best": "KZ5", "seats": 15}))
    # the path the cassette holds: google-genai 2.x defaults to v1beta, 3.x to v1
    client = wrap(_client(server, api_version="v1"), decode_response=True)
    response = client.models.generate_content(model=MODEL, contents=_contents())
    assert response.kaizen.decoded == {"best": "KZ5", "seats": 15}
    sent = json.loads(vcr.requests[0].body)
    assert sent["contents"][0]["parts"][0]["text"] == USER_SENT
    assert_carries(sent["contents"][0]["parts"][0]["text"], ROWS)
    assert vcr.play_count == 1 or vcr.dirty


@pytest.mark.vcr
async def test_cassette_async_stream_roundtrip(server: GeminiStandin, vcr: Any) -> None:
    """The aio side (aiohttp under google-genai), streamed, recorded and replayed."""
    server.answers.append("KZ5 has the most seats")
    client = wrap(_client(server, api_version="v1"))
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents=_contents())
    text = "".join([chunk.text async for chunk in stream])
    assert text == "KZ5 has the most seats" and stream.kaizen.texts_rewritten == 2
    sent = json.loads(vcr.requests[0].body)
    assert sent["contents"][2]["parts"][0]["functionResponse"]["response"] == {
        "output": encode(WEATHER)
    }
    assert vcr.play_count == 1 or vcr.dirty


def test_cassettes_hold_no_api_key(vcr_cassette_dir: str) -> None:
    cassettes = [path.read_text() for path in Path(vcr_cassette_dir).glob("*.yaml")]
    assert len(cassettes) == 2 and not any(API_KEY in text for text in cassettes)
