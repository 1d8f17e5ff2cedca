"""The contract through the project's own `KaizenSyncClient` on both hosts: same typed answers."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Tuple

import pytest

from kaizen_core import KaizenClientConfig, KaizenDecodeError, KaizenSyncClient
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

USERS = {"users": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]}
KTOF = "users[2]{id,name}:\n  1,Ada\n  2,Bob"


@pytest.fixture(scope="module")
def clients(kaizen_server: str) -> Iterator[Tuple[KaizenSyncClient, KaizenSyncClient]]:
    embedded = KaizenSyncClient(KaizenClientConfig(mode="embedded", api_key=None, max_retries=0))
    remote = KaizenSyncClient(
        KaizenClientConfig(base_url=kaizen_server, api_key=None, max_retries=0)
    )
    assert embedded.is_embedded and not remote.is_embedded
    yield embedded, remote
    embedded.close()
    remote.close()


CALLS: list[Tuple[str, Callable[[KaizenSyncClient], Any], type]] = [
    ("health", lambda c: c.health(), HealthResponse),
    (
        "compress",
        lambda c: c.compress({"data": USERS, "options": {"delimiter": "|"}}),
        CompressResponse,
    ),
    ("decompress", lambda c: c.decompress({"data": KTOF}), DecompressResponse),
    ("optimize", lambda c: c.optimize({"data": USERS}), OptimizeResponse),
    (
        "optimize_request",
        lambda c: c.optimize_request(
            {"prompt": USERS, "metadata": {"m": 1}, "token_models": ["gpt-4o"]}
        ),
        OptimizeRequestResponse,
    ),
    ("optimize_response", lambda c: c.optimize_response({"ktof": KTOF}), OptimizeResponseResponse),
    (
        "prompts_encode",
        lambda c: c.prompts_encode({"prompt": USERS, "schemas": {"s": 1}}),
        PromptEncodeResponse,
    ),
    (
        "prompts_decode",
        lambda c: c.prompts_decode({"ktof": KTOF, "replay_meta": {"r": 1}}),
        PromptDecodeResponse,
    ),
]


@pytest.mark.parametrize(
    ("call", "model"), [pytest.param(call, model, id=name) for name, call, model in CALLS]
)
def test_client_gets_the_same_typed_answer_from_both_hosts(
    clients: Tuple[KaizenSyncClient, KaizenSyncClient],
    call: Callable[[KaizenSyncClient], Any],
    model: type,
) -> None:
    embedded, remote = (call(client) for client in clients)
    assert isinstance(embedded, model) and isinstance(remote, model)
    assert embedded.request_id and remote.request_id and embedded.request_id != remote.request_id
    assert embedded.model_dump(exclude={"request_id"}) == remote.model_dump(exclude={"request_id"})
    assert embedded["status"] == remote.get("status")


def test_client_raises_the_decode_error_with_line_and_column_on_both_hosts(
    clients: Tuple[KaizenSyncClient, KaizenSyncClient],
) -> None:
    for client in clients:
        with pytest.raises(KaizenDecodeError) as caught:
            client.decompress({"data": "users[2]{id,name}:\n  1,Ada\n  2"})
        assert caught.value.status_code == 400
        assert (caught.value.line, caught.value.column) == (3, 3)
