"""The public ``encode`` / ``decode`` functions of the engine."""

from __future__ import annotations

from typing import Any

from .codec import decode_toon, encode_toon, normalize
from .errors import KTOFDecodeError, KTOFOptionError
from .fast_toon import encode_fast_toon
from .options import (
    check_delimiter,
    check_format,
    check_indent,
    check_length_marker,
    check_strict,
)
from .stream import first_error

__all__ = ["decode", "encode"]


def encode(
    data: Any,
    *,
    indent: int = 2,
    delimiter: str = ",",
    length_marker: bool | str = False,
    format: str = "toon",
    model: str | None = None,
) -> str:
    """Encode a JSON-like value as KTOF text (no trailing newline).

    Args:
        data: Any JSON value; sets, tuples, dataclasses, pydantic models, enums,
            dates and UUIDs are normalized as ``toon-format`` does; NaN/inf become null.
        indent: Spaces per indentation level (>= 1).
        delimiter: ``","``, ``"\\t"`` or ``"|"`` for inline arrays and table rows.
        length_marker: ``True``/``"#"`` writes ``[#N]`` array headers.
        format: ``"toon"`` writes exactly the TOON spec's output (through the compiled
            ``etoon`` encoder where that is byte-identical, see :mod:`.fast_toon`); ``"auto"`` picks,
            per block and subtree, the representation with the fewest tokens for
            ``model`` (see :mod:`kaizen_core.engine.adaptive`); ``indent`` and
            ``delimiter`` are then starting preferences, not fixed choices.
        model: The target model of ``format="auto"`` (default gpt-4o).

    Raises:
        KTOFOptionError: an option cannot be honoured.
        KTOFEncodeError: ``data`` has no KTOF representation.
    """
    indent = check_indent(indent)
    delimiter = check_delimiter(delimiter)
    marker = check_length_marker(length_marker)
    fmt = check_format(format)
    if model is not None and not isinstance(model, str):
        raise KTOFOptionError(f"model must be a string, got {model!r}")
    if fmt == "toon":
        fast = encode_fast_toon(data, indent=indent, delimiter=delimiter, length_marker=marker)
        if fast is not None:
            return fast
    if fmt == "auto":
        from .adaptive import encode_adaptive, encode_tables_fast

        fast = encode_tables_fast(
            data, indent=indent, delimiter=delimiter, length_marker=marker, model=model
        )
        if fast is not None:
            return fast
    value = normalize(data)
    if fmt == "auto":
        return encode_adaptive(
            value, indent=indent, delimiter=delimiter, length_marker=marker, model=model
        )
    return encode_toon(value, indent=indent, delimiter=delimiter, length_marker=marker)


def decode(text: str | bytes, *, indent: int = 2, strict: bool = True) -> Any:
    """Decode KTOF text: spec TOON, ``[#N]`` headers, and all ``format="auto"`` output.

    Args:
        text: The KTOF document (bytes are read as UTF-8).
        indent: Spaces per indentation level; must match the encoder's when strict.
        strict: Enforce indentation multiples, no tabs in indentation, exact declared
            counts, no duplicate keys, no blank lines inside arrays.

    Raises:
        KTOFDecodeError: malformed input, with ``line`` and ``column`` (1-based): the
            first error met reading down (a line's indentation when it is read, a block's
            structure when it ends), the one :class:`StreamDecoder` raises too
            (:func:`~.stream.first_error`).
        KTOFOptionError: an option cannot be honoured.
    """
    indent = check_indent(indent)
    strict = check_strict(strict)
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KTOFDecodeError(
                f"Invalid UTF-8: {exc.reason} at byte {exc.start}", 1, 1, repr(text)
            ) from None
    if not isinstance(text, str):
        raise TypeError(f"KTOF text must be str or bytes, not {type(text).__name__}")
    try:
        return decode_toon(text, indent=indent, strict=strict)
    except KTOFDecodeError as error:
        raise (first_error(text, indent=indent, strict=strict) or error) from None
