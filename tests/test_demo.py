"""``kaizen demo``: the main job on the embedded engine saves tokens and decodes back exactly."""

from __future__ import annotations

import json

import pytest
from kaizen_core import KaizenSyncClient, demo, engine
from kaizen_core.cli import app
from typer.testing import CliRunner


@pytest.fixture
def client():
    with KaizenSyncClient(mode="embedded") as embedded:
        yield embedded


def test_job_saves_tokens_and_round_trips(client: KaizenSyncClient) -> None:
    items, _ = demo.run_job(client)
    assert [item.name for item in items] == ["chat prompt", "JSON dataset"]
    for item in items:
        assert item.exact
        assert (
            engine.count_tokens(item.after, "gpt-4o").tokens
            < engine.count_tokens(item.before, "gpt-4o").tokens
        )


def test_tool_message_is_ktof_not_json(client: KaizenSyncClient) -> None:
    items, _ = demo.run_job(client)
    tool_text = items[0].tool_after
    with pytest.raises(json.JSONDecodeError):
        json.loads(tool_text)
    assert engine.decode(tool_text) == json.loads(demo.sample_chat()[-1]["content"])


def test_chat_is_encoded_by_kaizen_encode_when_langchain_is_installed(
    client: KaizenSyncClient,
) -> None:
    _, via = demo.run_job(client)
    assert via == "KaizenEncode"


def test_client_encodes_the_chat_without_langchain(
    client: KaizenSyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_langchain(client, messages):
        raise ImportError("langchain is not installed")

    monkeypatch.setattr(demo, "_encode_chat_with_langchain", no_langchain)
    items, via = demo.run_job(client)
    assert via == "KaizenSyncClient.prompts_encode"
    assert all(item.exact for item in items)


def test_mismatch_exits_non_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    real_run_job = demo.run_job

    def broken_job(client):
        items, via = real_run_job(client)
        items[1].exact = False
        return items, via

    monkeypatch.setattr(demo, "run_job", broken_job)
    with pytest.raises(SystemExit) as exited:
        demo.main()
    assert exited.value.code == 1


def test_cli_demo_prints_savings_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIZEN_BASE_URL", raising=False)
    monkeypatch.delenv("KAIZEN_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for model in demo.MODELS:
        assert model in result.output
    assert "MISMATCH" not in result.output
    assert result.output.count("exact") == 2


def test_demo_stays_offline_when_the_environment_names_a_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``kaizen demo`` runs on the embedded engine even with ``KAIZEN_BASE_URL`` set (here to a
    port nothing listens on)."""
    monkeypatch.setenv("KAIZEN_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("COLUMNS", "160")
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert result.output.count("exact") == 2
