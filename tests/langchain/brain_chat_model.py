"""An offline, tool-capable chat model for tests: the OpenAI stand-in's brain, in-process.

``BrainChatModel`` turns LangChain messages and bound tools into an OpenAI request body
and answers with ``tests.standins.openai_server.rule_based_reply`` (tool calls with
arguments from the prompt, answers after tool results, JSON for structured output), with
usage metadata, ``model_name``, streaming (text and tool-call chunks) and ``model``
overrides, so wrappers can be checked without any network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from tests.standins.openai_server import Reply, _prompt_tokens, count_tokens, rule_based_reply

__all__ = ["BrainChatModel"]


def _tool_choice(choice: Any) -> Any:
    if choice in (None, "auto", "none", "required"):
        return choice
    if choice in ("any", True):
        return "required"
    if isinstance(choice, str):
        return {"type": "function", "function": {"name": choice}}
    return choice


class BrainChatModel(BaseChatModel):
    """Deterministic offline chat model (see module docstring). Records its requests."""

    model_name: str = "brain-1"
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    stop: list[str] | None = None
    max_retries: int | None = None
    api_key: str | None = None
    streaming: bool = False
    chunk_size: int = 8
    requests: list[dict[str, Any]] = Field(default_factory=list)
    script: list[Reply] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "brain"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="brain",
            ls_model_name=kwargs.get("model") or self.model_name,
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
        )
        if self.max_tokens is not None:
            params["ls_max_tokens"] = self.max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # -- request -> reply ---------------------------------------------------------------
    def _body(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": kwargs.get("model") or self.model_name,
            "messages": convert_to_openai_messages(messages),
        }
        for key in ("tools", "tool_choice", "response_format"):
            if kwargs.get(key) is not None:
                body[key] = kwargs[key]
        if stop or self.stop:
            body["stop"] = stop or self.stop
        self.requests.append(body)
        return body

    def _reply(self, body: dict[str, Any]) -> tuple[Reply, str, int]:
        reply = self.script.pop(0) if self.script else rule_based_reply(body)
        content = reply.content or ""
        for stop in body.get("stop") or []:
            if stop and stop in content:
                content = content[: content.index(stop)]
        return reply, content, _prompt_tokens(body)

    def _usage(self, prompt_tokens: int, completion: str) -> dict[str, int]:
        output = max(1, count_tokens(completion))
        return {
            "input_tokens": prompt_tokens,
            "output_tokens": output,
            "total_tokens": prompt_tokens + output,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        body = self._body(messages, stop, kwargs)
        reply, content, prompt_tokens = self._reply(body)
        calls = [
            tool_call(name=c.name, args=json.loads(c.arguments_json()), id=c.id or f"call_{i}")
            for i, c in enumerate(reply.tool_calls)
        ]
        completion = content + "".join(c.arguments_json() for c in reply.tool_calls)
        message = AIMessage(
            content=content,
            tool_calls=calls,
            usage_metadata=self._usage(prompt_tokens, completion),
            response_metadata={
                "model_name": body["model"],
                "finish_reason": "tool_calls" if calls else "stop",
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        body = self._body(messages, stop, kwargs)
        reply, content, prompt_tokens = self._reply(body)
        size = max(1, reply.chunk_size or self.chunk_size)
        for start in range(0, len(content), size):
            piece = content[start : start + size]
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        for index, call in enumerate(reply.tool_calls):
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        tool_call_chunk(
                            name=call.name,
                            args=call.arguments_json(),
                            id=call.id or f"call_{index}",
                            index=index,
                        )
                    ],
                )
            )
        completion = content + "".join(c.arguments_json() for c in reply.tool_calls)
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=self._usage(prompt_tokens, completion),
                response_metadata={"model_name": body["model"]},
                chunk_position="last",
            )
        )

    # -- tools -------------------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = _tool_choice(tool_choice)
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: str = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Function calling for every ``method`` (the brain answers a forced tool call)."""
        return super().with_structured_output(schema, include_raw=include_raw, **kwargs)
