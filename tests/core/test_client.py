"""KaizenClient and KaizenSyncClient against both hosts: the embedded engine and a real
``kaizen serve`` on 127.0.0.1. Every endpoint, dict and model input, typed responses that
also read like 0.1.4's dicts, host selection, ``with_options``, running-loop safety."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from kaizen_core import (
    HOSTED_BASE_URL,
    DecodeRequest,
    EncodeOptions,
    EncodeRequest,
    KaizenClient,
    KaizenClientConfig,
    KaizenDecodeError,
    KaizenSyncClient,
    KaizenValidationError,
    PromptDecodePayload,
    engine,
)
from kaizen_core.engine import KTOFEncodeError
from kaizen_core.models import (
    CompressResponse,
    DecompressResponse,
    HealthResponse,
    OptimizeRequestResponse,
    OptimizeResponse,
    OptimizeResponseResponse,
    PromptDecodeResponse,
    PromptEncodeResponse,
)
from pydantic import ValidationError

USERS = {"users": [{"id": 1, "name": "Ada", "active": True}, {"id": 2, "name": "Bob", "active": False}]}
USERS_KTOF = "users[2]{id,name,active}:\n  1,Ada,true\n  2,Bob,false"


@pytest.fixture(params=["embedded", "server"])
def config(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> KaizenClientConfig:
    """A config for each host (environment cleared so selection is explicit)."""
    for name in ("KAIZEN_BASE_URL", "KAIZEN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "embedded":
        return KaizenClientConfig(mode="embedded")
    return KaizenClientConfig(base_url=request.getfixturevalue("kaizen_server"))


@pytest.fixture
def sync_client(config: KaizenClientConfig) -> Iterator[KaizenSyncClient]:
    with KaizenSyncClient(config) as client:
        yield client


def test_every_endpoint_sync(sync_client: KaizenSyncClient) -> None:
    compressed = sync_client.compress({"data": USERS})
    assert isinstance(compressed, CompressResponse)
    assert compressed["result"] == compressed.result == USERS_KTOF
    assert compressed["operation"] == "compress" and compressed.status == "success"

    decoded = sync_client.decompress(DecodeRequest(data=USERS_KTOF))
    assert isinstance(decoded, DecompressResponse) and decoded["result"] == USERS

    optimized = sync_client.optimize(EncodeRequest(data=USERS, options=EncodeOptions(delimiter="|")))
    assert isinstance(optimized, OptimizeResponse)
    assert optimized.result == USERS_KTOF.replace("[2]", "[2|]").replace(",", "|")
    assert optimized.stats.original_length > optimized.stats.optimized_length
    assert optimized["stats"].reduction == optimized.stats.original_length - optimized.stats.optimized_length

    request = sync_client.optimize_request({"prompt": USERS, "metadata": {"trace": "t1"}, "token_models": ["gpt-4o"]})
    assert isinstance(request, OptimizeRequestResponse)
    assert request.meta["client_metadata"] == {"trace": "t1"}
    assert request.token_stats is not None and "gpt-4o" in request.token_stats.raw

    response = sync_client.optimize_response({"ktof": USERS_KTOF})
    assert isinstance(response, OptimizeResponseResponse) and response["result"] == USERS

    encoded = sync_client.prompts_encode({"prompt": USERS, "schemas": {"users": "list"}})
    assert isinstance(encoded, PromptEncodeResponse) and encoded.meta["schemas"] == {"users": "list"}

    replay = sync_client.prompts_decode(PromptDecodePayload(ktof=USERS_KTOF, replay_meta={"step": 2}))
    assert isinstance(replay, PromptDecodeResponse)
    assert replay.result == USERS and replay.meta["step"] == 2

    health = sync_client.health()
    assert isinstance(health, HealthResponse) and health["message"] == "Welcome to the Token Service"


async def test_every_endpoint_async(config: KaizenClientConfig) -> None:
    async with KaizenClient(config) as client:
        assert (await client.compress({"data": USERS}))["result"] == USERS_KTOF
        assert (await client.decompress({"data": USERS_KTOF})).result == USERS
        assert (await client.optimize({"data": USERS})).stats.reduction > 0
        assert (await client.optimize_request({"prompt": USERS})).result == USERS_KTOF
        assert (await client.optimize_response({"ktof": USERS_KTOF})).result == USERS
        assert (await client.prompts_encode({"prompt": USERS})).stats.optimized_length > 0
        assert (await client.prompts_decode({"ktof": USERS_KTOF, "metadata": {"a": 1}})).meta["client_metadata"] == {"a": 1}
        assert (await client.health()).message == "Welcome to the Token Service"


def test_null_data_is_sent(sync_client: KaizenSyncClient) -> None:
    """0.1.4 dropped ``data: None`` (exclude_none); we send it and get KTOF ``null``."""
    assert sync_client.compress({"data": None}).result == "null"
    assert sync_client.compress({"data": {"a": None}}).result == "a: null"


def test_host_values_are_sent_as_the_engine_maps_them(sync_client: KaizenSyncClient) -> None:
    """Decimals stay numbers and sets are sorted, on every host, as ``engine.encode`` writes
    them (pydantic's JSON dump made a Decimal a string and kept a set's hash order)."""
    data = {
        "price": Decimal("19.90"),
        "tags": {"pear", "apple", "fig"},
        "at": datetime.date(2026, 1, 2),
        "rows": [{"id": 1, "amount": Decimal("1E+30")}, {"id": 2, "amount": Decimal("2.50")}],
    }
    assert sync_client.compress({"data": data}).result == engine.encode(data)
    prompt = sync_client.optimize_request({"prompt": data, "options": {"format": "auto"}})
    assert engine.decode(prompt.result) == engine.decode(engine.encode(data, format="auto"))
    with pytest.raises(KTOFEncodeError):
        sync_client.compress({"data": {"x": object()}})


def test_request_id_is_sent_and_echoed(sync_client: KaizenSyncClient) -> None:
    response = sync_client.with_options(default_headers={"X-Request-ID": "call-42"}).compress({"data": 1})
    assert response.request_id == "call-42"
    assert len(sync_client.compress({"data": 1}).request_id or "") >= 16


def test_errors_are_typed_on_both_hosts(sync_client: KaizenSyncClient) -> None:
    with pytest.raises(KaizenDecodeError) as caught:
        sync_client.decompress({"data": "a:\n   b: 1"})
    error = caught.value
    assert (error.status_code, error.line, error.column) == (400, 2, 4)
    assert error.text == "a:\n   b: 1" and error.request_id
    # A model built without validation reaches the service, which answers 422.
    unchecked = EncodeRequest.model_construct(data=1, options=EncodeOptions.model_construct(indent=0))
    with pytest.raises(KaizenValidationError) as invalid:
        sync_client.compress(unchecked)
    assert invalid.value.status_code == 422
    assert invalid.value.detail[0]["loc"][-1] == "indent"


def test_options_dict_is_validated_locally_like_0_1_4(sync_client: KaizenSyncClient) -> None:
    with pytest.raises(ValidationError):
        sync_client.compress({"data": 1, "unknown": True})
    with pytest.raises(ValidationError):
        sync_client.compress({"data": 1, "options": {"indent": 0}})


def test_sync_client_inside_a_running_event_loop(config: KaizenClientConfig) -> None:
    """Jupyter and LangChain's sync invoke call us from inside a running loop."""

    async def inside_loop() -> str:
        asyncio.get_running_loop()  # a loop is running right here
        with KaizenSyncClient(config) as client:
            return client.compress({"data": USERS}).result

    assert asyncio.run(inside_loop()) == USERS_KTOF


