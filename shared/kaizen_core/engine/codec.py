"""KTOF text codec on the official ``toon-format`` package.

Output in the ``"toon"`` format is byte for byte what ``toon-format`` writes
(and so what the TOON spec v4 encode fixtures expect), with two additions the
Kaizen contract asks for:

* ``length_marker`` writes ``[#N]`` (and ``[#N:]`` for keyed objects) in array
  headers. Only headers are touched: the encoder builds them itself, so ``#``
  never lands inside a quoted string or a key.
* ``-0.0`` is written ``-0.0`` so that it decodes back to ``-0.0`` (the spec
  canonicalises it to ``0``; a JSON round trip keeps the sign, and so do we).

The decoder reads everything the spec allows plus

* ``[#N]`` / ``[#N:]`` headers (the ``#`` is dropped before the header is parsed);
* ``-0.0`` style numbers as ``-0.0``;
* in non-strict mode, a malformed array header falls through to a literal key
  (``key[]: 1,2`` is ``{"key[]": "1,2"}``), the spec's optional leniency (§6);
* inline compact JSON: an *unquoted* field value (``key: {...}``) or list item
  (``- [...]``) that starts with ``{`` or ``[`` and parses as JSON is that JSON
  value. (Cells of inline arrays and table rows keep the spec's reading: an
  unquoted ``[]`` cell is the string ``"[]"``.) ``toon-format`` quotes every
  string containing ``{ } [ ] :`` so such a token never stands for a string in
  its output; adaptive encoding (``format="auto"``) uses it for subtrees where
  JSON is cheaper. A whole document that is a JSON object or array is read as
  JSON too.

This module reaches into ``toon_format._encoder`` / ``_decoder`` (pinned to
the 1.x line in ``pyproject.toml``) to extend the codec instead of forking it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from toon_format import _decoder as _td
from toon_format import _encoder as _te
from toon_format._errors import ToonDecodeError
from toon_format._text import _needs_quotes, format_decimal
from toon_format._text import quote as _quote

from .errors import KTOFDecodeError, KTOFEncodeError, locate_column
from .fast_toon import plain_json_bytes
from .parser import KTOFParser, json_error, parse_json_token

__all__ = [
    "KTOFEncoder",
    "compact_json_text",
    "decode_toon",
    "encode_toon",
    "fast_quote",
    "normalize",
    "raise_decode_error",
]


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------


def normalize(data: Any) -> Any:
    """Map host values onto the JSON data model the way ``toon-format`` does.

    A dict or list that is plain JSON to ``orjson`` (see :func:`~.fast_toon.plain_json_bytes`:
    it refuses the values ``toon-format`` maps otherwise) comes back from an ``orjson`` round
    trip, equal and several times faster than the Python walk; anything else takes the walk.
    One exotic value differs: an enum member that also subclasses ``str`` or ``int`` and whose
    ``value`` is not its own text or number (a custom ``__new__`` setting ``_value_``) is
    written as its ``value`` inside a dict or list, where the walk takes the ``str``/``int``
    (as the ``etoon`` paths always have); such a member at the root takes the walk.

    Raises:
        KTOFEncodeError: the value has no JSON/KTOF representation.
    """
    if type(data) is dict or type(data) is list:
        raw = plain_json_bytes(data)
        if raw is not None:
            return orjson.loads(raw)
    try:
        return _te._Normalizer(None, False).normalize(data)
    except RecursionError:
        raise KTOFEncodeError("Object is nested too deeply to encode") from None
    except (TypeError, ValueError) as exc:
        raise KTOFEncodeError(str(exc)) from None


def _decimal_number(value: Any) -> Any:
    if not isinstance(value, Decimal):
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    number = json.loads(format_decimal(value))  # what decoding the KTOF digits gives
    if isinstance(number, float) and not math.isfinite(number):
        raise KTOFEncodeError(f"Decimal {value} is beyond what a JSON number reads back as")
    return number


_COMPACT = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_decimal_number
)


def compact_json_text(value: Any) -> str:
    """Compact JSON (``ensure_ascii=False``) of a :func:`normalize`'d value.

    A finite ``Decimal``, the one value ``normalize`` keeps that JSON lacks (as ``toon-format``
    does), is written as the number that decoding its KTOF digits gives (``2.0`` as ``2``,
    ``1E+30`` as ``1e+30``, more digits than a float holds as the nearest float), so every
    candidate of ``format="auto"`` decodes to the same value.
    """
    return _COMPACT.encode(value)


_JSON_ESCAPE_DIFFERS = re.compile("[\b\f]")
# Built once: json.dumps with a keyword argument builds an encoder on every call.
_JSON_STRING = json.JSONEncoder(ensure_ascii=False).encode


def fast_quote(value: str) -> str:
    """``toon_format``'s ``quote`` via the C JSON encoder (same escapes unless \\b or \\f occur)."""
    if _JSON_ESCAPE_DIFFERS.search(value):
        return _quote(value)
    return _JSON_STRING(value)


