"""The exception tree of the Kaizen client, and the mapping from HTTP answers to it.

::

    KaizenError
    ├── KaizenRequestError            the request never got an HTTP answer
    │   ├── KaizenTimeoutError
    │   └── KaizenConnectionError
    └── KaizenAPIError                the service answered with an error (or garbage)
        ├── KaizenBadRequestError         400
        │   └── KaizenDecodeError         400 from a decode endpoint, with line/column/text
        ├── KaizenAuthenticationError     401
        ├── KaizenPermissionDeniedError   403
        ├── KaizenNotFoundError           404
        ├── KaizenPayloadTooLargeError    413
        ├── KaizenValidationError         422
        ├── KaizenRateLimitError          429 (``retry_after``)
        ├── KaizenServerError             5xx
        └── KaizenMalformedResponseError  2xx whose body is not the JSON promised

The constructors keep kaizen-client 0.1.4's positional forms
(``KaizenRequestError(message, original)``, ``KaizenAPIError(status_code, payload, headers)``)
so code written against it keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .retries import parse_retry_after

_LINE_COLUMN = re.compile(r"line\s+(\d+)\s*,\s*column\s+(\d+)", re.IGNORECASE)
_DECODE_PATHS = ("/v1/decompress", "/v1/optimize/response", "/v1/prompts/decode")

#: The ``code`` of a 400 for malformed KTOF (the decode endpoints and the local decode streams).
KTOF_DECODE_ERROR_CODE = "ktof_decode_error"


def malformed_ktof_detail(error: Exception) -> str:
    """The ``detail`` of a 400 for malformed KTOF; ``str(error)`` is "line L, column C: msg"."""
    return f"Malformed KTOF at {error}"


class KaizenError(Exception):
    """Base class of every error raised by ``kaizen_core``'s client."""


class KaizenRequestError(KaizenError):
    """The request failed before an HTTP answer arrived (connect, read, write, pool)."""

    def __init__(
        self,
        message: str,
        original: BaseException | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.original = original
        self.request_id = request_id

    def __str__(self) -> str:
        suffix = f" (request_id={self.request_id})" if self.request_id else ""
        return f"{self.message}{suffix}"


class KaizenTimeoutError(KaizenRequestError):
    """A connect, read, write or pool timeout expired."""


class KaizenConnectionError(KaizenRequestError):
    """The connection could not be made or broke (refused, reset, protocol error)."""


class KaizenAPIError(KaizenError):
    """The Kaizen service answered with an error status (or an unreadable body).

    Attributes: ``status_code``, ``payload`` (the parsed JSON body or the raw text),
    ``headers`` (response headers), ``request_id``, ``code`` and ``detail`` (from the body).
    """

    def __init__(
        self,
        status_code: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.payload = payload
        self.headers: dict[str, str] = {k.lower(): v for k, v in dict(headers or {}).items()}
        body = payload if isinstance(payload, Mapping) else {}
        self.request_id = (
            request_id or _as_str(body.get("request_id")) or self.headers.get("x-request-id")
        )
        self.code: str | None = _as_str(body.get("code"))
        self.detail: Any = body.get("detail", payload if not isinstance(payload, Mapping) else None)
        super().__init__(str(self))

    def __str__(self) -> str:
        detail = self.detail if self.detail is not None else self.payload
        text = f"Kaizen API error ({self.status_code}): {_short(detail)}"
        if self.code:
            text += f" [code={self.code}]"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_api_error, (type(self), self.__dict__.copy()))


class KaizenBadRequestError(KaizenAPIError):
    """400: the codec refused the input or an option."""


class KaizenDecodeError(KaizenBadRequestError, ValueError):
    """KTOF that could not be decoded: carries ``line``, ``column`` (1-based) and ``text``.

    Raised for 400 answers of the decode endpoints whose detail names a line and column,
    and by :meth:`KaizenClient.prompts_decode_stream`, which decodes locally.
    """

    def __init__(
        self,
        status_code: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        *,
        request_id: str | None = None,
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
    ) -> None:
        self.line = line
        self.column = column
        self.text = text
        super().__init__(status_code, payload, headers, request_id=request_id)


class KaizenAuthenticationError(KaizenAPIError):
    """401: missing or invalid API key."""


class KaizenPermissionDeniedError(KaizenAPIError):
    """403: the key may not do this."""


class KaizenNotFoundError(KaizenAPIError):
    """404: unknown route."""


class KaizenPayloadTooLargeError(KaizenAPIError):
    """413: the request body is over the service's limit."""


class KaizenValidationError(KaizenAPIError):
    """422: the request did not validate (FastAPI-style ``detail`` list)."""


class KaizenRateLimitError(KaizenAPIError):
    """429: rate limited; ``retry_after`` is the server's wish in seconds (or None)."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the service asked us to wait (``retry-after-ms`` or ``Retry-After``)."""
        return parse_retry_after(self.headers)


class KaizenServerError(KaizenAPIError):
    """5xx: a fault on the service's side; retried by default."""


class KaizenMalformedResponseError(KaizenAPIError):
    """The service answered but its body is not the JSON the contract promises."""


_BY_STATUS: dict[int, type[KaizenAPIError]] = {
    400: KaizenBadRequestError,
    401: KaizenAuthenticationError,
    403: KaizenPermissionDeniedError,
    404: KaizenNotFoundError,
    413: KaizenPayloadTooLargeError,
    422: KaizenValidationError,
    429: KaizenRateLimitError,
}


def error_for_status(
    status_code: int,
    payload: Any,
    headers: Mapping[str, str] | None,
    *,
    path: str = "",
    request_id: str | None = None,
    request_text: str | None = None,
) -> KaizenAPIError:
    """Build the exception that stands for an error answer.

    ``path`` selects :class:`KaizenDecodeError` for 400s of the decode endpoints whose detail
    carries a line and column; ``request_text`` is then the KTOF that was sent.
    """
    if status_code == 400 and path.rstrip("/") in _DECODE_PATHS:
        position = _line_column(payload)
        if position is not None:
            return KaizenDecodeError(
                status_code,
                payload,
                headers,
                request_id=request_id,
                line=position[0],
                column=position[1],
                text=request_text,
            )
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = KaizenServerError if status_code >= 500 else KaizenAPIError
    return cls(status_code, payload, headers, request_id=request_id)


def _line_column(payload: Any) -> tuple[int, int] | None:
    if not isinstance(payload, Mapping):
        return None
    line, column = payload.get("line"), payload.get("column")
    if isinstance(line, int) and isinstance(column, int):
        return line, column
    detail = payload.get("detail")
    if isinstance(detail, Mapping):
        return _line_column(detail)
    if isinstance(detail, str):
        match = _LINE_COLUMN.search(detail)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _short(value: Any, limit: int = 500) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _rebuild_api_error(cls: type[KaizenAPIError], state: dict[str, Any]) -> KaizenAPIError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error


__all__ = [
    "KTOF_DECODE_ERROR_CODE",
    "KaizenAPIError",
    "KaizenAuthenticationError",
    "KaizenBadRequestError",
    "KaizenConnectionError",
    "KaizenDecodeError",
    "KaizenError",
    "KaizenMalformedResponseError",
    "KaizenNotFoundError",
    "KaizenPayloadTooLargeError",
    "KaizenPermissionDeniedError",
    "KaizenRateLimitError",
    "KaizenRequestError",
    "KaizenServerError",
    "KaizenTimeoutError",
    "KaizenValidationError",
    "error_for_status",
    "malformed_ktof_detail",
]
