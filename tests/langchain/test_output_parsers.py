"""``KaizenDecode``: KTOF/JSON answers, fences, pydantic models, errors, streaming."""

from __future__ import annotations

import json
import threading
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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


def test_json_too_deep_for_python_is_a_parse_error_not_a_recursion_error() -> None:
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(KaizenOutputParserException, match="nested too deeply") as caught:
        KaizenDecode().invoke(text)
    assert caught.value.llm_output == text


@pytest.mark.parametrize(
    ("answer", "where"),
    [
        ('{"rows": [1, 2', (1, 15)),  # cut off by max_tokens
        ('[1, 2, {"a": "x', (1, 14)),  # the unterminated string
        ('Here:\n```json\n{"name": "Ada",\n "age": 36,}\n```', (4, 12)),  # trailing comma
    ],
)
def test_json_that_does_not_parse_is_an_error_at_jsons_position(
    answer: str, where: tuple[int, int]
) -> None:
    # not read as KTOF: that made {"rows": [1, 2 the object {'{"rows"': '[1, 2'}
    for parse in (KaizenDecode().invoke, lambda text: list(kaizen_decode.transform(iter(text)))):
        with pytest.raises(KaizenOutputParserException, match="Invalid JSON") as caught:
            parse(answer)
        assert (caught.value.line, caught.value.column) == where
        assert caught.value.llm_output == answer


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


# The closing fence glued to the last line, CRLF line endings: parse and stream read alike.
FENCE_SHAPES = {
    "```\n[]```": [],
    "```toon\nrows[1]{a}:\n  1```": {"rows": [{"a": 1}]},
    '```json\n{"a": 1}```\n': {"a": 1},
    "Here it is:\n```toon\na: x \t```  \n\n": {"a": "x"},
    "```toon\r\nrows[2]{a}:\r\n  1\r\n  2\r\n```": {"rows": [{"a": 1}, {"a": 2}]},
    "Here it is:\r\n```json\r\n[1, 2]\r\n```\r\nDone.": [1, 2],
    "```toon\r\na: 1```\r\n": {"a": 1},
    # a fence at the end of a body line that is not the last is the line's text
    "```toon\na: x```\nb: 1\n```": {"a": "x```", "b": 1},
    # an answer cut off before its closing fence: what there is
    "Here:\n```toon\nrows[2]{a}:\n  1\n  2": {"rows": [{"a": 1}, {"a": 2}]},
}


@pytest.mark.parametrize("text", list(FENCE_SHAPES))
def test_glued_and_crlf_fences_are_read_alike_by_parse_and_stream(text: str) -> None:
    value = FENCE_SHAPES[text]
    assert kaizen_decode.parse(text) == value
    for size in (1, 2, 5, len(text)):
        assert list(kaizen_decode.transform(iter(_chunks(text, size))))[-1] == value, size


@pytest.mark.parametrize(
    "text", ["```", "```toon", "  ```  \n", "```\n```", "```json\r\n\r\n```\r\n", "Here:\n```"]
)
def test_an_answer_that_is_only_a_fence_is_empty_output(text: str) -> None:
    with pytest.raises(KaizenOutputParserException, match="Empty output"):
        kaizen_decode.parse(text)
    for size in (1, 3, len(text)):
        with pytest.raises(KaizenOutputParserException, match="Empty output"):
            list(kaizen_decode.transform(iter(_chunks(text, size))))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('Here\ris the data:\n```toon\na: "unterminated\n```', 3),  # "\r" alone: no new line
        ('Here\r\nis the data:\r\n```toon\r\nb: 1\r\na: "unterminated\r\n```', 5),
        ('Here\u2028it is:\n```\n\n\na: "unterminated```', 5),  # U+2028 is no line break either
    ],
)
def test_error_lines_count_line_feeds_only_in_parse_and_stream(text: str, line: int) -> None:
    with pytest.raises(KaizenOutputParserException) as plain:
        kaizen_decode.parse('a: "unterminated')
    with pytest.raises(KaizenOutputParserException) as parsed:
        kaizen_decode.parse(text)
    assert (parsed.value.line, parsed.value.column) == (line, plain.value.column)
    for size in (1, 4, len(text)):
        with pytest.raises(KaizenOutputParserException) as streamed:
            list(kaizen_decode.transform(iter(_chunks(text, size))))
        assert (streamed.value.line, streamed.value.column) == (line, plain.value.column), size
        assert streamed.value.llm_output == text


# A value may end with a Unicode space (U+3000, U+00A0): it is part of the value, not of the
# whitespace around the answer, which is ASCII only (what KTOF itself ignores).
UNICODE_ENDINGS = {
    "title: Spring\u3000\nunit: celsius\xa0": {"title": "Spring\u3000", "unit": "celsius\xa0"},
    "unit: celsius\xa0\ntitle: 春\u3000": {"unit": "celsius\xa0", "title": "春\u3000"},
    "items[2]{id,name}:\n  1,Oslo\xa0\n  2,Bergen\u3000": {
        "items": [{"id": 1, "name": "Oslo\xa0"}, {"id": 2, "name": "Bergen\u3000"}]
    },
    "[2]: a\u3000,b\xa0": ["a\u3000", "b\xa0"],
}
AROUND = ["{}", "{} \t\r\n\n", "\n  {}\n", "```toon\n{}\n```", "Here it is:\n```\n{}\n```\n"]
# Fences as models also write them: the closing fence glued to the last line, CRLF line
# endings, a lone "\r" (not a line break, in KTOF or here) in the prose before the fence.
FENCE_EDGES = [
    "```toon\n{}```",
    "```\n{} ```\n\n",
    "Here it is:\n```json\n{}```",
    "```toon\r\n{}\r\n```",
    "Here it is:\r\n```\r\n{}\r\n```\r\nDone.",
    "Here\rit is:\n```toon\n{}\n```",
    "\r\n```toon\r\n\r\n{}```\r\n",
]


