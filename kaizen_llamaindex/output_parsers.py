"""``KaizenOutputParser``: ask the LLM for KTOF, read its answer back into a value.

KTOF output is cheaper than JSON for the model to write (no quotes and braces around every
key, one header for a table of records), and the parser reads JSON as well, with or without a
code fence, so a model that ignores the instructions still parses.

``parse_stream``/``aparse_stream`` read an answer as it streams (``llm.stream_complete``):
the engine's ``StreamDecoder`` turns each completed line into the value so far.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, Literal

from kaizen_core.engine import KTOFDecodeError, LineCutter, StreamDecoder, decode, encode
from kaizen_core.engine.stream import ASCII_BLANK, ends_in_stripped_blank
from llama_index.core.bridge.pydantic import BaseModel, ValidationError
from llama_index.core.output_parsers.base import OutputParserException
from llama_index.core.types import BaseOutputParser

from kaizen_llamaindex.instrumentation import KaizenDecodeEvent, emit

__all__ = ["KaizenOutputParser", "KaizenOutputParserError"]

FORMAT_INSTRUCTIONS = """\
Answer in KTOF (TOON, Token-Oriented Object Notation), not JSON:
- an object is `key: value` lines; a nested object is `key:` followed by its lines \
indented by {indent} spaces;
- a list of scalars is `key[N]: a,b,c` (N = number of items);
- a list of objects with the same keys is a table: `key[N]{{field1,field2}}:` followed by \
N indented rows `value1,value2`;
- quote a string only when it contains a comma, colon, leading/trailing space or looks \
like a number, boolean or null.
Write only the KTOF, with no explanation."""

EXAMPLE_INTRO = "The answer must have this shape (values are examples):"

# A code fence is a line of its own ("```lang" to open, "```" to close): backticks inside KTOF
# (a value `note: use ```x````, a key "```: 1") are text, not a fence.
_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?P<lang>[A-Za-z0-9_-]*)[ \t]*\n(?P<body>.*?)"
    r"(?:\n[ \t]*```[ \t]*(?=\n|\Z)|\Z)",
    re.DOTALL | re.MULTILINE,
)


class KaizenOutputParserError(OutputParserException, ValueError):
    """The model's output could not be read as KTOF (or JSON).

    Attributes:
        msg: what went wrong.
        line, column: 1-based position in the raw output (``None`` when not positional,
            e.g. a schema validation failure).
        text: the whole raw output.
    """

    def __init__(self, msg: str, *, text: str, line: int | None, column: int | None):
        self.msg = msg
        self.text = text
        self.line = line
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        if self.line is None or self.column is None:
            return f"model output could not be parsed: {self.msg}\n--- output ---\n{self.text}"
        lines = self.text.splitlines() or [""]
        shown = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        gutter = f"{self.line} | "
        caret = " " * (len(gutter) + max(self.column - 1, 0)) + "^"
        return (
            f"model output is not valid KTOF: line {self.line}, column {self.column}: "
            f"{self.msg}\n{gutter}{shown}\n{caret}\n--- output ---\n{self.text}"
        )


class KaizenOutputParser(BaseOutputParser):
    """Format instructions for KTOF answers, and KTOF (or JSON, fenced or not) -> value.

    Args:
        example: a value showing the expected shape; it is encoded to KTOF in the instructions.
        output_cls: a pydantic model the decoded value is validated into.
        indent: indentation the model is told to use and the decoder expects.
        strict: strict KTOF decoding (exact declared counts, indentation multiples).
        escape_braces: double ``{``/``}`` in the instructions, for callers that run
            ``str.format`` over them afterwards (LlamaIndex's prompt templates do not).
    """

    def __init__(
        self,
        *,
        example: Any = None,
        output_cls: type[BaseModel] | None = None,
        indent: int = 2,
        strict: bool = True,
        escape_braces: bool = False,
    ) -> None:
        self.example = example
        self.output_cls = output_cls
        self.indent = indent
        self.strict = strict
        self.escape_braces = escape_braces

    @property
    def format_instructions(self) -> str:
        """The instructions appended to a prompt by :meth:`format`."""
        text = FORMAT_INSTRUCTIONS.format(indent=self.indent)
        if self.example is not None:
            text += f"\n{EXAMPLE_INTRO}\n{encode(self.example, indent=self.indent)}"
        elif self.output_cls is not None:
            schema = json.dumps(self.output_cls.model_json_schema(), ensure_ascii=False)
            text += f"\nThe answer must match this JSON schema (written as KTOF):\n{schema}"
        if self.escape_braces:
            text = text.replace("{", "{{").replace("}", "}}")
        return text

    def format(self, query: str) -> str:
        """``query`` followed by the KTOF answer instructions."""
        return f"{query}\n\n{self.format_instructions}"

    def parse(self, output: str) -> Any:
        """Read the model's KTOF (or JSON) answer into a value (or ``output_cls``).

        Raises:
            KaizenOutputParserError: with the line and column in ``output`` and the raw text.
        """
        body, offset = _extract_body(output)
        value, input_format = self._decode(body, offset, output)
        return self._finish(value, input_format, body, output)

    def parse_stream(self, chunks: Iterable[str | Any]) -> Iterator[Any]:
        """Read an answer as it streams: the value so far each time rows complete.

        ``chunks`` are text pieces, or the responses of ``llm.stream_complete(...)`` /
        ``stream_chat(...)`` (their ``delta`` is read). Each time a line completes a table
        row, a list item or a top-level field of a KTOF answer, the value decoded so far is
        yielded (a copy along its growing end; complete rows are shared, do not mutate
        them). The last value yielded is always ``parse(whole text)`` (``output_cls``
        validated); JSON answers, and values the decoder cannot stream, come only then.
        A text before a code fence is read as prose once the fence opens, as ``parse`` does.

        Raises:
            KaizenOutputParserError: as ``parse`` would, with line and column in the output;
                inside a code fence as soon as a line is wrong (``text`` is then the output
                received so far), otherwise at the end.
        """
        stream = _ParseStream(self)
        for chunk in chunks:
            yield from stream.feed(_chunk_text(chunk))
        yield stream.close()

    async def aparse_stream(self, chunks: AsyncIterable[str | Any]) -> AsyncIterator[Any]:
        """:meth:`parse_stream` over an async iterable (``await llm.astream_complete(...)``)."""
        stream = _ParseStream(self)
        async for chunk in chunks:
            for value in stream.feed(_chunk_text(chunk)):
                yield value
        yield stream.close()

    def _finish(
        self, value: Any, input_format: Literal["ktof", "json"], body: str, output: str
    ) -> Any:
        """Report the decode; validate ``value`` into ``output_cls`` when there is one."""
        emit(
            KaizenDecodeEvent(
                input_format=input_format, input_chars=len(body), value_type=type(value).__name__
            )
        )
        if self.output_cls is None:
            return value
        try:
            return self.output_cls.model_validate(value)
        except ValidationError as exc:
            raise KaizenOutputParserError(
                f"decoded value does not match {self.output_cls.__name__}: {exc}",
                text=output,
                line=None,
                column=None,
            ) from exc

    def _decode(self, body: str, offset: int, output: str) -> tuple[Any, Literal["ktof", "json"]]:
        if body[:1] in ("{", "["):
            try:
                return json.loads(body), "json"
            except ValueError:
                pass  # a KTOF root array also starts with "[": decode it as KTOF below
        try:
            return decode(body, indent=self.indent, strict=self.strict), "ktof"
        except KTOFDecodeError as exc:
            raise _error(exc, output, offset) from exc


def _error(exc: KTOFDecodeError, output: str, offset: int) -> KaizenOutputParserError:
    """``exc`` (a position in the body starting at ``offset``) as a position in ``output``."""
    line, column = _position_in_output(output, offset, exc.line, exc.column)
    return KaizenOutputParserError(exc.msg, text=output, line=line, column=column)


def _extract_body(output: str) -> tuple[str, int]:
    """The answer inside ``output`` (fenced block if any, else all) and its start offset."""
    match = _FENCE.search(output)
    if match is not None:
        start, body = match.start("body"), match.group("body")
    else:
        start, body = 0, output
    # ASCII whitespace only: other Unicode spaces can be part of an unquoted KTOF key or value.
    stripped = body.lstrip(ASCII_BLANK)
    start += len(body) - len(stripped)
    return stripped.rstrip(ASCII_BLANK), start


def _position_in_output(output: str, offset: int, line: int, column: int) -> tuple[int, int]:
    """Map a (line, column) inside the body starting at ``offset`` to one in ``output``."""
    lines_before = output.count("\n", 0, offset)
    if line == 1:
        column += offset - (output.rfind("\n", 0, offset) + 1)
    return line + lines_before, column


# -- streaming ---------------------------------------------------------------------------------

# A line _FENCE opens a block with (followed by a newline), and one that closes it.
_OPENING_LINE = re.compile(r"[ \t]*```[ \t]*[A-Za-z0-9_-]*[ \t]*")
_CLOSING_LINE = re.compile(r"[ \t]*```[ \t]*")
# What may follow the body in the decoder's input without changing what it reads: spaces
# ending lines, a carriage return before a newline, and blank lines.
_IGNORED_TAIL = re.compile(r"(?: *\r?\n)* *")
_KTOF_ROOT_ARRAY = re.compile(r"\[#?\d")


def _chunk_text(chunk: str | Any) -> str:
    """A text chunk, or the ``delta`` of an LLM stream response (``None`` reads as "")."""
    return chunk if isinstance(chunk, str) else str(getattr(chunk, "delta", None) or "")


class _ParseStream:
    """One answer read line by line as ``parse`` reads the whole of it.

    The body is what ``_extract_body`` would take: the first fenced block when one opens
    (what came before it was prose), else the whole text; leading blanks dropped. KTOF body
    lines go to a ``StreamDecoder``; a JSON body waits for the end. ``close`` reuses the
    decoder's value when it read exactly the body, else parses the whole output.
    """

    def __init__(self, parser: KaizenOutputParser) -> None:
        self.parser = parser
        self.raw: list[str] = []
        self.cutter = LineCutter()
        self.position = 0  # where the next complete line starts in the output
        self.opened = False  # a code fence opened: the body is its content
        self.closed = False  # ... and closed: the rest is not read
        self._start_body()

    def _start_body(self) -> None:
        self.mode: Literal["ktof", "json"] | None = None  # None: no content yet
        self.offset = 0  # where the body starts in the output
        self.fed: list[str] = []
        self.decoder: StreamDecoder | None = None
        self.completed = 0
        self.held_error: KTOFDecodeError | None = None
        self.held: list[str] = []  # a line ending in a tab, and the blank lines after it
        self.json_possible = False  # the body starts with "[": parse tries JSON first

    def feed(self, chunk: str) -> list[Any]:
        """Take a chunk; return the values completed lines brought (copies)."""
        self.raw.append(chunk)
        out: list[Any] = []
        for line in self.cutter.feed(chunk):
            if self._line(line, ended=True):
                out.append(self.decoder.snapshot() if self.decoder else None)
            self.position += len(line) + 1
        return out

    def _line(self, line: str, *, ended: bool) -> bool:
        """Read one line of the output; True when it completed part of the value."""
        if self.closed:
            return False
        if self.opened and _CLOSING_LINE.fullmatch(line):
            self.closed = True
            return False
        if not self.opened and ended and _OPENING_LINE.fullmatch(line):
            self.opened = True  # whatever came before was prose: the body starts again
            self._start_body()
            return False
        if self.mode is None:
            content = line.lstrip(ASCII_BLANK)
            if not content:
                return False
            self.offset = self.position + len(line) - len(content)
            line = content
            self.json_possible = content[:1] == "["
            json_like = content[:1] == "{" or (
                self.json_possible and not _KTOF_ROOT_ARRAY.match(content)
            )
            self.mode = "json" if json_like else "ktof"
            if self.mode == "ktof":
                self.decoder = StreamDecoder(indent=self.parser.indent, strict=self.parser.strict)
        if self.decoder is not None:
            # parse strips the blanks that end the body: a line ending in a tab (or only
            # blanks) waits for a line with content, so the end of the stream drops them
            if self.held:
                if not line.strip(ASCII_BLANK):
                    self.held.append(line)
                    return False
                held, self.held = self.held, []
                progressed = [self._feed(f"{earlier}\n") for earlier in held]
                return self._feed_line(line, ended) or any(progressed)
            return self._feed_line(line, ended)
        self.fed.append(f"{line}\n" if ended else line)
        return False

    def _feed_line(self, line: str, ended: bool) -> bool:
        """Give a KTOF body line to the decoder, unless it ends in a blank parse may strip."""
        if ended and ends_in_stripped_blank(line):
            self.held.append(line)
            return False
        return self._feed(f"{line}\n" if ended else line)

    def _feed(self, text: str) -> bool:
        """Give ``text`` to the decoder; True when it completed part of the value."""
        assert self.decoder is not None
        self.fed.append(text)
        if self.held_error is not None:
            return False
        try:
            completed = self.decoder.feed(text)
        except KTOFDecodeError as exc:
            if self.opened and not self.json_possible:  # the fenced body is KTOF: wrong for sure
                raise _error(exc, "".join(self.raw), self.offset) from exc
            self.held_error = exc  # prose before a fenced answer, or JSON: decided at the end
            return False
        progressed = bool(completed) or self.decoder.completed != self.completed
        self.completed = self.decoder.completed
        return progressed

    def close(self) -> Any:
        """The whole answer's value, equal to ``parse`` of the whole output."""
        tail = self.cutter.rest()
        if tail:
            self._line(tail, ended=False)
        output = "".join(self.raw)
        body, offset = _extract_body(output)
        fed = "".join(self.fed)
        if (
            self.mode == "ktof"
            and self.decoder is not None
            and self.held_error is None
            and offset == self.offset
            and fed.startswith(body)
            and _IGNORED_TAIL.fullmatch(fed, len(body))
            and not (body[:1] == "[" and _is_json(body))
        ):
            try:  # the decoder read exactly the body: its value needs no second parse
                value = self.decoder.close()
            except KTOFDecodeError as exc:
                raise _error(exc, output, offset) from exc
            return self.parser._finish(value, "ktof", body, output)
        return self.parser.parse(output)  # JSON, a held error, or text read differently


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
