"""The etoon route of format="auto": byte-identical to the Python adaptive renderer."""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kaizen_core.engine import decode, encode, fast_tables
from kaizen_core.engine.adaptive import encode_tables_fast, render_auto
from kaizen_core.engine.codec import normalize
from kaizen_core.engine.fast_tables import FastAutoEncoder, prepare

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .engine_strategies import TRICKY_STRINGS, same_json
except ImportError:
    from engine_strategies import TRICKY_STRINGS, same_json  # type: ignore[no-redef]

from benchmarks import datasets


# Characters around which adaptive and TOON quoting turn, for cells and keys.
_ALPHABET = list('aZ_09.-+#$@ :,|\t"\\[]{}?!/é\ufeff\x7f\x00\n\x08') + ["🎉"]
TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(_ALPHABET), max_size=6), st.sampled_from(TRICKY_STRINGS)
)
CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([-0.0, 1e-7, 2.0**60, 0.5]),
    TEXT,
)


def _rows(keys: list[str], nested: bool) -> Any:
    row = st.fixed_dictionaries(
        {
            key: (st.fixed_dictionaries({"a": CELLS, "b b": CELLS}) if nested and i == 1 else CELLS)
            for i, key in enumerate(keys)
        }
    )
    return st.lists(row, min_size=2, max_size=6)


TABLES = st.builds(
    lambda keys, nested: (keys, nested),
    st.lists(TEXT, min_size=1, max_size=4, unique=True),
    st.booleans(),
).flatmap(lambda spec: _rows(*spec))
KEYED = st.dictionaries(
    TEXT, st.fixed_dictionaries({"x": CELLS, "y": CELLS}), min_size=2, max_size=5
)
VALUES = st.one_of(
    TABLES,
    st.fixed_dictionaries({"rows": TABLES, "meta": st.dictionaries(TEXT, CELLS, max_size=2)}),
    st.fixed_dictionaries({"data": st.fixed_dictionaries({"items": TABLES}), "n": CELLS}),
    st.fixed_dictionaries({"flags": KEYED}),
    KEYED,
    st.lists(st.fixed_dictionaries({"t": TABLES}), min_size=1, max_size=2),
)


@pytest.mark.parametrize("length_marker", [False, True])
@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES, indent=st.integers(min_value=1, max_value=4))
def test_etoon_tables_equal_the_python_renderer(
    value: Any, indent: int, delimiter: str, length_marker: bool
) -> None:
    """Tables of two rows and more take the etoon route here; the text must not change."""
    with patch.object(fast_tables, "FAST_ROWS", 2):
        expected = render_auto(
            normalize(value), indent=indent, delimiter=delimiter, length_marker=length_marker
        )
        encoder = FastAutoEncoder(indent, delimiter, length_marker)
        encoder.root(prepare(value))
    assert "\n".join(encoder.lines) == expected
    assert same_json(decode(expected, indent=indent), value)


def test_the_etoon_route_is_taken_and_relaxes_quotes() -> None:
    rows = [
        {"n": i, "at": f"2025-01-{i % 28 + 1:02d}T10:00:00Z", "tag": "#x" if i % 2 else "-"}
        for i in range(40)
    ]
    value = {"events": rows}
    encoder = FastAutoEncoder(2, ",", False, strict=True)
    encoder.root(prepare(value))
    text = "\n".join(encoder.lines)
    assert encoder.fast_tables == 1
    assert text == render_auto(value, indent=2, delimiter=",", length_marker=False)
    assert "  0,2025-01-01T10:00:00Z,-" in text  # TOON would quote both cells
    assert '  1,2025-01-02T10:00:00Z,"#x"' not in text


