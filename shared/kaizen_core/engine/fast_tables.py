"""Large tables of adaptive output (``format="auto"``) rendered by the compiled ``etoon``.

A *table candidate* is a list of at least :data:`FAST_ROWS` items whose first item is an
object, or an object of at least :data:`FAST_ROWS` entries whose first value is an object
(TOON's keyed table). :class:`FastAutoEncoder` renders everything else as
:class:`~.auto_encoder.AutoEncoder` does, and a candidate through ``etoon`` when adaptive
output writes it as the same table TOON does:

* every row (and every nested group) has the same keys *in the same order* (TOON ignores the
  order, adaptive tables keep it), checked on the Python objects;
* ``etoon`` writes every row as one line of primitive cells: a *flat* table (no nested
  group in the first row) is given to ``etoon`` as JSON arrays of its rows' values, which
  it writes as list items (``- [N]: a,b``; that prefix, found on every row, is removed);
  any other table as its JSON objects, and ``etoon`` must write the table's header exactly
  as the Python codec would for the field list of the first row. Either way the rows are
  uniform in TOON's sense too (otherwise adaptive output might choose an extended table);
* the rows' JSON bytes pass :func:`~.fast_toon.etoon_identical` (cell values only: keys never
  reach ``etoon`` in flat tables and the header check covers them in the others; keyed tables
  also refuse entry keys that start with ``#``, ``$`` or ``@``) and hold no ``\\x7f``
  (adaptive quoting quotes it, TOON does not).

The header line is then written by the adaptive renderer (its key quoting, ``[#N]``), the
rows are ``etoon``'s, re-indented, with quotes removed from the cells adaptive quoting leaves
bare. Colons are the common case (timestamps, URLs, times): TOON quotes every string that
holds one, adaptive output only keys and a row's first cell. So, unless a first cell (or,
in JSON objects, a field name or entry key) holds a colon, the colons inside strings are
swapped for ``\\x7f`` (absent from the data, see above) before ``etoon`` renders the rows and
swapped back after, and ``etoon`` never quotes a cell for its colon: in arrays of values every
colon is inside a string unless a ``{`` occurs (:func:`_hide_cell_colons`); in objects the
keys' colons are put back (:func:`_hide_colons`). The quotes still left are
removed by one ``re.split`` whose groups are the token's text when the adaptive rules accept
it bare, else the whole quoted token, which is what adaptive quoting writes for it since both
quote with the same escapes. Anything else falls back to the Python renderer for that
candidate. The property tests compare this renderer with
:func:`~.adaptive.render_auto` for every delimiter, indent and length marker.

In *sample* mode (``sample_chars``) a candidate is rendered from evenly spaced rows only, about
a 64th of its JSON, between 512 bytes and ``sample_chars`` (4 to 96 rows; the header declares
every row): :mod:`.adaptive` compares delimiters on it. A sample's values are not checked (it
only feeds a token count); the full table is, before its text is used. Renderers of one block
share a memo of what does not depend on the delimiter (shapes, samples, checked JSON bytes).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Any

from toon_format import _encoder as _te

from .auto_encoder import AutoEncoder
from .codec import KTOFEncoder, normalize
from .fast_toon import etoon_identical, plain_json_bytes, render

__all__ = ["FAST_ROWS", "FastAutoEncoder", "NotFast", "prepare", "table_shapes"]

FAST_ROWS = 32

# Stands in for the colons inside strings while etoon renders (see _hide_colons): ASCII, so
# the text stays one byte per character, and written bare by TOON.
_COLON_STAND_IN = "\x7f"
_STAND_IN_BYTES = _COLON_STAND_IN.encode()

# Lookahead: the token does not read as true/false/null or a number. Each repeat in these
# patterns is followed by something its own characters cannot match, so backtracking never
# finds another match; it only costs time. Where a token is not bare it costs a whole cell,
# so _bare's repeat is possessive where Python has them (3.11+).
_POSSESSIVE = "+" if sys.version_info >= (3, 11) else ""
_NOT_BARE = r'(?!(?:true|false|null|[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)")'
_NO_OUTER_SPACE_END = r"(?<![ \t])"


def _cell_class(delimiter: str, extra: str = "") -> str:
    return '[^"\\\\\\[\\]{}' + re.escape(delimiter) + extra + "]"


def _bare(characters: str, not_first: str = "") -> str:
    """One or more ``characters``, neither starting nor ending with a space or tab (nor starting
    with one of ``not_first``). Callers follow it with a quote, which ``characters`` excludes."""
    return f"(?![ \\t{not_first}]){characters}+{_POSSESSIVE}{_NO_OUTER_SPACE_END}"


_RELAX: dict[tuple[str, bool], re.Pattern[str]] = {}


def _relax_pattern(delimiter: str, keyed: bool) -> re.Pattern[str]:
    """The pattern :meth:`FastAutoEncoder._render` splits ``etoon``'s rows with.

    Every match starts at an opening quote (a literal prefix, so the scan jumps from quote to
    quote) and consumes one quoted token; tokens are consumed left to right. Its groups are
    (1) a first token of a line that adaptive quoting leaves bare, without its quotes, (2) such
    a later cell, or (3) the opening quote, captured by a lookbehind, and (4) the rest of any
    other quoted token, so joining the groups keeps it as it is.
    """
    pattern = _RELAX.get((delimiter, keyed))
    if pattern is not None:
        return pattern
    later = _NOT_BARE + _bare(_cell_class(delimiter))
    if keyed:
        # adaptive keys: not empty, no outer whitespace, not starting with - # or a BOM, none of
        # : " \ [ ] { } , | ? or control characters (escaped, so excluded with the backslash)
        key = _bare('[^:"\\\\\\[\\]{},|?\\x7f]', "#\\-\\ufeff")
        first = f'(?<=\\n  ")({key})"(?=: )'
        later_start = f'(?:(?<={re.escape(delimiter)}")|(?<=: "))'
    else:
        cell = _bare(_cell_class(delimiter, ":"), "#\\-")
        first = f'(?<=\\n  ")({_NOT_BARE}{cell})"'
        later_start = f'(?<={re.escape(delimiter)}")'
    other = '(?<=("))([^"\\\\]*(?:\\\\.[^"\\\\]*)*")'
    pattern = re.compile(f'"(?:{first}|{later_start}({later})"|{other})', re.DOTALL)
    _RELAX[(delimiter, keyed)] = pattern
    return pattern


# Quoted tokens are visited one by one while they are sparse (after the first 8, fewer than
# one per this many characters); the rest of a body dense in them is split at once.
_FIRST_VISITS = 8
_CHARS_PER_VISIT = 512


def _relax(body: str, pattern: re.Pattern[str]) -> str:
    """``body`` (``etoon``'s rows, each line starting with a line feed) with the quoted
    tokens that ``pattern`` (:func:`_relax_pattern`) finds bare written without quotes.

    Most rows hold no quoted token, so they are found one by one and the body is copied only
    if one changes. ``done`` always ends a token (or is 0), so what the pattern looks back at
    (a delimiter, ``": "``, a line's indentation) stays in ``body[done:]``.
    """
    parts: list[str] = []
    done, visits = 0, 0
    quote = body.find('"')
    while quote >= 0:
        match = pattern.match(body, quote)
        if match is None or (visits >= _FIRST_VISITS and quote < visits * _CHARS_PER_VISIT):
            parts.extend(filter(None, pattern.split(body[done:])))  # unmatched groups: None
            return "".join(parts)
        bare = match.group(1) or match.group(2)
        if bare is not None:
            parts += (body[done:quote], bare)
            done = match.end()
        visits += 1
        quote = body.find('"', match.end())
    if not parts:
        return body
    parts.append(body[done:])
    return "".join(parts)


class NotFast(Exception):
    """A table candidate cannot take the ``etoon`` path (raised by a strict renderer)."""


def table_candidate(value: Any) -> bool:
    """A list long enough for the ``etoon`` path whose first item is an object."""
    return type(value) is list and len(value) >= FAST_ROWS and type(value[0]) is dict


def keyed_candidate(value: Any) -> bool:
    """An object long enough for the ``etoon`` path whose first value is an object."""
    return (
        type(value) is dict and len(value) >= FAST_ROWS and type(next(iter(value.values()))) is dict
    )


def table_shapes(value: Any, depth: int = 3) -> tuple[Any, ...]:
    """Where the table candidates stand within ``depth`` object levels of the root (the keys
    down to them) and their first row's keys; empty when there is none."""
    if table_candidate(value):
        return ("rows", tuple(value[0]))
    if keyed_candidate(value):
        return ("keyed", tuple(next(iter(value.values()))))
    if depth and type(value) is dict:
        inner = tuple(
            (key, shapes)
            for key, item in value.items()
            if (shapes := table_shapes(item, depth - 1))
        )
        return ("object", inner) if inner else ()
    return ()


def prepare(value: Any) -> Any:
    """:func:`~.codec.normalize` everything but the table candidates, which stay as they are."""
    if table_candidate(value) or keyed_candidate(value):
        return value
    kind = type(value)
    if kind is dict:
        if all(type(key) is str and not _te._SURROGATE.search(key) for key in value):
            return {key: prepare(item) for key, item in value.items()}
        return normalize(value)
    if kind is list:
        return [prepare(item) for item in value]
    return normalize(value)


def _same_keys_in_order(objects: list[Any]) -> tuple[Any, ...] | None:
    """The shape of ``objects`` when all are objects with the same keys in the same order."""
    if not objects or set(map(type, objects)) != {dict}:
        return None
    names, count = tuple(objects[0]), len(objects)
    if not names or set(map(len, objects)) != {len(names)}:
        return None
    # zip(*objects) walks every object's keys in step: the i-th keys of all of them
    if any(keys.count(name) != count for name, keys in zip(names, zip(*objects))):
        return None
    shape: list[tuple[Any, tuple[Any, ...] | None]] = []
    for name in names:
        if type(objects[0][name]) is dict:
            nested = _same_keys_in_order(list(map(itemgetter(name), objects)))
            if nested is None:
                return None
            shape.append((name, nested))
        else:
            shape.append((name, None))
    return tuple(shape)


SAMPLE_ROWS = (4, 96)
# A sample holds about this share of its table's JSON (a 64th), but at least SAMPLE_MIN_CHARS
# and at most the caller's ``sample_chars``: comparing delimiters on it then costs a small,
# fixed fraction of the table's encode.
SAMPLE_SHARE = 64
SAMPLE_MIN_CHARS = 512


def _sample_step(count: int, head: list[Any], sample_chars: int) -> int | None:
    """Every how many rows a sample takes one (None: all rows, the table is small enough).

    The sample holds about ``len(JSON) / SAMPLE_SHARE`` characters of the rows' JSON (the
    width of a row estimated on ``head``, the first rows), between ``SAMPLE_MIN_CHARS`` and
    ``sample_chars``, and 4 to 96 rows.
    """
    if count <= SAMPLE_ROWS[0]:
        return None
    sized = plain_json_bytes(head)
    width = max(1, len(sized) // len(head)) if sized is not None else 100
    chars = min(sample_chars, max(SAMPLE_MIN_CHARS, width * count // SAMPLE_SHARE))
    wanted = min(max(chars // width, SAMPLE_ROWS[0]), SAMPLE_ROWS[1])
    return None if wanted >= count else -(-count // wanted)


class FastAutoEncoder(AutoEncoder):
    """:class:`AutoEncoder` that renders table candidates through ``etoon`` (module docstring).

    Works on :func:`prepare`'d values. ``fast_tables`` counts the tables written by ``etoon``,
    ``fast_json_chars`` their JSON characters, ``sampled`` whether any was cut to a sample.
    ``memo`` may be shared between renderers of the same value: what does not depend on the
    delimiter (each table's shape, its sample rows, their checked JSON bytes) is worked out
    once, by object id (the value must stay alive meanwhile).
    With ``strict``, a candidate that cannot take the ``etoon`` path raises :class:`NotFast`
    instead of being rendered by the Python renderer.
    """

    def __init__(
        self,
        indent_size: int,
        delimiter: str,
        length_marker: bool,
        *,
        sample_chars: int | None = None,
        strict: bool = False,
        memo: dict[tuple[str, int], Any] | None = None,
    ) -> None:
        super().__init__(indent_size, delimiter, length_marker)
        self.sample_chars = sample_chars
        self.memo = {} if memo is None else memo
        self.strict = strict
        self.fast_tables = 0
        self.fast_json_chars = 0
        self.sampled = False

    # -- entry points where a candidate can stand ----------------------------------------

    def root(self, value: Any) -> None:
        if keyed_candidate(value):
            if self._keyed("", value, 0):
                return
            value = self._fallback(value)
        super().root(value)  # a table candidate reaches array()

    def field(self, key: str, value: Any, depth: int) -> None:
        if keyed_candidate(value):
            if self._keyed(key, value, depth):
                return
            value = self._fallback(value)
        super().field(key, value, depth)

    def array(self, prefix: str, array: list[Any], depth: int, *, tabular: bool) -> None:
        if table_candidate(array):
            if tabular and self._table(prefix, array, depth):
                return
            array = self._fallback(array)
        super().array(prefix, array, depth, tabular=tabular)

    def item(self, value: Any, depth: int) -> None:
        if keyed_candidate(value):
            value = self._fallback(value)
        super().item(value, depth)

    def _fallback(self, value: Any) -> Any:
        if self.strict:
            raise NotFast
        return normalize(value)

    # -- the etoon path --------------------------------------------------------------------

    def _remember(self, kind: str, obj: Any, compute: Callable[[], Any]) -> Any:
        key = (kind, id(obj))
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def _render(
        self,
        raw: bytes | None,
        hidden: bytes | None,
        header: str,
        keyed: bool,
        depth: int,
        *,
        row_prefix: str | None = None,
        rows: int = 0,
    ) -> str | None:
        """``etoon``'s rows for checked JSON bytes under ``header`` (checked), adapted; or None.

        ``hidden`` is ``raw`` with its inner colons swapped out (:func:`_hide_colons`,
        :func:`_hide_cell_colons`), if that is safe. With ``row_prefix`` the bytes are
        ``rows`` arrays of cells (:meth:`_flat_rows`), which ``etoon`` writes as list items
        starting with that prefix: it must start every row, and is removed. Returns the body,
        starting with a line feed.
        """
        if raw is None:
            return None
        text = render(raw if hidden is None else hidden, self.delimiter)
        if not text.startswith(header) or not text.startswith("\n", len(header)):
            return None
        body = text[len(header) :]
        if row_prefix is not None:
            relaxed = body.replace(row_prefix, "\n  ")
            if len(body) - len(relaxed) != rows * (len(row_prefix) - 3):
                return None  # a row holds an array or object: etoon wrote it on several lines
            body = relaxed
        if hidden is not None:
            body = body.replace(_COLON_STAND_IN, ":")
        if '"' in body:
            body = _relax(body, _relax_pattern(self.delimiter, keyed))
        pad = self.unit * (depth + 1)
        if pad != "  ":
            body = body.replace("\n  ", "\n" + pad)
        self.fast_tables += 1
        self.fast_json_chars += len(raw) if raw.isascii() else len(raw.decode("utf-8"))
        self.delimited = True
        return body

    def _table(self, prefix: str, rows: list[Any], depth: int) -> bool:
        return self._fast_block(prefix, rows, depth, keyed=False)

    def _keyed(self, key: str, obj: dict[str, Any], depth: int) -> bool:
        return self._fast_block(key, obj, depth, keyed=True)

    def _fast_block(self, prefix: str, block: Any, depth: int, *, keyed: bool) -> bool:
        """Write a uniform table (``keyed``: an object of uniform objects) through etoon."""
        shape_of = _keyed_shape if keyed else _same_keys_in_order
        sample_of = _sample_entries if keyed else _sample_rows
        shape = self._remember("shape", block, lambda: shape_of(block))
        if shape is None:
            return False
        chosen = block
        if self.sample_chars is not None:
            chars = self.sample_chars
            chosen = self._remember("sample", block, lambda: sample_of(block, chars))
        sampled = chosen is not block
        colon = ":" if keyed else ""
        toon_fields, fields = _field_lists(shape, self.delimiter)
        if not keyed and _flat(shape):
            body = self._flat_rows(chosen, shape, sampled, depth)
        else:
            raw = self._remember(
                "json", chosen, lambda: _checked_json(chosen, keyed=keyed, sampled=sampled)
            )
            hidden = self._remember(
                "hidden", chosen, lambda: _hide_colons(raw, chosen, shape, keyed)
            )
            header = f"[{len(chosen)}{colon}{self.symbol}]{toon_fields}:"
            body = self._render(raw, hidden, header, keyed, depth)
        if body is None:
            return False
        self.sampled |= sampled
        self.emit(depth, f"{prefix}[{self.mark}{len(block)}{colon}{self.symbol}]{fields}:{body}")
        return True

    def _flat_rows(
        self, rows: list[Any], shape: tuple[Any, ...], sampled: bool, depth: int
    ) -> str | None:
        """A flat table's body, from ``etoon``'s rendering of its rows as arrays of cells.

        Without keys the JSON is about a third shorter and holds no colon but those inside
        strings, so hiding them is one byte swap; ``etoon`` writes each row as a list item
        (``- [N]: a,b``) with the cells quoted as in a table's row.
        """
        key_chars = _key_chars(shape)
        if key_chars is None:
            return None
        cells = self._remember("cells", rows, lambda: _cells(rows, shape))
        raw = self._remember(
            "json", cells, lambda: _checked_json(cells, keyed=False, sampled=sampled)
        )
        hidden = self._remember("hidden", cells, lambda: _hide_cell_colons(raw, cells))
        header = f"[{len(rows)}{self.symbol}]:"
        row_prefix = f"\n  - [{len(shape)}{self.symbol}]: "
        body = self._render(
            raw, hidden, header, False, depth, row_prefix=row_prefix, rows=len(rows)
        )
        if body is not None:
            self.fast_json_chars += key_chars * len(rows)  # the rows' JSON as objects
        return body


@lru_cache(maxsize=256)
def _field_lists(shape: tuple[Any, ...], delimiter: str) -> tuple[str, str]:
    """A table's field list as TOON writes it (``etoon``'s header) and as adaptive output does."""
    toon = KTOFEncoder(2, delimiter, False).field_list(shape)
    return toon, AutoEncoder(2, delimiter, False).field_list(shape)


def _flat(shape: tuple[Any, ...]) -> bool:
    return all(nested is None for _, nested in shape)


def _cells(rows: list[Any], shape: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Each row's values (rows of the same keys in the same order)."""
    cells = map(itemgetter(*(name for name, _ in shape)), rows)
    return list(cells) if len(shape) > 1 else list(zip(cells))


@lru_cache(maxsize=256)
def _key_chars(shape: tuple[Any, ...]) -> int | None:
    """What a flat row's keys add to its JSON (``"key":`` each); None for keys ``orjson``
    refuses (not strings, lone surrogates), which the general rules normalize."""
    names = plain_json_bytes([name for name, _ in shape])
    if names is None or any(type(name) is not str for name, _ in shape):
        return None
    return len(names.decode("utf-8")) - 1  # '["a","b"]' holds as many characters, less one


def _keyed_shape(obj: dict[str, Any]) -> tuple[Any, ...] | None:
    """The shape of a keyed table's values (a key that is not a string fails in ``orjson``)."""
    return _same_keys_in_order(list(obj.values()))


def _checked_json(value: Any, *, keyed: bool, sampled: bool) -> bytes | None:
    """JSON bytes of table rows that ``etoon`` writes as the Python renderer does, else None.

    A sample only feeds a token count, so its values are not checked (the full table is,
    before its text is used).
    """
    raw = plain_json_bytes(value)
    if raw is None or sampled:
        return raw
    if b"\x7f" in raw or not etoon_identical(raw, keys=keyed):
        return None
    return raw


def _first_cells(block: Any, shape: tuple[Any, ...], keyed: bool) -> Any:
    """The texts written first on each row: entry keys, or the rows' first (leaf) column."""
    if keyed:
        return block
    cells = block
    while shape:
        name, nested = shape[0]
        cells = map(itemgetter(name), cells)
        shape = nested
    return cells


def _hide_colons(
    raw: bytes | None, block: Any, shape: tuple[Any, ...], keyed: bool
) -> bytes | None:
    """``raw`` with the colons inside strings swapped for :data:`_COLON_STAND_IN`, or None.

    Compact JSON has a colon outside strings only right after a key's closing quote; a colon
    restored there that was inside a string (after an escaped quote, or first in a string)
    is merely left for ``etoon`` to quote, as before. None when the first rows' values hold
    no colon (swapping would cost more than it saves), the stand-in occurs in the data, or a
    field name or first cell holds a colon (those stay quoted in adaptive output too).
    """
    if raw is None or _STAND_IN_BYTES in raw:
        return None
    head = list(islice(block.values() if keyed else block, 8))
    head_json = plain_json_bytes(head)
    if head_json is None or head_json.count(b":") <= len(head) * _key_count(shape):
        return None
    if _colon_in_names(shape):
        return None
    texts = [cell for cell in _first_cells(block, shape, keyed) if type(cell) is str]
    if texts and ":" in "\n".join(texts):
        return None
    return raw.replace(b":", _STAND_IN_BYTES).replace(b'"' + _STAND_IN_BYTES, b'":')


def _hide_cell_colons(raw: bytes | None, cells: list[tuple[Any, ...]]) -> bytes | None:
    """Rows of cells (JSON arrays) with the colons inside their strings swapped for
    :data:`_COLON_STAND_IN`; None when there is none, the stand-in occurs in the data, a
    first cell holds a colon (adaptive output quotes it) or the JSON holds a ``{`` (a cell
    may be an object, whose colons must stay: such rows are refused later anyway)."""
    if raw is None or raw.find(b":") < 0 or _STAND_IN_BYTES in raw or raw.find(b"{") >= 0:
        return None
    texts = [cell for cell in map(itemgetter(0), cells) if type(cell) is str]
    if texts and ":" in "\n".join(texts):
        return None
    return raw.replace(b":", _STAND_IN_BYTES)


def _key_count(shape: tuple[Any, ...]) -> int:
    return sum(1 + (_key_count(nested) if nested else 0) for _, nested in shape)


def _colon_in_names(shape: tuple[Any, ...]) -> bool:
    return any(":" in name or (nested and _colon_in_names(nested)) for name, nested in shape)


def _sample_rows(rows: list[Any], sample_chars: int) -> list[Any]:
    step = _sample_step(len(rows), rows[:8], sample_chars)
    return rows if step is None else rows[::step]


def _sample_entries(obj: dict[str, Any], sample_chars: int) -> dict[str, Any]:
    step = _sample_step(len(obj), list(islice(obj.values(), 8)), sample_chars)
    return obj if step is None else dict(islice(obj.items(), 0, None, step))
