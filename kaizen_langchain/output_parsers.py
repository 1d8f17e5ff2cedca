"""``KaizenDecode``: an output parser that reads KTOF (or JSON) answers, streaming too."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pydantic
from kaizen_core.engine import LineCutter
from kaizen_core.engine.stream import ends_in_stripped_blank
from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers.transform import BaseTransformOutputParser
from langchain_core.runnables import RunnableConfig
from pydantic import ConfigDict, Field, PrivateAttr, SkipValidation

from ._codec import ASCII_BLANK, Codec, KTOFDecodeError, decode_json_or_ktof, new_stream_decoder
from .callbacks import DECODE_EVENT, aemit, emit

__all__ = ["KaizenDecode", "KaizenOutputParserException", "kaizen_decode"]

FORMAT_INSTRUCTIONS = (
    "Answer in KTOF (TOON), not JSON, and nothing else. KTOF rules: one `key: value` per "
    "line; nested objects are indented by 2 spaces under `key:`; a list of primitives is "
    "`key[N]: v1,v2`; a list of objects with the same fields is a table: `key[N]{f1,f2}:` "
    "followed by N indented rows `v1,v2`; quote strings that contain commas, colons or "
    "leading/trailing spaces with double quotes."
)


class KaizenOutputParserException(OutputParserException):
    """An answer that is neither KTOF nor JSON; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, *, llm_output: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message, llm_output=llm_output)
        self.line = line
        self.column = column


# Code fences are whole lines (split at "\n" only, as KTOF splits them; a "\r" before the
# "\n" is part of the line ending). The opening fence may carry a label (```toon, ```json).
_OPENING_FENCE_LINE = re.compile(r"^[ \t]*```[\w-]*[ \t]*\r?$", re.MULTILINE)
_CLOSING_FENCE_LINE = re.compile(r"^[ \t]*```[ \t]*\r?$", re.MULTILINE)
_FENCE = "```"


def _is_opening_fence(line: str) -> bool:
    """Whether ``line`` (with or without its line feed) is an opening code fence."""
    return _OPENING_FENCE_LINE.fullmatch(line.removesuffix("\n")) is not None


def _is_closing_fence(line: str) -> bool:
    """Whether ``line`` (with or without its line feed) is a closing code fence."""
    return _CLOSING_FENCE_LINE.fullmatch(line.removesuffix("\n")) is not None


def _ends_in_glued_fence(line: str) -> bool:
    """Whether ``line`` has content and ends with the three backticks of a closing fence."""
    return line.rstrip(ASCII_BLANK).endswith(_FENCE) and not _is_closing_fence(line)


def _answer_body(text: str) -> tuple[str, int]:
    """The KTOF/JSON part of an answer and the number of lines before it.

    The first opening fence line starts the answer (a model often writes a sentence before
    it, as LangChain's JSON parsers allow); the first closing fence line after it ends the
    answer, and so does a fence glued to the end of the last line with content (the three
    backticks right after the last value); without a closing fence the answer runs to the
    end of the text (an answer cut off). Without an opening fence the answer is the whole
    text. Only the ASCII whitespace around the answer is dropped (a value may end with a
    Unicode space such as U+3000: that stays). Lines end at line feeds only, as in KTOF.
    ``_StreamState`` reads answers by the same rules, line by line.
    """
    start, end = 0, len(text)
    opening = _OPENING_FENCE_LINE.search(text)
    if opening is not None:
        start = min(opening.end() + 1, len(text))
        closing = _CLOSING_FENCE_LINE.search(text, start)
        if closing is not None:
            end = max(closing.start() - 1, start)  # without the "\n" before the fence
        else:
            rest = text[start:].rstrip(ASCII_BLANK)
            end = start + len(rest)
            if rest.endswith(_FENCE):
                end -= len(_FENCE)
    body = text[start:end]
    lead = len(body) - len(body.lstrip(ASCII_BLANK))
    return body.strip(ASCII_BLANK), text.count("\n", 0, start + lead)


def _error(exc: KTOFDecodeError, raw: str, line_offset: int = 0) -> KaizenOutputParserException:
    line = exc.line + line_offset
    return KaizenOutputParserException(
        f"Invalid KTOF output at line {line}, column {exc.column}: {exc.msg}",
        llm_output=raw,
        line=line,
        column=exc.column,
    )


