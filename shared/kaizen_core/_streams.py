"""Streaming helpers of the clients: chunked KTOF decoding and line-by-line array encoding.

Both run on the engine in this process (streams are not part of the REST contract), so they
behave the same whichever host the client talks to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from pydantic import BaseModel
from toon_format import _encoder as _toon_encoder

from . import engine
from .engine.codec import normalize
from .errors import KTOF_DECODE_ERROR_CODE, KaizenDecodeError, malformed_ktof_detail
from .models import DecodeOptions, EncodeOptions

_COUNT = re.compile(r"^\[(#?)\d+")
#: Options as a request-options model or a plain mapping (None: defaults).
BaseModelOrMapping = Any


def _options(options: BaseModelOrMapping, model: type[BaseModel]) -> dict[str, Any]:
    if options is None:
        return {}
    validated = model.model_validate(dict(options)) if isinstance(options, Mapping) else options
    return validated.model_dump(exclude_none=True)



class ChunkDecoder:
    """Feeds text chunks to ``engine.StreamDecoder``; maps its errors to KaizenDecodeError.

    ``feed`` returns the values completed by a chunk; ``finish`` returns what only the end of
    the input completes (for a top-level array: the rows not yet returned).
    """

    def __init__(self, options: BaseModelOrMapping = None) -> None:
        kwargs = _options(options, DecodeOptions)
        self._decoder = engine.StreamDecoder(
            indent=kwargs.get("indent") or 2, strict=kwargs.get("strict", True)
        )
        self._emitted = 0
        self._text: list[str] = []

    def feed(self, chunk: str) -> list[Any]:
        """Values completed by ``chunk``."""
        self._text.append(chunk)
        try:
            values = list(self._decoder.feed(chunk))
        except engine.KTOFDecodeError as exc:
            raise self._error(exc) from exc
        self._emitted += len(values)
        return values

    def finish(self) -> list[Any]:
        """Close the decoder; the values only the end of input completed."""
        try:
            whole = self._decoder.close()
        except engine.KTOFDecodeError as exc:
            raise self._error(exc) from exc
        # A root object's streamed rows come first, then the whole value.
        tail = list(self._decoder.closing_elements)
        if isinstance(whole, list):
            return tail if self._emitted + len(tail) == len(whole) else whole[self._emitted :]
        return [*tail, whole]

    def _error(self, exc: engine.KTOFDecodeError) -> KaizenDecodeError:
        text = exc.text if getattr(exc, "text", None) else "".join(self._text)
        return KaizenDecodeError(
            400,
            {
                "detail": malformed_ktof_detail(exc),
                "code": KTOF_DECODE_ERROR_CODE,
                "line": exc.line,
                "column": exc.column,
            },
            line=exc.line,
            column=exc.column,
            text=text,
        )


def ktof_lines(items: Sequence[Any], options: BaseModelOrMapping = None) -> Iterator[str]:
    """The lines of ``engine.encode(list(items), **options)``, produced one item at a time.

    The array's shape (inline primitives, table, or list) is decided over all items as the
    TOON spec does; each item is then encoded on its own, so the first lines are out before
    the last item is touched.
    """
    kwargs = _options(options, EncodeOptions)
    kwargs.pop("format", None)
    kwargs.pop("model", None)
    items = normalize(list(items))
    if not items or all(map(_toon_encoder._is_primitive, items)):
        yield from engine.encode(items, **kwargs).split("\n")
        return
    count = len(items)
    # The same table rule the engine's encoder applies (toon-format's, nested tables included).
    if _toon_encoder._shape(cast("list[Any]", items)) is not None:
        first = True
        for item in items:
            header, *rows = engine.encode([item], **kwargs).split("\n")
            if first:
                yield _with_count(header, count)
                first = False
            yield from rows
        return
    first = True
    for item in items:
        # An empty array next to the item forces the list form ("- item") for any item.
        header, *lines = engine.encode([item, []], **kwargs).split("\n")
        if first:
            yield _with_count(header, count)
            first = False
        yield from lines[:-1]


def _with_count(header: str, count: int) -> str:
    return _COUNT.sub(lambda m: f"[{m.group(1)}{count}", header, count=1)


__all__ = ["ChunkDecoder", "ktof_lines"]
