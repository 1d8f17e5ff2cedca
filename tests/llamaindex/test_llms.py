"""KaizenLLM around llama-index-llms-openai's ``OpenAI``, pointed at the local OpenAI stand-in.

Live tests talk to the stand-in over real HTTP and look at what it received; the cassette
tests replay traffic recorded from it (``--record-mode=once`` re-records them) and, because
cassettes match on the request body, fail when the KTOF sent changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from kaizen_core.engine import count_tokens, decode
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai import OpenAI
from pydantic import BaseModel

from kaizen_llamaindex import (
    KaizenFunctionCallingLLM,
    KaizenLLM,
    KaizenNodePostprocessor,
    KaizenSavingsHandler,
)
from tests.standins.openai_server import OpenAIStandIn

from .conftest import EventLog, RecordingLLM

MODEL = "gpt-4o-mini"
ROWS = [{"id": i, "city": f"city {i}", "temp_c": 10 + i, "rain": i % 3 == 0} for i in range(12)]
TABLE_HEADER = re.compile(r"\[12\][^\n]*\{[^}]*\}:")
# Where cassette tests point when replaying: any URL works (cassettes match without host/port).
REPLAY_BASE = "http://127.0.0.1:9/v1"


def openai_llm(base_url: str) -> OpenAI:
    return OpenAI(model=MODEL, api_base=base_url, api_key="sk-test", max_retries=0, temperature=0)


def question() -> list[ChatMessage]:
    return [
        ChatMessage(role=MessageRole.SYSTEM, content="You read weather tables."),
        ChatMessage(role=MessageRole.USER, content=f"Which cities had rain? {json.dumps(ROWS)}"),
    ]


def lookup_weather(city: str) -> str:
    """Weather readings for a city, as JSON rows."""
    return json.dumps([{**row, "city": city} for row in ROWS])


def sent_user_text(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def assert_ktof(text: str) -> None:
    assert TABLE_HEADER.search(text), text
    assert '"temp_c"' not in text


# -- wrapping ---------------------------------------------------------------------------------


def test_function_calling_llm_gets_the_function_calling_wrapper() -> None:
    wrapped = KaizenLLM(llm=openai_llm(REPLAY_BASE))
    assert isinstance(wrapped, KaizenFunctionCallingLLM)
    assert isinstance(wrapped, FunctionCallingLLM)
    assert wrapped.metadata == wrapped.llm.metadata
    assert wrapped.metadata.is_function_calling_model
    plain = KaizenLLM(RecordingLLM())
    assert type(plain) is KaizenLLM


def test_wrapper_takes_over_the_inner_llms_prompt_settings() -> None:
    inner = RecordingLLM(system_prompt="Be brief.")
    wrapped = KaizenLLM(llm=inner)
    assert wrapped.system_prompt == "Be brief."
    assert wrapped.callback_manager is inner.callback_manager
    wrapped.complete(json.dumps(ROWS))
    assert_ktof(inner.prompts[-1])
    with pytest.raises(TypeError):
        KaizenLLM(llm="gpt-4o")  # type: ignore[arg-type]


def test_a_callback_manager_given_later_counts_the_inner_llms_calls() -> None:
    # LlamaIndex hands the LLM its manager after construction (Settings, query engines); the
    # inner LLM, whose methods fire the LLM events, must use that one
    from llama_index.core import Settings, VectorStoreIndex
    from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.llms import MockLLM
    from llama_index.core.schema import Document

    index = VectorStoreIndex.from_documents(
        [Document(text=json.dumps(ROWS))], embed_model=MockEmbedding(embed_dim=8)
    )
    prompts, before = [], Settings._callback_manager
    try:
        for llm in (MockLLM(max_tokens=5), KaizenLLM(llm=MockLLM(max_tokens=5))):
            counter = TokenCountingHandler()
            Settings.callback_manager = CallbackManager([counter])
            index.as_query_engine(llm=llm).query("Which cities had rain?")
            assert len(counter.llm_token_counts) == 1
            prompts.append(counter.prompt_llm_token_count)
    finally:
        Settings._callback_manager = before
    assert 0 < prompts[1] < prompts[0]  # counted, and fewer once wrapped


def test_deepcopy_gives_a_working_wrapper_sharing_the_users_client() -> None:
    import copy

    from kaizen_core import KaizenSyncClient

    given = KaizenSyncClient(mode="embedded")
    for original in (KaizenLLM(llm=RecordingLLM(), client=given), KaizenLLM(llm=RecordingLLM())):
        copied = copy.deepcopy(original)
        copied.complete(json.dumps(ROWS))
        assert_ktof(copied.llm.prompts[-1])  # type: ignore[attr-defined]
    assert copy.deepcopy(KaizenLLM(llm=RecordingLLM(), client=given))._encoder.sync_client is given
    assert copy.deepcopy(KaizenNodePostprocessor(client=given))._encoder.sync_client is given
    given.close()


def test_prompt_without_json_is_sent_unchanged(savings: KaizenSavingsHandler) -> None:
    inner = RecordingLLM()
    KaizenLLM(llm=inner).complete("No JSON in here.")
    assert inner.prompts == ["No JSON in here."]
    assert savings.encodes == 0


def test_close_closes_the_client_the_wrapper_built_not_the_given_one() -> None:
    from kaizen_core import KaizenSyncClient

    given = KaizenSyncClient(mode="embedded")
    inner = RecordingLLM()
    llm = KaizenLLM(llm=inner, client=given)
    llm.complete(f"rows: {json.dumps([{'a': i, 'b': i} for i in range(8)])}")
    assert "[8]{a,b}:" in inner.prompts[-1] and '"a"' not in inner.prompts[-1]
    llm.close()
    assert not given._client.is_closed
    built = KaizenLLM(llm=inner)
    built.complete("[1, 2, 3]")
    own = built._encoder.sync_client
    built.close()
    assert own._client.is_closed
    given.close()


# -- every entry point, live against the stand-in ----------------------------------------------


def _chat(llm: KaizenLLM) -> str:
    return llm.chat(question()).message.content or ""


async def _achat(llm: KaizenLLM) -> str:
    return (await llm.achat(question())).message.content or ""


def _stream_chat(llm: KaizenLLM) -> str:
    return "".join(chunk.delta or "" for chunk in llm.stream_chat(question()))


async def _astream_chat(llm: KaizenLLM) -> str:
    return "".join([chunk.delta or "" async for chunk in await llm.astream_chat(question())])


def _complete(llm: KaizenLLM) -> str:
    return llm.complete(question()[1].content or "").text


async def _acomplete(llm: KaizenLLM) -> str:
    return (await llm.acomplete(question()[1].content or "")).text


def _stream_complete(llm: KaizenLLM) -> str:
    return "".join(chunk.delta or "" for chunk in llm.stream_complete(question()[1].content or ""))


async def _astream_complete(llm: KaizenLLM) -> str:
    stream = await llm.astream_complete(question()[1].content or "")
    return "".join([chunk.delta or "" async for chunk in stream])


ENTRY_POINTS: list[Callable[[KaizenLLM], Any]] = [
    _chat,
    _achat,
    _stream_chat,
    _astream_chat,
    _complete,
    _acomplete,
    _stream_complete,
    _astream_complete,
]


@pytest.mark.parametrize("call", ENTRY_POINTS, ids=lambda f: f.__name__.lstrip("_"))
async def test_entry_point_sends_ktof_and_emits_llm_events_once(
    call: Callable[[KaizenLLM], Any],
    openai_standin: OpenAIStandIn,
    event_log: EventLog,
    savings: KaizenSavingsHandler,
) -> None:
    llm = KaizenLLM(llm=openai_llm(openai_standin.base_url))
    answer = call(llm)
    if hasattr(answer, "__await__"):
        answer = await answer
    [body] = openai_standin.chat_requests
    sent = sent_user_text(body)
    assert_ktof(sent)
    assert answer.startswith("Stand-in answer to: Which cities had rain?")
    starts = event_log.of("LLMChatStartEvent") + event_log.of("LLMCompletionStartEvent")
    ends = event_log.of("LLMChatEndEvent") + event_log.of("LLMCompletionEndEvent")
    assert len(starts) == 1 and len(ends) == 1  # the inner LLM's events, not doubled
    [encode] = event_log.of("KaizenEncodeEvent")
    assert encode.source == "llm" and encode.model == MODEL
    assert savings.by_model[MODEL].tokens_saved == encode.tokens_saved > 0
    # what the observers saw is what went over the wire
    if starts[0].class_name() == "LLMChatStartEvent":
        assert starts[0].messages[1].content == sent


def test_fewer_prompt_tokens_than_the_unwrapped_llm(openai_standin: OpenAIStandIn) -> None:
    inner = openai_llm(openai_standin.base_url)
    raw = inner.chat(question()).raw.usage.prompt_tokens
    kaizen = KaizenLLM(llm=inner).chat(question()).raw.usage.prompt_tokens
    assert kaizen < raw
    plain_body, kaizen_body = openai_standin.chat_requests
    assert json.loads(sent_user_text(plain_body).split("rain? ", 1)[1]) == ROWS
    assert decode(sent_user_text(kaizen_body).split("rain? ", 1)[1]) == ROWS


class Warmest(BaseModel):
    city: str
    temp_c: int


STRUCTURED_PROMPT = "Weather rows: {rows}\nWhich city is warmest? Keep {unfilled} and {a,b}."


async def test_structured_predict_keeps_the_inner_llms_own_way(
    openai_standin: OpenAIStandIn,
) -> None:
    """OpenAI's structured prediction sends a strict JSON schema as ``response_format``; the
    wrapper keeps it (before, LLM's generic one forced a tool call) and sends the rows as KTOF."""
    from llama_index.core.prompts import PromptTemplate

    prompt, rows = PromptTemplate(STRUCTURED_PROMPT), json.dumps(ROWS)
    inner = openai_llm(openai_standin.base_url)
    expected = inner.structured_predict(Warmest, prompt, rows=rows)
    wrapped = KaizenLLM(llm=inner)
    answers = [
        wrapped.structured_predict(Warmest, prompt, rows=rows),
        await wrapped.astructured_predict(Warmest, prompt, rows=rows),
        list(wrapped.stream_structured_predict(Warmest, prompt, rows=rows))[-1],
        [p async for p in await wrapped.astream_structured_predict(Warmest, prompt, rows=rows)][-1],
    ]
    assert isinstance(expected, Warmest) and all(isinstance(a, Warmest) for a in answers)
    plain, *kaizen = openai_standin.chat_requests
    assert len(kaizen) == 4
    for body in kaizen:
        assert body["response_format"]["type"] == "json_schema" and "tools" not in body
        assert body["response_format"] == plain["response_format"]
        text = sent_user_text(body)
        assert text.endswith("Which city is warmest? Keep {unfilled} and {a,b}.")
        assert_ktof(text)
    assert json.loads(sent_user_text(plain).split("rows: ", 1)[1].split("\n")[0]) == ROWS


async def test_function_agent_tool_round_sends_the_tool_result_as_ktof(
    openai_standin: OpenAIStandIn, savings: KaizenSavingsHandler, event_log: EventLog
) -> None:
    llm = KaizenLLM(llm=openai_llm(openai_standin.base_url))
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(lookup_weather)], llm=llm)
    response = await agent.run(user_msg='Call lookup_weather for "Oslo".')
    first, second = openai_standin.chat_requests
    assert first["tools"][0]["function"]["name"] == "lookup_weather"
    [tool_message] = [m for m in second["messages"] if m["role"] == "tool"]
    assert_ktof(tool_message["content"])
    assert decode(tool_message["content"]) == json.loads(lookup_weather("Oslo"))
    assert str(response).startswith("Tool result received: [12]")
    assert savings.encodes == 1  # the tool result; the user message holds no JSON
    # two LLM rounds, each reported once by the inner LLM
    assert len(event_log.of("LLMChatStartEvent")) == len(event_log.of("LLMChatEndEvent")) == 2


