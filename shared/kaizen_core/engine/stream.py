"""``StreamDecoder``: decode KTOF text as it arrives, in time linear in its length.

Chunks are cut into complete lines as they come; each line is looked at once when it is
complete, and each completed *unit* is parsed once with the same parser as
:func:`~kaizen_core.engine.decode`:

* a root array (``[N]...:``): every row of a table, every list item, every inline value;
* a root object: every top-level field; a field holding a table or a list array also
  streams its rows/items one by one.

``feed(chunk)`` returns the elements completed by that chunk: the elements of a root array,
or, for a root object, the elements of the arrays held by its top-level fields (its other
fields show in ``partial``; ``completed`` counts rows, items and fields finished so far).
``close()`` finishes the last unit and returns the whole value, equal to
``decode(full_text)``; it does not parse the text again. ``partial`` is the value built so
far: a *live* object (the same list/dict that ``close()`` returns), not a copy: keep
``snapshot()`` (which copies only what is still growing) and do not mutate it.

Documents that are not a root array or object (a single primitive, a whole JSON document,
a keyed root ``[N:]{...}:``, an indented first line), and ``strict=False`` decoding, are
read once at ``close()`` (still linear) and stream nothing.

A broken document raises the first error met reading down: a line's indentation when the
line arrives, a block's structure when the block ends. :func:`~kaizen_core.engine.decode`
reports the same one (:func:`first_error`), whatever the chunks.
"""

from __future__ import annotations

from typing import Any

from toon_format import _decoder as _td
from toon_format._errors import ToonDecodeError

from .codec import decode_toon, raise_decode_error
from .errors import KTOFDecodeError
from .options import check_indent, check_strict
from .parser import KTOFParser, find_unquoted
from .tables import is_extended, leaf_count, split_cells

__all__ = ["ASCII_BLANK", "LineCutter", "StreamDecoder", "ends_in_stripped_blank", "first_error"]


ASCII_BLANK = " \t\r\n"
"""The whitespace around a KTOF answer that KTOF ignores. Other Unicode spaces (U+00A0,
U+3000, ...) can start a key or end an unquoted value, so ``str.strip()`` would change it."""


def ends_in_stripped_blank(line: str) -> bool:
    """Whether ``line`` (a line feed, and a carriage return before it, left aside) ends in a
    tab or another ASCII blank that is not a space, before any trailing spaces.

    A reader that strips the :data:`ASCII_BLANK` ending an answer (as the LangChain and
    LlamaIndex parsers do) removes it when the line ends the answer, where
    :class:`StreamDecoder` fed the line as is would keep it in a value or refuse it as
    indentation: a streaming reader holds such a line until a line with content follows.
    """
    kept = line.removesuffix("\n").removesuffix("\r").rstrip(" ")
    return kept != kept.rstrip(ASCII_BLANK)


class LineCutter:
    """Cuts text that arrives in chunks into complete lines, at ``"\n"`` only (as KTOF
    splits lines: a ``"\r"`` before it stays on the line, a lone ``"\r"`` breaks nothing).

    A line fed in many small chunks is joined once, when it completes, so the work stays
    linear in the text however it is chunked.
    """

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail: list[str] = []  # the pieces of the incomplete last line

    def feed(self, chunk: str) -> list[str]:
        """The lines ``chunk`` completes, without their line feeds."""
        if "\n" not in chunk:  # most chunks of a stream: kept cheap
            self._tail.append(chunk)
            return []
        cut = chunk.rfind("\n")
        complete = "".join(self._tail) + chunk[:cut]
        self._tail = [chunk[cut + 1 :]]
        return complete.split("\n")

    def rest(self) -> str:
        """The incomplete last line (the text after the last line feed); forgets it."""
        rest = "".join(self._tail)
        self._tail = []
        return rest


class _Array:
    """An array being streamed: its header, the list it fills, the depth of its children."""

    __slots__ = ("depth", "ended", "extended", "header", "items", "line", "unit", "width")

    def __init__(self, header: Any, line: Any, items: list[Any], depth: int) -> None:
        self.header = header
        self.line = line
        self.items = items
        self.depth = depth
        self.unit: list[Any] = []  # lines of the list item being collected
        self.ended = False
        fields = header.fields
        self.extended = fields is not None and is_extended(fields)
        self.width = leaf_count(fields) if fields is not None else 0


