"""Validation of the codec options of the Kaizen contract.

Every option either is honoured or raises :class:`KTOFOptionError`; nothing
is silently ignored.
"""

from __future__ import annotations

from typing import Any

from .errors import KTOFOptionError

__all__ = [
    "DELIMITERS",
    "FORMATS",
    "check_delimiter",
    "check_format",
    "check_indent",
    "check_length_marker",
    "check_strict",
]

DELIMITERS = (",", "\t", "|")
FORMATS = ("toon", "auto")


def check_indent(indent: Any) -> int:
    """Return ``indent`` if it is an int >= 1."""
    if isinstance(indent, bool) or not isinstance(indent, int):
        raise KTOFOptionError(f"indent must be an integer >= 1, got {indent!r}")
    if indent < 1:
        raise KTOFOptionError(f"indent must be an integer >= 1, got {indent}")
    return indent


def check_delimiter(delimiter: Any) -> str:
    """Return the delimiter as a plain one-character string."""
    if not isinstance(delimiter, str) or str.__str__(delimiter) not in DELIMITERS:
        raise KTOFOptionError(f"delimiter must be ',', '\\t' or '|', got {delimiter!r}")
    return str.__str__(delimiter)


def check_length_marker(length_marker: Any) -> bool:
    """Return whether ``[#N]`` headers are wanted (``True``/``"#"``; ``False``/``None`` off)."""
    if length_marker is True or length_marker == "#":
        return True
    if length_marker is False or length_marker is None:
        return False
    raise KTOFOptionError(f"length_marker must be true, false or '#', got {length_marker!r}")


def check_strict(strict: Any) -> bool:
    """Return ``strict`` if it is a bool."""
    if not isinstance(strict, bool):
        raise KTOFOptionError(f"strict must be true or false, got {strict!r}")
    return strict


def check_format(fmt: Any) -> str:
    """Return the output format, ``"toon"`` (the spec's output) or ``"auto"`` (adaptive)."""
    if fmt not in FORMATS:
        raise KTOFOptionError(f"format must be 'toon' or 'auto', got {fmt!r}")
    return str(fmt)
