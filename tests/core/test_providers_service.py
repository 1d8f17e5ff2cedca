"""The provider wrappers compressing through a Kaizen service (``kaizen=`` a client).

Against the session's real ``kaizen serve`` on 127.0.0.1: the vendor stand-in must receive
exactly what the in-process engine would have sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import anthropic
import openai
import pytest
from kaizen_core import KaizenClient, KaizenSyncClient
from kaizen_core.providers import wrap

from tests.standins.anthropic_server import AnthropicStandin
from tests.standins.openai_server import OpenAIStandIn

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .providers_expected import assert_carries, sent_text
except ImportError:
    from providers_expected import assert_carries, sent_text  # type: ignore[no-redef]

ROWS = {"items": [{"id": i, "label": f"item {i}", "ok": i % 3 == 0} for i in range(7)]}
PROMPT = f"Summarise: {json.dumps(ROWS)} thanks"
EXPECTED = sent_text(PROMPT)  # what the in-process engine writes


@pytest.fixture
def openai_server() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn() as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicStandin]:
    with AnthropicStandin() as server:
        server.require_ktof = True
        yield server


async def test_async_openai_through_kaizen_serve(
    kaizen_server: str, openai_server: OpenAIStandIn
) -> None:
    async with KaizenClient(base_url=kaizen_server) as kaizen:
        client = wrap(
            openai.AsyncOpenAI(api_key="sk-test", base_url=openai_server.base_url, max_retries=0),
            kaizen=kaizen,
        )
        messages = [{"role": "system", "content": "plain"}, {"role": "user", "content": PROMPT}]
        results = await asyncio.gather(
            *(client.chat.completions.create(model="gpt-4o", messages=messages) for _ in range(3))
        )
    sent = [body["messages"] for body in openai_server.chat_requests]
    assert (
        sent
        == [[{"role": "system", "content": "plain"}, {"role": "user", "content": EXPECTED}]] * 3
    )
    assert all(r.kaizen.json_blocks == 1 and r.kaizen.saved_tokens > 0 for r in results)
    assert_carries(EXPECTED, ROWS)


def test_sync_anthropic_through_kaizen_serve(
    kaizen_server: str, anthropic_server: AnthropicStandin
) -> None:
    with KaizenSyncClient(base_url=kaizen_server) as kaizen:
        client = wrap(
            anthropic.Anthropic(api_key="k", base_url=anthropic_server.base_url, max_retries=0),
            kaizen=kaizen,
        )
        message = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            system=PROMPT,
            messages=[{"role": "user", "content": PROMPT}],
        )
    sent = anthropic_server.requests[-1].json
    assert sent["system"] == EXPECTED and sent["messages"][0]["content"] == EXPECTED
    assert message.kaizen.texts_rewritten == 1  # the same text twice is compressed once


def test_service_and_engine_send_the_same_prompt(
    kaizen_server: str, anthropic_server: AnthropicStandin
) -> None:
    vendor = anthropic.Anthropic(api_key="k", base_url=anthropic_server.base_url, max_retries=0)
    kwargs = {
        "model": "claude-haiku-4-5",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    with KaizenSyncClient(base_url=kaizen_server) as kaizen:
        remote = wrap(vendor, kaizen=kaizen).messages.create(**kwargs)
    local = wrap(vendor).messages.create(**kwargs)
    first, second = (r.json for r in anthropic_server.requests)
    assert first == second
    assert remote.kaizen.as_dict() == local.kaizen.as_dict()
