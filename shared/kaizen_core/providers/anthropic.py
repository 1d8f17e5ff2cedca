"""Kaizen inside the ``anthropic`` SDK: ``wrap(Anthropic())`` / ``wrap(AsyncAnthropic())``.

Wrapped: ``messages.create`` / ``parse`` / ``stream`` / ``count_tokens`` (so the count is
the compressed prompt's). Any client with a ``messages`` resource works (Anthropic,
Bedrock, Vertex). ``with_options(...)`` and ``copy(...)`` return wrapped clients too.
"""

from __future__ import annotations

from typing import Any

import anthropic
from anthropic.resources.messages import AsyncMessages, Messages

from ._compression import WrapSettings
from ._messages import rewrite_anthropic_messages
from ._proxy import ErrorMapper, ResourceProxy, async_method, stream_helper, sync_method
from .errors import KaizenProviderError, provider_error

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
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status < 400:  # an error event in the middle of a 200 stream: its type decides
            status = _STATUS_BY_ERROR_TYPE.get(_error_type(exc.body), status)
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


_STATUS_BY_ERROR_TYPE = {
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
    method = async_method if is_async else sync_method
    walker = rewrite_anthropic_messages
    message_calls = {
        "create": lambda f: method(f, settings, PROVIDER, walker, _ERRORS, _message_text),
        "parse": lambda f: method(f, settings, PROVIDER, walker, _ERRORS, None),
        "count_tokens": lambda f: method(f, settings, PROVIDER, walker, _ERRORS, None),
        "stream": lambda f: stream_helper(
            f, settings, PROVIDER, walker, _ERRORS, is_async=is_async
        ),
    }
    rewrap = lambda f: lambda *a, **kw: wrap_anthropic(f(*a, **kw), settings)
    return ResourceProxy(
        client,
        {
            "messages": lambda messages: ResourceProxy(messages, message_calls),
            "with_options": rewrap,
            "copy": rewrap,
        },
    )
