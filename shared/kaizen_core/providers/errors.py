"""Vendor SDK errors, mapped into the Kaizen exception tree.

::

    KaizenError
    ├── KaizenProviderError                 any vendor SDK failure (status, connection, timeout)
    │   └── KaizenProviderRateLimitError    the vendor answered 429 (``retry_after``)
    └── KaizenAPIError
        └── KaizenRateLimitError            (also a base of KaizenProviderRateLimitError)

So ``except KaizenRateLimitError`` catches a rate limit from Kaizen or from the vendor, and
``except KaizenError`` catches everything either side raises. The vendor's own exception
stays reachable as ``original`` (and as ``__cause__``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import KaizenError, KaizenRateLimitError
from ..retries import parse_retry_after

__all__ = [
    "KaizenProviderError",
    "KaizenProviderRateLimitError",
    "map_sdk_error",
    "provider_error",
]


class KaizenProviderError(KaizenError):
    """A vendor SDK call (OpenAI, Anthropic, Gemini) failed behind a Kaizen wrapper.

    Attributes:
        provider: ``"openai"``, ``"anthropic"`` or ``"gemini"``.
        original: the vendor SDK's exception, unchanged.
        status_code: the HTTP status the vendor answered (None for connection failures).
        request_id: the vendor's request id (``x-request-id`` / ``request-id``), if sent.
        retry_after: seconds the vendor asked to wait before retrying, if it said.
        body: the vendor's parsed error body (or None).
        headers: the vendor's response headers, lower-cased (empty without a response).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        original: BaseException,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message
        self.provider = provider
        self.original = original
        self.status_code = status_code
        self.request_id = request_id
        self._retry_after = retry_after
        self.body = body
        self.headers: dict[str, str] = {k.lower(): v for k, v in dict(headers or {}).items()}
        # The attributes KaizenAPIError's readers expect, for the rate-limit subclass.
        self.payload = body
        self.code: str | None = None
        self.detail: Any = message
        # Not super(): in the rate-limit subclass the next base is KaizenAPIError, whose
        # constructor takes an HTTP answer; every attribute it would set is set above.
        Exception.__init__(self, str(self))

    @property
    def retry_after(self) -> float | None:
        """Seconds the vendor asked to wait (``retry-after-ms``, ``Retry-After`` or RetryInfo)."""
        return self._retry_after

    def __str__(self) -> str:
        status = f" ({self.status_code})" if self.status_code is not None else ""
        text = f"{self.provider} error{status}: {self.message}"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        if self._retry_after is not None:
            text += f" (retry_after={self._retry_after:g}s)"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy()))


# KaizenProviderError.status_code is int | None (connection failures have none); KaizenAPIError's
# is int. This subclass is only built for a 429, so its status_code is always an int.
class KaizenProviderRateLimitError(KaizenProviderError, KaizenRateLimitError):  # type: ignore[misc]
    """The vendor rate-limited the call (HTTP 429); ``retry_after`` carries its hint."""


def provider_error(
    provider: str,
    original: BaseException,
    *,
    message: str | None = None,
    status_code: int | None = None,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    retry_after: float | None = None,
) -> KaizenProviderError:
    """Build the Kaizen exception for a vendor failure (the rate-limit class for 429).

    ``retry_after`` defaults to the ``retry-after-ms`` / ``Retry-After`` headers.
    """
    if retry_after is None:
        retry_after = parse_retry_after(headers)
    cls = KaizenProviderRateLimitError if status_code == 429 else KaizenProviderError
    return cls(
        message or str(original) or type(original).__name__,
        provider=provider,
        original=original,
        status_code=status_code,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
        headers=headers,
    )


def map_sdk_error(
    provider: str,
    exc: BaseException,
    status_error: type[BaseException],
    status_of: Callable[[Any], int],
) -> KaizenProviderError:
    """Map an ``openai``/``anthropic`` SDK error (the two SDKs share the generated shape).

    An instance of ``status_error`` (``APIStatusError``) keeps the status ``status_of`` gives,
    its ``request_id``, the response headers (for the retry hint) and the body; any other
    SDK error (connection, timeout) keeps its message only.
    """
    message = getattr(exc, "message", None)
    if not isinstance(exc, status_error):
        return provider_error(provider, exc, message=message)
    return provider_error(
        provider,
        exc,
        message=message,
        status_code=status_of(exc),
        request_id=getattr(exc, "request_id", None),
        headers=exc.response.headers,  # type: ignore[attr-defined]
        body=getattr(exc, "body", None),
    )


def _rebuild(cls: type[KaizenProviderError], state: dict[str, Any]) -> KaizenProviderError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error
