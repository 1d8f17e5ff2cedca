"""Extended tables: the table forms adaptive encoding adds to TOON, and how they are read.

A TOON table needs every row to have the same keys with primitive (or uniformly nested)
values. Adaptive output (``format="auto"``) also writes a table when rows differ a little,
marking columns in the field list with syntax no conformant TOON encoder emits (it quotes
every key that holds ``?``, ``[`` or ``]``):

* ``name?``: optional column. An *empty* cell means the key is absent from that row (an
  empty string is always written ``""``); absent cells at the end of a row are left out.
  An optional nested group ``error?{message,stack}`` is absent when all its cells are empty.
* ``name[]``: JSON column. Each cell is the value as compact JSON (``[1,2]``, ``{"a":1}``,
  ``"text"``, ``null``).
* ``name[]{sku,qty}``: nested table column. Each cell is a JSON array of rows, each row an
  array of the nested fields' values: ``[["A-1",2],["B-7",1]]``.

Rows of an extended table are split on the delimiter outside quotes *and* outside
brackets/braces, so JSON cells may contain the delimiter; every line at row depth is a row
(no key-value fall-through). Markers combine as ``name?[]{...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "split_cells"]


class Column(str):
    """A field name from an extended field list; the ``str`` value is the plain key."""

    optional: bool
    kind: str  # "plain", "group", "json" or "table"
    names: tuple[str, ...]  # nested table field names (kind "table")

    def __new__(  # noqa: PYI034 (a str subclass; Self needs Python 3.11)
        cls, name: str, *, optional: bool, kind: str, names: tuple[str, ...] = ()
    ) -> Column:
        column = super().__new__(cls, name)
        column.optional = optional
        column.kind = kind
        column.names = names
        return column


_STRUCTURE = {
    char: re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?$)|[\[\]{}]|' + re.escape(char), re.DOTALL)
    for char in (",", "\t", "|")
}


def split_cells(text: str, delimiter: str) -> list[str]:
    """Split a row on ``delimiter`` outside quotes and brackets; tokens trimmed of spaces.

    An empty *unquoted* token is returned as ``""`` (an absent cell); a quoted empty
    string stays ``'""'``.
    """
    tokens: list[str] = []
    depth = 0
    start = 0
    for match in _STRUCTURE[delimiter].finditer(text):
        char = match.group()
        if char == delimiter:
            if depth <= 0:
                tokens.append(text[start : match.start()].strip(" "))
                start = match.end()
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    tokens.append(text[start:].strip(" "))
    return tokens


@dataclass(slots=True)
class FieldToken:
    """One parsed field of a field list (name, markers, nested fields)."""

    name: str
    optional: bool = False
    json: bool = False
    nested: Any = None


def is_extended(fields: Any) -> bool:
    """True when a parsed field list carries any extended column."""
    return any(isinstance(name, Column) for name, _ in fields)


def leaf_count(fields: Any) -> int:
    """Cells a row needs for ``fields`` (a JSON or table column is one cell)."""
    total = 0
    for name, nested in fields:
        if nested is None or (isinstance(name, Column) and name.kind == "table"):
            total += 1
        else:
            total += leaf_count(nested)
    return total