def _type_hint(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    schema = _resolve(schema, defs)
    if "enum" in schema:
        return "|".join(str(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_type_hint(s, defs) for s in schema[key])
    kind = schema.get("type", "value")
    return f"<{kind}>" if isinstance(kind, str) else "<value>"


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return _resolve(defs.get(ref.rsplit("/", 1)[-1], {}), defs)
    return schema


def _skeleton(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> list[str]:
    """KTOF lines that show the shape of a JSON schema object."""
    pad = "  " * depth
    lines: list[str] = []
    for name, sub in (_resolve(schema, defs).get("properties") or {}).items():
        sub = _resolve(sub, defs)
        if sub.get("type") == "array":
            items = _resolve(sub.get("items") or {}, defs)
            fields = items.get("properties")
            if fields:
                lines.append(f"{pad}{name}[N]{{{','.join(fields)}}}:")
                row = ",".join(_type_hint(f, defs) for f in fields.values())
                lines.append(f"{pad}  {row}")
            else:
                hint = _type_hint(items, defs)
                lines.append(f"{pad}{name}[N]: {hint},{hint}")
        elif sub.get("type") == "object" or "properties" in sub:
            lines.append(f"{pad}{name}:")
            lines.extend(_skeleton(sub, defs, depth + 1))
        else:
            lines.append(f"{pad}{name}: {_type_hint(sub, defs)}")
    return lines


class _StreamState:
    """Feeds complete lines to the engine's StreamDecoder; drops code fences.

    The decoder reads what ``parse`` decodes (the rules of ``_answer_body``): the first
    line without its indent, and the last without a trailing tab (such a line is held until
    a line with content follows it); inside a fence, a line ending in a glued fence is held
    the same way: the end of the stream makes it the last line (without the fence), a line
    with content after it makes it a body line.
    Every character is looked at a constant number of times, so a whole stream costs
    time linear in its length (the decoder itself is linear as well).
    """

    def __init__(self, parser: KaizenDecode) -> None:
        self.parser = parser
        self.decoder: Any = None
        self.mode: str | None = None  # "ktof", "json" or None before the first content
        self.cutter = LineCutter()
        self.raw: list[str] = []
        self.json_text: list[str] = []
        self.lines_dropped = 0
        self.lines_seen = 0
        self.opened = False  # an opening code fence was seen
        self.held_error: KTOFDecodeError | None = None
        self.held: list[str] = []  # a line ending in a tab, and the blank lines after it
        self.glued: list[str] = []  # a line ending in a fence, and the blank lines after it
        self.finished = False
        self.last: Any = None  # the last value feed returned (what the consumer last saw)

    def feed(self, chunk: str) -> list[Any]:
        self.raw.append(chunk)
        # Lines end at "\n" only (as in KTOF and parse), not at a lone "\r" or U+2028.
        out = self._lines([line + "\n" for line in self.cutter.feed(chunk)])
        if out:
            self.last = out[-1]
        return out

    def _lines(self, lines: list[str]) -> list[Any]:
        out: list[Any] = []
        for line in lines:
            if self.finished:
                break
            if self.glued:
                if not line.strip(ASCII_BLANK):
                    self.glued.append(line)
                    continue
                glued, self.glued = self.glued, []  # not the end: body lines after all
                for earlier in glued:
                    self._line(earlier, out)
            if self.opened and _ends_in_glued_fence(line):
                self.glued.append(line)
                continue
            self._line(line, out)
        return out

    def _line(self, line: str, out: list[Any]) -> None:
        """Read one line of the answer (``line`` keeps its line feed unless it is the last)."""
        if self.finished:
            return
        self.lines_seen += 1
        if self.opened:
            if _is_closing_fence(line):  # the answer is complete
                self._feed_held_as_last(out)
                self.finished = True
                return
        elif _is_opening_fence(line):  # whatever came before it was prose
            self._restart()
            return
        if self.mode is None:
            content = line.strip(ASCII_BLANK)  # as parse strips the body
            if not content:
                self.lines_dropped = self.lines_seen
                return
            self._choose_mode(content)
            line = line.lstrip(ASCII_BLANK)
        if self.mode == "json":
            self.json_text.append(line)
            return
        if self.held_error is not None:
            return
        if self.held:
            if not line.strip(ASCII_BLANK):
                self.held.append(line)
                return
            held, self.held = self.held, []
            for earlier in held:
                self._feed(earlier, out)
        if ends_in_stripped_blank(line):
            self.held.append(line)
            return
        self._feed(line, out)

    def _feed(self, line: str, out: list[Any]) -> None:
        """Give ``line`` to the decoder; a completed unit adds the value so far to ``out``."""
        if self.held_error is not None:
            return
        try:
            completed = self.decoder.feed(line)
        except KTOFDecodeError as exc:
            if self.opened:
                raise _error(exc, "".join(self.raw), self.lines_dropped) from exc
            # Maybe prose before a fenced answer: decided by a fence or by the end.
            self.held_error = exc
            return
        if completed:
            out.append(self._partial())

    def _feed_held_as_last(self, out: list[Any]) -> None:
        """The body ended: a held line is its last, without the blanks ``parse`` strips."""
        if self.held:
            last, self.held = self.held[0], []
            self._feed(last.rstrip(ASCII_BLANK), out)

    def _restart(self) -> None:
        """Start over after an opening fence: the lines before it are not the answer."""
        self.opened = True
        self.mode = None
        self.decoder = None
        self.json_text = []
        self.held_error = None
        self.held = []
        self.last = None
        self.lines_dropped = self.lines_seen

    def _choose_mode(self, first_line: str) -> None:
        looks_json = first_line[:1] in ("{", '"') or (
            first_line[:1] == "[" and not re.match(r"\[#?\d", first_line)
        )
        self.mode = "json" if looks_json else "ktof"
        if self.mode == "ktof":
            self.decoder = new_stream_decoder()

    def _partial(self) -> Any:
        return self.decoder.snapshot() if self.decoder is not None else None

    def close(self) -> Any:
        rest = self.cutter.rest()
        if rest:
            self._lines([rest])
        if self.glued:  # the last line with content ends in the closing fence
            last, self.glued = self.glued[0], []
            self._line(last.rstrip(ASCII_BLANK).removesuffix(_FENCE), [])
        if not self.finished:
            self._feed_held_as_last([])
        raw = "".join(self.raw)
        if self.held_error is not None:
            raise _error(self.held_error, raw, self.lines_dropped) from self.held_error
        if self.mode == "json":
            try:
                value = decode_json_or_ktof("".join(self.json_text), self.parser.codec)
            except KTOFDecodeError as exc:  # not JSON after all, nor KTOF
                raise _error(exc, raw, self.lines_dropped) from exc
            return self.parser._finish(value, raw)
        if self.mode is None:
            raise KaizenOutputParserException("Empty output: no KTOF or JSON", llm_output=raw)
        try:
            value = self.decoder.close()
        except KTOFDecodeError as exc:
            raise _error(exc, raw, self.lines_dropped) from exc
        return self.parser._finish(value, raw)


class KaizenDecode(BaseTransformOutputParser[Any]):
    """Parse a KTOF (or JSON) answer into a Python value, or a pydantic model.

    - Code fences (```` ```toon ````, ```` ```json ````, bare) are stripped, also with CRLF
      line endings, a closing fence glued to the last line, or none (an answer cut off).
      A sentence before a fenced answer is skipped (parse and stream alike); an answer that
      is only a fence is empty output.
    - Only ASCII whitespace (spaces, tabs, newlines) around the answer is ignored: other
      Unicode spaces (U+00A0, U+3000, ...) belong to the KTOF, e.g. to a value's end.
    - ``pydantic_object=Model`` validates the final value into ``Model``.
    - Streaming (``stream``/``astream``/``transform``) yields the growing value each time
      rows/values complete, using the engine's ``StreamDecoder`` (no re-parse of the
      text per chunk); the last yield is the final value (a model instance with
      ``pydantic_object``). JSON answers are yielded once, complete.
    - Malformed output raises :class:`KaizenOutputParserException` (an
      ``OutputParserException``) naming line and column, with the raw text as ``llm_output``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pydantic_object: Annotated[type[pydantic.BaseModel] | None, SkipValidation()] = None
    client: Any = Field(default=None, exclude=True)
    model: str | None = None

    _codec: Codec | None = PrivateAttr(default=None)

    @property
    def codec(self) -> Codec:
        if self._codec is None:
            self._codec = Codec(self.client, model=self.model)
        return self._codec

    @property
    def _type(self) -> str:
        return "kaizen_decode"

    @property
    def OutputType(self) -> Any:
        return self.pydantic_object or Any

    # -- one-shot --------------------------------------------------------------------
    def _finish(self, value: Any, raw: str) -> Any:
        if self.pydantic_object is None:
            return value
        try:
            return self.pydantic_object.model_validate(value)
        except pydantic.ValidationError as exc:
            raise KaizenOutputParserException(
                f"Decoded output does not match {self.pydantic_object.__name__}: {exc}",
                llm_output=raw,
            ) from exc

    def parse(self, text: str) -> Any:
        """Decode one complete answer."""
        body, offset = _answer_body(text)
        if not body.strip(ASCII_BLANK):
            raise KaizenOutputParserException("Empty output: no KTOF or JSON", llm_output=text)
        try:
            value = decode_json_or_ktof(body, self.codec)
        except KTOFDecodeError as exc:
            raise _error(exc, text, offset) from exc
        return self._finish(value, text)

    def get_format_instructions(self) -> str:
        """How to answer in KTOF; with ``pydantic_object``, the expected shape in KTOF."""
        if self.pydantic_object is None:
            return FORMAT_INSTRUCTIONS
        schema = self.pydantic_object.model_json_schema()
        shape = "\n".join(_skeleton(schema, schema.get("$defs") or {}))
        described = {
            name: prop.get("description")
            for name, prop in (schema.get("properties") or {}).items()
            if prop.get("description")
        }
        notes = "".join(f"\n- {name}: {text}" for name, text in described.items())
        schema_json = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
        return (
            f"{FORMAT_INSTRUCTIONS}\n\nThe answer must match this shape (N = number of "
            f"rows, values in angle brackets are types):\n```\n{shape}\n```{notes}\n"
            f"JSON schema of the answer: {schema_json}"
        )

    # -- events ---------------------------------------------------------------------
    def _event(self, raw_chars: int) -> dict[str, Any]:
        return {"source": "KaizenDecode", "model": self.codec.model, "chars": raw_chars}

    def _parse_input(self, input: str | BaseMessage) -> tuple[Any, int]:
        text = input.text if isinstance(input, BaseMessage) else input
        return self.parse(text), len(text)

    def _invoke(self, input: str | BaseMessage, run_manager: CallbackManagerForChainRun) -> Any:
        value, chars = self._parse_input(input)
        emit(DECODE_EVENT, self._event(chars), run_manager)
        return value

    async def _ainvoke(
        self, input: str | BaseMessage, run_manager: AsyncCallbackManagerForChainRun
    ) -> Any:
        if self.codec.decodes_remotely:  # a blocking HTTP call: keep it off the event loop
            value, chars = await asyncio.to_thread(self._parse_input, input)
        else:
            value, chars = self._parse_input(input)
        await aemit(DECODE_EVENT, self._event(chars), run_manager)
        return value

    def invoke(
        self, input: str | BaseMessage, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """Decode one complete answer (a string or a message)."""
        return self._call_with_config(self._invoke, input, config, run_type="parser")

    async def ainvoke(
        self, input: str | BaseMessage, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """Async :meth:`invoke`."""
        return await self._acall_with_config(self._ainvoke, input, config, run_type="parser")

    # -- streaming -----------------------------------------------------------------
    def _values(self, state: _StreamState, chunk: str | BaseMessage) -> list[Any]:
        text = chunk.text if isinstance(chunk, BaseMessage) else chunk
        return state.feed(text) if text else []

    def _final(self, state: _StreamState) -> tuple[bool, Any]:
        final = state.close()
        return (self.pydantic_object is not None or final != state.last), final

    def _transform(  # type: ignore[override]
        self,
        input: Iterator[str | BaseMessage],
        run_manager: CallbackManagerForChainRun | None = None,
    ) -> Iterator[Any]:
        state = _StreamState(self)
        for chunk in input:
            yield from self._values(state, chunk)
        changed, final = self._final(state)
        if changed:
            yield final
        emit(DECODE_EVENT, self._event(sum(map(len, state.raw))), run_manager)

    async def _atransform(  # type: ignore[override]
        self,
        input: AsyncIterator[str | BaseMessage],
        run_manager: AsyncCallbackManagerForChainRun | None = None,
    ) -> AsyncIterator[Any]:
        state = _StreamState(self)
        async for chunk in input:
            for value in self._values(state, chunk):
                yield value
        changed, final = self._final(state)
        if changed:
            yield final
        await aemit(DECODE_EVENT, self._event(sum(map(len, state.raw))), run_manager)


kaizen_decode = KaizenDecode()
"""A ready ``KaizenDecode()``."""
