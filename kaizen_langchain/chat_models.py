"""``ChatKaizen``: wrap any chat model so the JSON in its prompts travels as KTOF.

>>> llm = ChatKaizen(llm=ChatOpenAI(model="gpt-4o-mini"))     # doctest: +SKIP
>>> agent = create_agent(llm, tools=[...])                    # doctest: +SKIP

The wrapper calls the inner model's ``_generate``/``_agenerate``/``_stream``/``_astream``
(never ``invoke``), so callbacks, usage and traces fire once, on the wrapper's run. What
``BaseChatModel`` applies around those methods (the cache, the rate limiter, streaming being
turned off, the output version, the model's own callbacks, tags and metadata) is therefore
taken over from the inner model, unless given to the wrapper.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    BaseCallbackManager,
    CallbackManager,
    CallbackManagerForLLMRun,
    Callbacks,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, Field, PrivateAttr, model_validator
from typing_extensions import Self

from ._answers import StreamedAnswer, answer_json
from ._codec import Codec, EncodeResult
from ._messages import add_hint, aencode_messages, encode_messages
from ._rebind import rebind
from .callbacks import ENCODE_EVENT, aemit, emit, encode_event_data

__all__ = ["ChatKaizen"]

_ALL_MESSAGE_TYPES = ("system", "human", "ai", "tool")
# BaseChatModel settings that act around _generate/_stream, which the wrapper calls directly
_TAKEN_OVER = (
    "cache",
    "rate_limiter",
    "disable_streaming",
    "output_version",
    "callbacks",
    "tags",
    "metadata",
)


def _implements(model: BaseChatModel, name: str) -> bool:
    return getattr(type(model), name) is not getattr(BaseChatModel, name)


def _as_chunk(result: ChatResult) -> ChatGenerationChunk:
    """One closing chunk carrying a whole (non-streamed) answer."""
    generation = result.generations[0]
    message = generation.message
    chunk = AIMessageChunk(
        content=message.content,
        additional_kwargs=message.additional_kwargs,
        response_metadata=message.response_metadata,
        usage_metadata=getattr(message, "usage_metadata", None),
        id=message.id,
        # Given as parsed calls (not as chunks to parse again), so calls whose arguments
        # did not parse stay in invalid_tool_calls instead of turning into valid calls.
        tool_calls=getattr(message, "tool_calls", None) or [],
        invalid_tool_calls=getattr(message, "invalid_tool_calls", None) or [],
        chunk_position="last",
    )
    return ChatGenerationChunk(message=chunk, generation_info=generation.generation_info)


class _StreamRun(BaseCallbackHandler):
    """Learns the run id of one ``stream``/``astream`` call, for its encode event.

    ``BaseChatModel.stream`` does not hand its run manager to ``_stream``; this handler,
    added to that call's callbacks, sees ``on_chat_model_start`` and keeps the run id, so
    the ``kaizen_encode`` event is attached to the model's own run as in ``_generate``.
    """

    run_inline: bool = True

    def __init__(self, callbacks: Callbacks) -> None:
        super().__init__()
        self.callbacks = callbacks
        self.run_id: UUID | None = None
        self.claimed = False

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        if self.run_id is None:
            self.run_id = run_id

    def claim(self) -> bool:
        """True once: for the first ``_stream`` of this call (not for nested calls)."""
        if self.claimed or self.run_id is None:
            return False
        self.claimed = True
        return True

    def manager(self, model: BaseChatModel) -> CallbackManager:
        return CallbackManager.configure(
            self.callbacks, model.callbacks, model.verbose, None, model.tags, None, model.metadata
        )


_stream_run: ContextVar[_StreamRun | None] = ContextVar("kaizen_stream_run", default=None)


def _with_handler(config: RunnableConfig | None, handler: BaseCallbackHandler) -> RunnableConfig:
    config = ensure_config(config)
    callbacks = config.get("callbacks")
    if isinstance(callbacks, BaseCallbackManager):
        manager = callbacks.copy()
        manager.add_handler(handler, inherit=False)
        updated: Callbacks = manager
    else:
        updated = [*(callbacks or []), handler]
    return {**config, "callbacks": updated}


def _is_text(block: Any) -> bool:
    """A piece of an answer's text in list content: a string, or a ``text`` block."""
    return isinstance(block, str) or (
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    )


def _text_of(block: str | dict[str, Any]) -> str:
    return block if isinstance(block, str) else block["text"]


def _with_text(block: str | dict[str, Any], text: str) -> str | dict[str, Any]:
    return text if isinstance(block, str) else {**block, "text": text}


def _answer_text(content: str | list[Any]) -> str:
    """The text of an answer: its content, or the text blocks of list content, joined."""
    if isinstance(content, str):
        return content
    return "".join(_text_of(block) for block in content if _is_text(block))


