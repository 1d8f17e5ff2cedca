"""``KaizenLLM``: any LlamaIndex LLM, with the JSON in its input rewritten to KTOF.

The wrapper delegates every call to the inner LLM's *public* method (``chat``, ``astream_chat``,
``complete``, ...) after rewriting the JSON in the messages or prompt. It deliberately does not
carry LlamaIndex's ``llm_chat_callback``/``llm_completion_callback`` decorators: the inner LLM's
decorated methods already emit ``LLMChatStartEvent``/``LLMChatEndEvent`` (and the callback
manager's LLM events) once, with the messages as actually sent. Decorating the wrapper too
would emit every LLM event twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    TextBlock,
)
from llama_index.core.bridge.pydantic import BaseModel, Field, PrivateAttr, SerializeAsAny
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import LLM, ToolSelection
from llama_index.core.prompts import BasePromptTemplate, ChatPromptTemplate

from kaizen_llamaindex._encoding import (
    AnyKaizenClient,
    EncodingComponent,
    KaizenClient,
    KaizenTextEncoder,
    KTOFFormat,
    off_the_loop,
)
from kaizen_llamaindex.instrumentation import emit_encode

__all__ = ["KaizenFunctionCallingLLM", "KaizenLLM"]

# Settings a user configured on the inner LLM that LLM.predict & co. read from the LLM they
# are called on; the wrapper takes them over unless given explicitly.
_INHERITED_FIELDS = (
    "system_prompt",
    "messages_to_prompt",
    "completion_to_prompt",
    "output_parser",
    "pydantic_program_mode",
    "callback_manager",
)


class KaizenLLM(EncodingComponent, LLM):
    """Wraps a LlamaIndex LLM; JSON in messages (tool results too) and prompts goes in as KTOF.

    ``KaizenLLM(llm=OpenAI(...))`` returns a :class:`KaizenFunctionCallingLLM` when the inner LLM
    is a ``FunctionCallingLLM``, so ``FunctionAgent``, ``chat_with_tools`` and
    ``predict_and_call`` keep working.

    Args:
        llm: the LLM to wrap.
        client: a ``KaizenSyncClient`` or ``KaizenClient``. Without one, clients are built
            from the environment like ``KaizenClient()`` (``KAIZEN_BASE_URL``,
            ``KAIZEN_API_KEY``, else the embedded engine in-process); :meth:`close` /
            :meth:`aclose` close those, never a client passed in.
        async_client: the ``KaizenClient`` for the async methods when ``client`` is sync.
        format: KTOF output format ("auto" adaptive by default, or "toon").
        min_savings_ratio: keep a rewrite only when saved/original tokens >= this.
        fail_open: when the Kaizen service is unavailable (connection, timeout, 429, 5xx, 413
            after the client's retries) send the text unencoded with a logged warning; False
            raises. Configuration errors (bad key, bad option) always raise.
    """

    llm: SerializeAsAny[LLM] = Field(description="The wrapped LLM.")
    format: KTOFFormat = Field(default="auto", description="KTOF output format.")
    min_savings_ratio: float = Field(default=0.0, ge=0.0, lt=1.0)
    fail_open: bool = Field(
        default=True,
        description="Send the text unencoded (and log a warning) when Kaizen is unavailable.",
    )
    _encoder: KaizenTextEncoder = PrivateAttr()

    # The wrapper's class follows the inner LLM's kind, so __new__ returns a subclass.
    def __new__(cls, *args: Any, **kwargs: Any) -> KaizenLLM:  # noqa: PYI034
        inner = kwargs.get("llm", args[0] if args else None)
        target = cls
        if cls is KaizenLLM and isinstance(inner, FunctionCallingLLM):
            target = KaizenFunctionCallingLLM
        return super().__new__(target)

    def __init__(
        self,
        llm: LLM | None = None,
        *,
        client: AnyKaizenClient | None = None,
        async_client: KaizenClient | None = None,
        **kwargs: Any,
    ) -> None:
        if llm is None:
            llm = kwargs.pop("llm", None)
        if not isinstance(llm, LLM):
            raise TypeError(f"KaizenLLM wraps a LlamaIndex LLM, got {type(llm).__name__}")
        for name in _INHERITED_FIELDS:
            if kwargs.get(name) is None:
                kwargs[name] = getattr(llm, name)
        # LLM.__init__ is pydantic's (fields as keywords); the stubs only know LLM's own fields.
        super().__init__(llm=llm, **kwargs)  # type: ignore[call-arg]
        self._make_encoder(client, async_client)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "callback_manager" and "llm" in self.__dict__:
            # The inner LLM's decorated methods fire the LLM events: they must reach the
            # manager LlamaIndex gives the wrapper later (Settings, a query engine).
            self.llm.callback_manager = value

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "KaizenLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """The inner LLM's metadata (context window, model name, chat/function calling)."""
        return self.llm.metadata

    @property
    def _model(self) -> str:
        return self.llm.metadata.model_name

    # -- rewriting -----------------------------------------------------------------------

    def _rewrite_text(self, text: str) -> str:
        rewrite = self._encoder.rewrite(text, model=self._model)
        if rewrite.applied:
            emit_encode(rewrite, source="llm", model=self._model)
        return rewrite.text

    async def _arewrite_text(self, text: str, in_thread: bool | None = None) -> str:
        rewrite = await self._encoder.arewrite(text, model=self._model, in_thread=in_thread)
        if rewrite.applied:
            emit_encode(rewrite, source="llm", model=self._model)
        return rewrite.text

    def _rewrite_messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        return [_with_texts(m, [self._rewrite_text(t) for t in _texts(m)]) for m in messages]

    async def _arewrite_messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        texts = [_texts(message) for message in messages]
        in_thread = off_the_loop(t for ts in texts for t in ts)  # large in all: CPU work off
        flat = await asyncio.gather(
            *(self._arewrite_text(t, in_thread) for ts in texts for t in ts)
        )
        rewritten, position = [], 0
        for message, originals in zip(messages, texts):
            rewritten.append(_with_texts(message, list(flat[position : position + len(originals)])))
            position += len(originals)
        return rewritten

    # -- chat ----------------------------------------------------------------------------

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat with the inner LLM, JSON in ``messages`` rewritten to KTOF."""
        return self.llm.chat(self._rewrite_messages(messages), **kwargs)

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async chat with the inner LLM, JSON in ``messages`` rewritten to KTOF."""
        return await self.llm.achat(await self._arewrite_messages(messages), **kwargs)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream a chat from the inner LLM, JSON in ``messages`` rewritten to KTOF."""
        return self.llm.stream_chat(self._rewrite_messages(messages), **kwargs)

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async-stream a chat from the inner LLM, JSON in ``messages`` rewritten to KTOF."""
        return await self.llm.astream_chat(await self._arewrite_messages(messages), **kwargs)

    # -- structured prediction ---------------------------------------------------------
    # An inner LLM with its own structured prediction (OpenAI: a strict JSON schema as
    # response_format) keeps it: it gets the prompt formatted and rewritten, as a template with
    # nothing left to fill; otherwise LLM's generic one runs through this wrapper.

    def _own(self, method: str) -> bool:
        own = getattr(type(self.llm), method)
        return own is not getattr(LLM, method) and own is not getattr(FunctionCallingLLM, method)

    def _filled(
        self, prompt: BasePromptTemplate, prompt_args: dict[str, Any]
    ) -> ChatPromptTemplate:
        return _as_template(
            self._rewrite_messages(prompt.format_messages(llm=self.llm, **prompt_args))
        )

    async def _afilled(
        self, prompt: BasePromptTemplate, prompt_args: dict[str, Any]
    ) -> ChatPromptTemplate:
        messages = prompt.format_messages(llm=self.llm, **prompt_args)
        return _as_template(await self._arewrite_messages(messages))

    def structured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """The inner LLM's structured prediction where it has its own, else LLM's."""
        if not self._own("structured_predict"):
            return super().structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        filled = self._filled(prompt, prompt_args)
        return self.llm.structured_predict(output_cls, filled, llm_kwargs)

    async def astructured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Async :meth:`structured_predict`."""
        if not self._own("astructured_predict"):
            return await super().astructured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        filled = await self._afilled(prompt, prompt_args)
        return await self.llm.astructured_predict(output_cls, filled, llm_kwargs)

    def stream_structured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Streaming :meth:`structured_predict`."""
        if not self._own("stream_structured_predict"):
            return super().stream_structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        filled = self._filled(prompt, prompt_args)
        return self.llm.stream_structured_predict(output_cls, filled, llm_kwargs)

    async def astream_structured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Async streaming :meth:`structured_predict`."""
        if not self._own("astream_structured_predict"):
            return await super().astream_structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        filled = await self._afilled(prompt, prompt_args)
        return await self.llm.astream_structured_predict(output_cls, filled, llm_kwargs)

    # -- completion ----------------------------------------------------------------------

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete ``prompt`` (its JSON rewritten to KTOF) with the inner LLM."""
        return self.llm.complete(self._rewrite_text(prompt), formatted=formatted, **kwargs)

    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async-complete ``prompt`` (its JSON rewritten to KTOF) with the inner LLM."""
        text = await self._arewrite_text(prompt)
        return await self.llm.acomplete(text, formatted=formatted, **kwargs)

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream a completion of ``prompt`` (its JSON rewritten to KTOF)."""
        return self.llm.stream_complete(self._rewrite_text(prompt), formatted=formatted, **kwargs)

    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async-stream a completion of ``prompt`` (its JSON rewritten to KTOF)."""
        text = await self._arewrite_text(prompt)
        return await self.llm.astream_complete(text, formatted=formatted, **kwargs)


class KaizenFunctionCallingLLM(KaizenLLM, FunctionCallingLLM):
    """``KaizenLLM`` over a ``FunctionCallingLLM``: tool specs, tool-call parsing and
    validation are the inner LLM's; messages (tool results included) go in as KTOF."""

    llm: SerializeAsAny[FunctionCallingLLM] = Field(description="The wrapped LLM.")

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "KaizenFunctionCallingLLM"

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[Any],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The inner LLM's chat arguments for ``tools`` (its own tool format)."""
        return self.llm._prepare_chat_with_tools_compat(
            tools,
            user_msg=user_msg,
            chat_history=chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            tool_required=tool_required,
            **kwargs,
        )

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[Any],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """The inner LLM's validation (e.g. forcing a single tool call)."""
        return self.llm._validate_chat_with_tools_response(
            response, tools, allow_parallel_tool_calls=allow_parallel_tool_calls, **kwargs
        )

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """The inner LLM's tool-call parsing."""
        return self.llm.get_tool_calls_from_response(
            response, error_on_no_tool_call=error_on_no_tool_call, **kwargs
        )


def _texts(message: ChatMessage) -> list[str]:
    return [block.text for block in message.blocks if isinstance(block, TextBlock)]


def _with_texts(message: ChatMessage, texts: list[str]) -> ChatMessage:
    """``message`` with its text blocks replaced by ``texts`` (same message when unchanged)."""
    if texts == _texts(message):
        return message
    replacements = iter(texts)
    blocks = [
        TextBlock(text=next(replacements)) if isinstance(block, TextBlock) else block
        for block in message.blocks
    ]
    return message.model_copy(update={"blocks": blocks})


def _as_template(messages: list[ChatMessage]) -> ChatPromptTemplate:
    """``messages`` as a chat template that formats back to them: formatted with no values,
    LlamaIndex leaves every ``{...}`` as it is (its formatter skips unknown names)."""
    return ChatPromptTemplate(message_templates=messages)
