"""The Kaizen REST contract on both hosts: every endpoint, every error status, same bodies.

Each request goes to the embedded host (in-process router) and to a real `kaizen serve` on
127.0.0.1 with the same X-Request-ID; the two answers must be identical, and each is checked
against CONTRACT.md (envelope, stats arithmetic, meta echo, error shapes).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Type

import httpx
import pytest
from pydantic import BaseModel

from kaizen_core import engine
from kaizen_core.models import (
    CompressResponse,
    DecompressResponse,
    ErrorBody,
    HealthResponse,
    OptimizeRequestResponse,
    OptimizeResponse,
    OptimizeResponseResponse,
    PromptDecodeResponse,
    PromptEncodeResponse,
)
from kaizen_core.router import HEALTH_MESSAGE, RouterSettings
from kaizen_core.transports import EMBEDDED_BASE_URL, EmbeddedTransport

USERS = {
    "users": [{"id": 1, "name": "Ada", "role": "admin"}, {"id": 2, "name": "Bob", "role": "user"}]
}
PROMPT_WITH_JSON = (
    "Summarise these records: "
    '{"items": [{"sku": "A1", "qty": 2, "price": 9.99}, {"sku": "B2", "qty": 1, "price": 14.5},'
    ' {"sku": "C3", "qty": 7, "price": 0.5}]} and answer briefly.'
)


def send_both(
    embedded: httpx.Client, server: httpx.Client, method: str, path: str, **kwargs: Any
) -> Tuple[httpx.Response, httpx.Response]:
    """The same request, with the same X-Request-ID, to both hosts."""
    headers = {"x-request-id": f"contract-{uuid.uuid4().hex}", **kwargs.pop("headers", {})}
    return (
        embedded.request(method, path, headers=headers, **kwargs),
        server.request(method, path, headers=headers, **kwargs),
    )


def assert_same_answer(embedded: httpx.Response, server: httpx.Response) -> Dict[str, Any]:
    assert embedded.status_code == server.status_code, (embedded.text, server.text)
    assert embedded.json() == server.json()
    assert embedded.headers["content-type"] == server.headers["content-type"] == "application/json"
    assert (
        embedded.headers["x-request-id"]
        == server.headers["x-request-id"]
        == embedded.request.headers["x-request-id"]
    )
    return embedded.json()


def compact_length(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def assert_stats(stats: Dict[str, Any], original: Any, optimized_text: str) -> None:
    """The contract's stats arithmetic."""
    original_length = compact_length(original)
    assert stats["original_length"] == original_length
    assert stats["optimized_length"] == len(optimized_text)
    assert stats["reduction"] == original_length - len(optimized_text)
    expected_ratio = stats["reduction"] / original_length if original_length else 0
    assert stats["reduction_ratio"] == pytest.approx(expected_ratio)


# ---------------------------------------------------------------------------------------------
# Success: every endpoint
# ---------------------------------------------------------------------------------------------

SuccessCase = Tuple[
    str, str, Optional[Dict[str, Any]], Type[BaseModel], Callable[[Dict[str, Any]], None]
]


def _check_health(body: Dict[str, Any]) -> None:
    assert body["message"] == HEALTH_MESSAGE


def _check_compress(body: Dict[str, Any]) -> None:
    assert body == {"operation": "compress", "status": "success", "result": engine.encode(USERS)}
    assert body["result"] == "users[2]{id,name,role}:\n  1,Ada,admin\n  2,Bob,user"


def _check_compress_options(body: Dict[str, Any]) -> None:
    assert body["result"] == "users[#2|]{id|name|role}:\n    1|Ada|admin\n    2|Bob|user"


def _check_compress_auto(body: Dict[str, Any]) -> None:
    assert body["result"] == engine.encode(USERS, format="auto", model="gpt-4o")
    assert engine.decode(body["result"]) == USERS


def _check_decompress(body: Dict[str, Any]) -> None:
    assert body == {
        "operation": "decompress",
        "status": "success",
        "result": {"tags": ["a", "b"], "n": None},
    }


def _check_optimize(body: Dict[str, Any]) -> None:
    assert body["operation"] == "optimize" and body["result"] == engine.encode(USERS)
    assert_stats(body["stats"], USERS, body["result"])
    assert "meta" not in body and "token_stats" not in body