def _with_answer(content: str | list[Any], text: str) -> str | list[Any]:
    """``content`` with its text replaced by ``text`` (list content: in its first text block,
    the other text blocks dropped, every other block kept where it was)."""
    if isinstance(content, str):
        return text
    replaced: list[Any] = []
    placed = False
    for block in content:
        if not _is_text(block):
            replaced.append(block)
        elif not placed:
            replaced.append(_with_text(block, text))
            placed = True
    return replaced


class _AnswerStream:
    """Marks the first chunk with the savings; with ``answer``, shows its text as it decodes.

    ``answer`` (a :class:`~kaizen_langchain._answers.StreamedAnswer`) decides what each
    chunk shows: prose unchanged, KTOF tables and lists as JSON text as rows complete, the
    rest at the end.
    """

    def __init__(self, savings: dict[str, Any], answer: StreamedAnswer | None) -> None:
        self.savings = savings
        self.answer = answer
        self.first = True
        # where the answer's text streams when it comes in text blocks (list content)
        self.text_block: dict[str, Any] | None = None

    def process(self, chunk: ChatGenerationChunk) -> list[ChatGenerationChunk]:
        message = chunk.message
        if self.first:
            message.response_metadata = {**message.response_metadata, "kaizen": self.savings}
            self.first = False
        if self.answer is None:
            return [chunk]
        if isinstance(message.content, str):
            message.content = self.answer.feed(message.content)
        else:
            message.content = [self._fed(block) for block in message.content]
        if getattr(message, "chunk_position", None) == "last":
            self._release(message)
        return [chunk]

    def _fed(self, block: Any) -> Any:
        if not _is_text(block):
            return block
        assert self.answer is not None
        if isinstance(block, dict):
            self.text_block = {key: block[key] for key in ("type", "index") if key in block}
        return _with_text(block, self.answer.feed(_text_of(block)))

    def _release(self, message: BaseMessage) -> None:
        assert self.answer is not None
        rest, kaizen = self.answer.finish()
        if not rest:
            pass
        elif self.text_block is not None:  # in a block the others merge into
            blocks = message.content if isinstance(message.content, list) else []
            message.content = [*blocks, {**self.text_block, "text": rest}]
        elif isinstance(message.content, list):
            message.content = [*message.content, rest]
        else:
            message.content = f"{message.content}{rest}"
        if kaizen:  # merged into the savings when this chunk carries them too
            metadata = message.response_metadata
            message.response_metadata = {
                **metadata,
                "kaizen": {**metadata.get("kaizen", {}), **kaizen},
            }

    def finish(self) -> list[ChatGenerationChunk]:
        """A closing chunk when the inner stream ended without a ``last`` chunk."""
        if self.answer is None or self.answer.finished:
            return []
        tail = AIMessageChunk(content="")
        self._release(tail)
        if not tail.content and not tail.response_metadata:
            return []
        return [ChatGenerationChunk(message=tail)]


def _capture_stream_run(config: RunnableConfig | None) -> tuple[RunnableConfig, Any]:
    """Start capturing the run id of one ``stream``/``astream`` call.

    Returns the call's config with a :class:`_StreamRun` handler added, and the context token
    that :func:`_reset` takes when the stream ends.
    """
    capture = _StreamRun(ensure_config(config).get("callbacks"))
    return _with_handler(config, capture), _stream_run.set(capture)


def _reset(token: Any) -> None:
    try:
        _stream_run.reset(token)
    except ValueError:  # the generator was closed from another context; nothing leaked here
        pass


