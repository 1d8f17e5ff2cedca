"""`kaizen_core.router` called directly: routing, options, keys, request ids, OpenAPI."""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from kaizen_core import engine, router
from kaizen_core.router import (
    Reply,
    RouterSettings,
    handle,
    is_authorized,
    request_id_for,
    requires_api_key,
)


def post(path: str, body: Any, **kwargs: Any) -> Reply:
    return handle("POST", path, {}, json.dumps(body).encode(), **kwargs)


def test_reply_is_a_tuple_of_status_headers_body() -> None:
    status, headers, body = handle("GET", "/", {"x-request-id": "r1"}, b"")
    assert (
        status == 200
        and ("x-request-id", "r1") in headers
        and ("content-type", "application/json") in headers
    )
    assert json.loads(body)["message"] == router.HEALTH_MESSAGE


@pytest.mark.parametrize("path", ["/v1/compress/", "/v1/compress//"])
def test_trailing_slash_is_the_same_route(path: str) -> None:
    assert handle("POST", path, {}, b'{"data": 1}').json()["result"] == "1"


def test_method_is_case_insensitive_and_405_lists_allowed_methods() -> None:
    assert handle("post", "/v1/compress", {}, b'{"data": 1}').status == 200
    reply = handle("DELETE", "/v1/compress", {}, b"")
    assert reply.status == 405 and ("allow", "POST") in reply.headers


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, engine.encode([1, 2])),
        ({"length_marker": True}, "[#2]: 1,2"),
        ({"length_marker": "#"}, "[#2]: 1,2"),
        ({"length_marker": False}, "[2]: 1,2"),
        ({"delimiter": "|"}, "[2|]: 1|2"),
        ({"delimiter": "\t"}, "[2\t]: 1\t2"),
        ({"format": "toon", "model": "gpt-4"}, "[2]: 1,2"),
    ],
)
def test_encode_options_are_honoured(options: Dict[str, Any], expected: str) -> None:
    assert post("/v1/compress", {"data": [1, 2], "options": options}).json()["result"] == expected


def test_prompt_endpoints_default_to_the_adaptive_format() -> None:
    rows = [{"id": i, "note": f"n{i}"} for i in range(20)]
    adaptive = post("/v1/prompts/encode", {"prompt": rows}).json()["result"]
    assert adaptive == engine.encode(rows, format="auto")
    spec = post("/v1/prompts/encode", {"prompt": rows, "options": {"format": "toon"}}).json()[
        "result"
    ]
    assert spec == engine.encode(rows)


def test_compress_and_optimize_default_to_the_spec_format() -> None:
    data = {"t": [{"a": 1, "b": "x y"}, {"a": 2, "b": "z"}]}
    assert post("/v1/compress", {"data": data}).json()["result"] == engine.encode(
        data, format="toon"
    )
    assert post("/v1/optimize", {"data": data}).json()["result"] == engine.encode(
        data, format="toon"
    )


def test_decode_options_are_honoured() -> None:
    text = "a:\n    b: 1"
    assert post("/v1/decompress", {"data": text, "options": {"indent": 4}}).json()["result"] == {
        "a": {"b": 1}
    }
    odd = "a:\n   b: 1"
    assert post("/v1/decompress", {"data": odd}).status == 400
    assert post("/v1/decompress", {"data": odd, "options": {"strict": False}}).json()["result"] == {
        "a": {"b": 1}
    }


def test_empty_token_models_gives_empty_token_stats_and_absent_gives_none() -> None:
    with_empty = post("/v1/optimize/request", {"prompt": {"a": 1}, "token_models": []}).json()
    assert with_empty["token_stats"] == {"raw": {}, "optimized": {}}
    assert "token_stats" not in post("/v1/optimize/request", {"prompt": {"a": 1}}).json()


def test_null_data_is_encoded_not_refused() -> None:
    assert post("/v1/compress", {"data": None}).json()["result"] == "null"
    assert post("/v1/decompress", {"data": ""}).json()["result"] == {}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-request-id": "abc-123"}, "abc-123"),
        ({"x-request-id": "x" * 200}, "x" * 200),
    ],
)
def test_request_id_is_kept_when_sane(headers: Dict[str, str], expected: str) -> None:
    assert request_id_for(headers) == expected


@pytest.mark.parametrize("given", [None, "", "x" * 201, "caf\u00e9", "tab\there"])
def test_request_id_is_replaced_when_absent_or_odd(given: Any) -> None:
    headers = {} if given is None else {"x-request-id": given}
    generated = request_id_for(headers)
    assert generated != given and len(generated) == 32 and int(generated, 16) >= 0


def test_api_key_checks() -> None:
    open_settings = RouterSettings()
    assert is_authorized(open_settings, None)
    keyed = RouterSettings(api_keys=frozenset({"alpha", "beta"}))
    assert is_authorized(keyed, "alpha") and is_authorized(keyed, "beta")
    for wrong in (None, "", "alph", "alphaa", "ALPHA", "gamma", "\udcff"):
        assert not is_authorized(keyed, wrong)
    assert not requires_api_key("GET", "/") and not requires_api_key("GET", "/openapi.json")
    assert requires_api_key("POST", "/v1/compress") and requires_api_key("GET", "/v1/anything")


def test_router_settings_apply_without_a_server() -> None:
    settings = RouterSettings(api_keys=frozenset({"k"}), max_body_bytes=16)
    assert handle("POST", "/v1/compress", {}, b'{"data": 1}', settings=settings).status == 401
    assert handle("GET", "/", {}, b"", settings=settings).status == 200
    big = handle(
        "POST", "/v1/compress", {"x-api-key": "k"}, b'{"data": "0123456789"}', settings=settings
    )
    assert big.status == 413 and big.json()["code"] == "payload_too_large"
    unlimited = RouterSettings(max_body_bytes=None)
    assert (
        handle(
            "POST", "/v1/compress", {}, json.dumps({"data": "x" * 100}).encode(), settings=unlimited
        ).status
        == 200
    )


def test_openapi_document_is_cached_and_generated_from_the_models() -> None:
    document = router.openapi_document()
    assert router.openapi_document() is document
    assert handle("GET", "/openapi.json", {}, b"").body == router.openapi_document_bytes()
    options = document["components"]["schemas"]["EncodeOptions"]["properties"]
    assert options["format"]["anyOf"][0]["enum"] == ["toon", "auto"]
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids)) == 9
    assert document["components"]["securitySchemes"]["ApiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }


def test_settings_repr_hides_the_keys() -> None:
    settings = RouterSettings(api_keys=frozenset({"top-secret"}), max_body_bytes=5)
    assert repr(settings) == "RouterSettings(api_keys=1, max_body_bytes=5)"
