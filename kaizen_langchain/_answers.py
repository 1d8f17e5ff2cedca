"""``decode_answers``: a structured KTOF answer as compact JSON text, whole or while it streams.

The rule (:func:`answer_json`) looks at the answer's body: the answer with a code fence
around the whole of it removed, then stripped of ASCII whitespace (spaces, tabs, newlines:
what KTOF itself ignores; a Unicode space such as U+3000 can end a value and is kept).

* a **JSON** object or array (fenced or not) becomes compact JSON text;
* **KTOF** becomes compact JSON text when it is *structured*: the decoded value is an array
  (a root array ``[N]...:``), or an object with a field that holds an array (a
  ``key[N]...:`` header, a list of ``- `` items, an inline ``[...]`` value) or a non-empty
  object (a ``key:`` line followed by an indented block, or an inline ``{...}`` value);
* **flat** KTOF, ``key: value`` lines only, is kept as it is: that is how models write prose
  (``Answer: 42``, ``Note: ...`` / ``Reason: ...``, ``Source: https://...``). The one
  exception is an answer that is one code fence labelled ``toon``, ``ktof`` or ``json`` (any
  case): the model said it is writing data, so a flat object decodes too. A bare fence or
  another label keeps a flat body as text;
* anything else (prose, a single value, text that does not decode) is kept as it is.

JSON text is written with ``ensure_ascii=False``.

A stream must end with exactly that text, so :class:`StreamedAnswer` decides from the first
line of the body what it can show early:

* **prose** (the first line that is not blank or a ``#`` comment has no ``:`` and opens no
  JSON, array or fence): such an answer never decodes to an object or array, so the text
  passes through unchanged, chunk by chunk. The first line is held until it ends, since a
  ``:`` later in it could still make it a ``key: value`` line;
* **KTOF** (a ``key: value`` / ``key:`` line, a ``key[N]...:`` or ``[N]...:`` header): lines
  go to the engine's ``StreamDecoder``. Nothing is shown while the answer could still be flat
  ``key: value`` prose (a later line may still add an array or a nested object, so a flat
  answer is released whole at the end, or as soon as a line shows it is not KTOF); from the
  first table or list on (a root array, or a top-level field holding an array: the answer is
  structured from then on) the JSON text is written as rows, list items and top-level fields
  complete, each piece exactly as ``json.dumps`` writes it inside the whole value, and the
  rest of the JSON comes with the last chunk. Arrays nested deeper than a top-level field,
  keyed roots and answers without any array stream nothing and arrive whole;
* **anything else** (a JSON answer, which is re-serialised compactly) is held and decoded at
  the end.

A decode error before any JSON text was shown means the answer is not KTOF: the text held so
far is released and the rest passes through. An error after JSON text went out (an answer cut
off by a token limit, a row count that does not match its header, prose after the table)
cannot take that text back: the last chunk then carries
``response_metadata["kaizen"]["decode_error"]`` with the message, line and column, and the
answer as the model wrote it. Streamed answers are decoded in this process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

from kaizen_core.engine import LineCutter
from kaizen_core.engine.stream import ends_in_stripped_blank

from ._codec import ASCII_BLANK, Codec, KTOFDecodeError, decode_reading, is_ktof_root_array
from ._codec import new_stream_decoder as _new_stream_decoder

__all__ = ["StreamedAnswer", "answer_json"]

# An answer that is one code fence: ``\s*```lang[ \t]*``, a newline, the body, the closing fence.
_WHOLE_FENCE = re.compile(r"\s*```(?P<label>[\w-]*)[ \t]*\n(?P<body>.*?)\n?[ \t]*```\s*", re.DOTALL)
# The opening fence line of such an answer.
_OPENING_FENCE = re.compile(r"\s*```[\w-]*[ \t]*")
# The closing fence _WHOLE_FENCE removes from the end of the text.
_CLOSING_FENCE = re.compile(r"(.*?)\n?[ \t]*```\s*", re.DOTALL)
# Fence labels that mark the body as data: a flat object in them decodes too.
_DATA_LABELS = frozenset({"json", "ktof", "toon"})

_START, _PASS, _KTOF, _HOLD = "start", "pass", "ktof", "hold"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _answer_body(text: str) -> tuple[str, bool] | None:
    """The stripped body :func:`answer_json` decodes and whether a fence marks it as data;
    ``None`` when the body cannot hold an object or array."""
    fence = _WHOLE_FENCE.fullmatch(text)
    body = (fence.group("body") if fence else text).strip(ASCII_BLANK)
    if not body or (":" not in body and not body.startswith("[")):
        return None
    return body, fence is not None and fence.group("label").lower() in _DATA_LABELS


def _takes_json_path(body: str) -> bool:
    """Whether :func:`decode_reading` tries ``body`` as a JSON document first."""
    return body[:1] in ("{", '"') or (body[:1] == "[" and not is_ktof_root_array(body))


def _is_structured(value: Any) -> bool:
    """An array, or an object with a field holding an array or a non-empty object."""
    if isinstance(value, list):
        return True
    return isinstance(value, dict) and any(
        isinstance(field, list) or (isinstance(field, dict) and bool(field))
        for field in value.values()
    )


def _json_of(value: Any, *, ktof: bool, marked: bool) -> str | None:
    """The JSON text of a decoded body, or ``None`` when the answer stays as it is."""
    if not isinstance(value, (dict, list)):
        return None
    if ktof and not marked and not _is_structured(value):
        return None  # flat key: value lines: prose
    return _dump(value)


def _decoded_body(body: str, marked: bool, codec: Codec | None) -> str | None:
    try:
        value, reading = decode_reading(body, codec)
    except (KTOFDecodeError, ValueError):
        return None
    return _json_of(value, ktof=reading == "ktof", marked=marked)


def answer_json(text: str, codec: Codec | None = None) -> str | None:
    """``text`` as compact JSON when it is a JSON object/array or structured KTOF, else
    ``None`` (the rule is in the module docstring).

    ``codec`` decodes the KTOF (a codec with a ``KaizenSyncClient`` decodes through the
    service); ``None`` decodes in this process.
    """
    found = _answer_body(text)
    return None if found is None else _decoded_body(*found, codec)


def _last_keys(mapping: dict[str, Any], count: int) -> list[str]:
    """The last ``count`` keys of ``mapping``, in order (without walking the others)."""
    return list(islice(reversed(mapping), count))[::-1]


class _JsonWriter:
    """Writes the compact JSON of a ``StreamDecoder``'s live value as its parts become final.

    A root array's items, and the items of the array held by an object's last top-level
    field, are final once they are in the list; a top-level field other than the last is
    final. Before an object shows an array nothing is written (it may be prose).
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._items = 0  # items written of the open array
        self._fields = 0  # object: fields written whole
        self._open_key: str | None = None  # object: the field whose array is being written
        self._seen = 0  # object: fields looked at for an array
        self._confirmed = False

    def advance(self, value: Any) -> str:
        """The JSON text that became final since the last call."""
        out: list[str] = []
        if isinstance(value, list):
            if value and not self.parts:
                out.append("[")
            self._write_items(value, out)
        elif isinstance(value, dict) and self._confirm(value):
            self._write_fields(value, out)
        text = "".join(out)
        if text:
            self.parts.append(text)
        return text

    def _confirm(self, value: dict[str, Any]) -> bool:
        if not self._confirmed:
            fresh = _last_keys(value, len(value) - self._seen)
            self._seen = len(value)
            self._confirmed = any(isinstance(value[key], list) for key in fresh)
        return self._confirmed

    def _write_items(self, items: list[Any], out: list[str]) -> None:
        for item in items[self._items :]:
            out.append(f",{_dump(item)}" if self._items else _dump(item))
            self._items += 1

    def _write_fields(self, value: dict[str, Any], out: list[str]) -> None:
        keys = _last_keys(value, len(value) - self._fields)
        for position, key in enumerate(keys):
            field, final = value[key], position < len(keys) - 1
            if key != self._open_key:
                out.append(f"{',' if self._fields else '{'}{_dump(key)}:")
                if final or not isinstance(field, list):
                    out.append(_dump(field))
                    self._fields += 1
                    continue
                out.append("[")
                self._open_key, self._items = key, 0
            self._write_items(field, out)
            if final:
                out.append("]")
                self._open_key = None
                self._fields += 1


