"""Property: `/v1/decompress` of `/v1/compress` of x is x, for arbitrary JSON, on both hosts.

Every delimiter is a parameter; indent (1-4) and the length marker are drawn per example.
Values include unicode, control characters, empty containers, keys that need quotes,
strings that look like numbers/booleans/null/KTOF syntax, big ints, -0.0 and 1e300.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

TRICKY_STRINGS = [
    "", " ", " pad ", "true", "false", "null", "42", "-7", "05", "1e5", "-3.5e-10", "0.0",
    "a,b", "a|b", "a\tb", "a: b", "- item", "-", "[3]: a,b", "[#2]", "{a,b}:", "key[2]{x}:",
    '"', '""', "\\", "\\n", "\n", "\r\n", "line1\nline2", "\x00", "\x1f\x7f", "#", "# comment",
    "é", "漢字", "😀", "\u2028", "\ufeff",
]  # fmt: skip
TRICKY_KEYS = [
    "",
    "a b",
    "1",
    "-1",
    "true",
    "null",
    "a:b",
    "a,b",
    "a|b",
    "[x]",
    "{y}",
    "- z",
    "#",
    '"q"',
    "a.b",
    "é",
]

strings = st.text(max_size=12) | st.sampled_from(TRICKY_STRINGS)
keys = st.text(max_size=8) | st.sampled_from(TRICKY_KEYS)
numbers = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([-0.0, 0.0, 1e300, -1e300, 1e-7, 5e-324, 0.1, 1e21, 123456789.125])
)
scalars = st.none() | st.booleans() | numbers | strings
tables = st.lists(
    st.fixed_dictionaries({"id": st.integers(), "name": strings, "ok": st.booleans()}),
    min_size=1,
    max_size=4,
)
json_values = st.recursive(
    scalars | tables,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=16,
)
DELIMITERS = [",", "\t", "|"]


def same_json(left: Any, right: Any) -> bool:
    """JSON equality (object key order aside) that tells 1 from True; numbers by value."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right or (math.isnan(left) and math.isnan(right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same_json(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


def round_trip(client: httpx.Client, value: Any, encode_options: dict, indent: int) -> Any:
    encoded = client.post("/v1/compress", json={"data": value, "options": encode_options})
    assert encoded.status_code == 200, encoded.text
    text = encoded.json()["result"]
    assert not text.endswith("\n")
    decoded = client.post(
        "/v1/decompress", json={"data": text, "options": {"indent": indent, "strict": True}}
    )
    assert decoded.status_code == 200, f"{decoded.text}\nKTOF was:\n{text}"
    return decoded.json()["result"]


@pytest.mark.parametrize("delimiter", DELIMITERS, ids=["comma", "tab", "pipe"])
@settings(max_examples=40, deadline=None)
@given(value=json_values, indent=st.integers(min_value=1, max_value=4), length_marker=st.booleans())
def test_round_trip_spec_format(
    kaizen_http: httpx.Client, delimiter: str, value: Any, indent: int, length_marker: bool
) -> None:
    options = {"delimiter": delimiter, "indent": indent, "length_marker": length_marker}
    assert same_json(round_trip(kaizen_http, value, options, indent), value)


@settings(max_examples=30, deadline=None)
@given(
    value=json_values,
    indent=st.integers(min_value=1, max_value=4),
    delimiter=st.sampled_from(DELIMITERS),
)
def test_round_trip_adaptive_format(
    kaizen_http: httpx.Client, value: Any, indent: int, delimiter: str
) -> None:
    options = {"delimiter": delimiter, "indent": indent, "format": "auto"}
    assert same_json(round_trip(kaizen_http, value, options, indent), value)


@pytest.mark.parametrize("delimiter", DELIMITERS, ids=["comma", "tab", "pipe"])
@pytest.mark.parametrize("indent", [1, 2, 3, 4])
def test_every_delimiter_and_indent_on_a_fixed_document(
    kaizen_http: httpx.Client, delimiter: str, indent: int
) -> None:
    document = {
        "users": [
            {"id": 1, "name": "Ada, Countess", "tags": ["x|y", "z\tw"]},
            {"id": 2, "name": "Bob", "tags": []},
        ],
        "rows": [{"a": 1, "b": "true"}, {"a": -0.0, "b": "null"}],
        "nested": {"deep": {"list": [[1, 2], [3, [4, {"k": "v"}]]], "empty": {}}},
        "big": 2**80,
        "tiny": 1e-300,
        "huge": 1e300,
    }
    options = {"delimiter": delimiter, "indent": indent, "length_marker": "#"}
    assert same_json(round_trip(kaizen_http, document, options, indent), document)