def _check_optimize_request(body: Dict[str, Any]) -> None:
    assert body["operation"] == "optimize_request"
    assert engine.decode(body["result"]) == USERS
    assert_stats(body["stats"], USERS, body["result"])
    assert body["meta"]["client_metadata"] == {"user": "u-1", "trace": [1, 2]}
    assert (
        set(body["token_stats"]["raw"])
        == set(body["token_stats"]["optimized"])
        == {"gpt-4o", "gpt-4"}
    )
    assert body["token_stats"]["raw"]["gpt-4o"]["bytes"] == compact_length(USERS)
    assert (
        body["token_stats"]["optimized"]["gpt-4o"]["tokens"]
        < body["token_stats"]["raw"]["gpt-4o"]["tokens"]
    )


def _check_optimize_request_text(body: Dict[str, Any]) -> None:
    meta = body["meta"]
    assert meta["auto_detected_json"] is True and meta["auto_detection_applied"] is True
    assert meta["embedded_json_count"] == 1 and meta["segments_schema"] == "text_with_ktof"
    (replacement,) = meta["replacements"]
    assert PROMPT_WITH_JSON[replacement["start_offset"] : replacement["end_offset"]].startswith(
        '{"items"'
    )
    assert body["result"].startswith("Summarise these records: ") and body["result"].endswith(
        " and answer briefly."
    )
    assert "items[3]" in body["result"]
    assert_stats(body["stats"], PROMPT_WITH_JSON, body["result"])
    assert "token_stats" not in body


def _check_optimize_request_no_detection(body: Dict[str, Any]) -> None:
    assert "segments_schema" not in body["meta"]
    assert engine.decode(body["result"]) == PROMPT_WITH_JSON


def _check_optimize_response(body: Dict[str, Any]) -> None:
    assert body["operation"] == "optimize_response" and body["result"] == USERS
    assert_stats(body["stats"], USERS, engine.encode(USERS))


def _check_prompts_encode(body: Dict[str, Any]) -> None:
    assert body["operation"] == "prompts_encode"
    assert engine.decode(body["result"]) == USERS
    assert body["meta"]["schemas"] == {"user": {"type": "object"}}
    assert body["meta"]["client_metadata"] == {"k": "v"}


def _check_prompts_decode(body: Dict[str, Any]) -> None:
    assert body["operation"] == "prompts_decode" and body["result"] == USERS
    assert body["meta"] == {
        "segments_schema": "text_with_ktof",
        "step": 3,
        "client_metadata": {"k": "v"},
    }
    assert_stats(body["stats"], USERS, engine.encode(USERS))


def _check_openapi(body: Dict[str, Any]) -> None:
    assert body["openapi"].startswith("3.1")


SUCCESS_CASES: List[
    Tuple[
        str,
        str,
        str,
        Optional[Dict[str, Any]],
        Optional[Type[BaseModel]],
        Callable[[Dict[str, Any]], None],
    ]
] = [
    ("health", "GET", "/", None, HealthResponse, _check_health),
    ("compress", "POST", "/v1/compress", {"data": USERS}, CompressResponse, _check_compress),
    (
        "compress-options",
        "POST",
        "/v1/compress",
        {"data": USERS, "options": {"delimiter": "|", "indent": 4, "length_marker": "#"}},
        CompressResponse,
        _check_compress_options,
    ),
    (
        "compress-auto",
        "POST",
        "/v1/compress",
        {"data": USERS, "options": {"format": "auto", "model": "gpt-4o"}},
        CompressResponse,
        _check_compress_auto,
    ),
    (
        "decompress",
        "POST",
        "/v1/decompress",
        {"data": "tags[2]: a,b\nn: null", "options": {"indent": 2, "strict": True}},
        DecompressResponse,
        _check_decompress,
    ),
    ("optimize", "POST", "/v1/optimize", {"data": USERS}, OptimizeResponse, _check_optimize),
    (
        "optimize-request",
        "POST",
        "/v1/optimize/request",
        {
            "prompt": USERS,
            "metadata": {"user": "u-1", "trace": [1, 2]},
            "token_models": ["gpt-4o", "gpt-4"],
        },
        OptimizeRequestResponse,
        _check_optimize_request,
    ),
    (
        "optimize-request-text",
        "POST",
        "/v1/optimize/request",
        {"prompt": PROMPT_WITH_JSON},
        OptimizeRequestResponse,
        _check_optimize_request_text,
    ),
    (
        "optimize-request-no-detection",
        "POST",
        "/v1/optimize/request",
        {"prompt": PROMPT_WITH_JSON, "auto_detect_json": False},
        OptimizeRequestResponse,
        _check_optimize_request_no_detection,
    ),
    (
        "optimize-response",
        "POST",
        "/v1/optimize/response",
        {"ktof": engine.encode(USERS)},
        OptimizeResponseResponse,
        _check_optimize_response,
    ),
    (
        "prompts-encode",
        "POST",
        "/v1/prompts/encode",
        {"prompt": USERS, "schemas": {"user": {"type": "object"}}, "metadata": {"k": "v"}},
        PromptEncodeResponse,
        _check_prompts_encode,
    ),
    (
        "prompts-decode",
        "POST",
        "/v1/prompts/decode",
        {
            "ktof": engine.encode(USERS),
            "replay_meta": {"segments_schema": "text_with_ktof", "step": 3},
            "metadata": {"k": "v"},
        },
        PromptDecodeResponse,
        _check_prompts_decode,
    ),
    ("openapi", "GET", "/openapi.json", None, None, _check_openapi),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "model", "check"),
    [pytest.param(*case[1:], id=case[0]) for case in SUCCESS_CASES],
)
def test_endpoint_answers_alike_on_both_hosts(
    embedded_http: httpx.Client,
    server_http: httpx.Client,
    method: str,
    path: str,
    body: Optional[Dict[str, Any]],
    model: Optional[Type[BaseModel]],
    check: Callable[[Dict[str, Any]], None],
) -> None:
    embedded, server = send_both(embedded_http, server_http, method, path, json=body)
    answer = assert_same_answer(embedded, server)
    assert embedded.status_code == 200
    if model is not None:
        model.model_validate(answer)
    check(answer)


