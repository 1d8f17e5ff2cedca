"""Fixtures of the LangChain tests: the OpenAI stand-in and the VCR settings."""

from __future__ import annotations

import pytest

from tests.standins.openai_server import openai_standin

__all__ = ["openai_standin"]


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    """The suite's VCR settings, plus replaying an interaction more than once.

    LangChain's ``test_stream_time`` benchmark streams the same request for many rounds
    from one recorded interaction (as ``langchain_tests.conftest.base_vcr_config`` allows).
    """
    return {
        "filter_headers": ["authorization", "x-api-key", "api-key"],
        "match_on": ["method", "path", "query", "body"],
        "allow_playback_repeats": True,
    }
