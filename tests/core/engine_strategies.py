"""Hypothesis strategies for JSON values that stress the KTOF codec."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

TRICKY_STRINGS = [
    "",
    " ",
    "  padded ",
    "true",
    "false",
    "null",
    "True",
    "42",
    "-7",
    "3.14",
    "-1.5e3",
    "1e300",
    "05",
    "-0",
    "+1",
    "0x1F",
    "- a",
    "-",
    "- ",
    "#",
    "#comment",
    "a # b",
    "[3]: x,y",
    "[]",
    "{}",
    "[1, 2]",
    '{"a": 1}',
    "a[2]",
    "key: value",
    "a:b",
    ":",
    "a,b",
    "a|b",
    "a\tb",
    "tab\t",
    '"q"',
    'say "hi"',
    "back\\slash",
    "line\nbreak",
    "cr\rlf",
    "\x00\x01\x1f\x7f",
    "\ufeffbom",
    "\ufeff",
    "é ü ñ 中文 🎉",
    "\u2028sep",
    "[#2]: a,b",
    "items[#1]{a}:",
    "x:\n  y: 1",
]

JSON_FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([-0.0, 0.0, 1e300, -1e300, 5e-324, 1e-7, 1e21, 2.0**60, 0.1, 1.5]),
)
JSON_INTS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**53 + 1, -(2**63), 10**30]),
)
STRINGS = st.one_of(st.text(max_size=20), st.sampled_from(TRICKY_STRINGS))
KEYS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(TRICKY_STRINGS),
    st.sampled_from(["id", "name", "a.b", "_x", "x_1", "value"]),
)
PRIMITIVES = st.one_of(st.none(), st.booleans(), JSON_INTS, JSON_FLOATS, STRINGS)


def _records(children: Any) -> Any:
    """Lists of objects sharing keys, so that tables and keyed tables appear."""
    return st.lists(
        st.sampled_from(["id", "name", "x y", "n"]), min_size=1, max_size=3, unique=True
    ).flatmap(
        lambda keys: st.lists(
            st.fixed_dictionaries({key: st.one_of(PRIMITIVES, children) for key in keys}),
            min_size=1,
            max_size=4,
        )
    )


def _ragged_records(children: Any) -> Any:
    """Lists of objects whose keys are ordered subsets of one pool (semi-uniform rows)."""
    pool = ["id", "name", "tags", "error", "x y", "#n", "q?"]
    row = st.lists(st.sampled_from(pool), min_size=1, max_size=5, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries(
            {key: st.one_of(PRIMITIVES, children) for key in sorted(keys, key=pool.index)}
        )
    )
    return st.lists(row, min_size=2, max_size=5)


JSON_VALUES = st.recursive(
    PRIMITIVES,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(KEYS, children, max_size=5),
        _records(children),
        _ragged_records(children),
        _records(PRIMITIVES).map(lambda rows: {f"k{i}": row for i, row in enumerate(rows)}),
    ),
    max_leaves=30,
)


def same_json(a: Any, b: Any) -> bool:
    """JSON equality (objects unordered, 1 == 1.0) that also tells -0.0 from 0.0."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same_json(a[k], b[k]) for k in a)
        )
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(map(same_json, a, b))
        )
    if a is None or b is None or isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
        return type(a) is type(b) and a == b
    if a == 0 and b == 0 and (isinstance(a, float) or isinstance(b, float)):
        return math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)