class StreamedAnswer:
    """The text of one streamed answer in, the text to show out (see the module docstring).

    :meth:`feed` takes each chunk's text and returns what to show for it; :meth:`finish`
    returns the rest of the text and the ``kaizen`` metadata for the last chunk.
    """

    def __init__(self, codec: Codec | None = None) -> None:
        self._codec = codec
        self._raw: list[str] = []
        self._mode = _START
        self._cutter = LineCutter()
        self._first_seen = False  # a line that is not blank was seen
        self._opened = False  # the answer opened with a code fence
        self._body: list[str] = []  # body lines before the mode was chosen
        self._held: list[str] = []  # lines that may end the body (see _holds)
        self._decoder: Any = None
        self._fed: list[str] = []
        self._writer = _JsonWriter()
        self._error: KTOFDecodeError | None = None
        self.finished = False

    # -- chunks in ------------------------------------------------------------------
    def feed(self, text: str) -> str:
        """Take one chunk of the answer; return the text to show for it now."""
        self._raw.append(text)
        if self._mode == _PASS:
            return text
        if self._mode == _HOLD or self._error is not None:
            return ""
        return "".join(self._lines(self._cutter.feed(text), ended=True))

    def _lines(self, lines: list[str], *, ended: bool) -> Iterator[str]:
        for line in lines:
            if self._mode == _START:
                self._mode = self._choose(line)
                if self._mode == _PASS:
                    yield self._release()
                    return
                if self._mode == _KTOF:
                    self._decoder = _new_stream_decoder()
                    body, self._body = self._body, []
                    yield from self._ktof_lines(body[:-1], ended=True)
                    if not self._stopped:
                        yield from self._ktof_lines(body[-1:], ended=ended)
            elif self._mode == _KTOF:
                yield from self._ktof_lines([line], ended=ended)
            if self._stopped:
                return

    @property
    def _stopped(self) -> bool:
        """No more lines to read: passing through, holding, or broken off."""
        return self._mode in (_PASS, _HOLD) or self._error is not None

    def _release(self) -> str:
        """Pass the answer through from now on; the text held so far goes out first."""
        self._mode = _PASS
        return "".join(self._raw)

    # -- choosing the mode ----------------------------------------------------------------
    def _choose(self, line: str) -> str:
        """The mode the first line of the body decides (``_START``: not decided yet)."""
        content = line.strip(ASCII_BLANK)
        if not content:
            if self._body:
                self._body.append(line)
            return _START
        if not self._first_seen:
            self._first_seen = True
            if _OPENING_FENCE.fullmatch(line):
                self._opened = True
                return _START
        if not self._body:
            line = line.lstrip(ASCII_BLANK)  # the body is stripped: its first line too
        self._body.append(line)
        if line.lstrip(" ").startswith("#"):  # a KTOF comment line
            return _START
        if content.startswith("```") or content[:1] in ("{", '"'):
            return _HOLD
        if content[:1] == "[":
            return _KTOF if is_ktof_root_array(content) else _HOLD
        return _KTOF if ":" in content else _PASS

    # -- KTOF ---------------------------------------------------------------------------
    def _holds(self, line: str) -> bool:
        """Whether ``line`` may end the body, where the body's stripping would change it.

        The body loses trailing ASCII whitespace (tabs too) and a closing fence; the
        decoder keeps a line's tabs (Unicode spaces are kept by both). Such a line (and the
        blank lines after it) waits until a line with content shows it was not the last.
        """
        content = line.rstrip(ASCII_BLANK)
        return (
            (bool(self._held) and not content)
            or ends_in_stripped_blank(line)  # a blank the decoder keeps
            or (self._opened and content.endswith("```"))
        )

    def _ktof_lines(self, lines: list[str], *, ended: bool) -> Iterator[str]:
        for line in lines:
            if self._holds(line):
                self._held.append(line)
                continue
            if self._held:
                held, self._held = self._held, []
                yield from self._feed_lines(held, ended=True)
                if self._stopped:
                    return
            yield from self._feed_lines([line], ended)
            if self._stopped:
                return

    def _feed_lines(self, lines: list[str], ended: bool) -> Iterator[str]:
        for line in lines:
            text = f"{line}\n" if ended else line
            self._fed.append(text)
            try:
                self._decoder.feed(text)
            except KTOFDecodeError as exc:
                if not self._writer.parts:
                    yield self._release()
                else:
                    self._error = exc
                return
            shown = self._writer.advance(getattr(self._decoder, "partial", None))
            if shown:
                yield shown

    # -- the end ------------------------------------------------------------------------
    def finish(self) -> tuple[str, dict[str, Any]]:
        """The rest of the text to show, and what to add to the last chunk's ``kaizen``
        response metadata (``decoded_answer``, or ``decode_error``)."""
        self.finished = True
        tail = self._cutter.rest()
        shown = "".join(self._lines([tail], ended=False)) if tail else ""
        if self._mode == _PASS:
            return shown, {}
        if self._mode == _KTOF and self._held and self._error is None:
            last = "\n".join(self._held)  # what ends the body: stripped, fence and all
            self._held = []
            closing = _CLOSING_FENCE.fullmatch(last) if self._opened else None
            last = (closing.group(1) if closing else last).rstrip(ASCII_BLANK)
            if last:
                shown += "".join(self._feed_lines([last], ended=False))
            if self._mode == _PASS:
                return shown, {}
        raw = "".join(self._raw)
        expected = self._expected(raw)
        written = "".join(self._writer.parts)
        if expected is None:
            if not written:
                return shown + raw, {}
            return shown, self._failure(raw, "the answer did not decode")
        if not expected.startswith(written):  # not expected: the writer only writes final parts
            return shown, self._failure(raw, "the streamed JSON differs from the decoded answer")
        return shown + expected[len(written) :], {"decoded_answer": True}

    def _expected(self, raw: str) -> str | None:
        """The JSON text :func:`answer_json` gives for the whole answer."""
        if self._error is not None:
            return None
        found = _answer_body(raw)
        if found is None:
            return None
        body, marked = found
        fed = "".join(self._fed)
        streamed = self._mode == _KTOF and not _takes_json_path(body)
        if streamed and fed.rstrip(" \r\n") == body:
            try:  # the decoder read exactly the body: its value needs no second parse
                value = self._decoder.close()
            except (KTOFDecodeError, ValueError) as exc:
                self._error = exc if isinstance(exc, KTOFDecodeError) else None
                return None
            return _json_of(value, ktof=True, marked=marked)
        return _decoded_body(body, marked, self._codec)

    def _failure(self, raw: str, why: str) -> dict[str, Any]:
        error = self._error
        detail: dict[str, Any] = {"message": why, "line": None, "column": None, "answer": raw}
        if error is not None:
            detail.update(message=error.msg, line=error.line, column=error.column)
        return {"decode_error": detail}
