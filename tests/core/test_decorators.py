"""with_kaizen_client: a managed client injected by keyword, or the caller's own by
keyword or position; async and sync functions; 0.1.4's bare and called forms."""

from __future__ import annotations

import pytest
from kaizen_core import KaizenClient, KaizenClientConfig, KaizenSyncClient, with_kaizen_client

EMBEDDED = KaizenClientConfig(mode="embedded")


@with_kaizen_client(EMBEDDED)
async def encode_async(data: object, kaizen: KaizenClient | None = None) -> tuple[str, KaizenClient]:
    assert kaizen is not None
    return (await kaizen.compress({"data": data})).result, kaizen


@with_kaizen_client(EMBEDDED)
def encode_sync(data: object, kaizen: KaizenSyncClient | None = None) -> tuple[str, KaizenSyncClient]:
    assert kaizen is not None
    return kaizen.compress({"data": data}).result, kaizen


async def test_async_function_gets_a_managed_client_that_is_closed_afterwards() -> None:
    result, client = await encode_async([1, 2])
    assert result == "[2]: 1,2" and isinstance(client, KaizenClient)
    assert client._client.is_closed


def test_sync_function_gets_a_sync_client() -> None:
    result, client = encode_sync({"a": 1})
    assert result == "a: 1" and isinstance(client, KaizenSyncClient)
    assert client._client.is_closed


async def test_callers_client_by_keyword_or_position_is_used_and_left_open() -> None:
    async with KaizenClient(mode="embedded") as mine:
        _, by_keyword = await encode_async(1, kaizen=mine)
        _, by_position = await encode_async(1, mine)
        assert by_keyword is mine and by_position is mine
        assert not mine._client.is_closed
    with KaizenSyncClient(mode="embedded") as mine_sync:
        assert encode_sync(2, mine_sync)[1] is mine_sync and not mine_sync._client.is_closed


async def test_bare_form_and_custom_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIZEN_BASE_URL", raising=False)
    monkeypatch.delenv("KAIZEN_API_KEY", raising=False)

    @with_kaizen_client
    async def bare(kaizen: KaizenClient) -> str:
        return (await kaizen.health()).message

    @with_kaizen_client(EMBEDDED, param="client")
    def custom(text: str, client: KaizenSyncClient) -> object:
        return client.decompress({"data": text}).result

    @with_kaizen_client(EMBEDDED)
    async def via_kwargs(**kwargs: KaizenClient) -> bool:
        return isinstance(kwargs["kaizen"], KaizenClient)

    assert await bare() == "Welcome to the Token Service"
    assert custom("a: 1") == {"a": 1}
    assert await via_kwargs()


def test_a_function_without_the_parameter_is_refused() -> None:
    with pytest.raises(TypeError, match="kaizen"):

        @with_kaizen_client()
        def nothing(x: int) -> int:
            return x