def test_every_contract_route_is_covered() -> None:
    covered = {(method, path) for _, method, path, *_ in SUCCESS_CASES}
    contract = {
        ("GET", "/"), ("POST", "/v1/compress"), ("POST", "/v1/decompress"),
        ("POST", "/v1/optimize"),
        ("POST", "/v1/optimize/request"), ("POST", "/v1/optimize/response"),
        ("POST", "/v1/prompts/encode"), ("POST", "/v1/prompts/decode"),
    }  # fmt: skip
    assert contract <= covered


def test_typed_response_reads_like_a_dict(embedded_http: httpx.Client) -> None:
    answer = OptimizeResponse.model_validate(
        embedded_http.post("/v1/optimize", json={"data": USERS}).json()
    )
    assert answer["result"] == answer.result and answer.get("stats") is answer.stats
    assert answer.get("meta", "absent") == "absent" and "meta" not in answer and "stats" in answer
    with pytest.raises(KeyError):
        answer["nope"]


# ---------------------------------------------------------------------------------------------
# Errors: 400, 404, 405, 422 on both hosts; the server keeps answering after each
# ---------------------------------------------------------------------------------------------

ERROR_CASES: List[Tuple[str, str, str, Dict[str, Any], int, str]] = [
    (
        "malformed-ktof-count",
        "POST",
        "/v1/decompress",
        {"json": {"data": "tags[3]: a,b"}},
        400,
        "ktof_decode_error",
    ),
    (
        "malformed-ktof-row",
        "POST",
        "/v1/decompress",
        {"json": {"data": "users[2]{id,name}:\n  1,Ada\n  2"}},
        400,
        "ktof_decode_error",
    ),
    (
        "malformed-ktof-indent",
        "POST",
        "/v1/optimize/response",
        {"json": {"ktof": "a:\n  b: 1\n   c: 2"}},
        400,
        "ktof_decode_error",
    ),
    (
        "malformed-ktof-quote",
        "POST",
        "/v1/prompts/decode",
        {"json": {"ktof": 'a: "open'}},
        400,
        "ktof_decode_error",
    ),
    (
        "bad-delimiter",
        "POST",
        "/v1/compress",
        {"json": {"data": [1], "options": {"delimiter": ";"}}},
        400,
        "invalid_option",
    ),
    (
        "bad-length-marker",
        "POST",
        "/v1/optimize",
        {"json": {"data": [1], "options": {"length_marker": "*"}}},
        400,
        "invalid_option",
    ),
    ("unknown-route", "POST", "/v1/nope", {"json": {}}, 404, "not_found"),
    ("wrong-method", "GET", "/v1/compress", {}, 405, "method_not_allowed"),
    ("missing-field", "POST", "/v1/compress", {"json": {"options": {}}}, 422, "validation_error"),
    (
        "indent-zero",
        "POST",
        "/v1/compress",
        {"json": {"data": 1, "options": {"indent": 0}}},
        422,
        "validation_error",
    ),
    ("wrong-type", "POST", "/v1/decompress", {"json": {"data": 123}}, 422, "validation_error"),
    (
        "bool-as-indent",
        "POST",
        "/v1/decompress",
        {"json": {"data": "a: 1", "options": {"indent": True}}},
        422,
        "validation_error",
    ),
    (
        "unknown-format",
        "POST",
        "/v1/compress",
        {"json": {"data": 1, "options": {"format": "csv"}}},
        422,
        "validation_error",
    ),
    (
        "unknown-field",
        "POST",
        "/v1/prompts/decode",
        {"json": {"ktof": "a: 1", "extra": 1}},
        422,
        "validation_error",
    ),
    (
        "not-json",
        "POST",
        "/v1/compress",
        {"content": b'{"data": ', "headers": {"content-type": "application/json"}},
        422,
        "validation_error",
    ),
    ("empty-body", "POST", "/v1/optimize/request", {"content": b""}, 422, "validation_error"),
    ("array-body", "POST", "/v1/compress", {"json": [1, 2]}, 422, "validation_error"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES],
)
def test_error_answers_alike_on_both_hosts(
    embedded_http: httpx.Client,
    server_http: httpx.Client,
    method: str,
    path: str,
    kwargs: Dict[str, Any],
    status: int,
    code: str,
) -> None:
    embedded, server = send_both(embedded_http, server_http, method, path, **dict(kwargs))
    body = assert_same_answer(embedded, server)
    assert embedded.status_code == status
    ErrorBody.model_validate(body)
    assert body["code"] == code and body["request_id"] == embedded.headers["x-request-id"]
    if status == 422:
        assert isinstance(body["detail"], list) and body["detail"]
        for item in body["detail"]:
            assert set(item) == {"loc", "msg", "type"} and item["loc"][0] == "body"
    else:
        assert isinstance(body["detail"], str) and body["detail"]
    if code == "ktof_decode_error":
        assert f"line {body['line']}, column {body['column']}" in body["detail"]
    assert server_http.get("/").json()["message"] == HEALTH_MESSAGE  # still answering


