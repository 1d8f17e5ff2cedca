"""The renderer of adaptive output: relaxed quoting and extended tables.

Quoting (what a token must not be, or it is written quoted as in TOON):

* a value after ``key:`` is quoted only when it is empty, has outer whitespace, reads as
  ``true``/``false``/``null`` or a number, holds ``"``, ``\\`` or a control character, or
  starts with ``[`` or ``{`` (inline JSON). Colons, ``-``, ``#`` and delimiters are fine
  there: the decoder takes the whole rest of the line.
* a cell (table row, inline array) is quoted as above, and also when it holds the
  delimiter or any bracket/brace; the first cell of a row also when it holds ``:`` or
  starts with ``#`` or ``-``;
* a key is written bare unless it is empty, has outer whitespace, starts with ``-``, ``#``
  or a byte-order mark, or holds one of ``: " \\ [ ] { } , | ?``, a tab or a control character.

Every choice here is read back exactly by :class:`~kaizen_core.engine.parser.KTOFParser`.
"""

from __future__ import annotations

import re
from typing import Any

from toon_format import _encoder as _te

from .codec import KTOFEncoder, compact_json_text, fast_quote, is_negative_zero

__all__ = ["AutoEncoder"]

_NUMERIC_LIKE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_VALUE_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')
_CELL_UNSAFE = re.compile(r'["\\\[\]{}\x00-\x1f\x7f]')
_KEY_UNSAFE = re.compile(r'[:"\\\[\]{},|?\x00-\x1f\x7f]')
_LITERALS = frozenset({"true", "false", "null"})


def _plain_unsafe(text: str) -> bool:
    return (
        not text
        or text[0] in " \t"
        or text[-1] in " \t"
        or text in _LITERALS
        or _NUMERIC_LIKE.fullmatch(text) is not None
    )


def _ordered_shape(objects: list[Any]) -> Any:
    """``toon-format``'s table shape, only when every row also keeps the same key order."""
    shape = _te._shape(objects)
    if shape is None or not _same_order(objects, shape):
        return None
    return shape


def _same_order(objects: list[Any], shape: Any) -> bool:
    names = [name for name, _ in shape]
    for obj in objects:
        if list(obj) != names:
            return False
    for name, nested in shape:
        if nested is not None and not _same_order([obj[name] for obj in objects], nested):
            return False
    return True


class _Spec:
    """One column of an extended table."""

    __slots__ = ("key", "kind", "names", "optional", "shape", "width")

    def __init__(self, key: str, optional: bool, kind: str, shape: Any, names: Any) -> None:
        self.key = key
        self.optional = optional
        self.kind = kind
        self.shape = shape
        self.names = names
        self.width = sum(1 for _ in _flat(shape)) if kind == "group" else 1


def _flat(shape: Any) -> Any:
    for _, nested in shape:
        if nested is None:
            yield None
        else:
            yield from _flat(nested)


def _merged_order(rows: list[dict[str, Any]]) -> list[str] | None:
    """One key order every row follows (a row may skip keys), or None."""
    order: list[str] = []
    for row in rows:
        previous = -1
        for key in row:
            if key in order:
                index = order.index(key)
                if index <= previous:
                    return None
            else:
                index = previous + 1
                order.insert(index, key)
            previous = index
    return order


def _column(key: str, values: list[Any], optional: bool) -> _Spec:
    if all(_te._is_primitive(v) for v in values):
        return _Spec(key, optional, "plain", None, None)
    if all(isinstance(v, dict) and v for v in values):
        shape = _ordered_shape(values)
        if shape is not None:
            return _Spec(key, optional, "group", shape, None)
    if all(isinstance(v, list) for v in values):
        items = [item for v in values for item in v]
        if items and all(isinstance(item, dict) and item for item in items):
            names = list(items[0])
            if all(
                list(item) == names and all(map(_te._is_primitive, item.values())) for item in items
            ):
                return _Spec(key, optional, "table", None, names)
    return _Spec(key, optional, "json", None, None)


def extended_columns(rows: list[Any]) -> list[_Spec] | None:
    """Columns of an extended table for ``rows``, or None when one does not fit or pay."""
    if len(rows) < 2 or not all(isinstance(row, dict) and row for row in rows):
        return None
    order = _merged_order(rows)
    if order is None:
        return None
    specs = []
    present_cells = 0
    for key in order:
        values = [row[key] for row in rows if key in row]
        present_cells += len(values)
        specs.append(_column(key, values, len(values) < len(rows)))
    if specs[0].optional or all(spec.kind == "json" for spec in specs):
        return None
    if present_cells * 2 < len(rows) * len(specs):
        return None  # mostly empty cells: list form reads better
    return specs


