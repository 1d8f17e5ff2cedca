"""The exception tree: classes per status family, fields, 0.1.4 constructor forms, and each
status provoked through a real host."""

from __future__ import annotations

import pickle

import kaizen_core
import pytest
from kaizen_core import (
    KaizenAPIError,
    KaizenAuthenticationError,
    KaizenBadRequestError,
    KaizenConnectionError,
    KaizenDecodeError,
    KaizenError,
    KaizenNotFoundError,
    KaizenPayloadTooLargeError,
    KaizenPermissionDeniedError,
    KaizenRateLimitError,
    KaizenRequestError,
    KaizenServerError,
    KaizenSyncClient,
    KaizenTimeoutError,
    KaizenValidationError,
)
from kaizen_core.errors import error_for_status

try:
    from .faultserver import FaultServer, Reply
except ImportError:  # pytest's rootdir import mode
    from faultserver import FaultServer, Reply  # type: ignore[no-redef]


def test_tree() -> None:
    assert issubclass(KaizenRequestError, KaizenError) and issubclass(KaizenAPIError, KaizenError)
    assert issubclass(KaizenTimeoutError, KaizenRequestError)
    assert issubclass(KaizenConnectionError, KaizenRequestError)
    for cls in (
        KaizenBadRequestError,
        KaizenAuthenticationError,
        KaizenPermissionDeniedError,
        KaizenNotFoundError,
        KaizenPayloadTooLargeError,
        KaizenValidationError,
        KaizenRateLimitError,
        KaizenServerError,
    ):
        assert issubclass(cls, KaizenAPIError)
    assert issubclass(KaizenDecodeError, KaizenBadRequestError) and issubclass(KaizenDecodeError, ValueError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, KaizenBadRequestError),
        (401, KaizenAuthenticationError),
        (403, KaizenPermissionDeniedError),
        (404, KaizenNotFoundError),
        (408, KaizenAPIError),
        (413, KaizenPayloadTooLargeError),
        (422, KaizenValidationError),
        (429, KaizenRateLimitError),
        (500, KaizenServerError),
        (599, KaizenServerError),
    ],
)
def test_status_mapping(status: int, cls: type[KaizenAPIError]) -> None:
    error = error_for_status(status, {"detail": "x", "code": "c", "request_id": "r1"}, {"X-Other": "1"})
    assert type(error) is cls
    assert (error.status_code, error.detail, error.code, error.request_id) == (status, "x", "c", "r1")
    assert error.headers == {"x-other": "1"}
    assert str(error) == f"Kaizen API error ({status}): x [code=c] (request_id=r1)"


def test_decode_error_only_for_decode_endpoints_with_a_position() -> None:
    body = {"detail": "Malformed KTOF at line 3, column 5: bad", "line": 3, "column": 5}
    error = error_for_status(400, body, {}, path="/v1/prompts/decode", request_text="a:\n b")
    assert isinstance(error, KaizenDecodeError)
    assert (error.line, error.column, error.text) == (3, 5, "a:\n b")
    from_detail = error_for_status(400, {"detail": "oops at line 2, column 7"}, {}, path="/v1/decompress")
    assert isinstance(from_detail, KaizenDecodeError) and (from_detail.line, from_detail.column) == (2, 7)
    assert type(error_for_status(400, body, {}, path="/v1/compress")) is KaizenBadRequestError
    assert type(error_for_status(400, {"detail": "bad option"}, {}, path="/v1/decompress")) is KaizenBadRequestError


def test_0_1_4_constructor_forms() -> None:
    request_error = KaizenRequestError("Failed to reach Kaizen API", OSError("boom"))
    assert request_error.message == "Failed to reach Kaizen API" and isinstance(request_error.original, OSError)
    api_error = KaizenAPIError(503, {"detail": "down"}, {"x-request-id": "abc"})
    assert (api_error.status_code, api_error.payload, api_error.request_id) == (503, {"detail": "down"}, "abc")
    text_error = KaizenAPIError(502, "<html>bad gateway</html>", {})
    assert text_error.detail == "<html>bad gateway</html>" and "502" in str(text_error)


def test_errors_pickle() -> None:
    error = error_for_status(400, {"detail": "at line 1, column 2"}, {}, path="/v1/decompress", request_text="x")
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is KaizenDecodeError and (clone.line, clone.column, clone.text) == (1, 2, "x")
    assert str(clone) == str(error)


def test_rate_limit_retry_after() -> None:
    assert KaizenRateLimitError(429, {}, {"Retry-After": "12"}).retry_after == 12.0
    assert KaizenRateLimitError(429, {}, {}).retry_after is None


def test_exported_from_the_package_root() -> None:
    for name in ("KaizenError", "KaizenDecodeError", "KaizenRateLimitError", "KaizenTimeoutError"):
        assert name in kaizen_core.__all__


# -- provoked through real hosts ----------------------------------------------------------------


def test_401_from_a_server_with_keys(kaizen_server_factory) -> None:
    server = kaizen_server_factory(env={"KAIZEN_SERVER_API_KEYS": "good-key-1"})
    with KaizenSyncClient(base_url=server.base_url, api_key="wrong-key-1") as client:
        with pytest.raises(KaizenAuthenticationError) as caught:
            client.compress({"data": 1})
        assert client.health().message  # health stays open
    assert caught.value.status_code == 401 and caught.value.request_id
    with KaizenSyncClient(base_url=server.base_url, api_key="good-key-1") as client:
        assert client.compress({"data": 1}).result == "1"


def test_413_embedded() -> None:
    from kaizen_core.router import RouterSettings
    from kaizen_core.transports import EmbeddedTransport

    transport = EmbeddedTransport(RouterSettings(max_body_bytes=64))
    with KaizenSyncClient(mode="embedded", transport=transport) as client:
        with pytest.raises(KaizenPayloadTooLargeError) as caught:
            client.compress({"data": "x" * 200})
    assert caught.value.code == "payload_too_large"


@pytest.mark.parametrize(("status", "cls"), [(403, KaizenPermissionDeniedError), (404, KaizenNotFoundError)])
def test_statuses_from_a_real_http_server(status: int, cls: type[KaizenAPIError]) -> None:
    with FaultServer([Reply(status, {"detail": "no", "code": "nope"})]) as server:
        with KaizenSyncClient(base_url=server.base_url, api_key=None) as client:
            with pytest.raises(cls) as caught:
                client.compress({"data": 1})
    assert caught.value.request_id == server.request_ids()[0] and server.attempts == 1
