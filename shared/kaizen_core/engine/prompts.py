"""Prompt encoding: whole structured prompts, and JSON blocks embedded in text.

Detection rules for JSON embedded in a string (``find_json_blocks``):

* a block starts at ``{`` or ``[`` that stands at the start of the text or after
  whitespace or one of ``: = ( , ; > ` "`` and parses as a JSON object or array
  (``json.JSONDecoder.raw_decode``);
* it must end at the end of the text, or before whitespace or one of
  ``. , ; : ) ] } ! ? < ` "``;
* its numbers must be ones the rewrite writes as they are: NaN/Infinity (not JSON), numbers
  beyond the float range and decimals with more digits than a float keeps leave the block
  as written (:func:`loads_exact`);
* JSON that tells the model what to write stays JSON: what a code fence labelled ``json``
  holds (the writer asked for JSON there, as in few-shot examples), a JSON Schema or a value
  holding one near its top (tool parameters, output schemas), and an object written on one
  line in the middle of a line of prose that holds no array (a format example such as
  ``(e.g. {"input": "hello"})``, or a value too small to pay for lines of its own);
* empty ``{}`` / ``[]`` are left alone; after any JSON value, a block or one of the above
  left alone (say, JSON quoted in code), the scan resumes past its end, so no part of it is
  rewritten on its own. So it does past what starts like JSON (``{"``, ``[{``, ``[1`` ...)
  but does not parse, a trailing comma, a comment: past its closing bracket, or to the end
  of the text when it has none (a tool result cut off at a size limit): rewriting the arrays
  inside would leave text that is neither JSON nor KTOF.

``encode_json_blocks`` re-encodes each block with the given encode options and
keeps the rewrite only when it is shorter than the original block text. A rewrite that
spans several lines (a table, nested fields) gets lines of its own: a newline is put
before it when text precedes it on its line (a header such as ``users[3]{id,name}:`` is
read right only at the start of a line) and after it when text follows it on its line
(otherwise the prose would read as part of the last row). The records' offsets and
lengths describe the block and its KTOF, without these newlines.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from itertools import islice
from typing import Any

from .api import encode
from .errors import KTOFEncodeError

__all__ = ["JsonBlock", "encode_json_blocks", "encode_prompt", "find_json_blocks", "loads_exact"]

_BEFORE = frozenset(' \t\r\n:=(,;>`"')
_AFTER = frozenset(' \t\r\n.,;:)]}!?<`"')
_PREVIEW = 80


class _Inexact(ValueError):
    """A number that re-encoding would change (the JSON around it is otherwise fine)."""


def _exact_float(token: str) -> float:
    value = float(token)
    if len(token) < 16 and "e" not in token and "E" not in token:
        return value  # 15 significant digits or fewer: a float holds them exactly
    if math.isinf(value) or Decimal(token) != Decimal(repr(value)):
        raise _Inexact(f"{token} is not a number a float holds as written")
    return value


def _reject_constant(token: str) -> Any:
    raise _Inexact(f"{token} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_exact_float, parse_constant=_reject_constant)
_ANY_NUMBER = json.JSONDecoder()


def loads_exact(text: str) -> Any:
    """``json.loads``, refusing (``ValueError``) NaN/Infinity and numbers a float does not hold
    as written (beyond its range, or more digits than it keeps): encoded again, they would
    reach the model changed (``1e400`` as null, ``0.123456789012345678`` rounded)."""
    return _DECODER.decode(text)


JsonBlock = tuple[int, int, Any]
"""``(start_offset, end_offset, value)`` of one embedded JSON block."""

_JSON_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*json[ \t]*\n.*?^[ \t]*(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)
_SCHEMA_WORDS = frozenset(
    {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const", "items", "properties", "format"}
)
_SCHEMA_DEPTH = 4
_SCHEMA_VALUES = 8  # of each object, looked into for a schema (a tool's parameters are third)


def _is_schema(value: dict[str, Any]) -> bool:
    if "$schema" in value:
        return True
    fields = value.get("properties")
    return (
        isinstance(fields, dict)
        and bool(fields)
        and value.get("type", "object") == "object"
        and all(
            isinstance(field, dict) and not _SCHEMA_WORDS.isdisjoint(field)
            for field in fields.values()
        )
    )


def _holds_schema(value: Any, depth: int = _SCHEMA_DEPTH) -> bool:
    """A JSON Schema within ``depth`` levels (of a list, its first item only)."""
    if isinstance(value, dict):
        if _is_schema(value):
            return True
        return depth > 0 and any(
            _holds_schema(item, depth - 1) for item in islice(value.values(), _SCHEMA_VALUES)
        )
    if isinstance(value, list) and value:
        return depth > 0 and _holds_schema(value[0], depth - 1)
    return False


def _inline_object(text: str, start: int, end: int, value: Any) -> bool:
    """An object without arrays written on one line, with prose before and after it there."""
    if not isinstance(value, dict) or any(isinstance(item, list) for item in value.values()):
        return False
    if text.find("\n", start, end) >= 0:
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return bool(text[line_start:start].strip()) and bool(
        text[end : len(text) if line_end < 0 else line_end].strip()
    )


# After an opener, what makes it look like the start of a JSON value.
_JSON_START = re.compile(r'[{\[][ \t\r\n]*(?:"|[{\[\]}0-9-]|true\b|false\b|null\b)')
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _end_of_unparsed(text: str, start: int) -> int:
    """Where the JSON-like value starting at ``start`` that does not parse ends: past its
    closing bracket, else the end of ``text``; ``start + 1`` if it does not look like JSON."""
    if not _JSON_START.match(text, start):
        return start + 1
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text, start):
        token = match.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    return len(text)


def _json_fences(text: str) -> list[tuple[int, int]]:
    if "```" not in text and "~~~" not in text:
        return []
    return [match.span() for match in _JSON_FENCE.finditer(text)]


def find_json_blocks(text: str) -> list[JsonBlock]:
    """Find the JSON objects/arrays embedded in ``text`` (rules in the module docstring)."""
    blocks: list[JsonBlock] = []
    n = len(text)
    fences = _json_fences(text)
    i = 0
    while i < n:
        brace = text.find("{", i)
        bracket = text.find("[", i)
        if brace < 0 and bracket < 0:
            break
        start = brace if bracket < 0 or (0 <= brace < bracket) else bracket
        while fences and fences[0][1] <= start:
            fences.pop(0)
        if fences and fences[0][0] <= start:
            i = fences.pop(0)[1]
            continue
        i = start + 1
        exact = True
        try:
            value, end = _DECODER.raw_decode(text, start)
        except _Inexact:
            exact = False
            value, end = _ANY_NUMBER.raw_decode(text, start)
        except ValueError:
            i = _end_of_unparsed(text, start)
            continue
        except RecursionError:
            continue
        i = end
        if not exact or not value:
            continue
        if (start > 0 and text[start - 1] not in _BEFORE) or (end < n and text[end] not in _AFTER):
            continue
        if _holds_schema(value) or _inline_object(text, start, end, value):
            continue
        blocks.append((start, end, value))
    return blocks


def _line_breaks(text: str, start: int, end: int) -> tuple[str, str]:
    """Newlines that give a multi-line rewrite of ``text[start:end]`` lines of its own."""
    line_start = text.rfind("\n", 0, start) + 1
    before = "\n" if text[line_start:start].strip() else ""
    line_end = text.find("\n", end)
    after = "\n" if text[end : len(text) if line_end < 0 else line_end].strip() else ""
    return before, after


def encode_json_blocks(text: str, **encode_options: Any) -> tuple[str, list[dict[str, Any]]]:
    """Rewrite the JSON blocks embedded in ``text`` as KTOF (or whatever ``format`` picks).

    Returns the rewritten text and one replacement record per rewritten block:
    ``start_offset``/``end_offset`` (in the original text), ``original_length``,
    ``encoded_length``, ``original_preview`` and ``encoded_preview`` (80 characters).
    A block whose encoding (with the newlines that put a multi-line rewrite on lines of
    its own, which ``encoded_length`` counts) is not shorter than its original text is left
    as it is, and so is one that has no KTOF form (nested too deeply to encode): the
    prompt still goes out.

    Raises:
        KTOFOptionError: an encode option cannot be honoured.
    """
    parts: list[str] = []
    replacements: list[dict[str, Any]] = []
    position = 0
    for start, end, value in find_json_blocks(text):
        original = text[start:end]
        try:
            encoded = encode(value, **encode_options)
        except KTOFEncodeError:
            continue
        before, after = _line_breaks(text, start, end) if "\n" in encoded else ("", "")
        if len(before) + len(encoded) + len(after) >= len(original):
            continue
        parts.append(text[position:start])
        parts.append(before + encoded + after)
        position = end
        replacements.append(
            {
                "start_offset": start,
                "end_offset": end,
                "original_length": len(original),
                "encoded_length": len(before) + len(encoded) + len(after),
                "original_preview": original[:_PREVIEW],
                "encoded_preview": encoded[:_PREVIEW],
            }
        )
    if not replacements:
        return text, []
    parts.append(text[position:])
    return "".join(parts), replacements


def encode_prompt(
    prompt: Any, *, auto_detect_json: bool = True, **encode_options: Any
) -> tuple[str, dict[str, Any]]:
    """Encode a prompt as the contract's ``optimize/request`` and ``prompts/encode`` do.

    A dict or list is encoded whole (``meta`` is empty). A string with
    ``auto_detect_json`` has its embedded JSON blocks rewritten in place; ``meta`` then
    holds ``auto_detected_json``, ``embedded_json_count``, ``auto_detection_applied``
    and, when the rewritten text is shorter than the plain encode (the string as one
    KTOF value), ``segments_schema: "text_with_ktof"`` and ``replacements``.

    Returns:
        ``(result, meta)``.
    """
    plain = encode(prompt, **encode_options)
    if not isinstance(prompt, str) or not auto_detect_json:
        return plain, {}
    segmented, replacements = encode_json_blocks(prompt, **encode_options)
    applied = bool(replacements) and len(segmented) < len(plain)
    meta: dict[str, Any] = {
        "auto_detected_json": bool(replacements),
        "embedded_json_count": len(replacements) if applied else 0,
        "auto_detection_applied": applied,
    }
    if not applied:
        return plain, meta
    meta["segments_schema"] = "text_with_ktof"
    meta["replacements"] = replacements
    return segmented, meta