class ChatKaizen(BaseChatModel):
    """A chat model that compresses the JSON in its prompts and delegates to ``llm``.

    Args:
        llm: the wrapped chat model (any ``BaseChatModel``).
        client: a ``kaizen_core`` client, or ``None``: the embedded engine unless
            ``KAIZEN_BASE_URL``/``KAIZEN_API_KEY`` select a service (read at first use).
        encode_options: engine options; ``format`` defaults to ``"auto"`` (fewest tokens
            for the model's tokenizer, never more than the JSON).
        encode_message_types: which messages are rewritten (default all four kinds:
            system, human, ai, tool; tool results are the largest win inside agents).
        decode_answers: opt-in: a structured answer is returned as compact JSON text: a
            JSON object or array, or KTOF holding an array (a table, a list) or a nested
            object, possibly in a code fence. Flat ``key: value`` lines (``Answer: 42``)
            are prose and stay as written, unless in a code fence labelled ``toon``,
            ``ktof`` or ``json``. Streams show the JSON text as rows complete (tables and
            lists at the root or under a top-level key; other shapes at the end) and pass
            prose through; chunks concatenate to what ``invoke`` returns (see
            ``kaizen_langchain._answers`` for the rule and for an answer that breaks off).
        add_hint: add a one-line KTOF explanation to the system prompt whenever
            something was encoded.
        tokenizer_model: model whose tokenizer chooses the format and counts savings
            (default: the inner model's name).

    Savings of each call are in ``response_metadata["kaizen"]`` and are reported as a
    ``kaizen_encode`` custom event (see ``kaizen_langchain.callbacks``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llm: BaseChatModel
    client: Any = Field(default=None, exclude=True)
    encode_options: dict[str, Any] = Field(default_factory=dict)
    encode_message_types: tuple[str, ...] = _ALL_MESSAGE_TYPES
    decode_answers: bool = False
    add_hint: bool = False
    tokenizer_model: str | None = None

    _base_codec: Codec | None = PrivateAttr(default=None)
    _codecs: dict[str, Codec] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _take_over_inner_settings(self) -> Self:
        for name in _TAKEN_OVER:
            if name not in self.model_fields_set and name in type(self.llm).model_fields:
                setattr(self, name, getattr(self.llm, name))
        return self

    # -- identity -----------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return f"kaizen-{self.llm._llm_type}"

    @property
    def _kaizen_settings(self) -> dict[str, Any]:
        return {
            "encode_options": self.encode_options,
            "encode_message_types": list(self.encode_message_types),
            "decode_answers": self.decode_answers,
            "add_hint": self.add_hint,
            "tokenizer_model": self.tokenizer_model,
        }

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"llm": self.llm._identifying_params, "kaizen": self._kaizen_settings}

    def _get_llm_string(self, stop: list[str] | None = None, **kwargs: Any) -> str:
        """The cache key: the inner model's own key (its whole configuration where it is
        serializable) and the wrapper's settings, which change the answer too."""
        inner = self.llm._get_llm_string(stop=stop, **kwargs)
        return f"{inner}---kaizen:{sorted(self._kaizen_settings.items())}"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self.llm._get_ls_params(stop=stop, **kwargs)

    def _model_name(self, kwargs: dict[str, Any]) -> str | None:
        name = kwargs.get("model") or self.tokenizer_model
        if isinstance(name, str) and name:
            return name
        ls_name = self.llm._get_ls_params().get("ls_model_name")
        return ls_name if isinstance(ls_name, str) and ls_name else None

    def _codec(self, kwargs: dict[str, Any]) -> Codec:
        model = self._model_name(kwargs) or "gpt-4o"
        codec = self._codecs.get(model)
        if codec is None:
            if self._base_codec is None:  # the host is chosen once, on first use
                self._base_codec = Codec(self.client, options=self.encode_options)
            codec = self._codecs[model] = self._base_codec.with_model(model)
        return codec

    # -- the request side -----------------------------------------------------------
    @property
    def _kinds(self) -> frozenset[str]:
        return frozenset(self.encode_message_types)

    def _prepared(self, messages: list[BaseMessage], result: EncodeResult) -> list[BaseMessage]:
        return add_hint(messages) if self.add_hint and result.changed else messages

    def _savings(self, result: EncodeResult, codec: Codec) -> dict[str, Any]:
        return encode_event_data(result, model=codec.model, source="ChatKaizen")

    def _encode(
        self, messages: list[BaseMessage], kwargs: dict[str, Any]
    ) -> tuple[list[BaseMessage], dict[str, Any]]:
        codec = self._codec(kwargs)
        encoded, result = encode_messages(messages, codec, self._kinds)
        return self._prepared(encoded, result), self._savings(result, codec)

    async def _aencode(
        self, messages: list[BaseMessage], kwargs: dict[str, Any]
    ) -> tuple[list[BaseMessage], dict[str, Any]]:
        codec = self._codec(kwargs)
        encoded, result = await aencode_messages(messages, codec, self._kinds)
        return self._prepared(encoded, result), self._savings(result, codec)

    # -- the answer side ------------------------------------------------------------
    def _decoded_text(self, text: str, codec: Codec) -> str | None:
        return answer_json(text, codec)

    def _finish(
        self, result: ChatResult, savings: dict[str, Any], kwargs: dict[str, Any]
    ) -> ChatResult:
        for generation in result.generations:
            message = generation.message
            kaizen = dict(savings)
            if self.decode_answers:
                text = _answer_text(message.content)
                decoded = self._decoded_text(text, self._codec(kwargs)) if text else None
                if decoded is not None:
                    message.content = _with_answer(message.content, decoded)
                    kaizen["decoded_answer"] = True
            message.response_metadata = {**message.response_metadata, "kaizen": kaizen}
        return result

    def _answer_filter(self, savings: dict[str, Any]) -> _AnswerStream:
        return _AnswerStream(savings, StreamedAnswer() if self.decode_answers else None)

    # -- BaseChatModel hooks ----------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prepared, savings = self._encode(messages, kwargs)
        emit(ENCODE_EVENT, savings, run_manager)
        result = self.llm._generate(prepared, stop=stop, run_manager=run_manager, **kwargs)
        return self._finish(result, savings, kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prepared, savings = await self._aencode(messages, kwargs)
        await aemit(ENCODE_EVENT, savings, run_manager)
        result = await self.llm._agenerate(prepared, stop=stop, run_manager=run_manager, **kwargs)
        if self.decode_answers and self._codec(kwargs).decodes_remotely:
            # decoding through a KaizenSyncClient blocks: keep it off the event loop
            return await asyncio.to_thread(self._finish, result, savings, kwargs)
        return self._finish(result, savings, kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        prepared, savings = self._encode(messages, kwargs)
        self._emit_streamed(savings, run_manager)
        if _implements(self.llm, "_stream"):
            inner = self.llm._stream(prepared, stop=stop, run_manager=run_manager, **kwargs)
        else:
            whole = self.llm._generate(prepared, stop=stop, run_manager=run_manager, **kwargs)
            inner = iter([_as_chunk(whole)])
        answer = self._answer_filter(savings)
        for chunk in inner:
            yield from answer.process(chunk)
        yield from answer.finish()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        prepared, savings = await self._aencode(messages, kwargs)
        if run_manager is not None:
            await aemit(ENCODE_EVENT, savings, run_manager)
        else:
            self._emit_streamed(savings, None)
        answer = self._answer_filter(savings)
        if _implements(self.llm, "_astream") or _implements(self.llm, "_stream"):
            async for chunk in self.llm._astream(
                prepared, stop=stop, run_manager=run_manager, **kwargs
            ):
                for out in answer.process(chunk):
                    yield out
        else:
            whole = await self.llm._agenerate(
                prepared, stop=stop, run_manager=run_manager, **kwargs
            )
            for out in answer.process(_as_chunk(whole)):
                yield out
        for out in answer.finish():
            yield out

    def _emit_streamed(self, savings: dict[str, Any], run_manager: Any) -> None:
        capture = _stream_run.get()
        if run_manager is None and capture is not None and capture.claim():
            capture.manager(self).on_custom_event(ENCODE_EVENT, savings, run_id=capture.run_id)
            return
        emit(ENCODE_EVENT, savings, run_manager)

    def _taps_streams(self, config: RunnableConfig | None) -> bool:
        """Whether a handler of this call taps streamed output (as ``BaseChatModel`` decides
        to stream an ``invoke``: by the ``tap_output_iter`` of its streaming handlers)."""
        handlers: list[Any] = []
        for callbacks in (ensure_config(config).get("callbacks"), self.callbacks):
            if isinstance(callbacks, BaseCallbackManager):
                handlers.extend(callbacks.handlers)
            elif callbacks:
                handlers.extend(callbacks)
        return any(hasattr(handler, "tap_output_iter") for handler in handlers)

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """``BaseChatModel.invoke``, with the encode event attached to this call's run (under
        a streaming handler, as ``astream_events`` and LangGraph attach, ``invoke`` streams
        without handing ``_stream`` its run manager)."""
        if not self._taps_streams(config):
            return super().invoke(input, config, stop=stop, **kwargs)
        capture_config, token = _capture_stream_run(config)
        try:
            return super().invoke(input, capture_config, stop=stop, **kwargs)
        finally:
            _reset(token)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """``BaseChatModel.ainvoke``, with the encode event attached to this call's run."""
        if not self._taps_streams(config):
            return await super().ainvoke(input, config, stop=stop, **kwargs)
        capture_config, token = _capture_stream_run(config)
        try:
            return await super().ainvoke(input, capture_config, stop=stop, **kwargs)
        finally:
            _reset(token)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """``BaseChatModel.stream``, with the encode event attached to this call's run."""
        capture_config, token = _capture_stream_run(config)
        try:
            yield from super().stream(input, capture_config, stop=stop, **kwargs)
        finally:
            _reset(token)

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """``BaseChatModel.astream``, with the encode event attached to this call's run."""
        capture_config, token = _capture_stream_run(config)
        try:
            async for chunk in super().astream(input, capture_config, stop=stop, **kwargs):
                yield chunk
        finally:
            _reset(token)

    # -- tools and structured output --------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Format ``tools`` the way the inner model does, bound to this wrapper."""
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        bound = self.llm.bind_tools(tools, **kwargs)
        return rebind(bound, self.llm, self)

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        """The inner model's structured-output runnable, running through this wrapper."""
        inner = self.llm.with_structured_output(schema, include_raw=include_raw, **kwargs)
        return rebind(inner, self.llm, self)