def test_chat_with_tools_and_tool_call_parsing(openai_standin: OpenAIStandIn) -> None:
    llm = KaizenLLM(llm=openai_llm(openai_standin.base_url))
    tool = FunctionTool.from_defaults(lookup_weather)
    response = llm.chat_with_tools([tool], user_msg=f'lookup_weather "Bergen" {json.dumps(ROWS)}')
    [call] = llm.get_tool_calls_from_response(response)
    assert (call.tool_name, call.tool_kwargs) == ("lookup_weather", {"city": "Bergen"})
    assert_ktof(sent_user_text(openai_standin.chat_requests[-1]))


async def test_async_path_never_touches_the_sync_client(openai_standin: OpenAIStandIn) -> None:
    import httpx
    from kaizen_core import KaizenClient, KaizenSyncClient

    class Refuse(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            raise AssertionError("the blocking Kaizen client was used on an async path")

    llm = KaizenLLM(
        llm=openai_llm(openai_standin.base_url),
        client=KaizenSyncClient(mode="embedded", transport=Refuse()),
        async_client=KaizenClient(mode="embedded"),
    )
    await llm.achat(question())
    assert_ktof(sent_user_text(openai_standin.chat_requests[-1]))
    with pytest.raises(AssertionError, match="blocking Kaizen client"):
        llm.chat(question())


# -- recorded (cassettes under tests/cassettes/llamaindex/test_llms/) ------------------------


def _cassette_bodies(vcr: Any) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in vcr.requests]


