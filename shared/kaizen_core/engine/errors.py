"""Exceptions of the KTOF engine.

Both subclass :class:`ValueError`, like :class:`json.JSONDecodeError`, so
``except ValueError`` handlers keep working. The router maps them to HTTP 400.
"""

from __future__ import annotations

import re

__all__ = ["KTOFDecodeError", "KTOFEncodeError", "KTOFOptionError", "locate_column"]


class KTOFOptionError(ValueError):
    """An encode or decode option that cannot be honoured (bad value or type)."""


class KTOFEncodeError(ValueError):
    """A value that has no KTOF representation (unsupported type, cycle, lone surrogate)."""


class KTOFDecodeError(ValueError):
    """Malformed KTOF text.

    Attributes:
        msg: The unformatted message.
        line: 1-based line of the offending input.
        column: 1-based column of the offending character on that line.
        text: The whole raw input that was being decoded.
    """

    msg: str
    line: int
    column: int
    text: str

    def __init__(self, msg: str, line: int, column: int, text: str) -> None:
        self.msg = msg
        self.line = line
        self.column = column
        self.text = text
        super().__init__(f"line {line}, column {column}: {msg}")

    def __reduce__(self) -> tuple[type[KTOFDecodeError], tuple[str, int, int, str]]:
        return type(self), (self.msg, self.line, self.column, self.text)


_QUOTED_NAME = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


def _first_content(source: str) -> int:
    """0-based index of the first character that is not indentation."""
    stripped = source.lstrip(" ")
    return len(source) - len(stripped) if stripped else 0


def _unterminated_quote(source: str) -> int:
    """Index of the opening quote of an unterminated string, or -1."""
    in_quotes = False
    start = -1
    i = 0
    while i < len(source):
        c = source[i]
        if in_quotes:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quotes = False
        elif c == '"':
            in_quotes, start = True, i
        i += 1
    return start if in_quotes else -1


def _quoted_string_end(source: str) -> int:
    """Index just past the first complete quoted token, or -1."""
    match = re.search(r'"(?:[^"\\]|\\.)*"', source)
    return match.end() if match else -1


def locate_column(msg: str, source: str | None) -> int:
    """Pick a 1-based column for a codec message on the line ``source``.

    The codec reports the line; the column points at the offending token where
    the message names one (an escape, a quote, a bracket, a tab, a key), and at
    the line's first non-space character otherwise.
    """
    if not source:
        return 1
    position = -1
    if msg.startswith("Tabs are not allowed"):
        position = source.find("\t")
    elif msg.startswith(("Invalid escape sequence", "Surrogate escape")):
        position = source.find("\\")
        sequence = re.search(r"'(.*)'$", msg) if msg.startswith("Invalid") else None
        if sequence:
            escaped = sequence.group(1).replace("\\\\", "\\")
            found = source.find(escaped)
            position = found if found >= 0 else position
        elif msg.startswith("Surrogate escape"):
            found = source.find(msg.split(" ", 2)[2])
            position = found if found >= 0 else position
    elif msg.startswith("Unterminated"):
        position = _unterminated_quote(source)
    elif msg.startswith("Unexpected characters after closing quote"):
        position = _quoted_string_end(source)
    elif msg.startswith(("Malformed bracket", "Declared length", "Whitespace between a key")):
        position = _bracket_index(source)
        if msg.startswith("Whitespace between a key") and position > 0:
            position -= 1
    elif msg.startswith(("Duplicate key", "Duplicate field name")):
        name = _QUOTED_NAME.search(msg)
        if name:
            found = source.find(name.group(1) or name.group(2) or "")
            position = found if found >= 0 else position
    elif msg.startswith(("Expected ':' after the array header", "Unexpected content after")):
        position = _header_tail(source)
    if position < 0:
        position = _first_content(source)
    return position + 1


def _bracket_index(source: str) -> int:
    """Index of the first unquoted ``[`` on the line, or -1."""
    in_quotes = False
    i = 0
    while i < len(source):
        c = source[i]
        if in_quotes:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quotes = False
        elif c == '"':
            in_quotes = True
        elif c == "[":
            return i
        i += 1
    return -1


def _header_tail(source: str) -> int:
    """Index just past a header's bracket and field segments, or -1."""
    start = _bracket_index(source)
    if start < 0:
        return -1
    close = source.find("]", start)
    if close < 0:
        return -1
    position = close + 1
    if source.startswith("{", position):
        depth = 0
        while position < len(source):
            if source[position] == "{":
                depth += 1
            elif source[position] == "}":
                depth -= 1
                if depth == 0:
                    return position + 1
            position += 1
    return position
