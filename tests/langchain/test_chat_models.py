"""``ChatKaizen`` around ``ChatOpenAI`` at the OpenAI stand-in: what goes out, what comes back."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kaizen_core import KaizenSyncClient, engine
from langchain_core.callbacks import BaseCallbackHandler, get_usage_metadata_callback
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from kaizen_langchain import ChatKaizen
from kaizen_langchain._messages import KTOF_HINT
from tests.langchain.brain_chat_model import BrainChatModel
from tests.standins.openai_server import OpenAIStandIn, Reply

ROWS = [{"id": i, "city": f"city{i}", "temp_c": 10 + i % 7} for i in range(40)]
CALL = {"name": "weather_table", "args": {"n": 40}, "id": "call_w1", "type": "tool_call"}


def history() -> list[Any]:
    return [
        HumanMessage("Which city is warmest?"),
        AIMessage("", tool_calls=[CALL]),
        ToolMessage(json.dumps(ROWS), tool_call_id="call_w1", name="weather_table"),
    ]


def openai_llm(server: OpenAIStandIn, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini",
        base_url=server.base_url,
        api_key="sk-test",
        max_retries=0,
        stream_usage=True,
        **kwargs,
    )


class StartCounter(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts = 0
        self.ends = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.starts += 1

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.ends += 1


def _tool_message_sent(server: OpenAIStandIn) -> dict[str, Any]:
    return next(m for m in server.chat_requests[-1]["messages"] if m["role"] == "tool")


def test_tool_result_goes_out_as_ktof_and_metadata_survives(openai_standin: OpenAIStandIn) -> None:
    llm = ChatKaizen(llm=openai_llm(openai_standin))
    answer = llm.invoke(history())

    sent = _tool_message_sent(openai_standin)
    assert sent["tool_call_id"] == "call_w1"
    assert engine.decode(sent["content"]) == ROWS
    assert not sent["content"].lstrip().startswith("[{")
    assistant = openai_standin.chat_requests[-1]["messages"][1]
    assert assistant["tool_calls"][0]["id"] == "call_w1"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"n": 40}

    assert answer.response_metadata["model_name"] == "gpt-4o-mini"
    assert answer.usage_metadata is not None and answer.usage_metadata["input_tokens"] > 0
    savings = answer.response_metadata["kaizen"]
    assert savings["blocks"] == 1 and savings["model"] == "gpt-4o-mini"
    assert savings["original_tokens"] > savings["optimized_tokens"] > 0


def test_wrapping_cuts_the_prompt_tokens_the_provider_counts(openai_standin: OpenAIStandIn) -> None:
    plain = openai_llm(openai_standin).invoke(history())
    wrapped = ChatKaizen(llm=openai_llm(openai_standin)).invoke(history())
    assert plain.usage_metadata and wrapped.usage_metadata
    saved = plain.usage_metadata["input_tokens"] - wrapped.usage_metadata["input_tokens"]
    assert saved > 0
    assert saved == wrapped.response_metadata["kaizen"]["tokens_saved"]


def test_stream_keeps_usage_model_and_savings(openai_standin: OpenAIStandIn) -> None:
    llm = ChatKaizen(llm=openai_llm(openai_standin))
    chunks = list(llm.stream(history()))
    assert len(chunks) > 2
    full: AIMessageChunk = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.text.startswith("Tool result received:")
    assert full.usage_metadata is not None and full.usage_metadata["input_tokens"] > 0
    assert full.response_metadata["model_name"] == "gpt-4o-mini"
    assert full.response_metadata["kaizen"]["blocks"] == 1
    assert engine.decode(_tool_message_sent(openai_standin)["content"]) == ROWS


async def test_async_paths_encode_too(openai_standin: OpenAIStandIn) -> None:
    llm = ChatKaizen(llm=openai_llm(openai_standin))
    answer = await llm.ainvoke(history())
    assert answer.response_metadata["kaizen"]["blocks"] == 1
    assert engine.decode(_tool_message_sent(openai_standin)["content"]) == ROWS
    chunks = [c async for c in llm.astream(history())]
    assert sum(1 for c in chunks if c.response_metadata.get("kaizen")) == 1
    assert len(openai_standin.chat_requests) == 2


def test_inner_model_callbacks_fire_once_on_the_wrappers_run_usage_counted_once(
    openai_standin: OpenAIStandIn,
) -> None:
    inner_counter, outer_counter = StartCounter(), StartCounter()
    llm = ChatKaizen(llm=openai_llm(openai_standin, callbacks=[inner_counter]))
    with get_usage_metadata_callback() as usage:
        answer = llm.invoke(history(), config={"callbacks": [outer_counter]})
        streamed = list(llm.stream(history()))
    assert inner_counter.starts == 2 and inner_counter.ends == 2  # taken over by the wrapper
    assert outer_counter.starts == 1 and outer_counter.ends == 1
    [model_usage] = usage.usage_metadata.values()
    stream_usage = sum(c.usage_metadata["total_tokens"] for c in streamed if c.usage_metadata)
    assert model_usage["total_tokens"] == answer.usage_metadata["total_tokens"] + stream_usage
    served = sum(
        r.body["messages"] is not None
        for r in openai_standin.requests
        if r.path.endswith("/chat/completions")
    )
    assert served == 2


def test_decode_answers_turns_ktof_into_json(openai_standin: OpenAIStandIn) -> None:
    table = engine.encode({"rows": ROWS[:5]})
    openai_standin.enqueue(Reply(content=f"```toon\n{table}\n```"), Reply(content=table))
    llm = ChatKaizen(llm=openai_llm(openai_standin), decode_answers=True)
    answer = llm.invoke("give me rows")
    assert json.loads(answer.content) == {"rows": ROWS[:5]}
    assert answer.response_metadata["kaizen"]["decoded_answer"] is True
    full = None
    for chunk in llm.stream("give me rows"):
        full = chunk if full is None else full + chunk
    assert full is not None and json.loads(full.content) == {"rows": ROWS[:5]}


def test_decode_answers_leaves_prose_alone(openai_standin: OpenAIStandIn) -> None:
    openai_standin.enqueue("It is warm in city3.\nBring water.")
    llm = ChatKaizen(llm=openai_llm(openai_standin), decode_answers=True)
    assert llm.invoke("weather?").content == "It is warm in city3.\nBring water."


# What decode_answers gives for each answer: the same text (None) or this JSON value.
DECODED_OR_KEPT: dict[str, Any] = {
    "Answer: 42": None,
    "Note: the weather is fine.\nReason: sunny\nWhen: 10:30, tomorrow": None,
    "Source: https://example.com/forecast?city=Bergen#today": None,
    "```\nname: Bergen\ntemp_c: 11\n```": None,  # a bare fence is not marked as data
    "```toon\nname: Bergen\ntemp_c: 11\n```": {"name": "Bergen", "temp_c": 11},
    "city:\n  name: Bergen\n  temp_c: 11": {"city": {"name": "Bergen", "temp_c": 11}},
    engine.encode({"rows": ROWS[:3]}, format="toon"): {"rows": ROWS[:3]},
    '{"name": "Bergen", "temp_c": 11}': {"name": "Bergen", "temp_c": 11},
}


def test_decode_answers_turns_only_structured_answers_into_json(
    openai_standin: OpenAIStandIn,
) -> None:
    llm = ChatKaizen(llm=openai_llm(openai_standin), decode_answers=True)
    for text, value in DECODED_OR_KEPT.items():
        openai_standin.enqueue(Reply(content=text), Reply(content=text, chunk_size=5))
        whole = llm.invoke("weather?")
        chunks = list(llm.stream("weather?"))
        streamed = _joined(chunks)
        assert len(chunks) > 2 and streamed.content == whole.content, text  # they agree
        kaizen = whole.response_metadata["kaizen"]
        assert streamed.response_metadata["kaizen"].get("decoded_answer") == kaizen.get(
            "decoded_answer"
        )
        if value is None:
            assert whole.content == text and "decoded_answer" not in kaizen
        else:
            assert json.loads(whole.content) == value and kaizen["decoded_answer"] is True


def test_hint_is_added_only_when_something_was_encoded(openai_standin: OpenAIStandIn) -> None:
    llm = ChatKaizen(llm=openai_llm(openai_standin), add_hint=True)
    llm.invoke([SystemMessage("Be brief."), *history()])
    assert openai_standin.chat_requests[-1]["messages"][0]["content"] == f"Be brief.\n\n{KTOF_HINT}"
    llm.invoke("hello")
    assert openai_standin.chat_requests[-1]["messages"] == [{"role": "user", "content": "hello"}]


def test_bind_tools_sends_the_inner_models_tool_format(openai_standin: OpenAIStandIn) -> None:
    @tool
    def weather_table(n: int) -> str:
        """Return n rows of weather data."""
        return json.dumps(ROWS[:n])

    openai_llm(openai_standin).bind_tools([weather_table], tool_choice="any").invoke(
        "rows please, 3"
    )
    plain_body = openai_standin.chat_requests[-1]
    bound = ChatKaizen(llm=openai_llm(openai_standin)).bind_tools(
        [weather_table], tool_choice="any"
    )
    answer = bound.invoke("rows please, 3")
    wrapped_body = openai_standin.chat_requests[-1]
    assert wrapped_body["tools"] == plain_body["tools"]
    assert wrapped_body["tool_choice"] == plain_body["tool_choice"] == "required"
    assert answer.tool_calls[0]["name"] == "weather_table" and answer.tool_calls[0]["args"] == {
        "n": 3
    }


class Forecast(BaseModel):
    city: str
    temp_c: int


def test_structured_output_runs_through_the_wrapper(openai_standin: OpenAIStandIn) -> None:
    counter = StartCounter()
    structured = ChatKaizen(llm=openai_llm(openai_standin)).with_structured_output(Forecast)
    result = structured.invoke(
        [HumanMessage(f"Warmest of these, temp 16: {json.dumps(ROWS)}")],
        config={"callbacks": [counter]},
    )
    assert isinstance(result, Forecast) and result.temp_c == 16
    body = openai_standin.chat_requests[-1]
    assert body["response_format"]["type"] == "json_schema"
    assert json.dumps(ROWS) not in body["messages"][0]["content"]
    assert counter.starts == 1

    raw = ChatKaizen(llm=openai_llm(openai_standin)).with_structured_output(
        Forecast, include_raw=True
    )
    out = raw.invoke("temp 12 please")
    assert isinstance(out["parsed"], Forecast) and out["parsing_error"] is None
    assert "kaizen" in out["raw"].response_metadata


async def test_async_decode_answers_through_a_sync_client_runs_off_the_event_loop(
    openai_standin: OpenAIStandIn,
) -> None:
    table = engine.encode({"rows": ROWS[:5]})
    openai_standin.enqueue(Reply(content=table))
    threads: list[threading.Thread] = []

    class Recording(KaizenSyncClient):
        def prompts_decode(self, *args: Any, **kwargs: Any) -> Any:
            threads.append(threading.current_thread())
            return super().prompts_decode(*args, **kwargs)

    with Recording() as client:
        llm = ChatKaizen(llm=openai_llm(openai_standin), client=client, decode_answers=True)
        answer = await llm.ainvoke("give me rows")
    assert json.loads(answer.content) == {"rows": ROWS[:5]}
    assert threads and threading.main_thread() not in threads


class _WholeAnswerModel(BaseChatModel):
    """An offline model without ``_stream``: one answer with a good and a malformed call."""

    @property
    def _llm_type(self) -> str:
        return "whole-answer"

    def _generate(self, messages: Any, stop: Any = None, **kwargs: Any) -> ChatResult:
        message = AIMessage(
            content="",
            tool_calls=[{"name": "ok", "args": {"a": 1}, "id": "c1"}],
            invalid_tool_calls=[
                {"name": "bad", "args": "{not json", "id": "c2", "error": "bad json"}
            ],
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_stream_of_a_whole_answer_keeps_its_invalid_tool_calls() -> None:
    llm = ChatKaizen(llm=_WholeAnswerModel())
    whole = llm.invoke("call")
    full = None
    for chunk in llm.stream("call"):
        full = chunk if full is None else full + chunk
    assert full is not None and full.tool_calls == whole.tool_calls
    assert [(c["name"], c["args"]) for c in full.invalid_tool_calls] == [("bad", "{not json")]
    assert [(c["name"], c["args"]) for c in whole.invalid_tool_calls] == [("bad", "{not json")]


async def test_async_decode_answers_keeps_flat_prose_and_decodes_nesting(
    openai_standin: OpenAIStandIn,
) -> None:
    llm = ChatKaizen(llm=openai_llm(openai_standin), decode_answers=True)
    for text, expected in (
        ("Answer: 42\nReason: it is warm", "Answer: 42\nReason: it is warm"),
        ("city:\n  name: Bergen\n  temp_c: 11", '{"city":{"name":"Bergen","temp_c":11}}'),
    ):
        openai_standin.enqueue(Reply(content=text), Reply(content=text, chunk_size=4))
        whole = await llm.ainvoke("weather?")
        chunks = [chunk async for chunk in llm.astream("weather?")]
        assert whole.content == expected and _joined(chunks).content == expected


# -- decode_answers while streaming (the offline brain model, scripted answers) ----------------

TABLE_ROWS = [{"id": i, "city": f"city{i}", "temp_c": 10 + i % 7} for i in range(200)]


def _scripted(*answers: str) -> ChatKaizen:
    """``ChatKaizen`` with ``decode_answers`` around the brain model answering ``answers``."""
    script = [Reply(content=answer, chunk_size=12) for answer in answers]
    return ChatKaizen(llm=BrainChatModel(script=script), decode_answers=True)


def _content_before_last(chunks: list[AIMessageChunk]) -> list[str]:
    return [str(c.content) for c in chunks if c.content and c.chunk_position != "last"]


def _joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full


def test_a_streamed_ktof_table_shows_json_rows_as_they_arrive() -> None:
    for value in (TABLE_ROWS, {"unit": "celsius", "rows": TABLE_ROWS}):
        text = f"```toon\n{engine.encode(value)}\n```"
        llm = _scripted(text, text)
        whole = llm.invoke("rows please")
        chunks = list(llm.stream("rows please"))
        assert len(_content_before_last(chunks)) > 50  # rows show while the answer streams
        full = _joined(chunks)
        assert full.content == whole.content and json.loads(whole.content) == value
        assert full.response_metadata["kaizen"]["decoded_answer"] is True
        assert full.response_metadata["kaizen"] == whole.response_metadata["kaizen"]


async def test_an_async_streamed_ktof_table_shows_json_rows_as_they_arrive() -> None:
    text = engine.encode({"rows": TABLE_ROWS})
    llm = _scripted(text, text)
    whole = await llm.ainvoke("rows please")
    chunks = [chunk async for chunk in llm.astream("rows please")]
    assert len(_content_before_last(chunks)) > 50
    assert _joined(chunks).content == whole.content
    assert json.loads(whole.content) == {"rows": TABLE_ROWS}


def test_a_streamed_prose_answer_passes_through_chunk_by_chunk() -> None:
    text = "City3 is the warmest.\nBring water,\nand a hat: it is sunny there.\n"
    llm = _scripted(text, text)
    assert llm.invoke("weather?").content == text
    shown = [str(c.content) for c in llm.stream("weather?") if c.content]
    inner = [text[i : i + 12] for i in range(0, len(text), 12)]
    first_line = next(i for i, piece in enumerate(inner) if "\n" in piece)
    assert shown == ["".join(inner[: first_line + 1]), *inner[first_line + 1 :]]


# -- decode_answers with list content (content blocks) ------------------------------------------

TOOL_USE = {"type": "tool_use", "id": "t1", "name": "rows", "input": {}, "index": 1}


class _BlockModel(BaseChatModel):
    """Answers in content blocks, as ChatAnthropic does with tools bound (and the Responses
    API): text blocks at index 0, a tool-use block after them, streamed in ``pieces``."""

    answer: str
    pieces: int = 3

    @property
    def _llm_type(self) -> str:
        return "blocks"

    def _generate(self, messages: Any, stop: Any = None, **kwargs: Any) -> ChatResult:
        content = [{"type": "text", "text": self.answer}, {**TOOL_USE}]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=content))])

    def _stream(self, messages: Any, stop: Any = None, **kwargs: Any) -> Any:
        size = -(-len(self.answer) // self.pieces)
        for start in range(0, len(self.answer), size):
            block = {"type": "text", "text": self.answer[start : start + size], "index": 0}
            yield ChatGenerationChunk(message=AIMessageChunk(content=[block]))
        yield ChatGenerationChunk(message=AIMessageChunk(content=[{**TOOL_USE}]))
        yield ChatGenerationChunk(message=AIMessageChunk(content=[], chunk_position="last"))


@pytest.mark.parametrize("pieces", [1, 2, 5, 40])
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (engine.encode({"rows": ROWS[:4]}), json.dumps({"rows": ROWS[:4]}, separators=(",", ":"))),
        ("It is warm in city3.", "It is warm in city3."),
    ],
)
def test_decode_answers_reads_text_blocks_and_keeps_the_other_blocks(
    answer: str, expected: str, pieces: int
) -> None:
    llm = ChatKaizen(llm=_BlockModel(answer=answer, pieces=pieces), decode_answers=True)
    whole = llm.invoke("rows?")
    streamed = _joined(list(llm.stream("rows?")))
    for message in (whole, streamed):
        texts = [b["text"] for b in message.content if isinstance(b, dict) and b["type"] == "text"]
        assert texts == [expected] and message.text == expected
        assert [b["id"] for b in message.content if b["type"] == "tool_use"] == ["t1"]
    decoded = answer != expected
    assert bool(whole.response_metadata["kaizen"].get("decoded_answer")) is decoded
