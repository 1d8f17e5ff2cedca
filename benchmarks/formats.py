"""The representations compared by the benchmark, how each is written and read, exact equality.

Representations: ``pretty_json`` (indent 2), ``compact_json`` (no spaces), ``toon`` (the
official ``toon-format`` codec with its defaults) and ``ours`` (``kaizen_core.engine.encode`` with
``format="auto"`` for the tokenizer's model). JSON is written with ``ensure_ascii=False``, as
JavaScript's ``JSON.stringify`` does, so counts compare with the TOON project's published ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import toon_format

from benchmarks.datasets import Dataset

FORMATS: tuple[str, ...] = ("pretty_json", "compact_json", "toon", "ours")
FORMAT_LABELS = {
    "pretty_json": "pretty JSON",
    "compact_json": "compact JSON",
    "toon": "toon-format",
    "ours": "Kaizen auto",
}


def _engine() -> Any:
    """``kaizen_core.engine``, imported on first use so the JSON/TOON parts run without it."""
    from kaizen_core import engine

    return engine


def render(value: Any, fmt: str, *, model: str = "gpt-4o") -> str:
    """``value`` written in representation ``fmt`` (``model`` matters for ``ours`` only)."""
    if fmt == "pretty_json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if fmt == "compact_json":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if fmt == "toon":
        return toon_format.encode(value)
    if fmt == "ours":
        return _engine().encode(value, format="auto", model=model)
    raise ValueError(f"unknown format {fmt!r}")


def parser(fmt: str) -> Callable[[str], Any]:
    """The function that reads representation ``fmt`` back."""
    if fmt in ("pretty_json", "compact_json"):
        return json.loads
    if fmt == "toon":
        return toon_format.decode
    if fmt == "ours":
        return _engine().decode
    raise ValueError(f"unknown format {fmt!r}")


def tool_payloads(dataset: Dataset) -> list[Any]:
    """The JSON values carried by the tool messages of a transcript dataset."""
    return [
        json.loads(message["content"])
        for conversation in dataset.data
        for message in conversation
        if message["role"] == "tool"
    ]


def segments(dataset: Dataset, fmt: str, *, model: str = "gpt-4o") -> list[str]:
    """The texts a model would read for ``dataset`` in ``fmt``.

    A value dataset is one text. A transcript is the content of every message, tool contents
    re-written in ``fmt`` and the other messages as they are (the same in every representation).
    """
    if dataset.kind == "value":
        return [render(dataset.data, fmt, model=model)]
    texts = []
    for conversation in dataset.data:
        for message in conversation:
            if message["role"] == "tool":
                texts.append(render(json.loads(message["content"]), fmt, model=model))
            elif message["content"]:
                texts.append(message["content"])
    return texts


def json_characters(dataset: Dataset) -> int:
    """Characters of the dataset's JSON as the benchmark measures it (compact, tool payloads)."""
    return sum(len(text) for text in segments(dataset, "compact_json"))


def round_trip_ok(
    dataset: Dataset, fmt: str, *, model: str = "gpt-4o", number_types: bool = False
) -> bool:
    """True when every value written in ``fmt`` reads back exactly equal (see ``exact_equal``)."""
    read = parser(fmt)
    values = [dataset.data] if dataset.kind == "value" else tool_payloads(dataset)
    return all(
        exact_equal(read(render(value, fmt, model=model)), value, number_types=number_types)
        for value in values
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def exact_equal(left: Any, right: Any, *, number_types: bool = False) -> bool:
    """Equality of JSON values that also checks key order and tells booleans from numbers.

    Numbers compare by value, as JSON defines them (TOON writes ``1.0`` as ``1``); with
    ``number_types`` they must also keep their Python type (int vs float) and the sign of zero.
    """
    if _is_number(left) and _is_number(right) and not number_types:
        return bool(left == right) or (math.isnan(left) and math.isnan(right))
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(
            exact_equal(left[key], right[key], number_types=number_types) for key in left
        )
    if isinstance(left, list):
        return len(left) == len(right) and all(
            exact_equal(a, b, number_types=number_types) for a, b in zip(left, right)
        )
    if isinstance(left, float):
        if math.isnan(left):
            return math.isnan(right)
        return left == right and math.copysign(1.0, left) == math.copysign(1.0, right)
    return bool(left == right)
