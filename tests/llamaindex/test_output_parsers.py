"""KaizenOutputParser: instructions, KTOF/JSON/fenced answers, errors with line and column."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from kaizen_core.engine import encode
from llama_index.core import PromptTemplate
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.output_parsers.base import OutputParserException

from kaizen_llamaindex import KaizenOutputParser, KaizenOutputParserError

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