def test_malformed_ktof_points_at_the_line_and_column(kaizen_http: httpx.Client) -> None:
    response = kaizen_http.post(
        "/v1/decompress", json={"data": "users[2]{id,name}:\n  1,Ada\n  2,Bob\nn[3]: 1,2"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["line"] == 4 and body["detail"].startswith("Malformed KTOF at line 4, column ")


def test_validation_error_locates_the_field(kaizen_http: httpx.Client) -> None:
    response = kaizen_http.post("/v1/compress", json={"data": 1, "options": {"indent": 0}})
    assert response.json()["detail"] == [
        {
            "loc": ["body", "options", "indent"],
            "msg": "Input should be greater than or equal to 1",
            "type": "greater_than_equal",
        }
    ]


# ---------------------------------------------------------------------------------------------
# 401 and 413: hosts configured with API keys and a small body limit
# ---------------------------------------------------------------------------------------------

API_KEYS = ("key-one", "key-two")
SMALL_LIMIT = 4096


@pytest.fixture(scope="module")
def guarded_hosts(
    kaizen_server_factory: Callable[..., Any],
) -> Iterator[Tuple[httpx.Client, httpx.Client]]:
    """Both hosts with API keys and a 4 KiB body limit."""
    settings = RouterSettings(api_keys=frozenset(API_KEYS), max_body_bytes=SMALL_LIMIT)
    server = kaizen_server_factory(
        args=["--max-body-bytes", str(SMALL_LIMIT)],
        env={"KAIZEN_SERVER_API_KEYS": " key-one, key-two ,"},
    )
    with (
        httpx.Client(transport=EmbeddedTransport(settings), base_url=EMBEDDED_BASE_URL) as embedded,
        httpx.Client(base_url=server.base_url) as remote,
    ):
        yield embedded, remote


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-key"),
        pytest.param({"x-api-key": "wrong"}, 401, id="wrong-key"),
        pytest.param({"x-api-key": "key-one-"}, 401, id="key-prefix"),
        pytest.param({"x-api-key": "key-two"}, 200, id="second-key"),
        pytest.param({"x-api-key": "key-one"}, 200, id="first-key"),
    ],
)
def test_api_keys(
    guarded_hosts: Tuple[httpx.Client, httpx.Client], headers: Dict[str, str], status: int
) -> None:
    embedded, server = send_both(
        *guarded_hosts, "POST", "/v1/compress", json={"data": USERS}, headers=headers
    )
    body = assert_same_answer(embedded, server)
    assert embedded.status_code == status
    if status == 401:
        assert body["code"] == "unauthorized" and "x-api-key" in body["detail"]
    assert guarded_hosts[1].get("/").status_code == 200  # health stays open


