"""Kaizen inside the ``openai`` SDK: ``wrap(OpenAI())`` / ``wrap(AsyncOpenAI())``.

Wrapped: ``chat.completions.create`` / ``parse`` / ``stream`` and ``responses.create`` /
``parse`` / ``stream``. Everything else on the client is the vendor's own attribute.
``with_options(...)`` and ``copy(...)`` return wrapped clients too.
"""

from __future__ import annotations

from typing import Any

import openai

from ._compression import WrapSettings
from ._messages import rewrite_openai_chat, rewrite_openai_responses
from ._proxy import ErrorMapper, ResourceProxy, async_method, stream_helper, sync_method
from .errors import KaizenProviderError, provider_error

__all__ = ["is_openai_client", "map_openai_error", "wrap_openai"]

PROVIDER = "openai"


def is_openai_client(client: Any) -> bool:
    """Whether ``client`` is an ``openai.OpenAI`` / ``AsyncOpenAI`` (Azure variants too)."""
    return isinstance(client, (openai.OpenAI, openai.AsyncOpenAI))


def map_openai_error(exc: BaseException) -> KaizenProviderError:
    """``openai.APIError`` -> :class:`KaizenProviderError` (429: the rate-limit subclass)."""
    if isinstance(exc, openai.APIStatusError):
        # A rate-limit error raised mid-stream arrives on a 200 response: the class decides.
        status = 429 if isinstance(exc, openai.RateLimitError) else exc.status_code
        return provider_error(
            PROVIDER,
            exc,
            message=getattr(exc, "message", None),
            status_code=status,
            request_id=exc.request_id,
            headers=exc.response.headers,
            body=exc.body,
        )
    return provider_error(PROVIDER, exc, message=getattr(exc, "message", None))


_ERRORS = ErrorMapper((openai.APIError,), map_openai_error)


def _chat_text(result: Any) -> str | None:
    choices = getattr(result, "choices", None) or []
    return getattr(getattr(choices[0], "message", None), "content", None) if choices else None


def _responses_text(result: Any) -> str | None:
    return getattr(result, "output_text", None)


def wrap_openai(client: Any, settings: WrapSettings) -> Any:
    """A proxy of ``client`` whose chat and responses calls run through Kaizen."""
    is_async = isinstance(client, openai.AsyncOpenAI)
    method = async_method if is_async else sync_method

    def calls(walker: Any, answer_text: Any) -> dict[str, Any]:
        return {
            "create": lambda f: method(f, settings, PROVIDER, walker, _ERRORS, answer_text),
            "parse": lambda f: method(f, settings, PROVIDER, walker, _ERRORS, None),
            "stream": lambda f: stream_helper(
                f, settings, PROVIDER, walker, _ERRORS, is_async=is_async
            ),
        }

    chat_calls = calls(rewrite_openai_chat, _chat_text)
    responses_calls = calls(rewrite_openai_responses, _responses_text)
    rewrap = lambda f: lambda *a, **kw: wrap_openai(f(*a, **kw), settings)
    return ResourceProxy(
        client,
        {
            "chat": lambda chat: ResourceProxy(
                chat, {"completions": lambda completions: ResourceProxy(completions, chat_calls)}
            ),
            "responses": lambda responses: ResourceProxy(responses, responses_calls),
            "with_options": rewrap,
            "copy": rewrap,
        },
    )
