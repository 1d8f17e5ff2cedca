"""The compiled ``etoon`` path of format="toon": byte-identical to the Python codec, or unused."""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import toon_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kaizen_core.engine import decode, encode
from kaizen_core.engine.codec import encode_toon, normalize
from kaizen_core.engine.fast_toon import (
    encode_fast_toon,
    etoon_identical,
    json_bytes,
    plain_json_bytes,
)

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .engine_strategies import JSON_VALUES, same_json
except ImportError:
    from engine_strategies import JSON_VALUES, same_json  # type: ignore[no-redef]

FIXTURES = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "toon-spec-v4" / "fixtures" / "encode"
)

# Characters around which TOON's quoting and escaping rules turn.
_ALPHABET = list('aZ_09.-+#$@ :,|\t"\\[]{}?!/é\ufeff\x7f\x00\n\r\x08\x0c\u2028') + ["🎉"]
TEXT = st.text(alphabet=st.sampled_from(_ALPHABET), max_size=6)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.1, 1.5, -2.25, 1e-5, 123456.789, 9007199254740992.0, 1e15]),
    TEXT,
)


def _tables(children: Any) -> Any:
    return st.lists(TEXT, min_size=1, max_size=3, unique=True).flatmap(
        lambda keys: st.lists(
            st.fixed_dictionaries({key: children for key in keys}), min_size=1, max_size=4
        )
    )


CHARACTER_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(TEXT, children, max_size=4),
        _tables(children),
        _tables(SCALARS).map(lambda rows: {f"k{i}": row for i, row in enumerate(rows)}),
    ),
    max_leaves=24,
)
VALUES = st.one_of(JSON_VALUES, CHARACTER_VALUES)


def _python_codec(value: Any, indent: int, delimiter: str, length_marker: bool) -> str:
    return encode_toon(
        normalize(value), indent=indent, delimiter=delimiter, length_marker=length_marker
    )


def _encode_cases() -> list[Any]:
    if not FIXTURES.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no fixtures at {FIXTURES}"))]
    return [
        pytest.param(case, id=f"{path.stem}: {case['name']}")
        for path in sorted(FIXTURES.glob("*.json"))
        for case in json.loads(path.read_text(encoding="utf-8"))["tests"]
    ]


@pytest.mark.parametrize("case", _encode_cases())
def test_spec_fixture_through_etoon(case: dict[str, Any]) -> None:
    """Every encode fixture: the etoon path writes the expected text, or declines."""
    options = case.get("options", {})
    text = encode_fast_toon(
        case["input"],
        indent=options.get("indentSize", 2),
        delimiter=options.get("delimiter", ","),
        length_marker=False,
    )
    if isinstance(case["input"], (dict, list)) and not _hash_leading(case["input"]):
        assert text == case["expected"]
    else:
        assert text is None


def _hash_leading(value: Any) -> bool:
    return '"#' in json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize("length_marker", [False, True])
@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES, indent=st.integers(min_value=1, max_value=4))
def test_etoon_path_equals_python_codec(
    value: Any, indent: int, delimiter: str, length_marker: bool
) -> None:
    text = encode_fast_toon(value, indent=indent, delimiter=delimiter, length_marker=length_marker)
    if text is not None:
        assert text == _python_codec(value, indent, delimiter, length_marker)
        assert same_json(decode(text, indent=indent), value)


@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES, indent=st.integers(min_value=1, max_value=4))
def test_etoon_path_equals_toon_format(value: Any, indent: int, delimiter: str) -> None:
    text = encode_fast_toon(value, indent=indent, delimiter=delimiter, length_marker=False)
    if text is not None:
        assert text == toon_format.encode(value, indent_size=indent, delimiter=delimiter)


