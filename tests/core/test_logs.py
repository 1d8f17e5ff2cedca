"""Logging: levels per event, KAIZEN_LOG switch, and the API key never written anywhere."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import stamina
from kaizen_core import KaizenClient, KaizenClientConfig, KaizenServerError, KaizenSyncClient, logs

try:
    from .faultserver import FaultServer, Reply, envelope
except ImportError:  # pytest's rootdir import mode
    from faultserver import FaultServer, Reply, envelope  # type: ignore[no-redef]

API_KEY = "sk-kaizen-SECRET-0123456789abcdef"


@pytest.fixture(autouse=True)
def no_backoff_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture
def all_log_output() -> Iterator[io.StringIO]:
    """Every record of every logger (kaizen_core, stamina, httpx, httpcore) at DEBUG, formatted
    with its arguments, as an application's root handler would write it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s %(args)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    kaizen_level = logs.logger.level
    logs.logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        logs.logger.setLevel(kaizen_level)


def test_api_key_never_in_logs_reprs_or_error_text(all_log_output: io.StringIO) -> None:
    config = KaizenClientConfig(base_url=None, api_key=API_KEY, max_retries=2)
    with FaultServer([Reply(503, {"detail": "down"})]) as server:
        config = config.replace(base_url=server.base_url)
        with KaizenSyncClient(config) as client, pytest.raises(KaizenServerError) as caught:
            client.compress({"data": {"a": 1}})
        # The key did travel: the server saw it on every attempt.
        assert [r.headers.get("x-api-key") for r in server.received] == [API_KEY] * 3
        texts = {
            "logs": all_log_output.getvalue(),
            "repr(client)": repr(client),
            "repr(config)": repr(config),
            "str(error)": str(caught.value),
            "repr(error)": repr(caught.value),
            "error.headers": repr(caught.value.headers),
        }
    assert "retrying POST /v1/compress (attempt 2/3" in texts["logs"]
    assert "failed after 3 attempt(s)" in texts["logs"]
    for where, text in texts.items():
        assert API_KEY not in text, where
        assert API_KEY[-12:] not in text, where


def test_levels_of_each_event(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kaizen_core")
    with FaultServer([Reply(500), Reply(200, envelope("compress", "a: 1"))]) as server:
        with KaizenSyncClient(base_url=server.base_url, api_key=None) as client:
            client.compress({"data": {"a": 1}})
    mine = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "kaizen_core"]
    levels = [level for level, _ in mine]
    assert levels == ["DEBUG", "INFO", "WARNING", "DEBUG", "INFO"]
    assert mine[1][1].startswith("POST /v1/compress -> 500 in ")
    assert mine[4][1].startswith("POST /v1/compress -> 200 in ")


async def test_failure_is_logged_at_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="kaizen_core")
    async with KaizenClient(mode="embedded") as client:
        with pytest.raises(ValueError):
            await client.decompress({"data": "a:\n   b: 1"})
    assert [r.levelname for r in caplog.records if r.name == "kaizen_core"] == ["ERROR"]


def test_kaizen_log_env_attaches_one_handler() -> None:
    before = list(logs.logger.handlers)
    try:
        assert logs.configure_from_env({"KAIZEN_LOG": "debug"}) == logging.DEBUG
        assert logs.configure_from_env({"KAIZEN_LOG": "info"}) == logging.INFO
        assert logs.logger.level == logging.INFO
        assert len(logs.logger.handlers) == len(before) + 1
        assert logs.configure_from_env({}) is None
        assert logs.configure_from_env({"KAIZEN_LOG": "chatty"}) is None
    finally:
        for handler in list(logs.logger.handlers):
            if handler not in before:
                logs.logger.removeHandler(handler)
        logs._env_handler = None
        logs.logger.setLevel(logging.NOTSET)


def test_secret_filter_scrubs_registered_keys() -> None:
    logs.register_secret(API_KEY)
    record = logging.LogRecord("kaizen_core", logging.INFO, __file__, 1, "key=%s", (API_KEY,), None)
    assert logs.SecretFilter().filter(record)
    assert record.getMessage() == "key=***"
    assert logs.safe_headers({"X-Api-Key": API_KEY, "Accept": "json"}) == {"X-Api-Key": "***", "Accept": "json"}
