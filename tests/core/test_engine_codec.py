"""The codec's options, length markers and decode errors (line, column, raw text)."""

from __future__ import annotations

from typing import Any

import pytest
import toon_format
from kaizen_core.engine import KTOFDecodeError, KTOFEncodeError, KTOFOptionError, decode, encode

SAMPLE = {
    "users": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}],
    "tags": ["a", "b", "c"],
    "nested": [[1, 2], [], {"x": 1}],
    "keyed": {"a": {"v": 1}, "b": {"v": 2}},
    "note": "text [3]: with brackets",
    "key[2]": "bracketed key",
}


@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
@pytest.mark.parametrize("indent", [1, 2, 4])
def test_toon_format_output_is_toon_format_byte_for_byte(delimiter: str, indent: int) -> None:
    expected = toon_format.dumps(SAMPLE, indent_size=indent, delimiter=delimiter)
    assert encode(SAMPLE, indent=indent, delimiter=delimiter) == expected


@pytest.mark.parametrize("marker", [True, "#"])
def test_length_marker_only_in_headers(marker: Any) -> None:
    text = encode(SAMPLE, length_marker=marker)
    assert text.splitlines() == [
        "users[#2]{id,name}:",
        "  1,Ada",
        "  2,Bob",
        "tags[#3]: a,b,c",
        "nested[#3]:",
        "  - [#2]: 1,2",
        "  - [#0]:",
        "  - x: 1",
        "keyed[#2:]{v}:",
        "  a: 1",
        "  b: 2",
        'note: "text [3]: with brackets"',
        '"key[2]": bracketed key',
    ]
    assert decode(text) == SAMPLE


def test_length_marker_with_delimiter_symbol() -> None:
    assert encode({"t": [1, 2]}, delimiter="|", length_marker=True) == "t[#2|]: 1|2"
    assert decode("t[#2|]: 1|2") == {"t": [1, 2]}
    assert decode("[#2\t]{a\tb}:\n  1\t2\n  3\t4") == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]


def test_length_marker_count_is_checked() -> None:
    with pytest.raises(KTOFDecodeError) as info:
        decode("tags[#3]: a,b")
    assert (info.value.line, info.value.column) == (1, 5)


@pytest.mark.parametrize(
    "options",
    [
        {"indent": 0},
        {"indent": -2},
        {"indent": True},
        {"indent": "2"},
        {"delimiter": ";"},
        {"delimiter": ""},
        {"delimiter": ",,"},
        {"length_marker": "*"},
        {"length_marker": 1},
        {"length_marker": "true"},
        {"format": "json"},
        {"model": 4},
    ],
)
def test_encode_options_that_cannot_be_honoured(options: dict[str, Any]) -> None:
    with pytest.raises(KTOFOptionError):
        encode({"a": 1}, **options)


@pytest.mark.parametrize("options", [{"indent": 0}, {"strict": "yes"}, {"indent": 1.5}])
def test_decode_options_that_cannot_be_honoured(options: dict[str, Any]) -> None:
    with pytest.raises(KTOFOptionError):
        decode("a: 1", **options)


def test_unencodable_values() -> None:
    with pytest.raises(KTOFEncodeError):
        encode({"a": object()})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(KTOFEncodeError):
        encode(loop)
    with pytest.raises(KTOFEncodeError):
        encode("\ud800")


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("a:\n   b: 1", 2, 4, "not a multiple"),
        ("a:\n\tb: 1", 2, 1, "Tabs"),
        ("a:\n  \tb: 1", 2, 3, "Tabs"),
        ('name: "Ada', 1, 7, "Unterminated"),
        ('x: 1\ny: 2\nbad: "abc', 3, 6, "Unterminated"),
        ('v: "a\\x"', 1, 6, "escape"),
        ('v: "ok\\u00zz"', 1, 7, "escape"),
        ("tags[3]: a,b", 1, 5, "Declared length 3"),
        ("root:\n  tags[3]: a,b", 2, 7, "Declared length 3"),
        ("items[2]{id,name}:\n  1,Ada\n  2", 3, 3, "Expected 2 values"),
        ("name: Ada\nage: 3\nname: Bob", 3, 1, "Duplicate key"),
        ("outer:\n  name: Ada\n  name: Bob", 3, 3, "Duplicate key"),
        ("a:\n  user", 2, 3, "Expected 'key: value'"),
        ("items[2]:\n  - a\n\n  - b", 3, 1, "Blank line"),
        ('"quoted" trailing', 1, 9, "after closing quote"),
        ("key[x]: 1", 1, 4, "Malformed bracket"),
        ("items[2]{id,name}\n  1,Ada\n  2,Bob", 1, 1, "Expected 'key: value'"),
        ("foo[2]extra: a,b", 1, 7, "Expected ':'"),
        ("a: 1\n    b: 2", 2, 5, "Unexpected indentation"),
        ("[2]: 1,2\njunk: 3", 2, 1, "after the root value"),
        # a document written as JSON that does not parse: JSON's error, not a KTOF reading
        ('{"rows": [1, 2', 1, 15, "Invalid JSON"),
        ("[1, 2", 1, 6, "Invalid JSON"),
        ('\n  {"a": 1,\n "b": 2,}', 3, 9, "Invalid JSON"),
        ('{"a": 1} {"b": 2}', 1, 10, "extra data"),
        ('{"a": 1e999}', 1, 1, "out of range"),
        ("[" * 5000 + "]" * 5000, 1, 1, "nested too deeply"),
    ],
)
def test_decode_error_position(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(KTOFDecodeError) as info:
        decode(text)
    error = info.value
    assert (error.line, error.column) == (line, column), error
    assert fragment in error.msg
    assert error.text == text
    assert str(error) == f"line {line}, column {column}: {error.msg}"
    assert isinstance(error, ValueError)


def test_decode_error_lenient_mode_and_indent() -> None:
    assert decode("a:\n   b: 1", strict=False) == {"a": {"b": 1}}
    assert decode("a:\n    b: 1", indent=4) == {"a": {"b": 1}}
    assert decode("tags[3]: a,b", strict=False) == {"tags": ["a", "b"]}


def test_decode_accepts_bytes_and_rejects_bad_utf8() -> None:
    assert decode("name: Zoë".encode()) == {"name": "Zoë"}
    with pytest.raises(KTOFDecodeError) as info:
        decode(b"name: \xff")
    assert info.value.line == 1


def test_inline_json_values_are_read_as_json() -> None:
    assert decode('a: {"b":[1,2]}\nc: [true,null]') == {"a": {"b": [1, 2]}, "c": [True, None]}
    assert decode('items[2]:\n  - {"x":1}\n  - [1,"a"]') == {"items": [{"x": 1}, [1, "a"]]}
    assert decode('{"a": 1,\n "b": [2]}') == {"a": 1, "b": [2]}
    # A quoted string keeps being a string, and a cell keeps the spec's reading.
    assert decode('a: "{\\"b\\":1}"') == {"a": '{"b":1}'}
    assert decode("t[2]: [],x") == {"t": ["[]", "x"]}
    # Not JSON: still the plain string the spec reads.
    assert decode("a: {not json}") == {"a": "{not json}"}
    # A root array header starts with "[" too: KTOF, not JSON.
    assert [decode(text) for text in ("[2]: 1,2", "[#2|]: 1|2", "[1]:\n  - 5", "[0]:")] == [
        [1, 2],
        [1, 2],
        [5],
        [],
    ]
