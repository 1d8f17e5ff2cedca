"""The provider exception tree of ``kaizen_core.providers.errors`` and ``wrap()``'s refusals."""

from __future__ import annotations

import pickle

import anthropic
import openai
import pytest
from google import genai
from kaizen_core import KaizenClient, KaizenSyncClient
from kaizen_core.errors import KaizenAPIError, KaizenError, KaizenRateLimitError
from kaizen_core.providers import KaizenProviderError, KaizenProviderRateLimitError, unwrap, wrap
from kaizen_core.providers.errors import provider_error
from kaizen_core.providers.gemini import _retry_delay


def test_rate_limit_error_is_both_a_provider_and_a_rate_limit_error() -> None:
    original = RuntimeError("vendor said no")
    error = provider_error(
        "openai",
        original,
        status_code=429,
        request_id="req_1",
        headers={"Retry-After-Ms": "2500"},
        body={"e": 1},
    )
    assert type(error) is KaizenProviderRateLimitError
    assert isinstance(error, KaizenRateLimitError) and isinstance(error, KaizenAPIError)
    assert isinstance(error, KaizenProviderError) and isinstance(error, KaizenError)
    assert error.retry_after == 2.5 and error.headers == {"retry-after-ms": "2500"}
    assert (error.original, error.status_code, error.request_id, error.body) == (
        original,
        429,
        "req_1",
        {"e": 1},
    )
    assert str(error) == "openai error (429): vendor said no (request_id=req_1) (retry_after=2.5s)"


def test_other_statuses_and_transport_failures_are_provider_errors() -> None:
    server_error = provider_error(
        "anthropic", ValueError("boom"), status_code=529, headers={"retry-after": "3"}
    )
    assert type(server_error) is KaizenProviderError and server_error.retry_after == 3.0
    assert not isinstance(server_error, KaizenRateLimitError)
    offline = provider_error("gemini", ConnectionError("refused"))
    assert offline.status_code is None and offline.retry_after is None and offline.headers == {}


def test_errors_survive_pickling() -> None:
    error = provider_error(
        "openai", ValueError("x"), status_code=429, request_id="r", headers={"retry-after": "1"}
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is KaizenProviderRateLimitError
    assert (copy.status_code, copy.request_id, copy.retry_after, str(copy)) == (
        429,
        "r",
        1.0,
        str(error),
    )


@pytest.mark.parametrize(
    ("delay", "expected"), [("17s", 17.0), ("0.5s", 0.5), ("soon", None), (None, None)]
)
def test_gemini_retry_info(delay: str | None, expected: float | None) -> None:
    details = (
        [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]
        if delay
        else []
    )
    assert _retry_delay({"error": {"code": 429, "details": details}}) == expected


def test_wrap_refuses_what_it_cannot_wrap() -> None:
    with pytest.raises(TypeError, match="openai, anthropic or google-genai"):
        wrap(object())
    assert unwrap("not wrapped") == "not wrapped"


def test_wrap_refuses_a_kaizen_client_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError, match="block the event loop"):
        wrap(openai.AsyncOpenAI(api_key="k"), kaizen=KaizenSyncClient())
    with pytest.raises(TypeError, match="KaizenSyncClient"):
        wrap(anthropic.Anthropic(api_key="k"), kaizen=KaizenClient())


async def test_gemini_checks_the_kaizen_client_per_side() -> None:
    client = wrap(genai.Client(api_key="k"), kaizen=KaizenSyncClient())
    with pytest.raises(TypeError, match="block the event loop"):
        await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents='rows: [{"a": 1}, {"a": 2}]'
        )
