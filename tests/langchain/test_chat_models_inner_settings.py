"""``ChatKaizen`` keeps what the wrapped model was configured with, and caches by both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kaizen_core import engine
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_openai import ChatOpenAI

from kaizen_langchain import ChatKaizen, KaizenCallbackHandler
from tests.langchain.brain_chat_model import BrainChatModel
from tests.standins.openai_server import Reply

ROWS = {"rows": [{"id": i, "name": f"n{i}"} for i in range(4)]}
DATA = json.dumps({"orders": [{"id": i, "status": "late", "customer": f"c{i}"} for i in range(6)]})


class CountingLimiter(BaseRateLimiter):
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return True


class Starts(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.starts += 1


class NoStreaming(BrainChatModel):
    """A provider that cannot stream: only ``disable_streaming`` keeps ``stream`` working."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raise RuntimeError("this provider cannot stream")


class Streamer(BaseCallbackHandler):
    """A streaming handler (as ``astream_events`` and LangGraph attach): ``invoke`` streams."""

    def tap_output_iter(self, run_id: Any, output: Any) -> Any:
        return output

    def tap_output_aiter(self, run_id: Any, output: Any) -> Any:
        return output


@pytest.fixture
def global_cache() -> Iterator[InMemoryCache]:
    cache = InMemoryCache()
    set_llm_cache(cache)
    try:
        yield cache
    finally:
        set_llm_cache(None)


def _answering(text: str, times: int = 1, **settings: Any) -> BrainChatModel:
    return BrainChatModel(script=[Reply(content=text) for _ in range(times)], **settings)


def test_the_cache_key_holds_the_wrappers_settings() -> None:
    inner = _answering(engine.encode(ROWS), times=2, cache=InMemoryCache())
    decoded = ChatKaizen(llm=inner, decode_answers=True).invoke("list the rows")
    raw = ChatKaizen(llm=inner).invoke("list the rows")  # same cache, another setting
    assert json.loads(str(decoded.content)) == ROWS
    assert raw.content == engine.encode(ROWS) and not inner.script  # both asked the model
    keys = {
        ChatKaizen(llm=inner, **settings)._get_llm_string()
        for settings in (
            {},
            {"add_hint": True},
            {"encode_message_types": ("tool",)},
            {"encode_options": {"format": "toon"}},
            {"tokenizer_model": "gpt-4"},
        )
    }
    assert len(keys) == 5


def test_the_cache_key_holds_the_inner_models_whole_configuration() -> None:
    # ChatOpenAI's own key holds its base URL; wrapped, two endpoints must not share answers
    first, second = (
        ChatOpenAI(model="llama-3", base_url=url, api_key="sk-test")
        for url in ("http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1")
    )
    assert first._get_llm_string() != second._get_llm_string()
    assert ChatKaizen(llm=first)._get_llm_string() != ChatKaizen(llm=second)._get_llm_string()


def test_the_inner_models_rate_limiter_applies(global_cache: InMemoryCache) -> None:
    limiter = CountingLimiter()
    llm = ChatKaizen(llm=_answering("ok", times=3, rate_limiter=limiter))
    llm.invoke("one")
    list(llm.stream("two"))
    llm.invoke("one")  # answered by the cache: no request, nothing to wait for
    assert limiter.acquired == 2


async def test_the_inner_models_rate_limiter_applies_async() -> None:
    limiter = CountingLimiter()
    llm = ChatKaizen(llm=_answering("ok", times=2, rate_limiter=limiter))
    await llm.ainvoke("one")
    [chunk async for chunk in llm.astream("two")]
    assert limiter.acquired == 2


def test_an_inner_model_that_skips_the_cache_is_asked_every_time(
    global_cache: InMemoryCache,
) -> None:
    inner = _answering("fresh", times=2, cache=False)
    llm = ChatKaizen(llm=inner)
    assert [llm.invoke("hi").content for _ in range(2)] == ["fresh", "fresh"]
    assert not inner.script and len(inner.requests) == 2


def test_the_inner_models_callbacks_fire_once_per_call() -> None:
    own = Starts()
    llm = ChatKaizen(llm=_answering("ok", times=2, callbacks=[own], tags=["inner"]))
    llm.invoke("one")
    list(llm.stream("two"))
    assert own.starts == 2 and llm.tags == ["inner"]


def test_settings_given_to_the_wrapper_win() -> None:
    limiter, own = CountingLimiter(), Starts()
    inner = _answering("ok", rate_limiter=limiter, callbacks=[own])
    llm = ChatKaizen(llm=inner, rate_limiter=None, callbacks=[])
    llm.invoke("one")
    assert limiter.acquired == 0 and own.starts == 0


@pytest.mark.parametrize("disabled", [True, "tool_calling"])
def test_an_inner_model_that_cannot_stream_answers_stream_whole(disabled: Any) -> None:
    inner = NoStreaming(script=[Reply(content="hello")], disable_streaming=disabled)
    llm = ChatKaizen(llm=inner)
    if disabled == "tool_calling":
        bound: Any = llm.bind_tools([{"name": "noop", "description": "x", "parameters": {}}])
    else:
        bound = llm
    chunks = list(bound.stream("hi"))
    assert "".join(str(chunk.content) for chunk in chunks) == "hello"


async def test_an_inner_model_that_cannot_stream_answers_astream_whole() -> None:
    llm = ChatKaizen(llm=NoStreaming(script=[Reply(content="hello")], disable_streaming=True))
    assert "".join([str(chunk.content) async for chunk in llm.astream("hi")]) == "hello"


def test_invoke_under_a_streaming_handler_reports_the_encode() -> None:
    llm = ChatKaizen(llm=_answering("ok"))
    usage = KaizenCallbackHandler()
    llm.invoke(DATA, config={"callbacks": [usage, Streamer()]})
    assert usage.encodes == 1 and usage.tokens_saved > 0


async def test_ainvoke_under_a_streaming_handler_reports_the_encode() -> None:
    llm = ChatKaizen(llm=_answering("ok"))
    usage = KaizenCallbackHandler()
    await llm.ainvoke(DATA, config={"callbacks": [usage, Streamer()]})
    assert usage.encodes == 1


def test_the_model_sees_the_encoded_prompt_either_way() -> None:
    inner = _answering("ok")
    ChatKaizen(llm=inner).invoke(DATA, config={"callbacks": [Streamer()]})
    sent = inner.requests[-1]["messages"]
    assert json.dumps(sent).count('"status"') == 0  # the orders went out as a KTOF table