@pytest.mark.parametrize(
    "value",
    [
        {"big": 1e300, "tiny": 5e-324, "small": 1e-7},  # exponents TOON keeps
        {"x": 2.0**60, "y": -1.2345678901234567e19},  # exact digits of large integral floats
        {"z": -0.0, "rows": [{"a": -0.0}, {"a": 1}]},  # signed zero
        {"$ref": "#/defs/a", "@type": "Thing"},  # keys etoon leaves bare
        {"tags": ["#a", "b"], "n": "$5", "at": "@home"},
        {"n": 2**64},  # beyond orjson's integers
        {1: "a"},  # non-string key
        {"when": date(2025, 1, 2), "at": datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc)},
        {"d": Decimal("1.50")},
        {"s": {3, 1, 2}},
    ],
    ids=repr,
)
def test_values_etoon_writes_differently_take_the_python_codec(value: Any) -> None:
    assert encode_fast_toon(value, indent=2, delimiter=",", length_marker=False) is None
    assert encode(value) == _python_codec(value, 2, ",", False)


def test_non_json_host_values_match_the_normalized_encoding() -> None:
    class Color(enum.Enum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    @dataclasses.dataclass
    class Point:
        x: int
        y: tuple[int, int]

    value = {
        "id": uuid.UUID(int=7),
        "color": Color.RED,
        "level": Level.HIGH,
        "pair": (1, 2),
        "point": Point(1, (2, 3)),
        "rows": [{"c": Color.RED, "t": (1,)}, {"c": Color.RED, "t": (2,)}],
    }
    for delimiter in (",", "\t", "|"):
        assert encode(value, delimiter=delimiter) == _python_codec(value, 2, delimiter, False)


def test_substrings_that_only_look_risky_cost_speed_not_correctness() -> None:
    value = {"note": 'e-mail 1e-9 -0.0 "#x', "rows": [{"a": "re-run"}, {"a": "x"}]}
    assert json_bytes(value) is None
    assert json_bytes({"rows": [{"a": "re-run"}, {"a": "x"}]}) is not None
    assert encode(value) == _python_codec(value, 2, ",", False)


def test_length_markers_only_in_headers() -> None:
    value = {
        "items": [{"id": 1, "t": "[2]: x"}, {"id": 2, "t": "a[3]"}],
        '"q"[1]': [1, 2],
        "keyed": {"a": {"n": 1}, "b": {"n": 2}},
        "lists": [[1, 2], [], {"k": [3]}],
        "empty": [],
    }
    text = encode_fast_toon(value, indent=2, delimiter=",", length_marker=True)
    assert text == _python_codec(value, 2, ",", True)
    assert "items[#2]{id,t}:" in text and "keyed[#2:]{n}:" in text
    assert '"[2]: x"' in text and '"a[3]"' in text and "- [#0]:" in text
    assert same_json(decode(text), value)


@pytest.mark.parametrize("indent", [1, 3, 4, 8])
def test_reindentation(indent: int) -> None:
    value = {
        "a": {"b": {"c": [{"x": " lead", "y": 1}, {"x": "\tt", "y": 2}]}},
        "l": [[1], {"k": 2}],
    }
    text = encode_fast_toon(value, indent=indent, delimiter="\t", length_marker=False)
    assert text == _python_codec(value, indent, "\t", False)
    assert same_json(decode(text, indent=indent), value)


@pytest.mark.parametrize(
    ("value", "differs"),
    [
        ([-0.0], True),  # a sign right after the opening bracket
        ([1e-7], True),
        ([1e16], True),
        ({"@id": 1}, True),
        ([-0.01, -0.0001, "e-mail", "a+b", "a@b", "x#1"], False),
    ],
    ids=repr,
)
def test_differing_values_are_found(value: Any, differs: bool) -> None:
    assert etoon_identical(orjson.dumps(value)) is not differs


@pytest.mark.parametrize("filler", ["2025-01-0{}", "a@b{}.test", "x+{}", "a#{}$"])
@pytest.mark.parametrize(
    ("late", "differs"),
    [({"n": -0.0}, True), ({"n": 1e-9}, True), ({"n": 2.5e20}, True), ({"n": -1.5}, False)]
    + [({lead + "key": 1}, True) for lead in "#$@"],
    ids=repr,
)
def test_checks_cover_data_dense_in_the_rare_bytes(filler: str, late: Any, differs: bool) -> None:
    """Rare bytes are visited one by one while sparse, then the rest is searched at once:
    a differing value is found after a few, after many sparse and after many dense ones."""
    for count, spacing in ((5, 0), (40, 0), (3000, 0), (60, 400)):
        rows = [{"v": filler.format(i) + " " * spacing, "n": i} for i in range(count)]
        assert etoon_identical(orjson.dumps(rows)), (filler, count)
        assert etoon_identical(orjson.dumps([*rows, late])) is not differs, (filler, count)


class _Color(enum.Enum):
    RED = "red"
    NESTED = (1, 2)


class _Level(enum.IntEnum):
    HIGH = 3


def _identical(a: Any, b: Any) -> bool:
    """Same JSON value, same types (1 is not 1.0), same key order, same sign of zero."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(_identical(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(map(_identical, a, b))
    if type(a) is float:
        return repr(a) == repr(b)
    return bool(a == b)


HOST_VALUES = st.recursive(
    st.one_of(
        SCALARS,
        st.floats(),  # NaN and infinities become null
        st.integers(),  # beyond 64 bits: left to the Python walk
        st.sampled_from(
            [uuid.UUID(int=7), (1, "a"), date(2025, 1, 2), Decimal("1.5"), _Color.RED]
            + [_Color.NESTED, _Level.HIGH, {1, 2}]
        ),
        st.sampled_from(["\ud800", "a\udfffb"]),  # unpaired surrogates: refused either way
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(TEXT, children, max_size=4),
        st.dictionaries(st.integers(0, 3), children, max_size=2),  # keys that are not strings
    ),
    max_leaves=16,
)


def _normalize_counting_walks(value: Any) -> tuple[Any, int]:
    """``normalize(value)`` and how many times it fell back to toon-format's walk."""
    from unittest.mock import patch

    from kaizen_core.engine import codec

    walks = 0
    walker = codec._te._Normalizer

    def counted(*args: Any) -> Any:
        nonlocal walks
        walks += 1
        return walker(*args)

    with patch.object(codec._te, "_Normalizer", counted):
        return normalize(value), walks


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(VALUES, HOST_VALUES))
def test_normalize_equals_the_toon_format_walk(value: Any) -> None:
    """The orjson round trip of plain JSON is what toon-format's own walk returns, or unused."""
    from kaizen_core.engine.errors import KTOFEncodeError
    from toon_format import _encoder as _te

    try:
        expected = _te._Normalizer(None, False).normalize(value)
    except (TypeError, ValueError):
        with pytest.raises(KTOFEncodeError):
            normalize(value)
        return
    result, walks = _normalize_counting_walks(value)
    assert _identical(result, expected)
    if type(value) in (dict, list) and plain_json_bytes(value) is not None:
        assert walks == 0  # plain JSON containers take the orjson round trip


def test_normalize_of_a_deep_value_takes_the_walk() -> None:
    value: Any = 1
    for _ in range(300):  # deeper than orjson serializes
        value = [value]
    result, walks = _normalize_counting_walks(value)
    assert walks == 1 and _identical(result, value)
    assert _normalize_counting_walks([[1]]) == ([[1]], 0)


def test_normalize_writes_an_enum_members_value_inside_containers() -> None:
    """The one documented difference from the walk (see codec.normalize)."""

    class Labelled(str, enum.Enum):
        def __new__(cls, text: str, label: str) -> Labelled:
            member = str.__new__(cls, text)
            member._value_ = label
            return member

        A = ("a", "label")

    assert normalize({"x": Labelled.A}) == {"x": "label"}
    assert normalize(Labelled.A) == "a"
