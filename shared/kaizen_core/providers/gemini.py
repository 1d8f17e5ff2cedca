"""Kaizen inside ``google-genai``: ``wrap(genai.Client(...))``.

Wrapped: ``models.generate_content`` / ``generate_content_stream`` / ``count_tokens`` and their
``aio.models`` twins (a wrapped ``client.aio`` works on its own too). ``contents`` are read the
way the SDK reads them (any of its accepted shapes), ``config.system_instruction`` is rewritten
in place, and a function response whose ``response`` dict holds JSON is sent as
``{"output": "<KTOF>"}`` (Gemini's documented key for a function's output). Function calls and
non-text parts pass through.

Chat sessions: ``chats.create(...)`` and ``aio.chats.create(...)`` return the SDK's own
``Chat`` / ``AsyncChat``, built around the wrapped ``models``, so every ``send_message`` /
``send_message_stream`` goes through the calls above: the whole request (history, new message,
system instruction) is compressed, and the response (or each chunk) carries ``kaizen``. The
session's history keeps what the user sent, not the KTOF: the SDK records the message before
calling ``models`` and the rewrite works on copies. So ``get_history()`` shows the user's own
texts, and a history handed to another client or stored holds no KTOF. Each turn compresses
the history again; the rewrite is deterministic, so the model reads the same KTOF for an
earlier turn every time (and a turn's ``kaizen`` counts the history texts it rewrote too).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from google import genai
from google.genai import _transformers, errors, types

from ._compression import CallRun, WrapSettings
from ._messages import Rewrite
from ._proxy import ErrorMapper, ResourceProxy, mapped_errors, wrap_method
from ._report import attach_info
from .errors import KaizenProviderError, provider_error

__all__ = ["is_gemini_client", "map_gemini_error", "rewrite_gemini_contents", "wrap_gemini"]

PROVIDER = "gemini"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def is_gemini_client(client: Any) -> bool:
    """Whether ``client`` is a ``google.genai`` ``Client`` or its ``aio`` side."""
    return isinstance(client, (genai.Client, genai.client.AsyncClient))


# -- errors -------------------------------------------------------------------------------------
def _retry_delay(details: Any) -> float | None:
    """``retryDelay`` of a ``google.rpc.RetryInfo`` detail (``"7s"`` -> 7.0), if any."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    for detail in (error.get("details") if isinstance(error, dict) else None) or []:
        if isinstance(detail, dict) and detail.get("@type") == _RETRY_INFO:
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def map_gemini_error(exc: BaseException) -> KaizenProviderError:
    """``google.genai.errors.APIError`` -> :class:`KaizenProviderError`.

    The retry hint is the ``RetryInfo`` detail of Google's error body, else ``Retry-After``.
    """
    assert isinstance(exc, errors.APIError)
    response = getattr(exc, "response", None)
    headers = dict(getattr(response, "headers", None) or {})
    lowered = {k.lower(): v for k, v in headers.items()}
    return provider_error(
        PROVIDER,
        exc,
        message=exc.message or str(exc),
        status_code=exc.code,
        request_id=lowered.get("x-request-id") or lowered.get("x-goog-request-id"),
        headers=headers,
        body=exc.details,
        retry_after=_retry_delay(exc.details),
    )


_ERRORS = ErrorMapper((errors.APIError,), map_gemini_error)


# -- requests -----------------------------------------------------------------------------------
def _rewrite_part(part: types.Part, role: str, rewrite: Rewrite) -> types.Part:
    if isinstance(part.text, str) and not part.thought:
        text = rewrite(part.text, role)
        return part if text is part.text else part.model_copy(update={"text": text})
    function_response = part.function_response
    if function_response is None or not isinstance(function_response.response, dict):
        return part
    response = function_response.response
    if set(response) == {"output"} and isinstance(response["output"], str):
        original = response["output"]
    else:
        original = json.dumps(response, separators=(",", ":"), ensure_ascii=False)
    text = rewrite(original, "tool")
    if text is original:
        return part
    new_response = function_response.model_copy(update={"response": {"output": text}})
    return part.model_copy(update={"function_response": new_response})


def _rewrite_content(
    content: types.Content, rewrite: Rewrite, role: str | None = None
) -> types.Content:
    speaker = role or ("assistant" if content.role == "model" else "user")
    parts = content.parts or []
    new_parts = [_rewrite_part(part, speaker, rewrite) for part in parts]
    if all(new is old for new, old in zip(new_parts, parts)):
        return content
    return content.model_copy(update={"parts": new_parts})


