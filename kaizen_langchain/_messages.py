"""Rewriting the JSON inside chat messages as KTOF, leaving everything else alone.

Only the text is touched: string content and the ``text`` of ``{"type": "text"}`` parts.
Roles, ids, names, ``tool_calls``, ``additional_kwargs`` and ``response_metadata`` are
kept (the message is copied with new content, never rebuilt).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage

from ._codec import Codec, EncodeResult

__all__ = ["KTOF_HINT", "add_hint", "aencode_messages", "encode_messages"]

KTOF_HINT = (
    "Some data below is in KTOF (TOON): `key: value` lines, indentation nests objects, "
    "`name[N]: a,b` is a list of N values and `name[N]{f1,f2}:` a table of N rows "
    "with fields f1,f2, one row per line."
)


def _empty() -> EncodeResult:
    return EncodeResult("", 0, 0, 0, 0, 0)


def _encode_content(content: Any, codec: Codec, total: EncodeResult) -> Any:
    if isinstance(content, str):
        result = codec.encode_text(content)
        total.add(result)
        return result.text if result.changed else content
    if isinstance(content, list):
        parts = []
        changed = False
        for part in content:
            if (
                isinstance(part, dict)
                and part.get("type") == "text"
                and isinstance(part.get("text"), str)
            ):
                result = codec.encode_text(part["text"])
                if result.changed:
                    total.add(result)
                    part = {**part, "text": result.text}
                    changed = True
            parts.append(part)
        return parts if changed else content
    return content


async def _aencode_content(content: Any, codec: Codec, total: EncodeResult) -> Any:
    if codec.client is None:
        return _encode_content(content, codec, total)
    if isinstance(content, str):
        result = await codec.aencode_text(content)
        total.add(result)
        return result.text if result.changed else content
    if isinstance(content, list):
        parts = []
        changed = False
        for part in content:
            if (
                isinstance(part, dict)
                and part.get("type") == "text"
                and isinstance(part.get("text"), str)
            ):
                result = await codec.aencode_text(part["text"])
                if result.changed:
                    total.add(result)
                    part = {**part, "text": result.text}
                    changed = True
            parts.append(part)
        return parts if changed else content
    return content


def _wanted(message: BaseMessage, kinds: frozenset[str] | None) -> bool:
    return kinds is None or message.type in kinds


def encode_messages(
    messages: Sequence[BaseMessage], codec: Codec, kinds: frozenset[str] | None = None
) -> tuple[list[BaseMessage], EncodeResult]:
    """Copies of ``messages`` with JSON in their text encoded; ``kinds`` limits message types.

    Returns the new list and the summed :class:`EncodeResult` (its ``text`` is empty).
    """
    total = _empty()
    out: list[BaseMessage] = []
    for message in messages:
        if not _wanted(message, kinds):
            out.append(message)
            continue
        content = _encode_content(message.content, codec, total)
        out.append(
            message
            if content is message.content
            else message.model_copy(update={"content": content})
        )
    return out, total


async def aencode_messages(
    messages: Sequence[BaseMessage], codec: Codec, kinds: frozenset[str] | None = None
) -> tuple[list[BaseMessage], EncodeResult]:
    """Async :func:`encode_messages` (truly async when the codec has an async client)."""
    total = _empty()
    out: list[BaseMessage] = []
    for message in messages:
        if not _wanted(message, kinds):
            out.append(message)
            continue
        content = await _aencode_content(message.content, codec, total)
        out.append(
            message
            if content is message.content
            else message.model_copy(update={"content": content})
        )
    return out, total


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