def test_selection_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIZEN_BASE_URL", raising=False)
    monkeypatch.delenv("KAIZEN_API_KEY", raising=False)
    assert KaizenSyncClient.from_env().is_embedded
    monkeypatch.setenv("KAIZEN_API_KEY", "sk-test-selection")
    hosted = KaizenSyncClient.from_env()
    assert hosted.base_url == HOSTED_BASE_URL and not hosted.is_embedded
    monkeypatch.setenv("KAIZEN_BASE_URL", "http://127.0.0.1:9/")
    assert KaizenSyncClient.from_env().base_url == "http://127.0.0.1:9/"
    assert KaizenClientConfig(mode="embedded").is_embedded


def test_with_options_copies_and_shares_the_pool() -> None:
    with KaizenSyncClient(mode="embedded") as client:
        copy = client.with_options(max_retries=5, timeout=3.0)
        assert copy.config.max_retries == 5 and client.config.max_retries == 2
        assert copy._client is client._client  # same pool: only per-request settings changed
        assert copy.compress({"data": [1, 2]}).result == "[2]: 1,2"
        moved = client.with_options(base_url="http://127.0.0.1:9/")
        assert moved._client is not client._client
        moved.close()


def test_injected_httpx_client_is_left_open(config: KaizenClientConfig) -> None:
    """0.1.4's ``client=`` argument: the caller owns the httpx client."""
    from kaizen_core.transports import EmbeddedTransport

    http = httpx.Client(transport=EmbeddedTransport(), base_url="http://kaizen.embedded/")
    with KaizenSyncClient(config, client=http) as client:
        assert client.compress({"data": {"x": 1}}).result == "x: 1"
    assert not http.is_closed
    http.close()


def test_response_model_reads_like_a_dict(sync_client: KaizenSyncClient) -> None:
    response = sync_client.optimize({"data": USERS})
    assert "stats" in response and response.get("missing", "default") == "default"
    with pytest.raises(KeyError):
        response["missing"]
    assert set(response.to_dict()) >= {"operation", "status", "result", "stats"}


def test_dict_view_holds_the_body_only(sync_client: KaizenSyncClient) -> None:
    """``request_id`` comes from the response header: an attribute, not a body key."""
    response = sync_client.compress({"data": USERS})
    assert response.request_id
    assert response.keys() == ["operation", "status", "result"]
    assert response.to_dict() == {"operation": "compress", "status": "success", "result": USERS_KTOF}
    assert "request_id" not in response
