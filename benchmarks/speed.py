"""Encode/decode speed of ours against ``json`` and ``toon-format`` in one run; streaming decode."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import toon_format

from benchmarks.datasets import SEED, Dataset, employees
from benchmarks.formats import exact_equal, tool_payloads
from benchmarks.timing import median_seconds, paired_ratio

ENCODERS = ("json.dumps", "toon_format.encode", "ours toon", "ours auto", "ours auto, new shapes")
RATIOS = ("ours toon", "ours auto", "ours auto, new shapes")
DECODERS = ("json.loads", "toon_format.decode", "ours decode")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class SpeedRow:
    """Median seconds per dataset for each encoder and decoder, and paired encode ratios."""

    dataset: str
    tabular: bool
    encode: dict[str, float]
    decode: dict[str, float]
    ratios: dict[str, float]

    def encode_ratio(self, encoder: str) -> float:
        """json.dumps time / ``encoder`` time, timed back to back (:func:`paired_ratio`):
        1.0 or more means at least json.dumps' throughput."""
        return self.ratios[encoder]


def _uncached(function: Callable[[Any], Any], *, delimiters: bool) -> Callable[[Any], Any]:
    """``function`` with the engine's cache of adaptive encodings emptied before each call.

    Timing one value over and over would otherwise measure cache hits; a new payload (the
    common case in front of an LLM call) pays the full encode. ``delimiters`` also forgets the
    delimiters chosen for table shapes: the first block of its shapes the process sees.
    Without it, the next blocks of shapes seen before (a tool's next result): what is
    remembered depends on the shapes only, so timing one value stands for new values.
    """
    from kaizen_core.engine.adaptive import clear_cache

    def call(value: Any) -> Any:
        clear_cache(delimiters=delimiters)
        return function(value)

    return call


def _each(function: Callable[[Any], Any], values: list[Any]) -> Callable[[], None]:
    def run() -> None:
        for value in values:
            function(value)

    return run


def measure_codec_speed(datasets: list[Dataset], *, repeat: int = 5) -> list[SpeedRow]:
    """Encode and decode medians for every dataset (a transcript times all its tool payloads)."""
    from kaizen_core import engine

    def auto(value: Any) -> str:
        return engine.encode(value, format="auto", model="gpt-4o")

    rows = []
    for dataset in datasets:
        values = [dataset.data] if dataset.kind == "value" else tool_payloads(dataset)
        encoders: dict[str, Callable[[Any], Any]] = {
            "json.dumps": _compact,
            "toon_format.encode": toon_format.encode,
            "ours toon": lambda value: engine.encode(value, format="toon"),
            "ours auto": _uncached(auto, delimiters=False),
            "ours auto, new shapes": _uncached(auto, delimiters=True),
        }
        encode = {
            name: median_seconds(_each(fn, values), repeat=repeat) for name, fn in encoders.items()
        }
        baseline = _each(encoders["json.dumps"], values)
        ratios = {name: paired_ratio(baseline, _each(encoders[name], values)) for name in RATIOS}
        texts = {
            "json.loads": [_compact(v) for v in values],
            "toon_format.decode": [toon_format.encode(v) for v in values],
            "ours decode": [engine.encode(v, format="auto", model="gpt-4o") for v in values],
        }
        decoders: dict[str, Callable[[str], Any]] = {
            "json.loads": json.loads,
            "toon_format.decode": toon_format.decode,
            "ours decode": engine.decode,
        }
        decode = {
            name: median_seconds(_each(decoders[name], texts[name]), repeat=repeat)
            for name in DECODERS
        }
        rows.append(SpeedRow(dataset.name, dataset.tabular, encode, decode, ratios))
    return rows


@dataclass
class StreamResult:
    """Streaming decode of a table fed in small chunks against one-shot decode of the same text."""

    rows: int
    chunk_size: int
    chunks: int
    characters: int
    one_shot_seconds: float
    stream_seconds: float
    rows_emitted: int
    exact: bool
    ratio: float  # streaming time / one-shot time, timed back to back (paired_ratio)


def measure_streaming(*, rows: int = 1000, chunk_size: int = 8, repeat: int = 5) -> StreamResult:
    """Feed a ``rows``-row employee table to ``StreamDecoder`` in ``chunk_size``-char chunks."""
    from kaizen_core.engine import StreamDecoder, decode, encode

    value = employees(random.Random(SEED), rows)
    text = encode(value, format="toon")
    chunks = [text[start : start + chunk_size] for start in range(0, len(text), chunk_size)]
    emitted: list[int] = []

    def stream() -> Any:
        decoder = StreamDecoder()
        completed = 0
        for chunk in chunks:
            completed += len(decoder.feed(chunk))
        result = decoder.close()
        emitted.append(completed)
        return result

    exact = exact_equal(stream(), value) and exact_equal(decode(text), value)
    one_shot = median_seconds(lambda: decode(text), repeat=repeat)
    streamed = median_seconds(stream, repeat=repeat)
    ratio = paired_ratio(stream, lambda: decode(text))
    return StreamResult(
        rows, chunk_size, len(chunks), len(text), one_shot, streamed, emitted[0], exact, ratio
    )
