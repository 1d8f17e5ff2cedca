"""Rewriting the JSON inside chat messages as KTOF, leaving everything else alone.

Only the text is touched: string content and the ``text`` of ``{"type": "text"}`` parts.
Roles, ids, names, ``tool_calls``, ``additional_kwargs`` and ``response_metadata`` are
kept (the message is copied with new content, never rebuilt).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage

from ._codec import Codec, EncodeResult

__all__ = ["KTOF_HINT", "add_hint", "aencode_messages", "encode_messages"]

KTOF_HINT = (
    "Some data below is in KTOF (TOON): `key: value` lines, indentation nests objects, "
    "`name[N]: a,b` is a list of N values and `name[N]{f1,f2}:` a table of N rows "
    "with fields f1,f2, one row per line. In a table's fields, `f{a,b}` spreads an object "
    "over cells, `f?` marks an optional field (empty cells: absent), `f[]` is a cell in JSON "
    "and `f[]{a,b}` a cell holding a JSON list of [a,b] rows."
)


def _empty() -> EncodeResult:
    return EncodeResult("", 0, 0, 0, 0, 0)


def _is_text_part(part: Any) -> bool:
    return (
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
    )


def _texts_of(content: Any) -> list[str]:
    """The texts of ``content`` that may be rewritten: a string, or its text parts."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [part["text"] for part in content if _is_text_part(part)]
    return []


def _with_texts(content: Any, results: Iterator[EncodeResult], total: EncodeResult) -> Any:
    """``content`` with its texts (as :func:`_texts_of` lists them) taken from ``results``.

    The content object itself is returned when nothing changed.
    """
    if isinstance(content, str):
        result = next(results)
        total.add(result)
        return result.text if result.changed else content
    if not isinstance(content, list):
        return content
    parts = []
    changed = False
    for part in content:
        if _is_text_part(part):
            result = next(results)
            if result.changed:
                total.add(result)
                part = {**part, "text": result.text}
                changed = True
        parts.append(part)
    return parts if changed else content


def _wanted(message: BaseMessage, kinds: frozenset[str] | None) -> bool:
    return kinds is None or message.type in kinds


def _texts_to_encode(messages: Sequence[BaseMessage], kinds: frozenset[str] | None) -> list[str]:
    return [
        text
        for message in messages
        if _wanted(message, kinds)
        for text in _texts_of(message.content)
    ]


def _rebuilt(
    messages: Sequence[BaseMessage], kinds: frozenset[str] | None, results: list[EncodeResult]
) -> tuple[list[BaseMessage], EncodeResult]:
    """Copies of the messages carrying the encoded texts, and the summed result."""
    total = _empty()
    pending = iter(results)
    out: list[BaseMessage] = []
    for message in messages:
        content = _with_texts(message.content, pending, total) if _wanted(message, kinds) else None
        if content is None or content is message.content:
            out.append(message)
        else:
            out.append(message.model_copy(update={"content": content}))
    return out, total


def encode_messages(
    messages: Sequence[BaseMessage], codec: Codec, kinds: frozenset[str] | None = None
) -> tuple[list[BaseMessage], EncodeResult]:
    """Copies of ``messages`` with JSON in their text encoded; ``kinds`` limits message types.

    Returns the new list and the summed :class:`EncodeResult` (its ``text`` is empty).
    Through a Kaizen client, all texts of the messages go out as one batch.
    """
    results = codec.encode_texts(_texts_to_encode(messages, kinds))
    return _rebuilt(messages, kinds, results)


async def aencode_messages(
    messages: Sequence[BaseMessage], codec: Codec, kinds: frozenset[str] | None = None
) -> tuple[list[BaseMessage], EncodeResult]:
    """Async :func:`encode_messages`: through a Kaizen client the texts are encoded
    concurrently (bounded by the client's ``batch_concurrency``), in order."""
    results = await codec.aencode_texts(_texts_to_encode(messages, kinds))
    return _rebuilt(messages, kinds, results)


def add_hint(messages: list[BaseMessage], hint: str = KTOF_HINT) -> list[BaseMessage]:
    """Append ``hint`` to the first system message, or put a system message first."""
    for index, message in enumerate(messages):
        if isinstance(message, SystemMessage):
            if isinstance(message.content, str):
                if hint in message.content:
                    return messages
                content: Any = f"{message.content}\n\n{hint}" if message.content else hint
            else:
                content = [*message.content, {"type": "text", "text": hint}]
            updated = list(messages)
            updated[index] = message.model_copy(update={"content": content})
            return updated
    return [SystemMessage(content=hint), *messages]