class StreamDecoder:
    """Incremental KTOF decoder (see the module docstring for what streams)."""

    def __init__(self, *, indent: int = 2, strict: bool = True) -> None:
        self.indent = check_indent(indent)
        self.strict = check_strict(strict)
        self._chunks: list[str] = []
        self._lines = LineCutter()
        self._number = 0
        self._blank: int | None = None
        self._mode: str | None = None  # "array", "object" or "whole"
        self._root: Any = None
        self._array: _Array | None = None
        self._field: list[Any] = []  # lines of the top-level field being collected
        self._closed = False
        self._result: Any = None
        self._rows = self._parser([])  # parses table rows, one line at a time
        self.completed = 0
        """Rows, list items and top-level fields finished so far (any root)."""
        self.closing_elements: list[Any] = []
        """The elements only ``close()`` completed (what ``feed`` would have returned)."""

    # -- public -------------------------------------------------------------

    @property
    def partial(self) -> Any:
        """The value decoded so far (live object; ``None`` before the first unit)."""
        return self._result if self._closed else self._root

    def snapshot(self) -> Any:
        """A copy of :attr:`partial` that later chunks leave alone: the containers along the
        last entries (the ones still growing) are copied, finished rows and fields are shared."""
        return _spine_copy(self.partial)

    def feed(self, chunk: str) -> list[Any]:
        """Add ``chunk``; return the elements it completed (module docstring)."""
        if self._closed:
            raise ValueError("feed() after close()")
        self._chunks.append(chunk)
        lines = self._lines.feed(chunk)
        if not lines:
            return []
        out: list[Any] = []
        for source in lines:
            self._source_line(source, out)
        return out

    def close(self) -> Any:
        """Finish decoding; return the whole value (equal to ``decode(full_text)``)."""
        if self._closed:
            return self._result
        out: list[Any] = []
        tail = self._lines.rest()
        if tail:
            self._source_line(tail, out)
        if self._mode in (None, "whole"):
            self._result = decode_toon(
                "".join(self._chunks), indent=self.indent, strict=self.strict
            )
        else:
            self._guard(self._finish_units, out)
            self._result = self._root
        self.closing_elements = out
        self._closed = True
        return self._result

    # -- lines --------------------------------------------------------------

    def _source_line(self, source: str, out: list[Any]) -> None:
        self._number += 1
        if self._mode == "whole":
            return
        if self._number == 1 and source.startswith("\ufeff"):
            source = source[1:]
        source = source.removesuffix("\r")
        stripped = source.lstrip(" ")
        if stripped.startswith("#"):
            return
        content = stripped.rstrip(" ")
        if not content:
            self._blank = self._blank or self._number
            return
        if self._mode is None and source[:1] in (" ", "\t"):
            self._mode = "whole"  # an indented first line: decode() reads it (JSON, or an error)
            return
        if content[0] == "\t":
            self._fail("Tabs are not allowed in indentation", source)
        spaces = len(source) - len(stripped)
        if spaces % self.indent:
            self._fail(f"Indentation of {spaces} spaces is not a multiple of {self.indent}", source)
        line = _td._Line(self._number, spaces // self.indent, content, source, self._blank)
        self._blank = None
        self._guard(self._line, line, out)

    def _fail(self, msg: str, source: str) -> None:
        raise raise_decode_error(ToonDecodeError(msg, self._number, source), self._text())

    def _text(self) -> str:
        return "".join(self._chunks)

    def _guard(self, step: Any, *args: Any) -> None:
        try:
            step(*args)
        except ToonDecodeError as exc:
            raise raise_decode_error(exc, self._text()) from None
        except RecursionError:
            raise KTOFDecodeError(
                "Document is nested too deeply to decode", 1, 1, self._text()
            ) from None

    def _parser(self, lines: list[Any]) -> KTOFParser:
        return KTOFParser(lines, self.strict, None, None, None, None)

    # -- units --------------------------------------------------------------

    def _line(self, line: Any, out: list[Any]) -> None:
        if self._mode is None:
            self._start(line, out)
            return
        array = self._array
        if array is not None and not array.ended:
            if line.depth >= array.depth:
                self._child(array, line, out)
                return
            self._end_array(array, out)
        if self._mode == "array":
            raise _td.ToonDecodeError(
                "Unexpected content after the root value", line.number, line.source
            )
        if line.depth == 0:
            self._end_field()
            self._field = [line]
            self._open_field(line)
        elif not self._field:
            raise self._parser([line]).over_indented(line)
        else:
            self._field.append(line)

    def _start(self, line: Any, out: list[Any]) -> None:
        if not self.strict or line.depth > 0 or line.content[:1] == "{":
            self._mode = "whole"
            return
        if line.content == "[]":
            self._mode = "whole"
            return
        parser = self._parser([line])
        try:
            kind = parser.classify(line.content, line)
        except ToonDecodeError:
            self._mode = "whole"  # a JSON document, or an error decode() reports
            return
        if isinstance(kind, _td._Header) and kind.key is None:
            if kind.keyed:
                self._mode = "whole"
                return
            self._mode = "array"
            self._root = []
            self._array = _Array(kind, line, self._root, 1)
            if kind.rest or (kind.fields is None and kind.length == 0):
                values = parser.header_value(kind, line, 1)  # inline values, or [0]:
                self._root.extend(values)
                out.extend(values)
                self._array.ended = True
            return
        if isinstance(kind, _td._Scalar):
            self._mode = "whole"
            return
        self._mode = "object"
        self._root = {}
        self._field = [line]
        self._open_field(line, kind)

    def _open_field(self, line: Any, kind: Any = None) -> None:
        """Start streaming a field whose value is a table or a list array."""
        if kind is None:
            kind = self._parser([line]).classify(line.content, line)
        if not isinstance(kind, _td._Header) or kind.keyed or kind.rest or kind.key is None:
            return
        items: list[Any] = []
        parser = self._parser([line])
        parser.assign(self._root, kind.key, items, line)
        self._array = _Array(kind, line, items, 1)

    def _child(self, array: _Array, line: Any, out: list[Any]) -> None:
        header = array.header
        if header.fields is not None:
            if line.depth != array.depth:
                raise self._parser([line]).over_indented(line)
            if not array.extended and self._row_ends_table(line, header.delimiter):
                self._end_array(array, out)
                self._line(line, out)
                return
            self._check_blank(array, line)
            row = self._row(array, line)
            array.items.append(row)
            self._done(row, out)
            return
        if line.depth == array.depth:
            if not _td._is_list_item(line.content):
                self._end_array(array, out)
                self._line(line, out)
                return
            self._check_blank(array, line)
            self._end_item(array, out)
            array.unit = [line]
        elif not array.unit:
            raise self._parser([line]).over_indented(line)
        else:
            array.unit.append(line)

    @staticmethod
    def _row_ends_table(line: Any, delimiter: str) -> bool:
        colon = find_unquoted(line.content, ":")
        if colon < 0:
            return False
        split = find_unquoted(line.content, delimiter)
        return split < 0 or colon < split

    def _check_blank(self, array: _Array, line: Any) -> None:
        if line.blank_before is not None and array.items and self.strict:
            raise ToonDecodeError(
                "Blank line inside an array or keyed object", line.blank_before, ""
            )
        if line.blank_before is not None and array.unit and self.strict:
            raise ToonDecodeError(
                "Blank line inside an array or keyed object", line.blank_before, ""
            )

    def _row(self, array: _Array, line: Any) -> Any:
        parser, header, width = self._rows, array.header, array.width
        if array.extended:
            cells = split_cells(line.content, header.delimiter)
            if len(cells) > width:
                raise parser.error(f"Expected {width} values but found {len(cells)}", line)
            cells += [""] * (width - len(cells))
            return parser.extended_row(header.fields, iter(cells), line)
        values = parser.values(line.content, header.delimiter, line)
        if len(values) != width:
            raise parser.error(f"Expected {width} values but found {len(values)}", line)
        return parser.materialize(header.fields, iter(values))

    def _end_item(self, array: _Array, out: list[Any]) -> None:
        if not array.unit:
            return
        lines, array.unit = array.unit, []
        parser = self._parser(lines)
        first = parser.take()  # a blank line before the item is the array's (_check_blank)
        parser.spans = 1  # ... one inside it is an error, as decode() says
        value = parser.item(first, array.depth)
        leftover = parser.peek()
        if leftover is not None:
            raise parser.over_indented(leftover)
        array.items.append(value)
        self._done(value, out)

    def _done(self, value: Any, out: list[Any]) -> None:
        self.completed += 1
        out.append(value)

    def _end_array(self, array: _Array, out: list[Any]) -> None:
        if array.ended:
            return
        if array.header.fields is None:
            self._end_item(array, out)
        array.ended = True
        self._parser([array.line]).check_count(len(array.items), array.header, array.line)
        if self._mode == "object":
            self._field = []

    def _end_field(self) -> None:
        """Parse the collected top-level field (not a streamed array) into the root object."""
        if not self._field:
            return
        lines, self._field = self._field, []
        parser = self._parser(lines)
        first = parser.take()
        parser.field(first, self._root, 0)
        leftover = parser.peek()
        if leftover is not None:
            raise parser.over_indented(leftover)
        self.completed += 1

    def _finish_units(self, out: list[Any]) -> None:
        if self._array is not None and not self._array.ended:
            self._end_array(self._array, out)
        if self._mode == "object":
            self._end_field()


def _spine_copy(value: Any) -> Any:
    """``value`` with the containers along its last entries copied; the rest is shared."""
    if isinstance(value, dict):
        copy = dict(value)
        if copy:
            last = next(reversed(copy))
            copy[last] = _spine_copy(copy[last])
        return copy
    if isinstance(value, list):
        items = list(value)
        if items:
            items[-1] = _spine_copy(items[-1])
        return items
    return value


def first_error(text: str, *, indent: int, strict: bool) -> KTOFDecodeError | None:
    """The error :class:`StreamDecoder` meets reading ``text`` (None if it reads it).

    That is the first error a reader meets top to bottom: a line's indentation when the
    line is read, a block's structure when the block ends (at the next top-level field or
    list item). :func:`kaizen_core.engine.decode` reports this one too, so a document
    fails at the same line and column streamed or not.
    """
    decoder = StreamDecoder(indent=indent, strict=strict)
    try:
        decoder.feed(text)
        decoder.close()
    except KTOFDecodeError as error:
        return error
    return None
