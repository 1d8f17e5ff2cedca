"""Components given no client pick the host ``KaizenClient()`` would pick.

No ``KAIZEN_BASE_URL``/``KAIZEN_API_KEY``: the engine runs in-process (not even the embedded
client's HTTP layer is used). ``KAIZEN_BASE_URL`` set: the encoding goes to that server. The
evidence is the server's own answer: a ``kaizen serve`` holding an API key refuses (401) a
request without it, and serves the same request once ``KAIZEN_API_KEY`` carries the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from kaizen_core import HOSTED_BASE_URL, KaizenAuthenticationError
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

from kaizen_langchain import ChatKaizen, KaizenDocumentCompressor, KaizenEncode
from tests.langchain.brain_chat_model import BrainChatModel

KEY = "host-selection-key"
ROWS = [{"id": i, "name": f"user{i}", "active": i % 2 == 0} for i in range(20)]
VALUE = {"users": ROWS}
PROMPT = f"Who is active?\n{json.dumps(ROWS)}"


def _messages() -> list[Any]:
    return [
        SystemMessage(content="Answer briefly."),
        HumanMessage(content=PROMPT),
        ToolMessage(content=json.dumps({"orders": ROWS[:8]}), tool_call_id="call-1"),
    ]


@pytest.fixture(scope="module")
def keyed_server(kaizen_server_factory: Callable[..., Any]) -> str:
    """A ``kaizen serve`` that answers 401 without ``x-api-key: KEY``."""
    return kaizen_server_factory(env={"KAIZEN_SERVER_API_KEYS": KEY}).base_url


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """URLs of every request an httpx client sends (sync and async) during the test."""
    urls: list[str] = []
    send, asend = httpx.Client.send, httpx.AsyncClient.send

    def spy(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        urls.append(str(request.url))
        return send(self, request, **kwargs)

    async def aspy(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        urls.append(str(request.url))
        return await asend(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", spy)
    monkeypatch.setattr(httpx.AsyncClient, "send", aspy)
    return urls


def _embedded_outputs() -> tuple[str, str, list[Any]]:
    encoder = KaizenEncode()
    assert encoder.codec.embedded
    return encoder.invoke(VALUE), encoder.invoke(PROMPT), encoder.invoke(_messages())


# -- no environment: in-process ----------------------------------------------------------------
async def test_without_environment_everything_runs_in_process(sent: list[str]) -> None:
    encoder = KaizenEncode()
    assert encoder.invoke(VALUE).startswith("users[20]")
    assert "{id,name,active}" in (await encoder.ainvoke(_messages()))[1].content
    chat = ChatKaizen(llm=BrainChatModel())
    answer = chat.invoke(_messages())
    assert answer.response_metadata["kaizen"]["tokens_saved"] > 0
    await chat.ainvoke(_messages())
    compressor = KaizenDocumentCompressor()
    [document] = compressor.compress_documents([Document(page_content=PROMPT)], "q")
    assert document.page_content != PROMPT
    assert encoder.codec.embedded and compressor.codec.embedded
    assert sent == []  # not even the embedded client's HTTP layer


# -- KAIZEN_BASE_URL: that server --------------------------------------------------------------
def test_base_url_sends_kaizen_encode_to_that_server(
    keyed_server: str, sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    value_text, prompt_text, messages = _embedded_outputs()
    monkeypatch.setenv("KAIZEN_BASE_URL", keyed_server)

    with pytest.raises(KaizenAuthenticationError) as refused:
        KaizenEncode().invoke(VALUE)
    assert refused.value.status_code == 401
    assert sent and all(url.startswith(keyed_server) for url in sent)

    monkeypatch.setenv("KAIZEN_API_KEY", KEY)
    encoder = KaizenEncode()
    before = len(sent)
    assert encoder.invoke(VALUE) == value_text
    assert encoder.invoke(PROMPT) == prompt_text
    assert encoder.invoke(_messages()) == messages
    assert len(sent) > before and all(url.startswith(keyed_server) for url in sent)


async def test_base_url_sends_async_encoding_to_that_server(
    keyed_server: str, sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, prompt_text, messages = _embedded_outputs()
    monkeypatch.setenv("KAIZEN_BASE_URL", keyed_server)
    with pytest.raises(KaizenAuthenticationError):
        await KaizenEncode().ainvoke(_messages())

    monkeypatch.setenv("KAIZEN_API_KEY", KEY)
    encoder = KaizenEncode()
    assert await encoder.ainvoke(PROMPT) == prompt_text
    assert await encoder.ainvoke(_messages()) == messages
    assert sent and all(url.startswith(keyed_server) for url in sent)


async def test_base_url_sends_chat_kaizen_and_compressor_encoding_to_that_server(
    keyed_server: str, sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAIZEN_BASE_URL", keyed_server)
    with pytest.raises(KaizenAuthenticationError):
        ChatKaizen(llm=BrainChatModel()).invoke(_messages())
    with pytest.raises(KaizenAuthenticationError):
        await ChatKaizen(llm=BrainChatModel()).ainvoke(_messages())
    with pytest.raises(KaizenAuthenticationError):
        await KaizenDocumentCompressor().acompress_documents([Document(page_content=PROMPT)], "q")

    monkeypatch.setenv("KAIZEN_API_KEY", KEY)
    chat = ChatKaizen(llm=BrainChatModel())
    saved = chat.invoke(_messages()).response_metadata["kaizen"]["tokens_saved"]
    asaved = (await chat.ainvoke(_messages())).response_metadata["kaizen"]["tokens_saved"]
    assert saved > 0 and asaved == saved
    [document] = KaizenDocumentCompressor().compress_documents([Document(page_content=PROMPT)], "q")
    assert document.metadata["kaizen"]["tokens_saved"] > 0
    assert sent and all(url.startswith(keyed_server) for url in sent)


def test_plain_server_gives_the_in_process_results(
    kaizen_server: str, sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    value_text, prompt_text, messages = _embedded_outputs()
    monkeypatch.setenv("KAIZEN_BASE_URL", kaizen_server)
    encoder = KaizenEncode()
    assert encoder.invoke(VALUE) == value_text
    assert encoder.invoke(PROMPT) == prompt_text
    assert encoder.invoke(_messages()) == messages
    assert {url.split("/v1/")[0] for url in sent} == {kaizen_server}


def test_host_is_chosen_when_the_component_is_first_used(
    kaizen_server: str, sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = KaizenEncode()  # made before the variable is set: first use decides
    monkeypatch.setenv("KAIZEN_BASE_URL", kaizen_server)
    encoder.invoke(VALUE)
    calls = len(sent)
    assert calls == 1
    monkeypatch.delenv("KAIZEN_BASE_URL")  # not read again per call
    encoder.invoke(VALUE)
    assert len(sent) == calls + 1


def test_api_key_alone_selects_the_hosted_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_API_KEY", KEY)
    codec = KaizenEncode().codec
    assert not codec.embedded
    assert codec.env_clients is not None
    assert codec.env_clients.base_url == HOSTED_BASE_URL
