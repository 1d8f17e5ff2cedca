"""The request pipeline shared by the sync and async clients: everything but the I/O.

One logical call goes: :func:`prepare` (validate the payload, build the body, headers and
request id, the cache key) -> per attempt: rate limit, middleware, send (the only part the two
clients implement differently), :func:`check_response` (map errors, decide retries) ->
:func:`parse_success` (typed response model) -> metrics and logs (:class:`CallTracker`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from . import models
from .cache import CACHEABLE_PATHS, cache_key
from .config import KaizenClientConfig, merge_headers
from .engine.codec import compact_json_text, normalize
from .errors import (
    KaizenAPIError,
    KaizenConnectionError,
    KaizenError,
    KaizenMalformedResponseError,
    KaizenRequestError,
    KaizenTimeoutError,
    error_for_status,
)
from .logs import logger
from .metrics import CallRecord, savings_of
from .retries import RetryPolicy, server_wait, status_is_retryable

USER_AGENT = "kaizen-integrations"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route of the contract: method, path, request and response models."""

    method: str
    path: str
    request_model: type[BaseModel] | None
    response_model: type[models.KaizenResponse]
    text_field: str | None = None  # the KTOF field of decode endpoints (for KaizenDecodeError)


ENDPOINTS: dict[str, Endpoint] = {
    "compress": Endpoint("POST", "/v1/compress", models.EncodeRequest, models.CompressResponse),
    "decompress": Endpoint(
        "POST", "/v1/decompress", models.DecodeRequest, models.DecompressResponse, "data"
    ),
    "optimize": Endpoint("POST", "/v1/optimize", models.EncodeRequest, models.OptimizeResponse),
    "optimize_request": Endpoint(
        "POST", "/v1/optimize/request", models.OptimizeRequestPayload, models.OptimizeRequestResponse
    ),
    "optimize_response": Endpoint(
        "POST",
        "/v1/optimize/response",
        models.OptimizeResponsePayload,
        models.OptimizeResponseResponse,
        "ktof",
    ),
    "prompts_encode": Endpoint(
        "POST", "/v1/prompts/encode", models.PromptEncodePayload, models.PromptEncodeResponse
    ),
    "prompts_decode": Endpoint(
        "POST", "/v1/prompts/decode", models.PromptDecodePayload, models.PromptDecodeResponse, "ktof"
    ),
    "health": Endpoint("GET", "/", None, models.HealthResponse),
}


@dataclass(slots=True)
class RequestPlan:
    """A prepared logical call: the same body, headers and request id on every attempt."""

    endpoint: Endpoint
    body: Any
    content: bytes | None
    headers: dict[str, str]
    request_id: str
    cache_key: str | None
    timeout: httpx.Timeout

    @property
    def path(self) -> str:
        return self.endpoint.path

    @property
    def label(self) -> str:
        return f"{self.endpoint.method} {self.endpoint.path}"

    def request_text(self) -> str | None:
        """The KTOF this call sends (decode endpoints), for :class:`KaizenDecodeError`."""
        field_name = self.endpoint.text_field
        if field_name and isinstance(self.body, Mapping):
            value = self.body.get(field_name)
            return value if isinstance(value, str) else None
        return None


def normalize_payload(payload: Any, request_model: type[BaseModel] | None) -> Any:
    """The JSON body for ``payload`` (a request model or a mapping), validated like 0.1.4.

    Unset optional fields are left out (0.1.4 dumped with ``exclude_none``). The value the
    service encodes (the model's ``encoded_field``: ``data`` or ``prompt``) stays even when
    null (``compress({"data": None})`` encodes null) and is mapped onto JSON by the engine's
    ``normalize``, so the service encodes what ``kaizen_core.engine.encode`` would (sets
    sorted, a ``Decimal`` a number); a value it cannot map raises ``KTOFEncodeError`` before
    anything is sent.
    """
    if request_model is None:
        return None
    if isinstance(payload, BaseModel):
        model = payload
    elif isinstance(payload, Mapping):
        model = request_model.model_validate(dict(payload))
    else:
        raise TypeError(
            f"payload must be a {request_model.__name__} or a mapping, got {type(payload).__name__}"
        )
    encoded = getattr(model, "encoded_field", None)
    if encoded is None:
        return model.model_dump(mode="json", exclude_none=True)
    body = model.model_dump(mode="json", exclude_none=True, exclude={encoded})
    body[encoded] = normalize(getattr(model, encoded))  # kept when null
    return body


