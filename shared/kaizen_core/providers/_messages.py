"""Per-message rewriting of vendor request arguments (OpenAI Chat/Responses, Anthropic).

Each ``rewrite_*`` function takes the keyword arguments of one SDK call and a
``rewrite(text, role) -> text`` callback, and returns new keyword arguments in which every
text the model reads (message text, system prompt, tool results) went through the callback.
Roles, message order, the system prompt's place, images and tool calls (the model's own
arguments) are kept as they are. Nothing the caller passed is mutated: changed messages
are shallow copies, unchanged ones are the caller's own objects. SDK model objects (for
example a previous answer's content blocks) are passed through untouched; only ``str``
and ``dict`` content is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "Rewrite",
    "rewrite_anthropic_messages",
    "rewrite_openai_chat",
    "rewrite_openai_responses",
]

Rewrite = Callable[[str, str], str]
"""``rewrite(text, role) -> text``; ``role`` is ``system``, ``user``, ``assistant`` or ``tool``."""

_OPENAI_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
_ANTHROPIC_TEXT_BLOCKS = frozenset({"text"})


def _rewrite_parts(content: Any, role: str, rewrite: Rewrite, text_types: frozenset[str]) -> Any:
    """Rewrite a ``str`` or a list of ``{"type": <text type>, "text": ...}`` parts."""
    if isinstance(content, str):
        return rewrite(content, role)
    if not isinstance(content, list):
        return content
    changed = False
    parts = []
    for part in content:
        new_part = part
        if isinstance(part, Mapping) and part.get("type") in text_types:
            text = part.get("text")
            if isinstance(text, str):
                new_text = rewrite(text, role)
                if new_text is not text:
                    new_part = {**part, "text": new_text}
        changed = changed or new_part is not part
        parts.append(new_part)
    return parts if changed else content


def _as_list(value: Any) -> Any:
    """Materialise an iterable of messages once (the SDKs accept any iterable)."""
    if isinstance(value, (list, str, Mapping)) or value is None:
        return value
    if isinstance(value, Iterable):
        return list(value)
    return value


def _with_key(item: Mapping[str, Any], key: str, old: Any, new: Any) -> Any:
    return item if new is old else {**item, key: new}


# -- OpenAI Chat Completions -------------------------------------------------------------
def rewrite_openai_chat(kwargs: dict[str, Any], rewrite: Rewrite) -> dict[str, Any]:
    """Rewrite ``messages`` of ``chat.completions.create``; tool calls stay as they are."""
    messages = _as_list(kwargs.get("messages"))
    if not isinstance(messages, list):
        return kwargs
    new_messages = [_openai_chat_message(message, rewrite) for message in messages]
    return {**kwargs, "messages": new_messages}


def _openai_chat_message(message: Any, rewrite: Rewrite) -> Any:
    if not isinstance(message, Mapping):
        return message
    role = str(message.get("role") or "user")
    if role in ("developer", "system"):
        role = "system"
    elif role == "function":
        role = "tool"
    content = message.get("content")
    return _with_key(
        message, "content", content, _rewrite_parts(content, role, rewrite, _OPENAI_TEXT_PARTS)
    )


# -- OpenAI Responses ----------------------------------------------------------------------
def rewrite_openai_responses(kwargs: dict[str, Any], rewrite: Rewrite) -> dict[str, Any]:
    """Rewrite ``instructions`` and ``input`` of ``responses.create``.

    Message items (``{"role", "content"}``) and ``function_call_output`` items are rewritten;
    ``function_call`` items, reasoning items and everything else pass through.
    """
    out = dict(kwargs)
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str):
        out["instructions"] = rewrite(instructions, "system")
    items = _as_list(kwargs.get("input"))
    if isinstance(items, str):
        out["input"] = rewrite(items, "user")
    elif isinstance(items, list):
        out["input"] = [_openai_response_item(item, rewrite) for item in items]
    return out


def _openai_response_item(item: Any, rewrite: Rewrite) -> Any:
    if not isinstance(item, Mapping):
        return item
    kind = item.get("type")
    if kind == "function_call_output":
        output = item.get("output")
        return _with_key(
            item, "output", output, _rewrite_parts(output, "tool", rewrite, _OPENAI_TEXT_PARTS)
        )
    if kind not in (None, "message") or "role" not in item:
        return item
    role = str(item.get("role"))
    role = "system" if role in ("developer", "system") else role
    content = item.get("content")
    return _with_key(
        item, "content", content, _rewrite_parts(content, role, rewrite, _OPENAI_TEXT_PARTS)
    )


# -- Anthropic Messages --------------------------------------------------------------------
def rewrite_anthropic_messages(kwargs: dict[str, Any], rewrite: Rewrite) -> dict[str, Any]:
    """Rewrite ``system`` and ``messages`` of ``messages.create`` / ``messages.stream``.

    Text blocks and ``tool_result`` contents are rewritten; ``tool_use`` blocks (the model's
    calls), images, documents and thinking blocks pass through.
    """
    out = dict(kwargs)
    system = kwargs.get("system")
    if system is not None:
        out["system"] = _rewrite_parts(_as_list(system), "system", rewrite, _ANTHROPIC_TEXT_BLOCKS)
    messages = _as_list(kwargs.get("messages"))
    if isinstance(messages, list):
        out["messages"] = [_anthropic_message(message, rewrite) for message in messages]
    return out


def _anthropic_message(message: Any, rewrite: Rewrite) -> Any:
    if not isinstance(message, Mapping):
        return message
    role = str(message.get("role") or "user")
    content = message.get("content")
    if isinstance(content, str):
        return _with_key(message, "content", content, rewrite(content, role))
    if not isinstance(content, list):
        return message
    changed = False
    blocks = []
    for block in content:
        new_block = _anthropic_block(block, role, rewrite)
        changed = changed or new_block is not block
        blocks.append(new_block)
    return {**message, "content": blocks} if changed else message


def _anthropic_block(block: Any, role: str, rewrite: Rewrite) -> Any:
    if not isinstance(block, Mapping):
        return block
    kind = block.get("type")
    if kind in _ANTHROPIC_TEXT_BLOCKS and isinstance(block.get("text"), str):
        text = block["text"]
        return _with_key(block, "text", text, rewrite(text, role))
    if kind == "tool_result":
        inner = block.get("content")
        return _with_key(
            block, "content", inner, _rewrite_parts(inner, "tool", rewrite, _ANTHROPIC_TEXT_BLOCKS)
        )
    return block