@pytest.fixture
def base_url(record_mode: str, openai_standin: OpenAIStandIn) -> str:
    """The live stand-in while recording; any URL when replaying."""
    return openai_standin.base_url if record_mode != "none" else REPLAY_BASE


@pytest.mark.vcr
def test_recorded_chat(base_url: str, vcr: Any) -> None:
    response = KaizenLLM(llm=openai_llm(base_url)).chat(question())
    assert response.message.content.startswith("Stand-in answer to: Which cities had rain? [12]")
    assert (
        count_tokens(sent_user_text(_cassette_bodies(vcr)[0]), MODEL).tokens
        < count_tokens(question()[1].content or "", MODEL).tokens
    )
    assert_ktof(sent_user_text(_cassette_bodies(vcr)[0]))


@pytest.mark.vcr
def test_recorded_stream_chat(base_url: str, vcr: Any) -> None:
    chunks = list(KaizenLLM(llm=openai_llm(base_url)).stream_chat(question()))
    assert len(chunks) > 3
    assert chunks[-1].message.content.startswith("Stand-in answer to: Which cities had rain?")
    [body] = _cassette_bodies(vcr)
    assert body["stream"] is True
    assert_ktof(sent_user_text(body))


@pytest.mark.vcr
async def test_recorded_function_agent_round(base_url: str, vcr: Any) -> None:
    llm = KaizenLLM(llm=openai_llm(base_url))
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(lookup_weather)], llm=llm)
    response = await agent.run(user_msg='Call lookup_weather for "Oslo".')
    assert str(response).startswith("Tool result received: [12]")
    first, second = _cassette_bodies(vcr)
    assert "tools" in first
    [tool_message] = [m for m in second["messages"] if m["role"] == "tool"]
    assert decode(tool_message["content"]) == json.loads(lookup_weather("Oslo"))