def prepare(
    config: KaizenClientConfig,
    endpoint: Endpoint,
    payload: Any,
    *,
    extra_headers: Mapping[str, str] | None = None,
) -> RequestPlan:
    """Validate ``payload`` and fix everything every attempt will share."""
    body = normalize_payload(payload, endpoint.request_model)
    content = None if body is None else compact_json_text(body).encode()
    request_id = uuid.uuid4().hex
    base = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if content is not None:
        base["Content-Type"] = "application/json"
    headers = merge_headers(base, config.default_headers, extra_headers)
    given = next((v for k, v in headers.items() if k.lower() == "x-request-id"), None)
    if given:
        request_id = given
    headers = merge_headers(headers, {"X-Request-ID": request_id})
    if config.api_key:
        headers = merge_headers(headers, {"x-api-key": config.api_key})
    key = None
    if config.cache is not None and endpoint.path in CACHEABLE_PATHS:
        key = cache_key(endpoint.path, body)
    return RequestPlan(endpoint, body, content, headers, request_id, key, config.httpx_timeout())


def build_request(client: httpx.Client | httpx.AsyncClient, plan: RequestPlan) -> httpx.Request:
    """A fresh ``httpx.Request`` for one attempt of ``plan``."""
    return client.build_request(
        plan.endpoint.method,
        plan.path.lstrip("/") or "",
        content=plan.content,
        headers=plan.headers,
        timeout=plan.timeout,
    )


def transport_error(exc: httpx.TransportError, plan: RequestPlan) -> KaizenRequestError:
    """Map an httpx transport failure (and only that) to the client's exception."""
    kind = KaizenTimeoutError if isinstance(exc, httpx.TimeoutException) else KaizenConnectionError
    what = "timed out" if kind is KaizenTimeoutError else "failed"
    message = f"{plan.label} {what}: {type(exc).__name__}: {exc}"
    return kind(message, exc, request_id=plan.request_id)


def _decode_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def check_response(response: httpx.Response, plan: RequestPlan) -> Any:
    """The parsed JSON body of a success, or raise the mapped :class:`KaizenAPIError`.

    Errors carry ``should_retry`` (status rule plus ``x-should-retry``) for the retry hook.
    """
    request_id = response.headers.get("x-request-id") or plan.request_id
    if response.is_success:
        body = _decode_body(response)
        if not isinstance(body, Mapping):
            raise _malformed(response, "Malformed JSON response", request_id)
        return body
    body = _decode_body(response)
    payload = body if body is not None else response.text
    error = error_for_status(
        response.status_code,
        payload,
        response.headers,
        path=plan.path,
        request_id=request_id,
        request_text=plan.request_text(),
    )
    error.should_retry = status_is_retryable(response.status_code, response.headers)  # type: ignore[attr-defined]
    raise error


def parse_success(body: Mapping[str, Any], plan: RequestPlan, request_id: str | None) -> models.KaizenResponse:
    """The typed response model of ``body``, with ``request_id`` set.

    Raises:
        ValidationError: ``body`` is not the endpoint's envelope (see :func:`parse_response`).
    """
    result = plan.endpoint.response_model.model_validate(dict(body))
    result.request_id = request_id or plan.request_id
    return result


def parse_response(
    response: httpx.Response, body: Mapping[str, Any], plan: RequestPlan
) -> models.KaizenResponse:
    """:func:`parse_success` for a live answer.

    A success body that is not the endpoint's envelope (a field missing or of the wrong type)
    raises :class:`KaizenMalformedResponseError`, which is not retried, rather than letting
    pydantic's ``ValidationError`` out of the :class:`KaizenError` tree.
    """
    request_id = response.headers.get("x-request-id")
    try:
        return parse_success(body, plan, request_id)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        detail = (
            f"Response body is not a {plan.endpoint.response_model.__name__}: "
            f"{where}: {first['msg']}"
        )
        raise _malformed(response, detail, request_id or plan.request_id) from exc