@pytest.mark.parametrize(
    "rows",
    [
        [{"a": i, "b": i} if i % 2 else {"b": i, "a": i} for i in range(40)],  # key order
        [{"a": i, "b": [i]} for i in range(40)],  # a list cell: not a TOON table
        [{"a": i, "b": "x"} for i in range(39)] + [{"a": 1}],  # a missing key
        [{"a": -0.0 if i == 7 else i} for i in range(40)],  # a value etoon writes otherwise
        [{"a": i, "b": [] if i == 39 else "x:y"} for i in range(40)],  # in the last row only
        [{"a": i, "b": [{"k": "v:w"}] if i == 39 else "x:y"} for i in range(40)],  # its colons
        [{"a": i, "b": {} if i == 39 else "x:y"} for i in range(40)],  # an empty object
    ],
    ids=[
        "order",
        "list-cell",
        "missing-key",
        "negative-zero",
        "last-row-list",
        "last-row-objects",
        "last-row-empty-object",
    ],
)
def test_tables_the_route_cannot_render_take_the_general_rules(rows: list[Any]) -> None:
    value = {"rows": rows}
    assert (
        encode_tables_fast(value, indent=2, delimiter=",", length_marker=False, model=None) is None
    )
    assert same_json(decode(encode(value, format="auto")), value)


@lru_cache(maxsize=1)
def _full_sets() -> dict[str, Any]:
    return {dataset.name: dataset.data for dataset in datasets.load_datasets("full")}


@pytest.mark.parametrize(
    "name", ["employees", "time-series", "feature-flags", "contacts", "github-repos"]
)
@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
def test_benchmark_tables_take_the_route(name: str, model: str) -> None:
    if name not in _full_sets():
        pytest.skip(f"{name} is read from the development checkout's shared data, absent here")
    data = _full_sets()[name]
    text = encode_tables_fast(data, indent=2, delimiter=",", length_marker=False, model=model)
    assert text is not None
    assert any(
        text == render_auto(data, indent=2, delimiter=option, length_marker=False)
        for option in (",", "\t")
    )