class AutoEncoder(KTOFEncoder):
    """The KTOF renderer of ``format="auto"`` (relaxed quoting, extended tables).

    After rendering, ``delimited`` tells whether any delimiter-joined line was written
    (so other delimiters could change the output), ``split_quotes`` how many cells had to
    be quoted because they hold the delimiter, and ``extended`` whether an extended table
    was written.
    """

    def __init__(self, indent_size: int, delimiter: str, length_marker: bool) -> None:
        super().__init__(indent_size, delimiter, length_marker)
        self.delimited = False
        self.split_quotes = 0
        self.extended_tables = 0

    # -- tokens -------------------------------------------------------------

    def key(self, key: str) -> str:
        if (
            not key
            or key[0] in " \t-#\ufeff"
            or key[-1] in " \t"
            or _KEY_UNSAFE.search(key) is not None
        ):
            return fast_quote(key)
        return key

    def value_text(self, value: Any) -> str:
        """A primitive standing after ``key:``."""
        if isinstance(value, str):
            if _plain_unsafe(value) or value[0] in "[{" or _VALUE_UNSAFE.search(value):
                return fast_quote(value)
            return value
        return self.primitive(value)

    def cell(self, value: Any, first: bool) -> str:
        self.delimited = True
        if isinstance(value, str):
            if self.delimiter in value:
                self.split_quotes += 1
            if (
                _plain_unsafe(value)
                or self.delimiter in value
                or _CELL_UNSAFE.search(value) is not None
                or (first and (":" in value or value[0] in "#-"))
            ):
                return fast_quote(value)
            return value
        return self.primitive(value)

    def join(self, values: Any) -> str:
        return self.delimiter.join(
            self.cell(value, index == 0) for index, value in enumerate(values)
        )

    def field_list(self, shape: Any) -> str:
        entries = (
            self.key(key) + ("" if nested is None else self.field_list(nested))
            for key, nested in shape
        )
        return "{" + self.delimiter.join(entries) + "}"

    # -- structure ----------------------------------------------------------

    def fields(self, obj: dict[str, Any], depth: int) -> None:
        for key, value in obj.items():
            self.field(self.key(key), value, depth)

    def field(self, key: str, value: Any, depth: int) -> None:
        if isinstance(value, dict):
            shape = _ordered_shape(list(value.values())) if len(value) >= 2 else None
            if shape is not None:
                self.keyed(key, value, shape, depth)
            else:
                self.emit(depth, key + ":")
                self.fields(value, depth + 1)
        elif isinstance(value, list):
            if value:
                self.array(key, value, depth, tabular=True)
            else:
                self.emit(depth, key + ": []")
        else:
            self.emit(depth, f"{key}: {self.value_text(value)}")

    def root(self, value: Any) -> None:
        if isinstance(value, dict) and len(value) >= 2:
            shape = _ordered_shape(list(value.values()))
            if shape is not None:
                self.keyed("", value, shape, 0)
                return
        if isinstance(value, dict):
            self.fields(value, 0)
            return
        super().root(value)

    def keyed(self, key: str, obj: dict[str, Any], shape: Any, depth: int) -> None:
        self.emit(depth, f"{key}[{self.mark}{len(obj)}:{self.symbol}]{self.field_list(shape)}:")
        for entry, value in obj.items():
            cells = self.delimiter.join(self.cell(v, False) for v in _te._leaves(value, shape))
            self.emit(depth + 1, f"{self.key(entry)}: {cells}")

    def array(self, prefix: str, array: list[Any], depth: int, *, tabular: bool) -> None:
        head = f"{prefix}[{self.mark}{len(array)}{self.symbol}]"
        if all(map(_te._is_primitive, array)):
            self.emit(depth, f"{head}: {self.delimiter.join(self.cell(v, False) for v in array)}")
            return
        if tabular:
            shape = _ordered_shape(array)
            if shape is not None:
                self.emit(depth, f"{head}{self.field_list(shape)}:")
                for element in array:
                    self.emit(depth + 1, self.join(_te._leaves(element, shape)))
                return
            specs = extended_columns(array)
            if specs is not None:
                self.extended(head, array, specs, depth)
                return
        self.emit(depth, head + ":")
        for element in array:
            self.item(element, depth + 1)

    def extended(self, head: str, rows: list[Any], specs: list[_Spec], depth: int) -> None:
        self.extended_tables += 1
        self.delimited = True
        columns = []
        for spec in specs:
            text = self.key(spec.key) + ("?" if spec.optional else "")
            if spec.kind == "group":
                text += self.field_list(spec.shape)
            elif spec.kind == "json":
                text += "[]"
            elif spec.kind == "table":
                text += "[]{" + self.delimiter.join(map(self.key, spec.names)) + "}"
            columns.append(text)
        self.emit(depth, head + "{" + self.delimiter.join(columns) + "}:")
        for row in rows:
            cells: list[str] = []
            for spec in specs:
                if spec.key not in row:
                    cells.extend([""] * spec.width)
                    continue
                value = row[spec.key]
                if spec.kind == "plain":
                    cells.append(self.cell(value, not cells))
                elif spec.kind == "group":
                    cells.extend(self.cell(v, not cells) for v in _te._leaves(value, spec.shape))
                elif spec.kind == "json":
                    cells.append(_json_cell(value))
                else:
                    cells.append(compact_json_text([[item[n] for n in spec.names] for item in value]))
            while cells and cells[-1] == "":
                cells.pop()
            self.emit(depth + 1, self.delimiter.join(cells))


def _json_cell(value: Any) -> str:
    if is_negative_zero(value):
        return "-0.0"
    return compact_json_text(value)
