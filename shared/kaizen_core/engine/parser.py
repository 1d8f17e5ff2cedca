"""The KTOF parser: ``toon-format``'s recursive-descent parser plus Kaizen's extensions.

Extensions (listed in :mod:`.codec`) are ``[#N]`` headers, signed zero, inline JSON values
and documents, the non-strict literal-key fall-through, and the extended tables of
:mod:`.tables`. Scanning for quotes, delimiters and escapes uses regular expressions instead
of ``toon-format``'s character loops (same results, several times faster on long strings).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from toon_format import _decoder as _td
from toon_format._errors import ToonDecodeError

from .tables import Column, is_extended, leaf_count, split_cells

__all__ = [
    "KTOFParser",
    "find_unquoted",
    "json_error",
    "parse_json_token",
    "parse_json_value",
    "quoted_end",
    "split_unquoted",
]

# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def _finite_float(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise ValueError(f"Number {token} is out of range")
    return value


_JSON = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)


def parse_json_value(token: str) -> tuple[bool, Any]:
    """Read ``token`` as exactly one JSON value of any type: ``(True, value)`` or ``(False, None)``."""
    try:
        value, end = _JSON.raw_decode(token)
    except (ValueError, RecursionError):
        return False, None
    return (True, value) if end == len(token) else (False, None)


def json_error(token: str) -> tuple[str, int]:
    """Why ``token`` is not exactly one JSON value, and the 0-based offset where it shows."""
    try:
        _, end = _JSON.raw_decode(token)
    except json.JSONDecodeError as exc:
        return f"Invalid JSON: {exc.msg}", exc.pos
    except RecursionError:
        return "JSON document is nested too deeply to decode", 0
    except ValueError as exc:  # a number beyond the float range, NaN or Infinity
        return f"Invalid JSON: {exc}", 0
    return "Invalid JSON: extra data after the document", len(token) - len(token[end:].lstrip())


def parse_json_token(token: str) -> tuple[bool, Any]:
    """Read ``token`` as one compact JSON object/array: ``(True, value)`` or ``(False, None)``."""
    try:
        value, end = _JSON.raw_decode(token)
    except (ValueError, RecursionError):
        return False, None
    if end != len(token):
        return False, None
    return True, value


_QUOTED_OR = {
    char: re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?$)|' + re.escape(char), re.DOTALL)
    for char in (":", "[", ",", "\t", "|")
}
_QUOTED = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def quoted_end(text: str, start: int) -> int:
    """Index just past the quoted token at ``start``, or -1 if it is unterminated."""
    match = _QUOTED.match(text, start)
    return match.end() if match else -1


_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.|$)", re.DOTALL)
_SIMPLE_ESCAPE_BODIES = frozenset('\\"nrt')
_LENIENT_JSON = json.JSONDecoder(strict=False)


def find_unquoted(text: str, char: str, start: int = 0) -> int:
    """Index of the first ``char`` outside double quotes, or -1 (regex, not a char loop)."""
    if '"' not in text:
        return text.find(char, start)
    for match in _QUOTED_OR[char].finditer(text, start):
        if match.group() == char:
            return match.start()
    return -1


def split_unquoted(text: str, delimiter: str) -> list[str]:
    """Split on unquoted delimiters and trim each token (as ``toon_format``'s ``_split``)."""
    if '"' not in text:
        return [token.strip(" ") for token in text.split(delimiter)]
    tokens = []
    start = 0
    for match in _QUOTED_OR[delimiter].finditer(text):
        if match.group() == delimiter:
            tokens.append(text[start : match.start()].strip(" "))
            start = match.end()
    tokens.append(text[start:].strip(" "))
    return tokens


_HEADER_FALLTHROUGH = frozenset(
    {"Malformed bracket segment", "Expected ':' after the array header"}
)


class KTOFParser(_td._Parser):
    """``toon-format``'s parser plus ``[#N]`` headers, signed zero and inline JSON."""

    def header(self, content: str, bracket: int, line: Any) -> Any:
        if content.startswith("[#", bracket):
            content = content[: bracket + 1] + content[bracket + 2 :]
        return super().header(content, bracket, line)

    def unescape(self, body: str, line: Any) -> str:
        if "\\" not in body:
            return body
        for escape in set(_ESCAPE.findall(body)):
            if escape in _SIMPLE_ESCAPE_BODIES:
                continue
            if len(escape) == 5 and not 0xD800 <= int(escape[1:], 16) <= 0xDFFF:
                continue
            return super().unescape(body, line)  # raises with the toon-format message
        return _LENIENT_JSON.decode('"' + body + '"')  # type: ignore[no-any-return]

    def quoted(self, token: str, line: Any) -> str:
        end = quoted_end(token, 0)
        if end < 0:
            raise self.error("Unterminated string", line)
        if end != len(token):
            raise self.error("Unexpected characters after closing quote", line)
        return self.unescape(token[1:-1], line)

    def values(self, text: str, delimiter: str, line: Any) -> list[Any]:
        if not text:
            return []
        return [self.primitive(token, line) for token in split_unquoted(text, delimiter)]

    def classify(self, content: str, line: Any) -> Any:
        try:
            return self._classify(content, line)
        except ToonDecodeError as exc:
            # Non-strict fall-through of a malformed header to a literal key (§6,
            # the spec's optional leniency): ``key[]: 1,2`` is the key "key[]".
            if self.strict or exc.msg not in _HEADER_FALLTHROUGH or content[:1] == '"':
                raise
            colon = find_unquoted(content, ":")
            if colon < 0:
                raise
            return _td._KeyValue(content[:colon].strip(" "), content[colon + 1 :].strip(" "))

    def _classify(self, content: str, line: Any) -> Any:
        """``toon_format``'s line classification (§5.2) with regex-based scanning."""
        colon = find_unquoted(content, ":")
        if content.startswith('"'):
            end = quoted_end(content, 0)
            if end < 0:
                raise self.error("Unterminated string", line)
            if colon >= 0 and content.startswith("[", end):
                return self.header(content, end, line)
            after = content[end:].lstrip(" ")
            if not after:
                return _td._Scalar(content)
            if after[0] != ":":
                raise self.error("Unexpected characters after closing quote", line)
            return _td._KeyValue(self.quoted(content[:end], line), after[1:].strip(" "))
        bracket = find_unquoted(content, "[")
        if 0 <= bracket < colon:
            return self.header(content, bracket, line)
        if colon >= 0:
            return _td._KeyValue(content[:colon].strip(" "), content[colon + 1 :].strip(" "))
        return _td._Scalar(content)

    def number(self, token: str, line: Any) -> Any:
        value = super().number(token, line)
        if value == 0 and type(value) is float and token.startswith("-"):
            return -0.0
        return value

    def field_value(self, rest: str, line: Any, depth: int) -> Any:
        if rest[:1] in ("{", "["):
            ok, value = parse_json_token(rest)
            if ok:
                return value
        return super().field_value(rest, line, depth)

    def item(self, line: Any, depth: int) -> Any:
        rest = line.content[2:].strip(" ")
        if rest[:1] in ("{", "["):
            ok, value = parse_json_token(rest)
            if ok:
                return value
        return super().item(line, depth)

    # -- extended tables (see tables.py) ----------------------------------------

    def field_list(self, text: str, pos: int, delimiter: str, line: Any) -> Any:
        """Parse ``{...}`` at ``pos``: the spec's field list plus ``?`` / ``[]`` markers."""
        fields: list[tuple[str, Any]] = []
        seen: set[str] = set()
        n = len(text)
        pos += 1
        while True:
            while pos < n and text[pos] == " ":
                pos += 1
            optional = is_json = False
            if text.startswith('"', pos):
                end = _td._quoted_end(text, pos)
                if end < 0:
                    raise self.error("Unterminated field name", line)
                name = self.unescape(text[pos + 1 : end - 1], line)
                pos = end
                if text.startswith("?", pos):
                    optional, pos = True, pos + 1
                if text.startswith("[]", pos):
                    is_json, pos = True, pos + 2
            else:
                start = pos
                while pos < n and text[pos] not in "{},|\t":
                    if text[pos] == '"':
                        end = _td._quoted_end(text, pos)
                        pos = end if end >= 0 else n
                    else:
                        pos += 1
                name = text[start:pos].strip(" ")
                if name.endswith("[]"):
                    name, is_json = name[:-2], True
                if name.endswith("?") and len(name) > 1:
                    name, optional = name[:-1], True
                if not name:
                    raise self.error("Empty field name in field list", line)
            while pos < n and text[pos] == " ":
                pos += 1
            nested = None
            if text.startswith("{", pos):
                if text[pos - 1] == " ":
                    raise self.error(
                        "Whitespace between a field name and its nested field group", line
                    )
                nested, pos = self.field_list(text, pos, delimiter, line)
                while pos < n and text[pos] == " ":
                    pos += 1
            if name in seen and self.strict:
                raise self.error(f"Duplicate field name {name!r}", line)
            seen.add(name)
            if optional or is_json:
                if is_json and nested is not None:
                    if any(sub is not None for _, sub in nested):
                        raise self.error("A nested table column holds flat fields only", line)
                    names = tuple(str(sub) for sub, _ in nested)
                    column = Column(name, optional=optional, kind="table", names=names)
                else:
                    kind = "json" if is_json else ("plain" if nested is None else "group")
                    column = Column(name, optional=optional, kind=kind)
                fields.append((column, nested))
            else:
                fields.append((name, nested))
            if pos >= n:
                raise self.error("Unmatched '{' in field list", line)
            c = text[pos]
            pos += 1
            if c == "}":
                return tuple(fields), pos
            if c != delimiter:
                if c in _td.DELIMITERS:
                    raise self.error(
                        "Field list delimiter does not match the bracket segment", line
                    )
                raise self.error("Malformed field list", line)

    def rows(self, header: Any, line: Any, depth: int, parent: int) -> list[Any]:
        if not is_extended(header.fields):
            return super().rows(header, line, depth, parent)
        rows: list[Any] = []
        width = leaf_count(header.fields)
        started = False
        try:
            while (row := self.peek()) and row.depth > parent:
                if row.depth != depth:
                    raise self.over_indented(row)
                self.take()
                if not started:
                    self.spans += 1
                    started = True
                cells = split_cells(row.content, header.delimiter)
                if len(cells) > width:
                    raise self.error(f"Expected {width} values but found {len(cells)}", row)
                cells += [""] * (width - len(cells))
                rows.append(self.extended_row(header.fields, iter(cells), row))
        finally:
            self.spans -= started
        self.check_count(len(rows), header, line)
        return rows

    def extended_row(self, fields: Any, cells: Any, line: Any) -> Any:
        """Build one object of an extended table from its cells."""
        obj: dict[str, Any] = {}
        for name, nested in fields:
            column = name if isinstance(name, Column) else None
            optional = column is not None and column.optional
            if nested is not None and (column is None or column.kind == "group"):
                tokens = [next(cells) for _ in range(leaf_count(nested))]
                if optional and not any(tokens):
                    continue
                obj[str(name)] = self.extended_row(nested, iter(tokens), line)
                continue
            token = next(cells)
            if not token:
                if optional:
                    continue
                raise self.error(f"Missing value for column {str(name)!r}", line)
            kind = column.kind if column is not None else "plain"
            if kind == "plain":
                obj[str(name)] = self.primitive(token, line)
                continue
            ok, value = parse_json_value(token)
            if not ok:
                raise self.error(f"Column {str(name)!r} expects a JSON value", line)
            if kind == "table":
                value = self.nested_table(value, column, line)  # type: ignore[arg-type]
            obj[str(name)] = value
        return self.finish(obj)

    def nested_table(self, value: Any, column: Column, line: Any) -> list[Any]:
        names = column.names
        if not isinstance(value, list) or not all(
            isinstance(row, list) and len(row) == len(names) for row in value
        ):
            raise self.error(f"Column {str(column)!r} expects rows of {len(names)} values", line)
        return [self.finish(dict(zip(names, row))) for row in value]