# -- message shapes and the KTOF answer loop ---------------------------------------------------


def test_only_text_blocks_change_and_message_fields_are_kept() -> None:
    from llama_index.core.base.llms.types import ImageBlock, TextBlock

    image = ImageBlock(url="https://example.invalid/chart.png")
    message = ChatMessage(
        role=MessageRole.USER,
        blocks=[TextBlock(text=json.dumps(ROWS)), image, TextBlock(text="thanks")],
        additional_kwargs={"name": "analyst"},
    )
    untouched = ChatMessage(role=MessageRole.ASSISTANT, content="no json")
    llm = KaizenLLM(llm=RecordingLLM())
    rewritten, same = llm._rewrite_messages([message, untouched])
    assert same is untouched
    assert rewritten.blocks[1] is image and rewritten.blocks[2].text == "thanks"
    assert decode(rewritten.blocks[0].text) == ROWS
    assert rewritten.role == MessageRole.USER and rewritten.additional_kwargs == {"name": "analyst"}
    assert message.blocks[0].text == json.dumps(ROWS)  # the caller's message is not modified


def test_toon_format_writes_spec_output() -> None:
    inner = RecordingLLM()
    KaizenLLM(llm=inner, format="toon").complete(json.dumps(ROWS))
    assert inner.prompts[-1].startswith("[12]{id,city,temp_c,rain}:\n  0,city 0,10,true")


def test_ktof_answer_loop_with_the_output_parser(openai_standin: OpenAIStandIn) -> None:
    from llama_index.core import PromptTemplate

    from kaizen_llamaindex import KaizenOutputParser

    parser = KaizenOutputParser(example={"rainy": [{"id": 0, "city": "city 0"}]})
    template = PromptTemplate("Which cities had rain? {rows}", output_parser=parser)
    openai_standin.enqueue("```toon\nrainy[2]{id,city}:\n  0,city 0\n  3,city 3\n```")
    llm = KaizenLLM(llm=openai_llm(openai_standin.base_url))
    answer = llm.predict(template, rows=json.dumps(ROWS))
    sent = sent_user_text(openai_standin.chat_requests[-1])
    assert_ktof(sent)
    assert "Answer in KTOF" in sent and "rainy[1]{id,city}:" in sent
    assert parser.parse(answer) == {
        "rainy": [{"id": 0, "city": "city 0"}, {"id": 3, "city": "city 3"}]
    }


def test_unavailable_kaizen_sends_the_messages_as_they_are(openai_standin: OpenAIStandIn) -> None:
    import socket

    from kaizen_core import KaizenSyncClient

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    llm = KaizenLLM(
        llm=openai_llm(openai_standin.base_url),
        client=KaizenSyncClient(base_url=closed, max_retries=0),
    )
    assert llm.chat(question()).message.content
    assert sent_user_text(openai_standin.chat_requests[-1]) == question()[1].content