def is_negative_zero(value: Any) -> bool:
    """True for the float ``-0.0``."""
    return type(value) is float and value == 0.0 and math.copysign(1.0, value) < 0


class KTOFEncoder(_te._Encoder):
    """``toon-format``'s renderer plus ``[#N]`` headers and signed zero."""

    def __init__(self, indent_size: int, delimiter: str, length_marker: bool) -> None:
        super().__init__(indent_size, delimiter)
        self.mark = "#" if length_marker else ""

    def primitive(self, value: Any) -> str:
        if type(value) is str:
            return fast_quote(value) if _needs_quotes(value, self.delimiter) else value
        if is_negative_zero(value):
            return "-0.0"
        return super().primitive(value)

    def array(self, prefix: str, array: list[Any], depth: int, *, tabular: bool) -> None:
        head = f"{prefix}[{self.mark}{len(array)}{self.symbol}]"
        if all(map(_te._is_primitive, array)):
            self.emit(depth, f"{head}: {self.join(array)}")
            return
        shape = _te._shape(array) if tabular else None
        if shape is not None:
            self.emit(depth, f"{head}{self.field_list(shape)}:")
            for element in array:
                self.emit(depth + 1, self.join(_te._leaves(element, shape)))
            return
        self.emit(depth, head + ":")
        for element in array:
            self.item(element, depth + 1)

    def keyed(self, key: str, obj: dict[str, Any], shape: Any, depth: int) -> None:
        self.emit(depth, f"{key}[{self.mark}{len(obj)}:{self.symbol}]{self.field_list(shape)}:")
        for entry, value in obj.items():
            self.emit(
                depth + 1,
                f"{_te.encode_key(entry)}: {self.join(_te._leaves(value, shape))}",
            )

    def item(self, value: Any, depth: int) -> None:
        if isinstance(value, list) and not value:
            self.emit(depth, f"- [{self.mark}0{self.symbol}]:")
            return
        super().item(value, depth)


def encode_toon(value: Any, *, indent: int, delimiter: str, length_marker: bool) -> str:
    """Encode an already normalized value as spec TOON (options already checked)."""
    encoder = KTOFEncoder(indent, delimiter, length_marker)
    try:
        encoder.root(value)
    except RecursionError:
        raise KTOFEncodeError("Object is nested too deeply to encode") from None
    return "\n".join(encoder.lines)


def raise_decode_error(exc: ToonDecodeError, text: str) -> KTOFDecodeError:
    """Turn a ``toon-format`` error into a :class:`KTOFDecodeError` with a column."""
    line = exc.line if exc.line is not None else 1
    source = exc.source
    if source is None or (source == "" and exc.line is not None):
        lines = text.split("\n")
        source = lines[line - 1] if 0 < line <= len(lines) else ""
    return KTOFDecodeError(exc.msg, line, locate_column(exc.msg, source), text)


def decode_toon(
    text: str,
    *,
    indent: int,
    strict: bool,
    parser_factory: Callable[..., KTOFParser] = KTOFParser,
) -> Any:
    """Decode KTOF text (options already checked); errors carry line and column.

    A document starting with ``{``, or with ``[`` but no root array header (``[3]``, ``[#3|]``,
    ``[3:]``), is JSON (KTOF quotes a key or a string starting so): if it does not parse, the
    error is JSON's.
    """
    body = text.strip(_BLANK)
    head = body[:1]
    if head in ("{", "["):
        ok, value = parse_json_token(body)
        if ok:
            return value
        if head == "{" or not _ROOT_HEADER.match(body):
            raise _json_error(text, body)
    try:
        lines = _td._split_lines(text, indent, strict)
        parser = parser_factory(lines, strict, None, None, None, None)
        try:
            value = parser.document()
        except RecursionError:
            raise ToonDecodeError("Document is nested too deeply to decode") from None
    except ToonDecodeError as exc:
        raise raise_decode_error(exc, text) from None
    return value


_BLANK = " \t\r\n\ufeff"
_ROOT_HEADER = re.compile(r"\[#?[0-9]+[\]:|\t]")


def _json_error(text: str, body: str) -> KTOFDecodeError:
    """Why ``body`` (``text`` without its outer blanks) is not JSON, placed in ``text``."""
    msg, offset = json_error(body)
    position = len(text) - len(text.lstrip(_BLANK)) + offset
    line_start = text.rfind("\n", 0, position) + 1
    return KTOFDecodeError(msg, text.count("\n", 0, position) + 1, position - line_start + 1, text)
