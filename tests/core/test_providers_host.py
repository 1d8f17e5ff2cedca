"""``wrap(...)`` without ``kaizen=`` compresses where ``KaizenClient()`` would send requests.

No ``KAIZEN_BASE_URL``/``KAIZEN_API_KEY``: the in-process engine (no Kaizen HTTP request at
all). ``KAIZEN_BASE_URL`` set when wrapping: that server does the compression. The evidence
is the server's own answer: a ``kaizen serve`` holding an API key refuses (401) the request
without the key, so the vendor stand-in receives nothing; with ``KAIZEN_API_KEY`` the stand-in
receives the KTOF the in-process engine would have written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from kaizen_core import KaizenAuthenticationError
from kaizen_core.providers import wrap

from tests.standins.anthropic_server import AnthropicStandin
from tests.standins.gemini_server import GeminiStandin
from tests.standins.openai_server import OpenAIStandIn

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .providers_expected import assert_carries, sent_text
except ImportError:
    from providers_expected import assert_carries, sent_text  # type: ignore[no-redef]

KEY = "providers-host-key"
ROWS = {"items": [{"id": i, "label": f"item {i}", "ok": i % 3 == 0} for i in range(7)]}
PROMPT = f"Summarise: {json.dumps(ROWS)} thanks"
EXPECTED = sent_text(PROMPT)  # what the in-process engine writes
MESSAGES = [{"role": "system", "content": "plain"}, {"role": "user", "content": PROMPT}]


@pytest.fixture(autouse=True)
def _no_kaizen_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIZEN_BASE_URL", raising=False)
    monkeypatch.delenv("KAIZEN_API_KEY", raising=False)


@pytest.fixture(scope="module")
def keyed_server(kaizen_server_factory: Callable[..., Any]) -> str:
    """A ``kaizen serve`` that answers 401 without ``x-api-key: KEY``."""
    return kaizen_server_factory(env={"KAIZEN_SERVER_API_KEYS": KEY}).base_url


@pytest.fixture
def openai_server() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn() as server:
        yield server


@pytest.fixture
def kaizen_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """URLs of the Kaizen requests (``/v1/prompts/...``) httpx clients send in the test."""
    urls: list[str] = []
    send, asend = httpx.Client.send, httpx.AsyncClient.send

    def note(request: httpx.Request) -> None:
        if request.url.path.startswith("/v1/prompts"):
            urls.append(str(request.url))

    def spy(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        note(request)
        return send(self, request, **kwargs)

    async def aspy(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        note(request)
        return await asend(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", spy)
    monkeypatch.setattr(httpx.AsyncClient, "send", aspy)
    return urls


def _openai(server: OpenAIStandIn) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0)


def _async_openai(server: OpenAIStandIn) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0)


async def test_without_environment_compression_stays_in_process(
    openai_server: OpenAIStandIn, kaizen_urls: list[str]
) -> None:
    client = wrap(_openai(openai_server))
    aclient = wrap(_async_openai(openai_server))
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert [body["messages"][1]["content"] for body in openai_server.chat_requests] == [
        EXPECTED
    ] * 2
    assert_carries(EXPECTED, ROWS)
    assert kaizen_urls == []


def test_base_url_sends_sync_openai_compression_to_that_server(
    keyed_server: str,
    openai_server: OpenAIStandIn,
    kaizen_urls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAIZEN_BASE_URL", keyed_server)
    with pytest.raises(KaizenAuthenticationError) as refused:
        wrap(_openai(openai_server)).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert refused.value.status_code == 401
    assert openai_server.chat_requests == []  # stopped before the vendor call

    monkeypatch.setenv("KAIZEN_API_KEY", KEY)
    completion = wrap(_openai(openai_server)).chat.completions.create(
        model="gpt-4o", messages=MESSAGES
    )
    assert openai_server.chat_requests[-1]["messages"] == [
        {"role": "system", "content": "plain"},
        {"role": "user", "content": EXPECTED},
    ]
    assert completion.kaizen.json_blocks == 1 and completion.kaizen.saved_tokens > 0
    assert len(kaizen_urls) == 2 and all(url.startswith(keyed_server) for url in kaizen_urls)


async def test_base_url_sends_async_openai_compression_to_that_server(
    keyed_server: str,
    openai_server: OpenAIStandIn,
    kaizen_urls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAIZEN_BASE_URL", keyed_server)
    with pytest.raises(KaizenAuthenticationError):
        await wrap(_async_openai(openai_server)).chat.completions.create(
            model="gpt-4o", messages=MESSAGES
        )
    assert openai_server.chat_requests == []

    monkeypatch.setenv("KAIZEN_API_KEY", KEY)
    client = wrap(_async_openai(openai_server))
    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert openai_server.chat_requests[-1]["messages"][1]["content"] == EXPECTED
    assert kaizen_urls and all(url.startswith(keyed_server) for url in kaizen_urls)


def test_base_url_sends_anthropic_compression_to_that_server(
    keyed_server: str, kaizen_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAIZEN_BASE_URL", keyed_server)
    monkeypatch.setenv("KAIZEN_API_KEY", KEY)
    with AnthropicStandin() as server:
        server.require_ktof = True  # 400 if a prompt still carried raw JSON
        client = wrap(anthropic.Anthropic(api_key="k", base_url=server.base_url, max_retries=0))
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            system=PROMPT,
            messages=[{"role": "user", "content": PROMPT}],
        )
        sent = server.requests[-1].json
    assert sent["system"] == EXPECTED and sent["messages"][0]["content"] == EXPECTED
    assert len(kaizen_urls) == 1 and kaizen_urls[0].startswith(keyed_server)


async def test_one_wrapped_gemini_client_serves_both_sides_from_the_environment(
    keyed_server: str, kaizen_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAIZEN_BASE_URL", keyed_server)
    monkeypatch.setenv("KAIZEN_API_KEY", KEY)
    with GeminiStandin() as server:
        server.require_ktof = True
        client = wrap(
            genai.Client(api_key="gemini-test", http_options={"base_url": server.base_url})
        )
        client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT)
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents=PROMPT)
        texts = [server.prompt_texts(request) for request in server.requests]
    assert texts == [[EXPECTED], [EXPECTED]]
    assert len(kaizen_urls) == 2 and all(url.startswith(keyed_server) for url in kaizen_urls)


def test_the_backend_is_chosen_at_wrap_time(
    kaizen_server: str,
    openai_server: OpenAIStandIn,
    kaizen_urls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = wrap(_openai(openai_server))  # wrapped before the variable is set: in-process
    monkeypatch.setenv("KAIZEN_BASE_URL", kaizen_server)
    plain.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert kaizen_urls == []
    wrap(_openai(openai_server)).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(kaizen_urls) == 1 and kaizen_urls[0].startswith(kaizen_server)
    sent = [body["messages"][1]["content"] for body in openai_server.chat_requests]
    assert sent == [EXPECTED, EXPECTED]
