"""Kaizen inside the ``openai`` SDK: ``wrap(OpenAI())`` / ``wrap(AsyncOpenAI())``.

Wrapped: ``chat.completions.create`` / ``parse`` / ``stream`` and ``responses.create`` /
``parse`` / ``stream``. Everything else on the client is the vendor's own attribute.
``with_options(...)`` and ``copy(...)`` return wrapped clients too, and the
``with_raw_response`` / ``with_streaming_response`` views compress as well.
"""

from __future__ import annotations

from typing import Any

import openai

from ._compression import WrapSettings
from ._messages import rewrite_openai_chat, rewrite_openai_responses
from ._proxy import ErrorMapper, ResourceProxy, resource_with_views, stream_helper, wrap_method
from .errors import KaizenProviderError, map_sdk_error

__all__ = ["is_openai_client", "map_openai_error", "wrap_openai"]

PROVIDER = "openai"


def is_openai_client(client: Any) -> bool:
    """Whether ``client`` is an ``openai.OpenAI`` / ``AsyncOpenAI`` (Azure variants too)."""
    return isinstance(client, (openai.OpenAI, openai.AsyncOpenAI))


def map_openai_error(exc: BaseException) -> KaizenProviderError:
    """``openai.APIError`` -> :class:`KaizenProviderError` (429: the rate-limit subclass)."""
    return map_sdk_error(PROVIDER, exc, openai.APIStatusError, _status)


def _status(exc: openai.APIStatusError) -> int:
    # A rate-limit error raised mid-stream arrives on a 200 response: the class decides.
    return 429 if isinstance(exc, openai.RateLimitError) else exc.status_code


_ERRORS = ErrorMapper((openai.APIError,), map_openai_error)


def _chat_text(result: Any) -> str | None:
    choices = getattr(result, "choices", None) or []
    return getattr(getattr(choices[0], "message", None), "content", None) if choices else None


def _responses_text(result: Any) -> str | None:
    return getattr(result, "output_text", None)


def wrap_openai(client: Any, settings: WrapSettings) -> Any:
    """A proxy of ``client`` whose chat and responses calls run through Kaizen."""
    is_async = isinstance(client, openai.AsyncOpenAI)

    def calls(walker: Any, answer_text: Any) -> dict[str, Any]:
        def method(f: Any, text: Any) -> Any:
            return wrap_method(f, settings, PROVIDER, walker, _ERRORS, text, is_async=is_async)

        return {
            "create": lambda f: method(f, answer_text),
            "parse": lambda f: method(f, None),
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
                chat,
                {"completions": lambda completions: resource_with_views(completions, chat_calls)},
            ),
            "responses": lambda responses: resource_with_views(responses, responses_calls),
            "with_options": rewrap,
            "copy": rewrap,
        },
    )
