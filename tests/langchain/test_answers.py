"""``StreamedAnswer``: the chunks shown while an answer streams add up to ``answer_json``'s text.

Properties over whatever the engine writes (tables at the root and under keys, nested
values, fenced or padded, cut into arbitrary chunks) and over arbitrary text, plus the cases
the module docstring names: prose passes through, JSON is held, a broken table is reported.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from kaizen_core import engine

from kaizen_langchain._answers import StreamedAnswer, answer_json

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | st.sampled_from(["a,b", "x: y", "- item", "#tag", "```", "[1]", " pad ", "ünï 字"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows with the same fields (some left out: the adaptive format's optional columns)."""
    fields = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4, unique=True))
    rows = draw(
        st.lists(st.lists(scalars, min_size=len(fields), max_size=len(fields)), max_size=12)
    )
    drop = draw(st.booleans())
    return [
        {f: v for i, (f, v) in enumerate(zip(fields, row)) if not (drop and (i + n) % 3 == 0)}
        for n, row in enumerate(rows)
    ]


documents = (
    tables()
    | st.lists(json_values, max_size=6)
    | st.dictionaries(st.text(min_size=1, max_size=8), tables() | json_values, max_size=4)
)


def stream(text: str, cuts: list[int]) -> tuple[list[str], str, dict[str, Any]]:
    """Feed ``text`` cut at ``cuts``; the pieces shown per chunk, the rest, the metadata."""
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    answer = StreamedAnswer()
    shown = [answer.feed(text[a:b]) for a, b in pairwise(bounds)]
    rest, metadata = answer.finish()
    return shown, rest, metadata


def expected(text: str) -> str:
    decoded = answer_json(text)
    return text if decoded is None else decoded


def wrap(text: str, how: str) -> str:
    return {
        "bare": text,
        "fence": f"```toon\n{text}\n```",
        "fence-no-newline": f"```\n{text}```",
        "padded": f"\n\n  {text}\n\n",
        "crlf-fence": f"```toon\r\n{text}\r\n```",
    }[how]


@settings(max_examples=300, deadline=None)
@given(
    value=documents,
    fmt=st.sampled_from(["auto", "toon"]),
    how=st.sampled_from(["bare", "fence", "fence-no-newline", "padded", "crlf-fence"]),
    cuts=st.lists(st.integers(0, 10**6), max_size=40),
)
@example(value={"0": [{"a": None, "b": "\xa0"}]}, fmt="auto", how="fence", cuts=[])  # a cell
def test_chunks_add_up_to_the_whole_answers_json(
    value: Any, fmt: str, how: str, cuts: list[int]
) -> None:
    text = wrap(engine.encode(value, format=fmt), how)
    shown, rest, metadata = stream(text, cuts)
    assert "".join(shown) + rest == expected(text)
    assert metadata.get("decoded_answer", False) == (answer_json(text) is not None)
    assert "decode_error" not in metadata


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list('ab :,\n[]{}#-`"12 \t\r\xa0')), max_size=60),
    cuts=st.lists(st.integers(0, 10**6), max_size=20),
)
@example(text="Note: x\nmore prose", cuts=[3])
@example(text="# T\nHello\nWorld", cuts=[])
@example(text="a: 1\n\nb: 2", cuts=[1, 2, 3])
@example(text="[1]: a\r ", cuts=[])  # the decoder keeps a "\r" that is not last
def test_any_text_adds_up_or_reports_the_break(text: str, cuts: list[int]) -> None:
    shown, rest, metadata = stream(text, cuts)
    if "decode_error" in metadata:  # JSON went out before the answer broke off
        assert metadata["decode_error"]["answer"] == text
        assert answer_json(text) is None and "".join(shown)
    else:
        assert "".join(shown) + rest == expected(text)


ROWS = [{"id": i, "city": f"city{i}", "temp_c": 10 + i % 7} for i in range(200)]


def pieces(text: str, size: int = 16) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_a_table_streams_as_json_rows_before_the_end() -> None:
    for value in (ROWS, {"summary": "warm", "rows": ROWS, "count": 200}):
        text = engine.encode(value, format="auto")
        answer = StreamedAnswer()
        shown = [answer.feed(piece) for piece in pieces(text)]
        rest, metadata = answer.finish()
        assert sum(1 for s in shown if s) > 100  # rows come out while the answer arrives
        assert json.loads("".join(shown) + rest) == value
        assert metadata == {"decoded_answer": True}


def test_prose_passes_through_once_its_first_line_ends() -> None:
    text = "It is warm in city3.\nBring water,\nand a hat: it is sunny.\n"
    chunks = pieces(text, 4)
    answer = StreamedAnswer()
    shown = [answer.feed(chunk) for chunk in chunks]
    first_line_end = next(i for i, chunk in enumerate(chunks) if "\n" in chunk)
    assert shown[:first_line_end] == [""] * first_line_end
    assert shown[first_line_end] == "".join(chunks[: first_line_end + 1])
    assert shown[first_line_end + 1 :] == chunks[first_line_end + 1 :]
    assert answer.finish() == ("", {})


def test_json_and_key_value_answers_arrive_whole_at_the_end() -> None:
    for text, value in (
        ('{"a": [1, 2], "b": "x"}', {"a": [1, 2], "b": "x"}),
        ("name: Bergen\ntemp_c: 11\n", {"name": "Bergen", "temp_c": 11}),
    ):
        answer = StreamedAnswer()
        assert [answer.feed(chunk) for chunk in pieces(text, 3)] == [""] * len(pieces(text, 3))
        rest, metadata = answer.finish()
        assert json.loads(rest) == value and metadata == {"decoded_answer": True}


def test_an_answer_cut_short_reports_where_it_broke() -> None:
    text = engine.encode({"rows": ROWS}, format="toon")
    cut = text[: text.index("\n  150,") + 1]  # a token limit: 150 of the 200 declared rows
    answer = StreamedAnswer()
    shown = "".join(answer.feed(chunk) for chunk in pieces(cut))
    rest, metadata = answer.finish()
    assert shown.startswith('{"rows":[{"id":0,') and rest == ""
    error = metadata["decode_error"]
    assert error["answer"] == cut and error["line"] == 1
    assert "Declared length 200" in error["message"]


def test_prose_that_first_reads_as_key_value_lines_is_released_unchanged() -> None:
    text = "Note: the rows follow\nsee below\nand more\n"
    answer = StreamedAnswer()
    shown = [answer.feed(chunk) for chunk in pieces(text, 5)]
    rest, metadata = answer.finish()
    assert "".join(shown) + rest == text and metadata == {}
    assert shown[-1]  # released as soon as the decoder refused a line, not at the end
