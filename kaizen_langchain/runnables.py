"""``KaizenEncode``: a Runnable that turns JSON into KTOF before it reaches a model.

>>> chain = kaizen_encode | llm | kaizen_decode        # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_core.prompt_values import ChatPromptValue, PromptValue, StringPromptValue
from langchain_core.runnables import RunnableConfig, RunnableSerializable

from ._codec import CodecSettings, EncodeResult
from ._messages import KTOF_HINT, add_hint, aencode_messages, encode_messages
from .callbacks import ENCODE_EVENT, aemit, emit, encode_event_data

__all__ = ["KaizenEncode", "kaizen_encode"]


# The roles of OpenAI-style message dicts that chat models accept (convert_to_messages).
_ROLES = frozenset({"system", "developer", "user", "human", "assistant", "ai", "tool", "function"})


def _is_message_like(item: Any) -> bool:
    """A message, a ``(role, content)`` pair, or an OpenAI-style ``{"role", "content"}`` dict
    with a chat role, as chat models accept them."""
    if isinstance(item, BaseMessage):
        return True
    if isinstance(item, tuple):  # never JSON data: a JSON value holds no tuples
        return len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], (str, list))
    if not isinstance(item, dict) or item.get("role") not in _ROLES:
        return False
    content = item.get("content")
    return isinstance(content, (str, list)) or (content is None and "tool_calls" in item)


def _is_message_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(map(_is_message_like, value))


class KaizenEncode(CodecSettings, RunnableSerializable[Any, Any]):
    """Encode the JSON in the input as KTOF.

    Input -> output:
    - ``dict`` / non-message ``list`` (any JSON value) -> the KTOF string;
    - ``str`` -> the same text with embedded JSON objects/arrays rewritten;
    - ``PromptValue``, a list of messages (``("human", "...")`` pairs and OpenAI-style
      ``{"role": "user", "content": "..."}`` dicts too, read as messages, as chat models
      read them) or one message -> the same messages (system, human, AI and tool) with the
      JSON in their text encoded; roles, ids, ``tool_calls`` and ``additional_kwargs``
      untouched. One message comes back as one message, or as a list when ``add_hint``
      put a system message before it.

    Each call emits a ``kaizen_encode`` custom event with the statistics (see
    ``kaizen_langchain.callbacks``) and shows up in callbacks and traces as a chain run.

    Args:
        client: a ``kaizen_core`` client, or ``None``: the embedded engine unless
            ``KAIZEN_BASE_URL``/``KAIZEN_API_KEY`` select a service (read at first use).
        model: the target model: its tokenizer decides the adaptive format and counts
            the savings (default gpt-4o).
        encode_options: engine options (``format`` defaults to ``"auto"``;
            ``"toon"`` writes exactly the TOON spec's output).
        add_hint: add a one-line explanation of KTOF as a system message (messages and
            prompt values) or as a first line (strings).
    """

    add_hint: bool = False
    name: str | None = "KaizenEncode"

    # -- the work ------------------------------------------------------------------
    def _with_hint(self, value: Any) -> Any:
        if isinstance(value, str) and self.add_hint:
            return f"{KTOF_HINT}\n\n{value}"
        return value

    def _encode_messages_in(self, input: Any) -> tuple[Any, EncodeResult] | None:
        messages, wrap = self._as_messages(input)
        if messages is None:
            return None
        encoded, result = encode_messages(messages, self.codec)
        return wrap(add_hint(encoded) if self.add_hint else encoded), result

    async def _aencode_messages_in(self, input: Any) -> tuple[Any, EncodeResult] | None:
        messages, wrap = self._as_messages(input)
        if messages is None:
            return None
        encoded, result = await aencode_messages(messages, self.codec)
        return wrap(add_hint(encoded) if self.add_hint else encoded), result

    @staticmethod
    def _as_messages(input: Any) -> tuple[list[BaseMessage] | None, Any]:
        if isinstance(input, ChatPromptValue):
            return list(input.messages), lambda ms: ChatPromptValue(messages=ms)
        if isinstance(input, PromptValue) and not isinstance(input, StringPromptValue):
            return input.to_messages(), lambda ms: ChatPromptValue(messages=ms)
        if isinstance(input, BaseMessage):  # one message out, or the list once a hint joined
            return [input], lambda ms: ms[-1] if len(ms) == 1 else ms
        if _is_message_list(input):
            return convert_to_messages(input), lambda ms: ms
        return None, None

    def _encode(self, input: Any) -> tuple[Any, EncodeResult]:
        handled = self._encode_messages_in(input)
        if handled is not None:
            return handled
        if isinstance(input, StringPromptValue):
            result = self.codec.encode_text(input.text)
            return StringPromptValue(text=self._with_hint(result.text)), result
        if isinstance(input, str):
            result = self.codec.encode_text(input)
            return self._with_hint(result.text), result
        result = self.codec.encode_value(input)
        return result.text, result

    async def _aencode(self, input: Any) -> tuple[Any, EncodeResult]:
        handled = await self._aencode_messages_in(input)
        if handled is not None:
            return handled
        if isinstance(input, StringPromptValue):
            result = await self.codec.aencode_text(input.text)
            return StringPromptValue(text=self._with_hint(result.text)), result
        if isinstance(input, str):
            result = await self.codec.aencode_text(input)
            return self._with_hint(result.text), result
        result = await self.codec.aencode_value(input)
        return result.text, result

    def _run(self, input: Any, run_manager: CallbackManagerForChainRun) -> Any:
        output, result = self._encode(input)
        data = encode_event_data(result, model=self.codec.model, source="KaizenEncode")
        emit(ENCODE_EVENT, data, run_manager)
        return output

    async def _arun(self, input: Any, run_manager: AsyncCallbackManagerForChainRun) -> Any:
        output, result = await self._aencode(input)
        data = encode_event_data(result, model=self.codec.model, source="KaizenEncode")
        await aemit(ENCODE_EVENT, data, run_manager)
        return output

    # -- Runnable API --------------------------------------------------------------
    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Encode ``input`` (see the class docstring for the accepted shapes)."""
        return self._call_with_config(self._run, input, config, run_type="chain")

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Async :meth:`invoke`."""
        return await self._acall_with_config(self._arun, input, config, run_type="chain")


kaizen_encode = KaizenEncode()
"""A ready ``KaizenEncode()`` (embedded engine, adaptive format, gpt-4o tokenizer)."""
