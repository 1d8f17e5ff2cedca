"""decode(encode(x)) == x for arbitrary JSON values, every option, both formats."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kaizen_core.engine import decode, encode

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .engine_strategies import JSON_VALUES, TRICKY_STRINGS, same_json
except ImportError:
    from engine_strategies import JSON_VALUES, TRICKY_STRINGS, same_json  # type: ignore[no-redef]


@pytest.mark.parametrize("fmt", ["toon", "auto"])
@pytest.mark.parametrize("length_marker", [False, True, "#"])
@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
@settings(max_examples=60, deadline=None)
@given(value=JSON_VALUES, indent=st.integers(min_value=1, max_value=4))
def test_round_trip(value: Any, indent: int, delimiter: str, length_marker: Any, fmt: str) -> None:
    text = encode(
        value, indent=indent, delimiter=delimiter, length_marker=length_marker, format=fmt
    )
    assert same_json(decode(text, indent=indent), value), text


@pytest.mark.parametrize("fmt", ["toon", "auto"])
def test_negative_zero_keeps_its_sign(fmt: str) -> None:
    value = {"z": -0.0, "zs": [-0.0, 0.0], "rows": [{"a": -0.0}, {"a": 1}]}
    back = decode(encode(value, format=fmt))
    assert math.copysign(1.0, back["z"]) == -1.0
    assert [math.copysign(1.0, x) for x in back["zs"]] == [-1.0, 1.0]
    assert math.copysign(1.0, back["rows"][0]["a"]) == -1.0


@pytest.mark.parametrize("fmt", ["toon", "auto"])
@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
def test_tricky_strings_as_keys_and_values(fmt: str, delimiter: str) -> None:
    value = {
        "as_values": list(TRICKY_STRINGS),
        "as_keys": {s: i for i, s in enumerate(TRICKY_STRINGS)},
        "as_cells": [{"k": s, "n": i} for i, s in enumerate(TRICKY_STRINGS)],
    }
    text = encode(value, delimiter=delimiter, format=fmt)
    assert same_json(decode(text), value)


@pytest.mark.parametrize(
    "value",
    [
        10**30,
        -(2**70),
        1e300,
        -1e300,
        5e-324,
        1e-7,
        2.0**60,
        {},
        [],
        [[]],
        [{}],
        "",
        [""],
        {"": ""},
    ],
)
@pytest.mark.parametrize("fmt", ["toon", "auto"])
def test_edge_values(value: Any, fmt: str) -> None:
    assert same_json(decode(encode(value, format=fmt)), value)
