"""``KaizenDecode``: KTOF/JSON answers, fences, pydantic models, errors, streaming."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kaizen_core import KaizenSyncClient, engine
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, AIMessageChunk
from pydantic import BaseModel, Field

from kaizen_langchain import KaizenDecode, KaizenOutputParserException, kaizen_decode

ROWS = [{"id": i, "name": f"item {i}", "price": 1.5 * i} for i in range(200)]
TABLE = engine.encode({"items": ROWS})


class Item(BaseModel):
    id: int
    name: str = Field(description="display name")
    price: float


class Catalogue(BaseModel):
    title: str = Field(description="catalogue title")
    items: list[Item]


def test_ktof_json_and_fences_all_parse() -> None:
    assert kaizen_decode.invoke(TABLE) == {"items": ROWS}
    assert kaizen_decode.invoke(f"```toon\n{TABLE}\n```") == {"items": ROWS}
    assert kaizen_decode.invoke(f"```\n{TABLE}\n```\n") == {"items": ROWS}
    assert kaizen_decode.invoke(json.dumps({"items": ROWS[:3]})) == {"items": ROWS[:3]}
    assert kaizen_decode.invoke(f"```json\n{json.dumps(ROWS[:2])}\n```") == ROWS[:2]
    assert kaizen_decode.invoke("[2]: a,b") == ["a", "b"]
    assert kaizen_decode.invoke(AIMessage(TABLE)) == {"items": ROWS}


def test_pydantic_object_gives_a_model_instance() -> None:
    parser = KaizenDecode(pydantic_object=Catalogue)
    text = engine.encode({"title": "Spring", "items": ROWS[:3]})
    result = parser.invoke(text)
    assert isinstance(result, Catalogue) and result.items[2].price == 3.0
    with pytest.raises(OutputParserException, match="does not match Catalogue"):
        parser.invoke("title: Spring")


def test_format_instructions_show_the_shape_in_ktof() -> None:
    assert "KTOF" in kaizen_decode.get_format_instructions()
    instructions = KaizenDecode(pydantic_object=Catalogue).get_format_instructions()
    assert "title: <string>" in instructions
    assert "items[N]{id,name,price}:" in instructions
    assert "<integer>,<string>,<number>" in instructions
    assert "catalogue title" in instructions


def test_malformed_output_names_line_and_column_and_keeps_the_text() -> None:
    bad = "items[3]{id,name}:\n  1,a\n  2,b"
    with pytest.raises(KaizenOutputParserException) as caught:
        kaizen_decode.invoke(bad)
    error = caught.value
    assert isinstance(error, OutputParserException)
    assert error.llm_output == bad
    assert error.line >= 1 and error.column >= 1
    assert f"line {error.line}, column {error.column}" in str(error)


def test_line_numbers_count_a_stripped_fence() -> None:
    with pytest.raises(KaizenOutputParserException) as plain:
        kaizen_decode.invoke('a: "unterminated')
    with pytest.raises(KaizenOutputParserException) as fenced:
        kaizen_decode.invoke('```toon\na: "unterminated\n```')
    assert fenced.value.line == plain.value.line + 1
    assert fenced.value.column == plain.value.column


def test_empty_output_is_an_error() -> None:
    with pytest.raises(KaizenOutputParserException, match="Empty output"):
        kaizen_decode.invoke("  ")


def _chunks(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _has_incremental_decoder() -> bool:
    return hasattr(engine, "StreamDecoder")


def test_stream_yields_rows_as_they_complete() -> None:
    pieces = [AIMessageChunk(content=c) for c in _chunks(f"```toon\n{TABLE}\n```")]
    values = list(kaizen_decode.transform(iter(pieces)))
    assert values[-1] == {"items": ROWS}
    if not _has_incremental_decoder():
        pytest.fail("kaizen_core.engine.StreamDecoder is missing: streaming is not incremental")
    sizes = [len(v.get("items", [])) for v in values]
    assert len(values) > 100  # one value per completed row (or close to it)
    assert sizes == sorted(sizes) and sizes[0] < 5
    assert values[len(values) // 2]["items"] == ROWS[: sizes[len(values) // 2]]


async def test_astream_matches_stream() -> None:
    async def pieces():  # type: ignore[no-untyped-def]
        for c in _chunks(TABLE, 5):
            yield c

    values = [v async for v in kaizen_decode.atransform(pieces())]
    assert values[-1] == {"items": ROWS}
    assert values == list(kaizen_decode.transform(iter(_chunks(TABLE, 5))))


def test_stream_with_pydantic_object_ends_with_the_model() -> None:
    text = engine.encode({"title": "T", "items": ROWS[:20]})
    values = list(KaizenDecode(pydantic_object=Catalogue).transform(iter(_chunks(text))))
    assert isinstance(values[-1], Catalogue) and len(values[-1].items) == 20


def test_stream_of_json_answer_yields_it_once() -> None:
    values = list(kaizen_decode.transform(iter(_chunks(json.dumps({"items": ROWS[:5]})))))
    assert values == [{"items": ROWS[:5]}]


def test_stream_error_points_into_the_raw_text() -> None:
    bad = "```toon\nitems[3]{id,name}:\n  1,a\n  2,b\n```"
    with pytest.raises(KaizenOutputParserException) as caught:
        list(kaizen_decode.transform(iter(_chunks(bad, 4))))
    assert caught.value.llm_output == bad
    assert caught.value.line >= 2


def test_json_too_deep_for_python_is_read_as_ktof_not_a_recursion_error() -> None:
    text = "[" * 100_000 + "]" * 100_000
    assert KaizenDecode().invoke(text) == text  # a KTOF root primitive, as decode() reads it


@pytest.mark.parametrize(
    "prose",
    ["Here is the data:\n", "Sure.\nHere are the rows you asked for.\n\n", "Result:\n"],
)
def test_prose_before_a_fenced_answer_is_skipped_by_parse_and_stream(prose: str) -> None:
    text = f"{prose}```toon\n{TABLE}\n```\nHope this helps."
    assert kaizen_decode.invoke(text) == {"items": ROWS}
    values = list(kaizen_decode.transform(iter(_chunks(text, 7))))
    assert values[-1] == {"items": ROWS}
    json_text = f"{prose}```json\n{json.dumps(ROWS[:3])}\n```"
    assert kaizen_decode.invoke(json_text) == ROWS[:3]
    assert list(kaizen_decode.transform(iter(_chunks(json_text, 5))))[-1] == ROWS[:3]


def test_error_inside_a_fenced_answer_after_prose_counts_the_prose_lines() -> None:
    bad = 'Here it is.\n```toon\na: "unterminated\n```'
    with pytest.raises(KaizenOutputParserException) as parsed:
        kaizen_decode.invoke(bad)
    with pytest.raises(KaizenOutputParserException) as streamed:
        list(kaizen_decode.transform(iter(_chunks(bad, 3))))
    assert parsed.value.line == streamed.value.line == 3
    assert streamed.value.llm_output == bad


def test_unfenced_malformed_ktof_still_raises_when_streamed() -> None:
    bad = "items[3]{id,name}:\n  1,a\n  2,b\nnot a row at all"
    with pytest.raises(KaizenOutputParserException) as caught:
        list(kaizen_decode.transform(iter(_chunks(bad, 4))))
    assert caught.value.llm_output == bad


class _ThreadRecordingClient(KaizenSyncClient):
    """The embedded sync client, noting the thread each decode request runs on."""

    def __init__(self) -> None:
        super().__init__()
        self.decode_threads: list[threading.Thread] = []

    def prompts_decode(self, *args: Any, **kwargs: Any) -> Any:
        self.decode_threads.append(threading.current_thread())
        return super().prompts_decode(*args, **kwargs)


def test_malformed_answer_through_a_sync_client_is_an_output_parser_exception() -> None:
    bad = "```toon\nitems[3]{id,name}:\n  1,a\n  2,b\n```"
    with KaizenSyncClient() as client:
        parser = KaizenDecode(client=client)
        assert parser.invoke(f"```toon\n{TABLE}\n```") == {"items": ROWS}
        with pytest.raises(KaizenOutputParserException) as through_client:
            parser.invoke(bad)
    with pytest.raises(KaizenOutputParserException) as embedded:
        kaizen_decode.invoke(bad)
    assert through_client.value.line == embedded.value.line == 2
    assert through_client.value.column == embedded.value.column
    assert through_client.value.llm_output == bad


async def test_async_decode_through_a_sync_client_runs_off_the_event_loop() -> None:
    client = _ThreadRecordingClient()
    try:
        assert await KaizenDecode(client=client).ainvoke(TABLE) == {"items": ROWS}
    finally:
        client.close()
    assert client.decode_threads and threading.main_thread() not in client.decode_threads