@pytest.mark.parametrize("around", AROUND)
@pytest.mark.parametrize("ktof", list(UNICODE_ENDINGS))
def test_unicode_spaces_ending_a_value_are_kept_by_parse_and_stream(ktof: str, around: str) -> None:
    text = around.replace("{}", ktof)
    value = UNICODE_ENDINGS[ktof]
    assert kaizen_decode.invoke(text) == value
    assert kaizen_decode.invoke(AIMessage(text)) == value
    for size in (1, 3, len(text)):  # a cut between a value and its last space, too
        streamed = list(kaizen_decode.transform(iter(_chunks(text, size))))
        assert streamed[-1] == value, size


async def test_unicode_spaces_ending_a_value_are_kept_by_ainvoke_and_astream() -> None:
    text = "```toon\ntitle: Spring\u3000\nunit: celsius\xa0\n```"
    value = {"title": "Spring\u3000", "unit": "celsius\xa0"}

    async def pieces():  # type: ignore[no-untyped-def]
        for chunk in _chunks(text, 2):
            yield AIMessageChunk(content=chunk)

    assert await kaizen_decode.ainvoke(text) == value
    assert [v async for v in kaizen_decode.atransform(pieces())][-1] == value


def test_a_line_of_unicode_spaces_is_not_blank_to_parse_or_stream() -> None:
    text = "a: 1\n\u3000\n"  # not KTOF: a Unicode space is text, not whitespace to strip
    with pytest.raises(KaizenOutputParserException) as parsed:
        kaizen_decode.invoke(text)
    with pytest.raises(KaizenOutputParserException) as streamed:
        list(kaizen_decode.transform(iter(_chunks(text, 3))))
    assert parsed.value.line == streamed.value.line == 2


_cells = (
    st.none()
    | st.integers(-1000, 1000)
    | st.text(max_size=8)
    | st.sampled_from(["x\u3000", "y\xa0", "\u3000", "a b", "x: y", "[1]"])
)
_values = st.recursive(
    _cells,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    value=st.dictionaries(st.text(min_size=1, max_size=6), _values, min_size=1, max_size=4)
    | st.lists(_values, min_size=1, max_size=4),
    fmt=st.sampled_from(["auto", "toon"]),
    around=st.sampled_from(AROUND + FENCE_EDGES),
    end=st.sampled_from(["", "\u3000", "\xa0", "\t", " \t", "\u3000\t \n\n", "\xa0 "]),
    crlf=st.booleans(),
    quote_at=st.none() | st.integers(0, 10**6),
    cuts=st.lists(st.integers(0, 10**6), max_size=20),
)
def test_the_last_streamed_value_is_what_parse_gives(
    value: Any,
    fmt: str,
    around: str,
    end: str,
    crlf: bool,
    quote_at: int | None,
    cuts: list[int],
) -> None:
    """Whatever blanks end the last line (kept or stripped), however the fences are written
    (glued, CRLF) and wherever a stray quote breaks the KTOF, stream and parse agree: the
    same value, or the same error at the same line and column."""
    ktof = engine.encode(value, format=fmt)
    if quote_at is not None:  # an unterminated string somewhere (or harmless inside one)
        at = quote_at % (len(ktof) + 1)
        ktof = f'{ktof[:at]}"{ktof[at:]}'
    text = around.replace("{}", ktof + end)
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    pieces = [text[a:b] for a, b in pairwise(bounds)]
    try:
        parsed = kaizen_decode.parse(text)
    except KaizenOutputParserException as exc:
        with pytest.raises(KaizenOutputParserException) as streamed:
            list(kaizen_decode.transform(iter(pieces)))
        assert (streamed.value.line, streamed.value.column) == (exc.line, exc.column)
    else:
        assert list(kaizen_decode.transform(iter(pieces)))[-1] == parsed


@pytest.mark.parametrize("size", [1, 4, 100])
def test_a_value_completed_by_the_last_chunk_is_still_yielded(size: int) -> None:
    # the held line (it ends in a tab) is fed only when the comment line ends the stream
    text = "[3]: a,b,c \t\n#"
    pieces = [text[start : start + size] for start in range(0, len(text), size)]
    assert list(kaizen_decode.transform(iter(pieces)))[-1] == kaizen_decode.parse(text)


def test_a_streamed_answer_that_is_neither_json_nor_ktof_is_an_output_parser_exception() -> None:
    text = '[{"a": 1}]```'  # looks like JSON; the fence on its line makes it neither
    with pytest.raises(KaizenOutputParserException) as parsed:
        kaizen_decode.parse(text)
    with pytest.raises(KaizenOutputParserException) as streamed:
        list(kaizen_decode.transform(iter(_chunks(text, 4))))
    assert streamed.value.llm_output == text and streamed.value.line == parsed.value.line
