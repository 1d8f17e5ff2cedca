"""KaizenOutputParser: instructions, KTOF/JSON/fenced answers, errors with line and column,
and streamed answers read as they arrive."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from kaizen_core.engine import encode
from llama_index.core import PromptTemplate
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.llms import MockLLM
from llama_index.core.output_parsers.base import OutputParserException
from llama_index.llms.openai import OpenAI

from kaizen_llamaindex import KaizenLLM, KaizenOutputParser, KaizenOutputParserError
from tests.standins.openai_server import OpenAIStandIn, Reply

ORDERS = {"orders": [{"id": 1, "item": "pen", "qty": 3}, {"id": 2, "item": "ink", "qty": 1}]}


class Order(BaseModel):
    id: int
    item: str
    qty: int


class Orders(BaseModel):
    orders: list[Order]


def test_parses_ktof() -> None:
    parser = KaizenOutputParser()
    assert parser.parse("orders[2]{id,item,qty}:\n  1,pen,3\n  2,ink,1") == ORDERS


@pytest.mark.parametrize(
    "output",
    [
        '{"orders": [{"id": 1, "item": "pen", "qty": 3}, {"id": 2, "item": "ink", "qty": 1}]}',
        (
            'Sure:\n```json\n{"orders": [{"id": 1, "item": "pen", "qty": 3},'
            ' {"id": 2, "item": "ink", "qty": 1}]}\n```\nDone.'
        ),
        "Here it is:\n```toon\norders[2]{id,item,qty}:\n  1,pen,3\n  2,ink,1\n```",
        "```\norders[2]{id,item,qty}:\n  1,pen,3\n  2,ink,1\n```",
        "\n\n  orders[2]{id,item,qty}:\n  1,pen,3\n  2,ink,1\n\n",
    ],
    ids=["json", "json-fence", "toon-fence", "bare-fence", "surrounding-blank-lines"],
)
def test_accepts_json_and_code_fences(output: str) -> None:
    assert KaizenOutputParser().parse(output) == ORDERS


def test_root_array_in_ktof_is_not_mistaken_for_json() -> None:
    assert KaizenOutputParser().parse("[3]: a,b,c") == ["a", "b", "c"]


def test_output_cls_validates_the_value() -> None:
    parsed = KaizenOutputParser(output_cls=Orders).parse(encode(ORDERS))
    assert parsed == Orders.model_validate(ORDERS)


def test_output_cls_mismatch_is_a_parser_error_without_position() -> None:
    with pytest.raises(KaizenOutputParserError) as caught:
        KaizenOutputParser(output_cls=Orders).parse("orders[1]{id,item}:\n  x,pen")
    assert caught.value.line is None and "Orders" in caught.value.msg


def test_malformed_ktof_reports_line_column_and_raw_text() -> None:
    output = "orders[3]{id,item,qty}:\n  1,pen,3\n  2,ink,1"
    with pytest.raises(KaizenOutputParserError) as caught:
        KaizenOutputParser().parse(output)
    error = caught.value
    assert isinstance(error, OutputParserException) and isinstance(error, ValueError)
    assert (error.line, error.column) == (1, 7)  # the "[3]" that promised three rows
    assert error.text == output
    assert "line 1, column 7" in str(error) and output in str(error)


def test_error_position_is_in_the_raw_output_not_the_fenced_body() -> None:
    output = "The answer:\n\n```toon\na: 1\nb:\n   c: 2\n```"
    with pytest.raises(KaizenOutputParserError) as caught:
        KaizenOutputParser().parse(output)
    error = caught.value
    assert output.splitlines()[error.line - 1] == "   c: 2"
    assert error.column == 4


@pytest.mark.parametrize(
    ("output", "where"),
    [
        ('{"rows": [1, 2', (1, 15)),  # cut off by max tokens: not read as a KTOF key
        ('{"a": 1, "b": "x', (1, 15)),
        ('Answer:\n```json\n{"name": "Ada", "age": 36,}\n```', (3, 27)),  # trailing comma
    ],
)
def test_json_that_does_not_parse_is_an_error_at_jsons_position(
    output: str, where: tuple[int, int]
) -> None:
    parser = KaizenOutputParser()
    for parse in (parser.parse, lambda text: list(parser.parse_stream(iter(text)))):
        with pytest.raises(KaizenOutputParserError, match="Invalid JSON") as caught:
            parse(output)
        assert (caught.value.line, caught.value.column) == where
        assert caught.value.text == output


def test_format_appends_instructions_and_example() -> None:
    parser = KaizenOutputParser(example=ORDERS)
    prompt = parser.format("List the orders.")
    assert prompt.startswith("List the orders.\n\n")
    assert "KTOF" in prompt
    assert encode(ORDERS) in prompt  # the example, written in KTOF


def test_format_names_the_schema_of_output_cls() -> None:
    assert '"qty"' in KaizenOutputParser(output_cls=Orders).format_instructions


def test_instructions_survive_a_prompt_template() -> None:
    template = PromptTemplate("Question: {q}", output_parser=KaizenOutputParser(example=ORDERS))
    prompt = template.format(q="which orders?")
    assert prompt.startswith("Question: which orders?")
    assert "orders[2]{id,item,qty}:" in prompt


def test_escape_braces_for_str_format_callers() -> None:
    instructions = KaizenOutputParser(example=ORDERS, escape_braces=True).format_instructions
    assert "{{id,item,qty}}" in instructions
    assert "{id,item,qty}" in instructions.format()


def test_decode_events_are_emitted(savings) -> None:  # type: ignore[no-untyped-def]
    parser = KaizenOutputParser()
    parser.parse("a: 1")
    parser.parse('{"a": 1}')
    assert savings.decodes == 2


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(value=st.dictionaries(st.text(min_size=1, max_size=8), json_values, min_size=1, max_size=4))
@example(value={"\xa0": None})  # a Unicode space is a key, not padding to strip
@example(value={"0": ["```"], "note": "use ```x``` here"})  # backticks in values: no fence
@example(value={"0": {"```": None}})  # nor a key that starts a line
def test_round_trips_whatever_the_engine_writes(value: dict) -> None:
    parser = KaizenOutputParser()
    assert parser.parse(encode(value)) == value
    assert parser.parse(f"```toon\n{encode(value, format='auto')}\n```") == value


# -- streaming ---------------------------------------------------------------------------------

ROWS = [{"id": i, "item": f"item {i}", "qty": i % 7} for i in range(200)]


class RowsOf(BaseModel):
    orders: list[dict[str, Any]]


def _outcome(run: Callable[[], Any]) -> tuple[Any, ...]:
    """``("ok", value)`` or ``("error", line, column, msg)``."""
    try:
        return ("ok", run())
    except KaizenOutputParserError as exc:
        return ("error", exc.line, exc.column, exc.msg)


def _row_counts(values: list[Any]) -> list[int]:
    return [len(v["orders"]) if isinstance(v, dict) else len(v) for v in values]


def test_stream_yields_growing_values_then_exactly_parse() -> None:
    for value in ({"shop": "north", "orders": ROWS}, ROWS):
        text = encode(value)
        parser = KaizenOutputParser()
        values = list(parser.parse_stream(MockLLM().stream_complete(text)))  # echoes the text
        assert values[-1] == parser.parse(text) == value
        counts = _row_counts(values[:-1])
        assert len(counts) >= 199 and counts == sorted(counts) and counts[0] < 5
        assert all(isinstance(v, type(value)) for v in values)


async def test_async_stream_yields_growing_values_then_exactly_parse() -> None:
    text = encode({"orders": ROWS})
    parser = KaizenOutputParser(output_cls=RowsOf)
    values = [v async for v in parser.aparse_stream(await MockLLM().astream_complete(text))]
    assert values[-1] == parser.parse(text) == RowsOf.model_validate({"orders": ROWS})
    assert len(values) > 100 and _row_counts(values[:-1]) == sorted(_row_counts(values[:-1]))


def test_stream_through_kaizen_llm_reads_a_fenced_answer_after_prose(
    openai_standin: OpenAIStandIn, savings: Any
) -> None:
    answer = f"Here are the orders:\n\n```toon\n{encode({'orders': ROWS[:40]})}\n```\nDone."
    openai_standin.enqueue(Reply(content=answer, chunk_size=7))
    llm = KaizenLLM(llm=OpenAI(model="gpt-4o-mini", api_base=openai_standin.base_url, api_key="k"))
    parser = KaizenOutputParser(output_cls=Orders)
    values = list(parser.parse_stream(llm.stream_complete(parser.format("List the orders."))))
    assert values[-1] == parser.parse(answer) == Orders.model_validate({"orders": ROWS[:40]})
    assert len(values) > 30 and values[0] == {"orders": [ROWS[0]]}
    assert savings.decodes == 2  # the stream's one decode, and parse's


def test_a_wrong_line_in_a_fenced_answer_raises_before_the_stream_ends() -> None:
    text = "```toon\norders[3]{id,item,qty}:\n  1,pen,3\n  2,ink\n  3,cap,1\n```"
    pulled: list[str] = []

    def chunks() -> Iterator[str]:
        for piece in text.splitlines(keepends=True):
            pulled.append(piece)
            yield piece

    with pytest.raises(KaizenOutputParserError) as caught:
        list(KaizenOutputParser().parse_stream(chunks()))
    assert len(pulled) == 4  # stopped at the short row, not at the end
    error, whole = caught.value, _outcome(lambda: KaizenOutputParser().parse(text))
    assert ("error", error.line, error.column, error.msg) == whole
    assert error.text == "".join(pulled)


def test_text_before_a_fence_is_prose_and_json_arrives_at_the_end() -> None:
    text = "Thinking: a,b\nnot: [KTOF\n```json\n[1, 2, 3]\n```"
    values = list(
        KaizenOutputParser().parse_stream(text[i : i + 3] for i in range(0, len(text), 3))
    )
    # The first line read as KTOF until the fence showed it was prose; the JSON comes whole.
    assert values == [{"Thinking": "a,b"}, [1, 2, 3]]
    unfenced = "orders[2]{id}:\n  1\n"
    assert _outcome(lambda: list(KaizenOutputParser().parse_stream([unfenced]))) == _outcome(
        lambda: KaizenOutputParser().parse(unfenced)
    )


@settings(max_examples=200, deadline=None)
@given(
    value=st.dictionaries(st.text(min_size=1, max_size=8), json_values, min_size=1, max_size=4)
    | st.lists(json_values, max_size=5),
    fenced=st.sampled_from(["", "Sure:\n```toon\n{}\n```\nDone.", "```\n{}```", "\n  {}\n\t"]),
    cuts=st.lists(st.integers(0, 10**6), max_size=30),
)
def test_stream_ends_with_what_parse_gives(value: Any, fenced: str, cuts: list[int]) -> None:
    text = fenced.replace("{}", encode(value, format="auto")) if fenced else encode(value)
    _same_as_parse(text, cuts)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list('ab :,\n[]{}#-`"12 \t\r')), max_size=60),
    cuts=st.lists(st.integers(0, 10**6), max_size=20),
)
def test_stream_fails_where_parse_fails(text: str, cuts: list[int]) -> None:
    _same_as_parse(text, cuts)


@pytest.mark.parametrize(
    "text",
    [
        '```\nroot: "q\\"z" x\n\t\n',  # a wrong line, then a tab-only line parse strips
        '```toon\na: 1\nb: "x"\t\n```',  # a tab after the last value: parse strips it
        "```toon\nrows[1]{a,b}:\n  1,x\t\n\t\n \n```",  # ... and blank lines after it
        "```toon\na: 1\n\t\nb: 2\n```",  # a tab-only line inside the body: wrong
        '```toon\na: "x"\t\nb: 2\n```',  # a tab after a value inside the body: wrong
    ],
)
def test_blanks_parse_strips_at_the_end_of_a_fenced_body_are_streamed_alike(text: str) -> None:
    for size in (1, 3, len(text)):
        _same_as_parse(text, list(range(0, len(text), size)))


def _same_as_parse(text: str, cuts: list[int]) -> None:
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    chunks = [text[a:b] for a, b in pairwise(bounds)]
    parser = KaizenOutputParser()
    assert _outcome(lambda: list(parser.parse_stream(chunks))[-1]) == _outcome(
        lambda: parser.parse(text)
    )