def test_unknown_route_needs_a_key_too(guarded_hosts: Tuple[httpx.Client, httpx.Client]) -> None:
    embedded, server = send_both(*guarded_hosts, "POST", "/v1/unknown", json={})
    assert assert_same_answer(embedded, server)["code"] == "unauthorized"


@pytest.mark.parametrize("size", [SMALL_LIMIT + 1, 10 * SMALL_LIMIT, 2 * 1024 * 1024])
def test_body_over_the_limit_is_413(
    guarded_hosts: Tuple[httpx.Client, httpx.Client], size: int
) -> None:
    payload = json.dumps({"data": "x" * size}).encode()
    embedded, server = send_both(
        *guarded_hosts, "POST", "/v1/compress", content=payload, headers={"x-api-key": "key-one"}
    )
    body = assert_same_answer(embedded, server)
    assert embedded.status_code == 413 and body["code"] == "payload_too_large"
    assert str(SMALL_LIMIT) in body["detail"]
    assert (
        guarded_hosts[1]
        .post("/v1/compress", json={"data": 1}, headers={"x-api-key": "key-one"})
        .status_code
        == 200
    )


def test_body_at_the_limit_is_accepted(guarded_hosts: Tuple[httpx.Client, httpx.Client]) -> None:
    prefix, suffix = b'{"data":"', b'"}'
    payload = prefix + b"x" * (SMALL_LIMIT - len(prefix) - len(suffix)) + suffix
    assert len(payload) == SMALL_LIMIT
    embedded, server = send_both(
        *guarded_hosts, "POST", "/v1/compress", content=payload, headers={"x-api-key": "key-one"}
    )
    assert assert_same_answer(embedded, server)["result"] == "x" * (SMALL_LIMIT - 11)


def test_chunked_body_over_the_limit_is_413(
    guarded_hosts: Tuple[httpx.Client, httpx.Client],
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"data":"'
        for _ in range(64):
            yield b"y" * 1024
        yield b'"}'

    server = guarded_hosts[1]
    response = server.post("/v1/compress", content=chunks(), headers={"x-api-key": "key-one"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert server.get("/").status_code == 200


# ---------------------------------------------------------------------------------------------
# Request ids and the OpenAPI document
# ---------------------------------------------------------------------------------------------


def test_request_id_is_echoed(kaizen_http: httpx.Client) -> None:
    response = kaizen_http.post(
        "/v1/compress", json={"data": 1}, headers={"X-Request-ID": "req-123"}
    )
    assert response.headers["x-request-id"] == "req-123"
    error = kaizen_http.post(
        "/v1/decompress", json={"data": "a[2]: 1"}, headers={"X-Request-ID": "req-456"}
    )
    assert error.headers["x-request-id"] == "req-456" and error.json()["request_id"] == "req-456"


def test_request_id_is_generated_when_absent(kaizen_http: httpx.Client) -> None:
    first, second = kaizen_http.get("/"), kaizen_http.get("/v1/nowhere")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in ids) and ids[0] != ids[1]
    assert second.json()["request_id"] == ids[1]


def test_openapi_document_lists_every_endpoint(kaizen_http: httpx.Client) -> None:
    document = kaizen_http.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    assert set(paths) == {
        "/", "/openapi.json", "/v1/compress", "/v1/decompress", "/v1/optimize",
        "/v1/optimize/request",
        "/v1/optimize/response", "/v1/prompts/encode", "/v1/prompts/decode",
    }  # fmt: skip
    schemas = document["components"]["schemas"]
    for path, operations in paths.items():
        for operation in operations.values():
            refs = json.dumps(operation)
            for name in [part.split('"')[0] for part in refs.split("#/components/schemas/")[1:]]:
                assert name in schemas, (path, name)
    encode_request = schemas[
        paths["/v1/compress"]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "$ref"
        ].rsplit("/", 1)[1]
    ]
    assert set(encode_request["properties"]) == {"data", "options"}
    assert {"format", "model", "delimiter", "indent", "length_marker"} <= set(
        schemas["EncodeOptions"]["properties"]
    )
    assert set(paths["/v1/decompress"]["post"]["responses"]) >= {"200", "400", "401", "413", "422"}
