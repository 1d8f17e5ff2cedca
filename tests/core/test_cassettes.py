"""Every endpoint through the client, replayed offline from VCR cassettes recorded from a real
``kaizen serve`` (tests/cassettes/core/test_cassettes/).

Re-record with ``pytest tests/core/test_cassettes.py --record-mode=rewrite``: the session's
``kaizen serve`` answers then. Replaying (the default ``--record-mode=none``) needs no server:
requests match on method, path, query and body, so a fixed base URL stands in for the random
port the cassettes were recorded on. The client sends an API key, which the VCR config filters;
:func:`test_cassettes_hold_no_api_key` checks that it never reached a cassette.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kaizen_core import KaizenClient, KaizenSyncClient
from kaizen_core.engine import decode

API_KEY = "sk-kaizen-cassette-KEY-9f8e7d6c5b4a"
REPLAY_BASE_URL = "http://127.0.0.1:8765"
CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "core" / "test_cassettes"
ORDERS = {
    "orders": [
        {"id": 1, "sku": "A-1", "qty": 2, "price": 9.5},
        {"id": 2, "sku": "B-7", "qty": 1, "price": 120.0},
        {"id": 3, "sku": "C-3", "qty": 5, "price": 3.25},
    ]
}
ORDERS_KTOF = "orders[3]{id,sku,qty,price}:\n  1,A-1,2,9.5\n  2,B-7,1,120\n  3,C-3,5,3.25"


@pytest.fixture(scope="module")
def base_url(request: pytest.FixtureRequest) -> str:
    """The live server when recording; a fixed URL when replaying (no server needed).

    Module scope: the server starts before any cassette opens, so its readiness probe is
    never recorded."""
    if request.config.getoption("--record-mode") == "none":
        return REPLAY_BASE_URL
    return str(request.getfixturevalue("kaizen_server"))


@pytest.fixture
def client(base_url: str) -> Iterator[KaizenSyncClient]:
    with KaizenSyncClient(base_url=base_url, api_key=API_KEY, max_retries=0) as kaizen:
        yield kaizen


@pytest.mark.vcr
def test_compress(client: KaizenSyncClient) -> None:
    response = client.compress({"data": ORDERS})
    assert response["result"] == ORDERS_KTOF and response.operation == "compress"
    assert response.request_id


@pytest.mark.vcr
def test_decompress(client: KaizenSyncClient) -> None:
    assert client.decompress({"data": ORDERS_KTOF, "options": {"strict": True}})["result"] == ORDERS


@pytest.mark.vcr
def test_optimize(client: KaizenSyncClient) -> None:
    response = client.optimize({"data": ORDERS, "options": {"delimiter": "\t", "length_marker": True}})
    assert decode(response.result) == ORDERS and "[#3\t]" in response.result
    assert response.stats.reduction == response.stats.original_length - response.stats.optimized_length > 0


@pytest.mark.vcr
def test_optimize_request(client: KaizenSyncClient) -> None:
    prompt = 'Summarise these orders: {"orders": [{"id": 1, "qty": 2}, {"id": 2, "qty": 1}]} please.'
    response = client.optimize_request({"prompt": prompt, "metadata": {"trace": "t-1"}, "token_models": ["gpt-4o"]})
    assert response.meta["client_metadata"] == {"trace": "t-1"}
    assert response.token_stats is not None and set(response.token_stats.raw) == {"gpt-4o"}
    assert response.result.startswith("Summarise these orders:") or response.result.startswith('"')


@pytest.mark.vcr
def test_optimize_response(client: KaizenSyncClient) -> None:
    response = client.optimize_response({"ktof": ORDERS_KTOF})
    assert response.result == ORDERS and response.stats.optimized_length == len(ORDERS_KTOF)


@pytest.mark.vcr
def test_prompts_encode(client: KaizenSyncClient) -> None:
    response = client.prompts_encode({"prompt": ORDERS, "schemas": {"orders": "Order[]"}})
    assert decode(response.result) == ORDERS and response.meta["schemas"] == {"orders": "Order[]"}


@pytest.mark.vcr
def test_prompts_decode(client: KaizenSyncClient) -> None:
    response = client.prompts_decode({"ktof": ORDERS_KTOF, "replay_meta": {"turn": 3}, "metadata": {"user": "u1"}})
    assert response.result == ORDERS
    assert response.meta["turn"] == 3 and response.meta["client_metadata"] == {"user": "u1"}


@pytest.mark.vcr
def test_health(client: KaizenSyncClient) -> None:
    assert client.health()["message"] == "Welcome to the Token Service"


@pytest.mark.vcr
async def test_async_compress(base_url: str) -> None:
    async with KaizenClient(base_url=base_url, api_key=API_KEY, max_retries=0) as client:
        assert (await client.compress({"data": ORDERS})).result == ORDERS_KTOF


@pytest.mark.vcr
def test_decode_error(client: KaizenSyncClient) -> None:
    from kaizen_core import KaizenDecodeError

    with pytest.raises(KaizenDecodeError) as caught:
        client.decompress({"data": "orders[2]{id}:\n  1"})
    assert caught.value.line is not None and caught.value.text == "orders[2]{id}:\n  1"


def test_cassettes_hold_no_api_key() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert len(files) >= 10, "record the cassettes: pytest tests/core/test_cassettes.py --record-mode=once"
    for path in files:
        text = path.read_text()
        assert API_KEY not in text and "x-api-key" not in text.lower(), path.name
