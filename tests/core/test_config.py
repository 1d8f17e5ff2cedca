"""KaizenClientConfig: environment, host selection, HTTP settings, rate limiters."""

from __future__ import annotations

import ssl

import httpx
import pytest
from kaizen_core import (
    EMBEDDED_BASE_URL,
    HOSTED_BASE_URL,
    KaizenClient,
    KaizenClientConfig,
    KaizenSyncClient,
)
from kaizen_core.limiters import AsyncRateLimiter, SyncRateLimiter


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAIZEN_BASE_URL", "KAIZEN_API_KEY", "KAIZEN_TIMEOUT", "KAIZEN_MAX_RETRIES", "KAIZEN_MAX_RPS"):
        monkeypatch.delenv(name, raising=False)


def test_0_1_4_positional_fields() -> None:
    config = KaizenClientConfig("http://127.0.0.1:9", "key-1", 12.0, False, {"X-Team": "a"})
    assert (config.base_url, config.api_key, config.timeout, config.verify_ssl) == ("http://127.0.0.1:9", "key-1", 12.0, False)
    assert config.default_headers == {"X-Team": "a"} and config.ssl_verify() is False


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_TIMEOUT", "7.5")
    monkeypatch.setenv("KAIZEN_MAX_RETRIES", "4")
    monkeypatch.setenv("KAIZEN_MAX_RPS", "20")
    monkeypatch.setenv("KAIZEN_BASE_URL", "http://127.0.0.1:8123")
    config = KaizenClientConfig.from_env(max_retries=1)
    assert (config.timeout, config.max_retries, config.max_requests_per_second) == (7.5, 1, 20.0)
    assert config.resolved_base_url() == "http://127.0.0.1:8123/"
    monkeypatch.setenv("KAIZEN_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="KAIZEN_TIMEOUT"):
        KaizenClientConfig()


def test_timeout_defaults_to_30_seconds_on_every_phase() -> None:
    """The contract's default when ``KAIZEN_TIMEOUT`` is unset, down to the httpx pool."""
    assert KaizenClientConfig().timeout == 30.0
    with KaizenSyncClient(base_url="http://127.0.0.1:9") as client:
        assert client._client.timeout == httpx.Timeout(30.0)


def test_selection_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert KaizenClientConfig().resolved_base_url() == EMBEDDED_BASE_URL
    assert KaizenClientConfig(api_key="k-123").resolved_base_url() == HOSTED_BASE_URL
    assert KaizenClientConfig(mode="remote").resolved_base_url() == HOSTED_BASE_URL
    monkeypatch.setenv("KAIZEN_BASE_URL", "http://127.0.0.1:1/")
    assert KaizenClientConfig(api_key="k-123").resolved_base_url() == "http://127.0.0.1:1/"
    assert KaizenClientConfig(base_url="http://127.0.0.1:2").resolved_base_url() == "http://127.0.0.1:2/"
    assert KaizenClientConfig.embedded(api_key="k-123").is_embedded


def test_the_host_is_chosen_once_when_the_config_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later change of ``KAIZEN_BASE_URL`` does not move a config (or its client) elsewhere:
    ``base_url``/``is_embedded`` keep telling where requests actually go."""
    config = KaizenClientConfig()
    with KaizenSyncClient(config) as client:
        monkeypatch.setenv("KAIZEN_BASE_URL", "http://127.0.0.1:1/")
        assert config.resolved_base_url() == EMBEDDED_BASE_URL
        assert client.is_embedded and client.base_url == EMBEDDED_BASE_URL
        assert client.compress({"data": [1]}).result == "[1]: 1"  # still in-process
        assert client.with_options(timeout=3.0).is_embedded
    assert KaizenClientConfig().resolved_base_url() == "http://127.0.0.1:1/"


def test_per_phase_timeouts_limits_and_tls(tmp_path) -> None:
    config = KaizenClientConfig(timeout=10, connect_timeout=1, read_timeout=30, max_connections=7,
                                max_keepalive_connections=3, keepalive_expiry=2.0)  # fmt: skip
    assert config.httpx_timeout() == httpx.Timeout(10, connect=1, read=30, write=10, pool=10)
    limits = config.httpx_limits()
    assert (limits.max_connections, limits.max_keepalive_connections, limits.keepalive_expiry) == (7, 3, 2.0)
    assert KaizenClientConfig(verify=False).ssl_verify() is False
    assert KaizenClientConfig(verify=False, verify_ssl=True).ssl_verify() is True
    import certifi

    context = KaizenClientConfig(ca_bundle=certifi.where()).ssl_verify()
    assert isinstance(context, ssl.SSLContext)


def test_proxy_is_passed_to_the_remote_pool_only() -> None:
    remote = KaizenClientConfig(base_url="http://127.0.0.1:9", proxy="http://127.0.0.1:3128")
    assert remote.client_kwargs()["proxy"] == "http://127.0.0.1:3128"
    assert "proxy" not in KaizenClientConfig(mode="embedded", proxy="http://127.0.0.1:3128").client_kwargs()


def test_invalid_values() -> None:
    for bad in ({"max_retries": -1}, {"max_requests_per_second": 0}, {"mode": "cloud"}, {"batch_concurrency": 0}):
        with pytest.raises(ValueError):
            KaizenClientConfig(**bad)
    with pytest.raises(TypeError):
        KaizenClientConfig().replace(no_such_option=1)


def test_repr_hides_the_key() -> None:
    config = KaizenClientConfig(api_key="sk-very-secret-key-42")
    assert "sk-very-secret-key-42" not in repr(config) and "api_key='***'" in repr(config)


def test_default_headers_reach_the_server() -> None:
    from kaizen_core.middleware import Middleware

    seen: dict[str, str] = {}

    class Peek(Middleware):
        def on_request(self, request: httpx.Request, context: object) -> None:
            seen.update(request.headers)

    with KaizenSyncClient(mode="embedded", default_headers={"X-Team": "core"}, middleware=[Peek()]) as client:
        client.health()
    assert seen["x-team"] == "core" and seen["user-agent"].startswith("kaizen-integrations")


def test_sync_rate_limiter_waits_when_the_bucket_is_full() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = SyncRateLimiter(2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.acquire()
    assert slept == pytest.approx([0.5, 0.5])
    now[0] += 10  # the bucket drains while idle
    limiter.acquire()
    assert len(slept) == 2


async def test_async_rate_limiter_lets_calls_through() -> None:
    limiter = AsyncRateLimiter(1000)
    for _ in range(5):
        await limiter.acquire()
    async with KaizenClient(mode="embedded", max_requests_per_second=1000) as client:
        assert (await client.compress({"data": 1})).result == "1"
    with KaizenSyncClient(mode="embedded", max_requests_per_second=1000) as client:
        assert client.compress({"data": 1}).result == "1"
