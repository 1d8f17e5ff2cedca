"""StreamDecoder against decode(): random chunkings, emitted elements, partial view, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kaizen_core.engine import (
    KTOFDecodeError,
    KTOFOptionError,
    LineCutter,
    StreamDecoder,
    decode,
    encode,
)

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .engine_strategies import JSON_VALUES, same_json
except ImportError:
    from engine_strategies import JSON_VALUES, same_json  # type: ignore[no-redef]


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(cut, len(text)) for cut in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(text[start:point])
        start = point
    pieces.append(text[start:])
    return pieces


def _stream(text: str, pieces: list[str], **options: Any) -> tuple[list[Any], Any]:
    decoder = StreamDecoder(**options)
    emitted: list[Any] = []
    for piece in pieces:
        emitted.extend(decoder.feed(piece))
    return emitted, decoder.close()


@settings(max_examples=150, deadline=None)
@given(
    value=JSON_VALUES,
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    fmt=st.sampled_from(["toon", "auto"]),
    delimiter=st.sampled_from([",", "\t", "|"]),
    indent=st.integers(min_value=1, max_value=3),
)
def test_stream_equals_decode(
    value: Any, cuts: list[int], fmt: str, delimiter: str, indent: int
) -> None:
    text = encode(value, format=fmt, delimiter=delimiter, indent=indent, length_marker=True)
    emitted, result = _stream(text, _chunks(text, cuts), indent=indent)
    assert same_json(result, decode(text, indent=indent))
    assert same_json(result, value)
    if isinstance(result, list):
        assert same_json(emitted, result[: len(emitted)])
    elif isinstance(result, dict):
        arrays = [item for field in result.values() if isinstance(field, list) for item in field]
        assert all(any(row is item for item in arrays) for row in emitted)
    else:
        assert emitted == []


EMPLOYEES = {"employees": [{"id": i, "name": f"Emp {i}", "active": i % 2 == 0} for i in range(50)]}


@pytest.mark.parametrize("size", [1, 7, 64])
def test_rows_arrive_as_lines_complete(size: int) -> None:
    text = encode(EMPLOYEES["employees"])
    decoder = StreamDecoder()
    seen: list[Any] = []
    for start in range(0, len(text), size):
        rows = decoder.feed(text[start : start + size])
        seen.extend(rows)
        # every emitted row's line is complete in what was fed so far
        assert len(seen) <= text[: start + size].count("\n")
    assert len(seen) == 49  # the last row has no newline: it completes at close()
    assert decoder.close() == EMPLOYEES["employees"]
    assert seen == EMPLOYEES["employees"][:49]


def test_partial_is_live_and_grows() -> None:
    text = encode({"title": "report", **EMPLOYEES, "total": 50})
    decoder = StreamDecoder()
    sizes, counts = [], []
    for line in text.splitlines(keepends=True):
        decoder.feed(line)
        partial = decoder.partial
        sizes.append(len(partial.get("employees", [])) if partial else 0)
        counts.append(decoder.completed)
    final = decoder.close()
    assert final == {"title": "report", **EMPLOYEES, "total": 50}
    assert decoder.partial is final
    assert sizes == sorted(sizes) and sizes[-1] == 50
    assert counts == sorted(counts) and counts[-1] == 51  # "title" and 50 rows; "total" at close
    assert decoder.completed == 52


def test_rows_of_a_root_objects_arrays_stream() -> None:
    text = encode({"title": "report", **EMPLOYEES, "total": 50})
    emitted, result = _stream(text, [text[i : i + 10] for i in range(0, len(text), 10)])
    assert emitted == EMPLOYEES["employees"]  # complete once the next field begins
    assert result["total"] == 50


def test_root_list_items_and_extended_tables_stream() -> None:
    value = [{"a": 1, "b": {"c": [1, 2]}}, "x", [1, 2], {"d": None}]
    text = encode(value)
    emitted, result = _stream(text, list(text))
    assert result == value and emitted == value[:2]  # an item completes when the next begins
    logs = {"logs": [{"t": 1, "lvl": "info"}, {"t": 2, "lvl": "err", "error": {"m": "boom"}}] * 5}
    text = encode(logs["logs"], format="auto")
    assert "error?" in text
    emitted, result = _stream(text, [text[i : i + 5] for i in range(0, len(text), 5)])
    assert result == logs["logs"] and emitted == logs["logs"][:9]


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2],\n "b": {"c": null}}',
        "hello",
        "42",
        "",
        "[]",
        "[2:]{v}:\n  a: 1\n  b: 2",
        "[3]: a,b,c",
    ],
)
def test_documents_read_at_close(text: str) -> None:
    emitted, result = _stream(text, list(text))
    assert emitted == [] or isinstance(result, list)
    assert result == decode(text)


@pytest.mark.parametrize(
    "text",
    [
        "a:\n   b: 1",
        "items[2]{id,name}:\n  1,Ada\n  2",
        "items[3]{id}:\n  1\n  2",
        "users[2]:\n  - a: 1\n\n  - b: 2",
        'name: "Ada\nage: 3',
        "x: 1\nx: 2",
        "[2]: 1,2\njunk: 3",
        "a: 1\n\tb: 2",
        "rows[2]{a}:\n  1\n  2\n    3",
    ],
)
def test_errors_carry_the_position_decode_reports(text: str) -> None:
    with pytest.raises(KTOFDecodeError) as expected:
        decode(text)
    with pytest.raises(KTOFDecodeError) as streamed:
        _stream(text, [text[i : i + 3] for i in range(0, len(text), 3)])
    assert (streamed.value.line, streamed.value.column) == (
        expected.value.line,
        expected.value.column,
    )
    assert streamed.value.text == text


_DAMAGE = st.sampled_from(["indent", "quote", "drop", "repeat", "colon", "tab", "blank", "char"])


def _damaged(text: str, damage: list[tuple[str, int]]) -> str:
    lines = text.split("\n")
    for kind, at in damage:
        index = at % len(lines)
        line = lines[index]
        if kind == "indent":
            lines[index] = " " + line
        elif kind == "quote":
            lines[index] = line + '"'
        elif kind == "drop" and len(lines) > 1:
            del lines[index]
        elif kind == "repeat":
            lines.insert(index, line)
        elif kind == "colon":
            lines[index] = line.replace(":", "", 1)
        elif kind == "tab":
            lines[index] = "\t" + line
        elif kind == "blank":
            lines.insert(index, "")
        elif kind == "char":
            cut = at % (len(line) + 1)
            lines[index] = line[:cut] + ':,|"-#[]{}\\'[at % 11] + line[cut:]
    return "\n".join(lines)


def _error(decoding: Any) -> tuple[int, int, str] | None:
    try:
        decoding()
    except KTOFDecodeError as error:
        return error.line, error.column, str(error)
    return None


@settings(max_examples=400, deadline=None)
@given(
    value=JSON_VALUES,
    fmt=st.sampled_from(["toon", "auto"]),
    damage=st.lists(st.tuples(_DAMAGE, st.integers(min_value=0, max_value=200)), max_size=3),
    size=st.integers(min_value=1, max_value=9),
)
def test_a_damaged_document_fails_alike_streamed_or_not(
    value: Any, fmt: str, damage: list[tuple[str, int]], size: int
) -> None:
    text = _damaged(encode({"root": value}, format=fmt), damage)
    pieces = [text[start : start + size] for start in range(0, len(text), size)]
    whole = _error(lambda: decode(text))
    assert _error(lambda: _stream(text, pieces)) == whole
    if whole is None:
        assert same_json(_stream(text, pieces)[1], decode(text))


def test_decode_reports_the_first_error_met_reading_down() -> None:
    # the first list item ends broken (line 3) before a later line is mis-indented (line 6)
    text = "[2]:\n  - a: 1\n    b 2\n  - c:\n      d: 1\n       e: 2"
    with pytest.raises(KTOFDecodeError) as caught:
        decode(text)
    assert caught.value.line == 3
    with pytest.raises(KTOFDecodeError) as streamed:
        _stream(text, list(text))
    assert (streamed.value.line, streamed.value.column) == (3, caught.value.column)


@pytest.mark.parametrize(
    "text",
    [
        "[2]:\n\n  - 1\n  - 2",  # a blank line before the first item: decode reads it
        "a[2]:\n\n  - x: 1\n  - 2",
        "[2]:\n  - 1\n\n  - 2",  # ... and refuses one between items
        "[2]:\n  - a: 1\n\n    b: 2\n  - 3",  # ... or inside one
        "[2]:\n  - [1]:\n\n    - 1\n  - 2",  # ... or before a nested array's first item
    ],
)
def test_blank_lines_in_list_arrays_are_read_as_decode_reads_them(text: str) -> None:
    assert _error(lambda: _stream(text, list(text))) == _error(lambda: decode(text))
    if _error(lambda: decode(text)) is None:
        assert _stream(text, list(text))[1] == decode(text)


@pytest.mark.parametrize("text", [' {"a": [1, 2]}', '\t[1, {"b": null}]', "  \n  [3]"])
def test_an_indented_json_document_streams_as_decode_reads_it(text: str) -> None:
    assert _stream(text, list(text))[1] == decode(text)


def test_options_are_checked_and_closed_decoder_is_final() -> None:
    with pytest.raises(KTOFOptionError):
        StreamDecoder(indent=0)
    decoder = StreamDecoder(indent=4)
    decoder.feed("a:\n    b: 1\n")
    assert decoder.close() == {"a": {"b": 1}}
    assert decoder.close() == {"a": {"b": 1}}
    with pytest.raises(ValueError):
        decoder.feed("c: 2")
    lenient = StreamDecoder(strict=False)
    lenient.feed("tags[3]: a,b\n")
    assert lenient.close() == {"tags": ["a", "b"]}


def test_snapshot_copies_what_still_grows_and_shares_finished_rows() -> None:
    decoder = StreamDecoder()
    decoder.feed("meta:\n  page: 1\nrows[3]{id,name}:\n  1,Ada\n  2,Bob\n")
    first = decoder.snapshot()
    assert first == {
        "meta": {"page": 1},
        "rows": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}],
    }
    decoder.feed("  3,Cy\n")
    assert len(first["rows"]) == 2  # the snapshot did not grow with the decoder
    assert decoder.partial["rows"][0] is first["rows"][0]  # finished rows are shared
    assert decoder.close() == {**first, "rows": [*first["rows"], {"id": 3, "name": "Cy"}]}


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab \n\r\u2028")), max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=10),
)
def test_line_cutter_cuts_at_line_feeds_only_however_the_text_is_chunked(
    text: str, cuts: list[int]
) -> None:
    cutter = LineCutter()
    lines = [line for piece in _chunks(text, cuts) for line in cutter.feed(piece)]
    *complete, last = text.split("\n")
    assert lines == complete
    assert cutter.rest() == last
    assert cutter.rest() == ""