def test_samples_are_a_small_share_of_large_tables() -> None:
    rows = [{"id": i, "name": f"user {i}", "ok": i % 2 == 0} for i in range(5000)]
    width = len(json.dumps(rows[:8], separators=(",", ":"))) // 8

    def sample_rows(count: int) -> int:
        step = fast_tables._sample_step(count, rows[:8], 2048)
        return count if step is None else len(rows[:count:step])

    assert fast_tables._sample_step(4, rows[:4], 2048) is None  # too few rows to sample
    assert fast_tables._sample_step(512 // width, rows[:8], 2048) is None  # 512 bytes hold all
    assert abs(sample_rows(5000) - 2048 // width) <= 1  # capped at sample_chars
    assert abs(sample_rows(2000) - 2000 // 64) <= 1  # a 64th of the table, above 512 bytes
    assert abs(sample_rows(200) - 512 // width) <= 1  # at least 512 bytes


def test_a_differing_value_outside_the_sample_keeps_the_general_rules() -> None:
    """Samples only feed token counts; the full table is checked before its text is used."""
    rows = [{"n": i, "x": f"v{i}"} for i in range(3000)]
    rows[1] = {"n": -0.0, "x": "v1"}  # etoon writes 0; the sample takes every k-th row from 0
    value = {"rows": rows}
    assert (
        encode_tables_fast(value, indent=2, delimiter=",", length_marker=False, model=None) is None
    )
    assert same_json(decode(encode(value, format="auto")), value)
    assert "-0.0" in encode(value, format="auto")


def test_shapes_and_checks_are_worked_out_once_per_table() -> None:
    value = {"a": [{"k": i, "t": f"2025-01-{i % 28 + 1:02d}"} for i in range(4000)]}
    calls = {"shape": 0, "check": 0}
    shape, check = fast_tables._same_keys_in_order, fast_tables.etoon_identical

    def counted_shape(objects: list[Any]) -> Any:
        calls["shape"] += 1
        return shape(objects)

    def counted_check(raw: bytes, **options: Any) -> bool:
        calls["check"] += 1
        return check(raw, **options)

    with (
        patch.object(fast_tables, "_same_keys_in_order", counted_shape),
        patch.object(fast_tables, "etoon_identical", counted_check),
    ):
        text = encode_tables_fast(value, indent=2, delimiter=",", length_marker=False, model=None)
    assert text in {
        render_auto(value, indent=2, delimiter=option, length_marker=False) for option in ",\t"
    }
    assert calls == {"shape": 1, "check": 1}  # two sample renders and one full render


def test_keyed_tables_with_keys_that_are_not_strings_take_the_general_rules() -> None:
    value = {index: {"a": index, "b": "x"} for index in range(40)}
    assert (
        encode_tables_fast(value, indent=2, delimiter=",", length_marker=False, model=None) is None
    )
    assert decode(encode(value, format="auto")) == {str(key): row for key, row in value.items()}


def _stamps(count: int, first: Any = None) -> list[dict[str, Any]]:
    return [
        {
            "id": first(i) if first else i,
            "at": f"2025-01-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z",
            "note": "a: b" if i % 3 else ":x",
        }
        for i in range(count)
    ]


def _hidden_bytes(value: Any) -> list[bytes]:
    """The JSON bytes etoon was given while encoding ``value`` by the table route."""
    seen: list[bytes] = []
    real = fast_tables.render

    def spy(raw: bytes, delimiter: str) -> str:
        seen.append(raw)
        return real(raw, delimiter)

    with patch.object(fast_tables, "render", spy):
        text = encode_tables_fast(value, indent=2, delimiter=",", length_marker=False, model=None)
    assert text is not None
    assert text in {
        render_auto(normalize(value), indent=2, delimiter=option, length_marker=False)
        for option in ",\t"
    }
    return seen


def test_colons_inside_cells_are_hidden_from_etoon_and_come_back_bare() -> None:
    value = {"events": _stamps(40)}
    seen = _hidden_bytes(value)
    assert seen and all(b"\x7f" in raw and b"T10\x7f" in raw for raw in seen)
    text = encode(value, format="auto")
    assert ",2025-01-01T10:00:00Z," in text and '"' not in text.partition("\n")[2]
    assert same_json(decode(text), value)


@pytest.mark.parametrize(
    ("value", "hidden"),
    [
        ({"events": _stamps(40, first=lambda i: f"id:{i}")}, False),  # a first cell's colon
        ({f"k:{i}": {"at": f"10:{i:02d}", "n": i} for i in range(40)}, False),  # entry keys'
        ({"events": [{"id": i, "a:b": f"10:{i:02d}"} for i in range(40)]}, True),  # flat rows
        (  # a field's colon in a table with nested groups (written as JSON objects)
            {"events": [{"id": i, "g": {"a:b": f"10:{i:02d}"}} for i in range(40)]},
            False,
        ),
        ({"events": [{"id": i, "at": f"10:{i:02d}", "q": 'x":y'} for i in range(40)]}, True),
        ({"events": [{"id": i, "at": f":{i}"} for i in range(40)]}, True),  # flat rows: no keys
        (  # a leading colon in JSON objects would be restored with the keys' colons
            {"events": [{"id": i, "g": {"at": f":{i}"}} for i in range(40)]},
            False,
        ),
        ({"events": [{"id": i, "at": f"{i}"} for i in range(40)]}, False),  # no colon at all
        ({"events": [{"id": i, "at": f"1:{i}", "x": "{}"} for i in range(40)]}, False),  # a {
    ],
    ids=[
        "first-cell",
        "entry-key",
        "field-name",
        "field-name-nested",
        "escaped-quote",
        "leading",
        "leading-nested",
        "no-colon",
        "brace",
    ],
)
def test_colons_are_hidden_only_where_adaptive_output_writes_them_bare(
    value: Any, hidden: bool
) -> None:
    assert all((b"\x7f" in raw) is hidden for raw in _hidden_bytes(value))
    assert same_json(decode(encode(value, format="auto")), value)


def test_the_delimiter_chosen_for_table_shapes_is_remembered() -> None:
    from kaizen_core.engine import adaptive

    counted: list[str] = []
    real = adaptive.counter_for

    def counter(model: str | None) -> Any:
        count = real(model)

        def spy(text: str) -> int:
            counted.append(text)
            return count(text)

        return spy

    def page(start: int) -> dict[str, Any]:
        rows = [
            {"id": i, "name": f"user, {i}", "at": f"2025-01-01T10:{i % 60:02d}Z"}
            for i in range(start, start + 300)
        ]
        return {"users": rows, "page": start}

    def fast(value: Any, **options: Any) -> str | None:
        settings = {"indent": 2, "delimiter": ",", "length_marker": False, "model": "gpt-4o"}
        return encode_tables_fast(value, **{**settings, **options})

    adaptive.clear_cache()
    with patch.object(adaptive, "counter_for", counter):
        first = fast(page(0))
        assert len(counted) == 2  # one sample per delimiter
        chosen = next(
            option
            for option in ",\t"
            if first == render_auto(page(0), indent=2, delimiter=option, length_marker=False)
        )
        second = fast(page(300))  # same shapes, new values: no sample, no count
        assert len(counted) == 2
        assert second == render_auto(page(300), indent=2, delimiter=chosen, length_marker=False)
        fast(page(300), model="gpt-4")  # another tokenizer decides afresh
        fast({"other": page(0)["users"]})  # so does another shape
        assert len(counted) == 6
        adaptive.clear_cache(delimiters=False)
        fast(page(600))
        assert len(counted) == 6
        adaptive.clear_cache()
        fast(page(600))
        assert len(counted) == 8


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
@settings(max_examples=150, deadline=None)
@given(
    cells=st.lists(st.lists(TEXT, min_size=2, max_size=2), min_size=1, max_size=60),
    spacing=st.integers(min_value=0, max_value=600),
)
def test_relaxing_quotes_one_by_one_equals_one_split(
    cells: list[list[str]], spacing: int, delimiter: str, keyed: bool
) -> None:
    # rows of quoted and bare tokens, sparse (long bare cells between) or dense (none)
    filler = "x" * spacing
    if keyed:
        rows = {f"k{i}{a}": {"a": filler, "b": b} for i, (a, b) in enumerate(cells)}
    else:
        rows = [{"a": a, "f": filler, "b": b} for a, b in cells]
    text = fast_tables.render(json.dumps(rows).encode(), delimiter)
    body = text[text.index("\n") :]
    pattern = fast_tables._relax_pattern(delimiter, keyed)
    assert fast_tables._relax(body, pattern) == "".join(filter(None, pattern.split(body)))


@pytest.mark.skipif(sys.version_info < (3, 11), reason="no possessive repeats before 3.11")
@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("delimiter", [",", "\t", "|"])
@settings(max_examples=150, deadline=None)
@given(cells=st.lists(st.lists(TEXT, min_size=2, max_size=2), min_size=1, max_size=30))
def test_the_pattern_without_possessive_repeats_relaxes_the_same(
    cells: list[list[str]], delimiter: str, keyed: bool
) -> None:
    # Python 3.10 builds the patterns without them; on 3.11+ both can be compared
    if keyed:
        rows: Any = {f"k{i}{a}": {"a": a, "b": b} for i, (a, b) in enumerate(cells)}
    else:
        rows = [{"a": a, "b": b} for a, b in cells]
    text = fast_tables.render(json.dumps(rows).encode(), delimiter)
    body = text[text.index("\n") :]
    possessive = fast_tables._relax_pattern(delimiter, keyed)
    with patch.object(fast_tables, "_POSSESSIVE", ""), patch.dict(fast_tables._RELAX, clear=True):
        plain = fast_tables._relax_pattern(delimiter, keyed)
    assert "++" in possessive.pattern and "++" not in plain.pattern
    assert fast_tables._relax(body, plain) == fast_tables._relax(body, possessive)