def rewrite_gemini_contents(kwargs: dict[str, Any], rewrite: Rewrite) -> dict[str, Any]:
    """Rewrite ``contents`` and ``config.system_instruction`` of ``generate_content``."""
    out = dict(kwargs)
    contents = kwargs.get("contents")
    try:
        normalized = _transformers.t_contents(contents) if contents else []
    except (ValueError, TypeError):  # the SDK reports the bad input itself
        normalized = []
    rewritten = [_rewrite_content(content, rewrite) for content in normalized]
    if any(new is not old for new, old in zip(rewritten, normalized)):
        out["contents"] = rewritten
    config = kwargs.get("config")
    if isinstance(config, dict):
        system = config.get("system_instruction")
    else:
        system = getattr(config, "system_instruction", None)
    if system is None:
        return out
    try:
        content = _transformers.t_content(system)
    except (ValueError, TypeError):
        return out
    new_system = _rewrite_content(content, rewrite, role="system")
    if new_system is not content:
        if isinstance(config, dict):
            out["config"] = {**config, "system_instruction": new_system}
        else:
            assert config is not None  # None has no system_instruction: returned above
            out["config"] = config.model_copy(update={"system_instruction": new_system})
    return out


def _response_text(result: Any) -> str | None:
    try:
        return result.text
    except (AttributeError, ValueError):
        return None


# -- streams ------------------------------------------------------------------------------------
class GeminiStream(Iterator[types.GenerateContentResponse]):
    """The chunks of ``generate_content_stream``, each with ``kaizen``; errors mapped."""

    def __init__(self, inner: Iterator[types.GenerateContentResponse], run: CallRun) -> None:
        self._inner = inner
        self.kaizen = run.info

    def __iter__(self) -> GeminiStream:
        return self

    def __next__(self) -> types.GenerateContentResponse:
        with mapped_errors(_ERRORS):
            chunk = next(self._inner)
        return attach_info(chunk, self.kaizen)


class AsyncGeminiStream(AsyncIterator[types.GenerateContentResponse]):
    """The chunks of ``aio.models.generate_content_stream``, each with ``kaizen``."""

    def __init__(self, inner: AsyncIterator[types.GenerateContentResponse], run: CallRun) -> None:
        self._inner = inner
        self.kaizen = run.info

    def __aiter__(self) -> AsyncGeminiStream:
        return self

    async def __anext__(self) -> types.GenerateContentResponse:
        with mapped_errors(_ERRORS):
            chunk = await self._inner.__anext__()
        return attach_info(chunk, self.kaizen)

    async def aclose(self) -> None:
        """Close the underlying stream."""
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()


def _sync_stream(method: Any, settings: WrapSettings) -> Any:
    def generate_content_stream(*args: Any, **kwargs: Any) -> GeminiStream:
        run = CallRun(settings, PROVIDER, kwargs.get("model"))
        return GeminiStream(method(*args, **run.rewrite(rewrite_gemini_contents, kwargs)), run)

    generate_content_stream.__doc__ = method.__doc__
    generate_content_stream.__wrapped__ = method  # type: ignore[attr-defined]
    return generate_content_stream


def _async_stream(method: Any, settings: WrapSettings) -> Any:
    async def generate_content_stream(*args: Any, **kwargs: Any) -> AsyncGeminiStream:
        run = CallRun(settings, PROVIDER, kwargs.get("model"))
        kwargs = await run.arewrite(rewrite_gemini_contents, kwargs)
        with mapped_errors(_ERRORS):
            inner = await method(*args, **kwargs)
        return AsyncGeminiStream(inner, run)

    generate_content_stream.__doc__ = method.__doc__
    generate_content_stream.__wrapped__ = method  # type: ignore[attr-defined]
    return generate_content_stream


# -- the proxy ----------------------------------------------------------------------------------
def _models_calls(settings: WrapSettings, *, is_async: bool) -> dict[str, Any]:
    def method(f: Any, text: Any) -> Any:
        return wrap_method(
            f, settings, PROVIDER, rewrite_gemini_contents, _ERRORS, text, is_async=is_async
        )

    return {
        "generate_content": lambda f: method(f, _response_text),
        "count_tokens": lambda f: method(f, None),
        "generate_content_stream": lambda f: (_async_stream if is_async else _sync_stream)(
            f, settings
        ),
    }


def _wrap_aio(aio: Any, settings: WrapSettings) -> Any:
    calls = _models_calls(settings, is_async=True)
    return ResourceProxy(
        aio,
        {
            "models": lambda models: ResourceProxy(models, calls),
            "chats": lambda chats: type(chats)(modules=ResourceProxy(aio.models, calls)),
        },
    )


def wrap_gemini(client: Any, settings: WrapSettings) -> Any:
    """A proxy of a ``genai.Client`` (or its ``aio``) whose generate calls run through Kaizen.

    ``chats`` builds the SDK's own chat sessions around the wrapped ``models``.
    """
    if isinstance(client, genai.client.AsyncClient):
        return _wrap_aio(client, settings)
    calls = _models_calls(settings, is_async=False)
    return ResourceProxy(
        client,
        {
            "models": lambda models: ResourceProxy(models, calls),
            "chats": lambda chats: type(chats)(modules=ResourceProxy(client.models, calls)),
            "aio": lambda aio: _wrap_aio(aio, settings),
        },
    )
