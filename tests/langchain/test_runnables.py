"""``KaizenEncode``: every input shape, every Runnable entry point, events in traces."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest
from kaizen_core import KaizenSyncClient, engine
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompt_values import ChatPromptValue, StringPromptValue
from langchain_core.prompts import ChatPromptTemplate

from kaizen_langchain import KaizenEncode, kaizen_encode
from kaizen_langchain._messages import KTOF_HINT

ROWS = [{"id": i, "name": f"user{i}", "active": i % 2 == 0} for i in range(30)]


class EventRecorder(BaseCallbackHandler):
    """Keeps chain starts and custom events."""

    def __init__(self) -> None:
        self.chains: list[str] = []
        self.events: list[tuple[str, dict[str, Any], UUID]] = []

    def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        self.chains.append(kwargs.get("name") or "")

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append((name, data, run_id))


def test_dict_becomes_ktof_that_decodes_back() -> None:
    text = kaizen_encode.invoke({"users": ROWS})
    assert isinstance(text, str)
    assert text.startswith("users[30]")
    assert engine.decode(text) == {"users": ROWS}


def test_toon_format_option_writes_the_spec_output() -> None:
    text = KaizenEncode(encode_options={"format": "toon"}).invoke({"users": ROWS[:2]})
    assert text == "users[2]{id,name,active}:\n  0,user0,true\n  1,user1,false"


def test_string_keeps_prose_and_rewrites_embedded_json() -> None:
    prompt = f"Summarise these users:\n{json.dumps(ROWS)}\nThanks."
    out = kaizen_encode.invoke(prompt)
    assert out.startswith("Summarise these users:\n")
    assert out.endswith("Thanks.")
    assert json.dumps(ROWS) not in out and "{id,name,active}" in out
    assert len(out) < len(prompt)


def test_a_json_block_too_deep_to_encode_goes_out_as_written() -> None:
    deep = "[" * 600 + "1" + "]" * 600
    out = kaizen_encode.invoke([HumanMessage(content=f"{deep}\nand\n{json.dumps(ROWS)}")])
    assert out[0].content.startswith(deep + "\nand\n")
    assert "{id,name,active}" in out[0].content


def test_plain_string_is_untouched() -> None:
    assert kaizen_encode.invoke("no json here") == "no json here"


def test_messages_keep_roles_ids_tool_calls_and_kwargs() -> None:
    call = {"name": "lookup", "args": {"q": "x"}, "id": "call_1", "type": "tool_call"}
    messages = [
        SystemMessage(f"Reference: {json.dumps(ROWS)}", id="s1"),
        HumanMessage(
            [
                {"type": "text", "text": json.dumps(ROWS)},
                {"type": "image_url", "image_url": {"url": "u"}},
            ],
            id="h1",
        ),
        AIMessage("", tool_calls=[call], id="a1", additional_kwargs={"keep": 1}),
        ToolMessage(json.dumps(ROWS), tool_call_id="call_1", name="lookup", id="t1"),
    ]
    out = kaizen_encode.invoke(messages)
    assert [type(m) for m in out] == [type(m) for m in messages]
    assert [m.id for m in out] == ["s1", "h1", "a1", "t1"]
    assert out[2].tool_calls == [call] and out[2].additional_kwargs == {"keep": 1}
    assert out[3].tool_call_id == "call_1" and out[3].name == "lookup"
    assert engine.decode(out[3].content) == ROWS
    assert engine.decode(out[1].content[0]["text"]) == ROWS
    assert out[1].content[1] == {"type": "image_url", "image_url": {"url": "u"}}
    assert out[0].content.startswith("Reference: ") and json.dumps(ROWS) not in out[0].content
    assert messages[3].content == json.dumps(ROWS)  # the input is not mutated


def test_prompt_values_and_hint() -> None:
    template = ChatPromptTemplate.from_messages([("human", "Rows: {rows}")])
    value = template.invoke({"rows": json.dumps(ROWS)})
    out = KaizenEncode(add_hint=True).invoke(value)
    assert isinstance(out, ChatPromptValue)
    assert out.messages[0].type == "system" and out.messages[0].content == KTOF_HINT
    assert "{id,name,active}" in out.messages[1].content

    string_value = KaizenEncode().invoke(StringPromptValue(text=json.dumps(ROWS)))
    assert isinstance(string_value, StringPromptValue)
    assert engine.decode(string_value.text) == ROWS


def test_hint_joins_an_existing_system_message() -> None:
    out = KaizenEncode(add_hint=True).invoke([SystemMessage("Be brief."), HumanMessage("hi")])
    assert len(out) == 2
    assert out[0].content == f"Be brief.\n\n{KTOF_HINT}"


def test_role_content_pairs_are_read_as_messages_not_as_data() -> None:
    pairs = [("system", "Be brief."), ("human", f"Rows: {json.dumps(ROWS)}")]
    out = kaizen_encode.invoke(pairs)
    assert [type(m) for m in out] == [SystemMessage, HumanMessage]
    assert out[0].content == "Be brief." and "{id,name,active}" in out[1].content
    mixed = kaizen_encode.invoke([SystemMessage("Be brief."), ("human", json.dumps(ROWS))])
    assert [type(m) for m in mixed] == [SystemMessage, HumanMessage]
    assert engine.decode(mixed[1].content) == ROWS
    data = kaizen_encode.invoke([["human", "hi"]])  # JSON lists stay data
    assert isinstance(data, str) and engine.decode(data) == [["human", "hi"]]


def test_openai_style_message_dicts_are_read_as_messages() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "rows", "arguments": "{}"}}
    dicts = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": f"Rows: {json.dumps(ROWS)}"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "content": json.dumps(ROWS), "tool_call_id": "c1"},
    ]
    out = kaizen_encode.invoke(dicts)
    assert [type(m) for m in out] == [SystemMessage, HumanMessage, AIMessage, ToolMessage]
    assert out[0].content == "Be brief." and "{id,name,active}" in out[1].content
    assert out[2].tool_calls[0]["id"] == "c1" and out[3].tool_call_id == "c1"
    assert engine.decode(out[3].content) == ROWS
    # other dicts, unknown roles among them, stay data
    for data in ([{"role": "admin", "content": "x"}], [{"role": "user", "text": "x"}], ROWS):
        assert engine.decode(kaizen_encode.invoke(data)) == data


def test_hint_for_one_message_is_not_dropped() -> None:
    out = KaizenEncode(add_hint=True).invoke(HumanMessage(f"Rows: {json.dumps(ROWS)}"))
    assert [m.type for m in out] == ["system", "human"] and out[0].content == KTOF_HINT
    assert kaizen_encode.invoke(HumanMessage("hi")) == HumanMessage("hi")


def test_every_entry_point_gives_the_same_answer() -> None:
    expected = kaizen_encode.invoke({"rows": ROWS})
    assert kaizen_encode.batch([{"rows": ROWS}, ROWS]) == [expected, kaizen_encode.invoke(ROWS)]
    assert list(kaizen_encode.stream({"rows": ROWS})) == [expected]


async def test_async_entry_points() -> None:
    expected = kaizen_encode.invoke({"rows": ROWS})
    assert await kaizen_encode.ainvoke({"rows": ROWS}) == expected
    assert await kaizen_encode.abatch([{"rows": ROWS}]) == [expected]
    assert [c async for c in kaizen_encode.astream({"rows": ROWS})] == [expected]


def test_runs_show_in_callbacks_with_an_encode_event() -> None:
    recorder = EventRecorder()
    kaizen_encode.invoke({"rows": ROWS}, config={"callbacks": [recorder]})
    assert recorder.chains == ["KaizenEncode"]
    [(name, data, _)] = recorder.events
    assert name == "kaizen_encode"
    assert data["source"] == "KaizenEncode" and data["model"] == "gpt-4o"
    assert data["original_tokens"] > data["optimized_tokens"] > 0
    assert data["tokens_saved"] == data["original_tokens"] - data["optimized_tokens"]


async def test_astream_events_carry_the_encode_event() -> None:
    events = [e async for e in kaizen_encode.astream_events({"rows": ROWS}, version="v2")]
    custom = [e for e in events if e["event"] == "on_custom_event"]
    assert [e["name"] for e in custom] == ["kaizen_encode"]
    start = next(e for e in events if e["event"] == "on_chain_start")
    assert custom[0]["run_id"] == start["run_id"]


@pytest.mark.parametrize("host", ["embedded", "server"])
def test_client_path_matches_the_embedded_engine(host: str, request: pytest.FixtureRequest) -> None:
    """With ``client=``, text goes through the client (embedded transport or kaizen serve)."""
    if host == "embedded":
        client = KaizenSyncClient()
    else:
        client = KaizenSyncClient(base_url=request.getfixturevalue("kaizen_server"))
    with client:
        encoder = KaizenEncode(client=client)
        prompt = f"rows: {json.dumps(ROWS)}"
        assert encoder.invoke(prompt) == kaizen_encode.invoke(prompt)
        assert engine.decode(encoder.invoke({"rows": ROWS})) == {"rows": ROWS}