def _malformed(
    response: httpx.Response, detail: str, request_id: str
) -> KaizenMalformedResponseError:
    error = KaizenMalformedResponseError(
        response.status_code,
        {"detail": detail, "body": response.text[:200]},
        response.headers,
        request_id=request_id,
    )
    error.should_retry = False  # type: ignore[attr-defined]
    return error


def retry_hook(policy: RetryPolicy):
    """A stamina backoff hook: False (give up), True (backoff) or the server's wait."""

    def decide(exc: Exception) -> bool | float:
        if isinstance(exc, KaizenRequestError):
            return True
        if isinstance(exc, KaizenAPIError) and getattr(exc, "should_retry", False):
            wait = server_wait(exc.headers, policy)
            return True if wait is None else wait
        return False

    return decide


@dataclass(slots=True)
class CallTracker:
    """Counts attempts of one logical call, logs them, and reports the call to metrics."""

    plan: RequestPlan
    config: KaizenClientConfig
    started: float = field(default_factory=time.perf_counter)
    attempts: int = 0
    last_error: KaizenError | None = None
    attempt_started: float = 0.0

    def begin_attempt(self, number: int, max_attempts: int) -> None:
        """Log the attempt (a retry at WARNING) and start its clock."""
        self.attempts = number
        self.attempt_started = time.perf_counter()
        if number > 1:
            logger.warning(
                "retrying %s (attempt %d/%d, request_id=%s) after: %s",
                self.plan.label,
                number,
                max_attempts,
                self.plan.request_id,
                self.last_error,
            )
        logger.debug(
            "request %s (attempt %d/%d, request_id=%s, %d body bytes)",
            self.plan.label,
            number,
            max_attempts,
            self.plan.request_id,
            len(self.plan.content or b""),
        )

    def attempt_answered(self, response: httpx.Response) -> None:
        """Log the status and milliseconds of one attempt."""
        logger.info(
            "%s -> %d in %.1f ms (request_id=%s)",
            self.plan.label,
            response.status_code,
            (time.perf_counter() - self.attempt_started) * 1000.0,
            self.plan.request_id,
        )

    def attempt_failed(self, error: KaizenError) -> None:
        """Remember why the attempt failed (for the retry log line)."""
        self.last_error = error

    def succeeded(self, status_code: int, body: Any, *, cache_hit: bool = False) -> None:
        """Report a successful call."""
        saved_bytes, saved_tokens = savings_of(body)
        self._record(status_code, saved_bytes, saved_tokens, cache_hit=cache_hit, error=None)

    def failed(self, error: BaseException) -> None:
        """Log and report a call that failed for good."""
        status = error.status_code if isinstance(error, KaizenAPIError) else None
        logger.error(
            "%s failed after %d attempt(s) (request_id=%s): %s",
            self.plan.label,
            max(1, self.attempts),
            self.plan.request_id,
            error,
        )
        self._record(status, 0, 0, cache_hit=False, error=type(error).__name__)

    def _record(
        self, status: int | None, saved_bytes: int, saved_tokens: int, *, cache_hit: bool, error: str | None
    ) -> None:
        if self.config.metrics is None:
            return
        self.config.metrics.record(
            CallRecord(
                path=self.plan.path,
                status_code=status,
                latency_ms=(time.perf_counter() - self.started) * 1000.0,
                attempts=self.attempts,
                cache_hit=cache_hit,
                bytes_saved=saved_bytes,
                tokens_saved=saved_tokens,
                error=error,
                request_id=self.plan.request_id,
            )
        )


def cached_answer(
    raw: bytes | None, plan: RequestPlan
) -> tuple[Mapping[str, Any], models.KaizenResponse] | None:
    """A cached response body and its typed model, or None when absent or unusable.

    An entry that is not JSON, or not this endpoint's envelope (a cache shared with another
    version, say), is a miss: the call goes to the service and overwrites it.
    """
    if raw is None:
        return None
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        logger.warning("ignoring an unreadable cache entry")
        return None
    if not isinstance(body, Mapping):
        return None
    try:
        return body, parse_success(body, plan, plan.request_id)
    except ValidationError:
        logger.warning("ignoring a cache entry that is not a %s", plan.endpoint.response_model.__name__)
        return None


def body_for_cache(body: Mapping[str, Any]) -> bytes:
    """The bytes stored in the cache for a response body."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
