"""Fixtures of the LangChain tests: the OpenAI stand-in and the VCR settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kaizen_core import engine

from tests.standins.openai_server import openai_standin

__all__ = ["openai_standin"]


@pytest.fixture(autouse=True)
def _embedded_host_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Components made without a client use the in-process engine unless a test sets
    ``KAIZEN_BASE_URL``/``KAIZEN_API_KEY`` itself (a developer's shell may have them)."""
    monkeypatch.delenv("KAIZEN_BASE_URL", raising=False)
    monkeypatch.delenv("KAIZEN_API_KEY", raising=False)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    """The suite's VCR settings, plus replaying an interaction more than once.

    LangChain's ``test_stream_time`` benchmark streams the same request for many rounds
    from one recorded interaction (as ``langchain_tests.conftest.base_vcr_config`` allows).
    Bodies match by meaning (``kaizen_body``), not bytes.
    """
    return {
        "filter_headers": ["authorization", "x-api-key", "api-key"],
        "match_on": ["method", "path", "query", "kaizen_body"],
        "allow_playback_repeats": True,
    }


def _semantic_body(body: bytes | str | None) -> object:
    """A chat request body with message texts read back to values (KTOF or JSON).

    Cassettes must not break when the engine picks a different (still exact) encoding, so
    requests are matched on what the texts mean, not on their bytes.
    """
    if not body:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body
    for message in data.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = _meaning(content)
    return data


def _meaning(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return engine.decode(text)
    except ValueError:
        return text


def _same_meaning(r1: Any, r2: Any) -> None:
    assert _semantic_body(r1.body) == _semantic_body(r2.body)


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Register the ``kaizen_body`` matcher (see ``_semantic_body``)."""
    vcr.register_matcher("kaizen_body", _same_meaning)
