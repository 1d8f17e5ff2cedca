"""Kaizen inside the ``anthropic`` SDK: ``wrap(Anthropic())`` / ``wrap(AsyncAnthropic())``.

Wrapped: ``messages.create`` / ``parse`` / ``stream`` / ``count_tokens`` (so the count is
the compressed prompt's). Any client with a ``messages`` resource works (Anthropic,
Bedrock, Vertex). ``with_options(...)`` and ``copy(...)`` return wrapped clients too, and the
``with_raw_response`` / ``with_streaming_response`` views compress as well.
"""

from __future__ import annotations

from typing import Any

import anthropic
from anthropic.resources.messages import AsyncMessages, Messages

from ._compression import WrapSettings
from ._messages import rewrite_anthropic_messages
from ._proxy import ErrorMapper, ResourceProxy, resource_with_views, stream_helper, wrap_method
from .errors import KaizenProviderError, map_sdk_error

__all__ = ["is_anthropic_client", "map_anthropic_error", "wrap_anthropic"]

PROVIDER = "anthropic"


def is_anthropic_client(client: Any) -> bool:
    """Whether ``client`` is an Anthropic SDK client (it has a Messages resource)."""
    module = type(client).__module__ or ""
    return module.split(".")[0] == "anthropic" and isinstance(
        getattr(client, "messages", None), (Messages, AsyncMessages)
    )


def map_anthropic_error(exc: BaseException) -> KaizenProviderError:
    """``anthropic.APIError`` -> :class:`KaizenProviderError` (429: the rate-limit subclass)."""
    return map_sdk_error(PROVIDER, exc, anthropic.APIStatusError, _status)


def _status(exc: anthropic.APIStatusError) -> int:
    status = exc.status_code
    if status < 400:  # an error event in the middle of a 200 stream: its type decides
        status = _STATUS_BY_ERROR_TYPE.get(_error_type(exc.body), status)
    return status


_STATUS_BY_ERROR_TYPE: dict[str | None, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def _error_type(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else None


_ERRORS = ErrorMapper((anthropic.APIError,), map_anthropic_error)


def _message_text(result: Any) -> str | None:
    blocks = getattr(result, "content", None)
    if not isinstance(blocks, list):
        return None
    return "".join(
        getattr(block, "text", "") for block in blocks if getattr(block, "type", None) == "text"
    )


def wrap_anthropic(client: Any, settings: WrapSettings) -> Any:
    """A proxy of ``client`` whose Messages calls run through Kaizen."""
    is_async = isinstance(client.messages, AsyncMessages)
    walker = rewrite_anthropic_messages

    def method(f: Any, text: Any) -> Any:
        return wrap_method(f, settings, PROVIDER, walker, _ERRORS, text, is_async=is_async)

    message_calls = {
        "create": lambda f: method(f, _message_text),
        "parse": lambda f: method(f, None),
        "count_tokens": lambda f: method(f, None),
        "stream": lambda f: stream_helper(
            f, settings, PROVIDER, walker, _ERRORS, is_async=is_async
        ),
    }
    rewrap = lambda f: lambda *a, **kw: wrap_anthropic(f(*a, **kw), settings)
    return ResourceProxy(
        client,
        {
            "messages": lambda messages: resource_with_views(messages, message_calls),
            "with_options": rewrap,
            "copy": rewrap,
        },
    )
