"""``StreamedAnswer``: the chunks shown while an answer streams add up to ``answer_json``'s text.

Properties over whatever the engine writes (tables at the root and under keys, nested
values, fenced or padded, cut into arbitrary chunks), over flat ``key: value`` prose and over
arbitrary text, plus the cases the module docstring names: prose (flat key/value lines too)
stays as written, only structured answers become JSON, JSON is held, a broken table is reported.
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


_PROSE_KEYS = ["Answer", "Note", "Reason", "Source", "Step 1", "Tip", "See https", "Time"]
_PROSE_VALUES = [
    "42",
    "the weather is fine.",
    "sunny, with a light breeze: bring a hat",
    "https://example.com/forecast?city=Bergen#today",
    "10:30",
    "- keep it short",
    "it's warm [see below]",
    "true",
    "ünï 字",
]
_PROSE_TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 .,:;!?'/-#ü")), min_size=1, max_size=20
).filter(lambda value: value.strip()[:1].isalnum())


@st.composite
def key_value_prose(draw: st.DrawFn) -> str:
    """Flat ``key: value`` lines as models write prose (no array, no nesting)."""
    keys = draw(st.lists(st.sampled_from(_PROSE_KEYS), min_size=1, max_size=5, unique=True))
    lines = []
    for key in keys:
        value = draw(st.sampled_from(_PROSE_VALUES) | _PROSE_TEXT).strip()
        blank = "\n" if draw(st.booleans()) and lines else ""
        lines.append(f"{blank}{key}: {value}")
    return "\n".join(lines)


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
    value=documents | key_value_prose(),
    fmt=st.sampled_from(["auto", "toon"]),
    how=st.sampled_from(["bare", "fence", "fence-no-newline", "padded", "crlf-fence"]),
    cuts=st.lists(st.integers(0, 10**6), max_size=40),
)
@example(value={"0": [{"a": None, "b": "\xa0"}]}, fmt="auto", how="fence", cuts=[])  # a cell
@example(value="Answer: 42\nSource: https://example.com/a", fmt="auto", how="bare", cuts=[9])
@example(value={"name": "Bergen", "temp_c": 11}, fmt="toon", how="fence", cuts=[3, 20])
def test_chunks_add_up_to_the_whole_answers_json(
    value: Any, fmt: str, how: str, cuts: list[int]
) -> None:
    """``value``: a document the engine writes, or flat key/value prose written as is."""
    text = wrap(value if isinstance(value, str) else engine.encode(value, format=fmt), how)
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
@example(text="a: 1\nb: 2", cuts=[4])  # flat: stays text
@example(text="a: 1\nb:\n  c: 2", cuts=[6])  # nested: JSON
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


def test_json_and_nested_or_marked_objects_arrive_whole_at_the_end() -> None:
    for text, value in (
        ('{"a": [1, 2], "b": "x"}', {"a": [1, 2], "b": "x"}),
        ('{"name": "Bergen"}', {"name": "Bergen"}),  # JSON: even a flat object
        ("city:\n  name: Bergen\n  temp_c: 11\n", {"city": {"name": "Bergen", "temp_c": 11}}),
        ("```toon\nname: Bergen\ntemp_c: 11\n```", {"name": "Bergen", "temp_c": 11}),
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


@settings(max_examples=200, deadline=None)
@given(
    prose=key_value_prose(),
    how=st.sampled_from(["bare", "padded", "fence-no-newline"]),
    cuts=st.lists(st.integers(0, 10**6), max_size=20),
)
def test_flat_key_value_prose_stays_as_written(prose: str, how: str, cuts: list[int]) -> None:
    text = wrap(prose, how)  # bare, padded, or in a fence not marked as data
    assert isinstance(engine.decode(prose), dict)  # it does read as KTOF: a flat object
    assert answer_json(text) is None
    shown, rest, metadata = stream(text, cuts)
    assert "".join(shown) + rest == text and metadata == {}


@settings(max_examples=100, deadline=None)
@given(prose=key_value_prose(), label=st.sampled_from(["toon", "ktof", "json", "TOON"]))
def test_a_fence_marked_as_data_decodes_a_flat_object(prose: str, label: str) -> None:
    text = f"```{label}\n{prose}\n```"
    decoded = answer_json(text)
    assert decoded is not None and json.loads(decoded) == engine.decode(prose)
    shown, rest, metadata = stream(text, [5, 17])
    assert "".join(shown) + rest == decoded and metadata == {"decoded_answer": True}


def test_only_structured_answers_become_json() -> None:
    url = "Source: https://example.com/forecast?city=Bergen"
    kept = (
        "Answer: 42",
        "Note: the weather is fine.\nReason: sunny",
        "Time: 10:30\n\nWhere: Bergen: the harbour",
        url,
        "```\nname: Bergen\ntemp_c: 11\n```",  # a bare fence: not marked as data
        "```yaml\nname: Bergen\n```",
        "Summary:",  # a key: line without an indented block
    )
    for text in kept:
        assert answer_json(text) is None, text
    decoded = {
        "city:\n  name: Bergen\n  temp_c: 11": {"city": {"name": "Bergen", "temp_c": 11}},
        "rows[2]{id,city}:\n  1,Oslo\n  2,Bergen": {
            "rows": [{"id": 1, "city": "Oslo"}, {"id": 2, "city": "Bergen"}]
        },
        "note: warm\ntags[2]: sun,wind": {"note": "warm", "tags": ["sun", "wind"]},
        "[2]: Oslo,Bergen": ["Oslo", "Bergen"],
        "items[2]:\n  - a\n  - b": {"items": ["a", "b"]},
        "Answer: [1, 2]": {"Answer": [1, 2]},  # an inline JSON array is an array too
        '```json\n{"answer": 42}\n```': {"answer": 42},
        '{"answer": 42}': {"answer": 42},
        "```ktof\nanswer: 42\n```": {"answer": 42},
    }
    for text, value in decoded.items():
        result = answer_json(text)
        assert result is not None and json.loads(result) == value, text


def test_a_unicode_space_that_ends_a_value_is_kept() -> None:
    for text, value in (
        ("note: warm\ntags[2]: sun,wind\u3000", {"note": "warm", "tags": ["sun", "wind\u3000"]}),
        ("```toon\ncity:\n  name: Bergen\xa0\n```\n", {"city": {"name": "Bergen\xa0"}}),
        ("[2]: a\xa0,b\u3000 \t\n\n", ["a\xa0", "b\u3000"]),  # ASCII blanks still go
    ):
        decoded = answer_json(text)
        assert decoded is not None and json.loads(decoded) == value, text
        for cuts in ([], [len(text) - 1], list(range(len(text)))):
            shown, rest, metadata = stream(text, cuts)
            assert "".join(shown) + rest == decoded and metadata == {"decoded_answer": True}
