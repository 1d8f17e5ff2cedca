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


_QUOTE, _E = ord('"'), ord("e")
# Occurrences of a rare byte are visited one by one, each found by a single-byte (memchr)
# search, as long as they stay sparse: the first 4, then while there is less than one per
# this many bytes so far (a visit costs about what searching that many bytes for the whole
# pattern does). Dense data has the rest searched for the whole pattern at once.
_BYTES_PER_VISIT = 256
_FIRST_VISITS = 4


# A ``-`` of an exponent after a digit, or of ``-0.0`` (a regex scan with a literal first
# byte: one pass for both, about half the cost of two substring searches on dense data).
_MINUS_DIFFERS = re.compile(rb"-(?:(?<=[0-9]e-)|0\.0(?![0-9]))")


def _dense(position: int, visited: int) -> bool:
    return visited >= _FIRST_VISITS and position < visited * _BYTES_PER_VISIT


def _after_digit(data: bytes, marker: bytes, start: int = 1) -> bool:
    """True when ``marker`` occurs in ``data[start:]`` right after an ASCII digit."""
    position = data.find(marker, max(start, 1))
    while position > 0:
        if data[position - 1] in _DIGITS:
            return True
        position = data.find(marker, position + len(marker))
    return False


def _string_starts_with(data: bytes, lead: bytes) -> bool:
    """True when ``lead`` (one byte) follows a quote somewhere in ``data``."""
    position, visited = data.find(lead, 1), 0
    while position >= 0 and not _dense(position, visited):
        if data[position - 1] == _QUOTE:
            return True
        position, visited = data.find(lead, position + 1), visited + 1
    return position >= 0 and data.find(b'"' + lead, position - 1) >= 0


def _plus_differs(data: bytes) -> bool:
    """An exponent ``e+`` after a digit (``+`` is otherwise rare in JSON)."""
    position, visited = data.find(b"+", 1), 0
    while position >= 0 and not _dense(position, visited):
        if data[position - 1] == _E and data[position - 2] in _DIGITS:
            return True
        position, visited = data.find(b"+", position + 1), visited + 1
    return position >= 0 and _after_digit(data, b"e+", position - 1)


def _minus_differs(data: bytes) -> bool:
    """An exponent ``e-`` after a digit, or ``-0.0``: both only ever at a ``-``."""
    position, visited = data.find(b"-", 1), 0
    while position >= 0 and not _dense(position, visited):
        if data[position - 1] == _E and data[position - 2] in _DIGITS:
            return True
        end = position + 4
        if data[position:end] == b"-0.0" and (end == len(data) or data[end] not in _DIGITS):
            return True
        position, visited = data.find(b"-", position + 1), visited + 1
    return position >= 0 and _MINUS_DIFFERS.search(data, position) is not None


def etoon_identical(data: bytes, *, keys: bool = True) -> bool:
    """Whether ``etoon``'s TOON for these JSON bytes is byte-identical to the Python codec's.

    ``keys=False`` skips the check for strings starting with ``#``, ``$`` or ``@`` (``etoon``
    quotes such *values* as TOON does; only keys differ), for callers that verify the keys
    themselves. Each check starts from a byte every differing value holds (``#``, ``$``, ``@``,
    ``+``, ``-``), visited with single-byte searches (``memchr``) while it stays rare; only
    data dense in it is searched for the whole pattern.
    """
    if keys and any(_string_starts_with(data, lead) for lead in (b"#", b"$", b"@")):
        return False
    return not (_plus_differs(data) or _minus_differs(data))


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
