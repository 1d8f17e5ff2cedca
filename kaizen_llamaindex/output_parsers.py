"""``KaizenOutputParser``: ask the LLM for KTOF, read its answer back into a value.

KTOF output is cheaper than JSON for the model to write (no quotes and braces around every
key, one header for a table of records), and the parser reads JSON as well, with or without a
code fence, so a model that ignores the instructions still parses.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from kaizen_core.engine import KTOFDecodeError, decode, encode
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

_BLANK = " \t\r\n"
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
            line, column = _position_in_output(output, offset, exc.line, exc.column)
            raise KaizenOutputParserError(exc.msg, text=output, line=line, column=column) from exc


def _extract_body(output: str) -> tuple[str, int]:
    """The answer inside ``output`` (fenced block if any, else all) and its start offset."""
    match = _FENCE.search(output)
    if match is not None:
        start, body = match.start("body"), match.group("body")
    else:
        start, body = 0, output
    # ASCII whitespace only: other Unicode spaces can be part of an unquoted KTOF key or value.
    stripped = body.lstrip(_BLANK)
    start += len(body) - len(stripped)
    return stripped.rstrip(_BLANK), start


def _position_in_output(output: str, offset: int, line: int, column: int) -> tuple[int, int]:
    """Map a (line, column) inside the body starting at ``offset`` to one in ``output``."""
    lines_before = output.count("\n", 0, offset)
    if line == 1:
        column += offset - (output.rfind("\n", 0, offset) + 1)
    return line + lines_before, column
