"""Spec TOON through the compiled ``etoon`` encoder, where its output is byte-identical.

``etoon`` serializes a value with ``orjson`` and renders the JSON bytes as TOON in Rust,
several times faster than ``json.dumps`` alone. Its output equals ``toon-format``'s
(and so :func:`~kaizen_core.engine.codec.encode_toon`'s) except in these value classes,
which :func:`json_bytes` detects on the JSON bytes and leaves to the Python codec:

* values that are not plain JSON: ``orjson`` is asked to refuse dataclasses, dates and
  times, subclasses of ``str``/``int``/``dict``/``list``, non-string keys, unpaired
  surrogates, integers beyond 64 bits, sets, decimals and anything else unknown to it
  (tuples, UUIDs and enums it writes exactly as :func:`~.codec.normalize` maps them);
* floats that ``orjson`` writes with an exponent (magnitudes from 1e16, or below 1e-4):
  ``etoon`` writes them as plain digits where TOON keeps the exponent (below 1e-6, from
  1e21) and with shortest-repr digits where ``toon-format`` writes a large integral
  float's exact digits (``2.0**60``);
* ``-0.0``, which this engine writes ``-0.0`` (``etoon`` writes ``0``);
* strings starting with ``#``, ``$`` or ``@``: ``etoon`` leaves such keys bare
  (``$ref:``), TOON quotes them.

The checks are substring searches over the bytes, so a string that merely contains such
text (``"e-mail 1e-9"``) also takes the Python codec: slower, never different.

Only the two things ``etoon`` lacks are added to its output, both outside strings:
``indent`` other than 2 (leading spaces of a line are only ever indentation: a string
with leading spaces is quoted) and ``[#N]`` length markers (headers are recognised by
their position: after the indentation, an optional ``- `` and a key, an array header's
``[`` and a digit; keys and values never hold an unquoted ``[``).

Identity is established by the tests: every TOON spec encode fixture, and a property test
comparing this path with the Python codec over arbitrary JSON values for every delimiter,
indent and length marker.
"""

from __future__ import annotations

import re
from typing import Any

import etoon
import orjson

__all__ = ["encode_fast_toon", "json_bytes"]

_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_DIGITS = frozenset(b"0123456789")
_MARK_HEADER = re.compile(r'^( *(?:- )?(?:"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_.]*)?)\[(?=[0-9])')


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is left to the Python codec")


def _after_digit(data: bytes, marker: bytes) -> bool:
    """True when ``marker`` occurs in ``data`` right after an ASCII digit."""
    position = data.find(marker, 1)
    while position > 0:
        if data[position - 1] in _DIGITS:
            return True
        position = data.find(marker, position + len(marker))
    return False


def _negative_zero(data: bytes) -> bool:
    """True when ``data`` holds ``-0.0`` not followed by a digit (how orjson writes -0.0)."""
    position = data.find(b"-0.0")
    while position >= 0:
        end = position + 4
        if end == len(data) or data[end] not in _DIGITS:
            return True
        position = data.find(b"-0.0", end)
    return False


def etoon_identical(data: bytes, *, keys: bool = True) -> bool:
    """Whether ``etoon``'s TOON for these JSON bytes is byte-identical to the Python codec's.

    ``keys=False`` skips the check for strings starting with ``#``, ``$`` or ``@`` (``etoon``
    quotes such *values* as TOON does; only keys differ), for callers that verify the keys
    themselves. A one-byte search (``memchr``) runs first wherever the byte is rare, since
    two-byte searches cost far more.
    """
    if keys:
        for lead in (b"#", b"$", b"@"):
            if lead in data and b'"' + lead in data:
                return False
    if b"+" in data and _after_digit(data, b"e+"):
        return False
    return not (_after_digit(data, b"e-") or _negative_zero(data))


def plain_json_bytes(data: Any) -> bytes | None:
    """Compact JSON bytes of ``data`` if it is plain JSON to ``orjson`` (module docstring)."""
    try:
        return orjson.dumps(data, default=_refuse, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return None


def json_bytes(data: Any) -> bytes | None:
    """Compact JSON bytes of a dict or list that ``etoon`` renders exactly, else None."""
    if type(data) is not dict and type(data) is not list:
        return None
    raw = plain_json_bytes(data)
    return raw if raw is not None and etoon_identical(raw) else None


def render(raw: bytes, delimiter: str) -> str:
    """``etoon``'s TOON (2-space indent) for JSON bytes that passed :func:`json_bytes`."""
    return etoon.dumps(raw, delimiter=delimiter, max_depth=0)  # type: ignore[arg-type]


def reindent(text: str, indent: int) -> str:
    """Turn 2-space indentation into ``indent`` spaces per level."""
    if indent == 2 or "\n " not in text:
        return text
    unit = " " * indent
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(" "):
            body = line.lstrip(" ")
            lines[index] = unit * ((len(line) - len(body)) // 2) + body
    return "\n".join(lines)


def mark_lengths(text: str) -> str:
    """Write ``[#N]`` in every array header (and ``[#N:]`` in keyed headers)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if "[" in line:
            lines[index] = _MARK_HEADER.sub(r"\1[#", line, count=1)
    return "\n".join(lines)


def encode_fast_toon(data: Any, *, indent: int, delimiter: str, length_marker: bool) -> str | None:
    """Spec TOON for ``data`` via ``etoon``, or None when the Python codec must write it."""
    raw = json_bytes(data)
    if raw is None:
        return None
    text = render(raw, delimiter)
    if length_marker:
        text = mark_lengths(text)
    return reindent(text, indent)
