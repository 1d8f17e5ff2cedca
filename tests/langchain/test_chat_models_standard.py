"""LangChain's standard chat-model suites, run on ``ChatKaizen``.

Two inner models:
- ``BrainChatModel``: offline, tool-capable (the stand-in's brain in-process);
- ``ChatOpenAI`` with ``base_url`` at the OpenAI stand-in server: the real ``openai`` SDK
  over HTTP on 127.0.0.1.

The standard suites construct the model under test from their standard parameters
(``temperature``, ``max_tokens``, ``stop``, ``streaming``...), so the test classes below are
``ChatKaizen`` subclasses whose constructor builds the inner model from those parameters
and hands ``ChatKaizen``'s own fields (``output_version``, ``disable_streaming``...) to
the wrapper. Nothing else differs from ``ChatKaizen``.

Skips, all from the suites' own feature switches (the feature is absent in the inner
model or needs internet), none caused by the wrapper:
- image/audio/PDF/anthropic-input tests: the inner models here accept no such inputs and
  the suites download the media from the internet (sockets are off in this test run);
- ``test_init_from_env``: ``ChatKaizen`` reads no environment variables;
- ``test_serdes``: ``ChatKaizen`` is not LangChain-serialisable (it holds an arbitrary
  inner model object, possibly with a client);
- ``test_json_mode`` on the offline model: it has no JSON mode (``supports_json_mode``);
- ``test_stream_time`` (VCR benchmark) on the offline model: no HTTP to record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from kaizen_langchain import ChatKaizen
from tests.langchain.brain_chat_model import BrainChatModel
from tests.standins.openai_server import OpenAIStandIn

_WRAPPER_FIELDS = {"output_version", "disable_streaming"}
_STANDIN = OpenAIStandIn()


def _split(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    own = {k: params.pop(k) for k in list(params) if k in _WRAPPER_FIELDS}
    return own, params


class ChatKaizenOverBrain(ChatKaizen):
    """``ChatKaizen(llm=BrainChatModel(**params))``."""

    def __init__(self, **params: Any) -> None:
        if "llm" in params:
            super().__init__(**params)
            return
        own, inner = _split(params)
        super().__init__(llm=BrainChatModel(**inner), **own)


class ChatKaizenOverOpenAI(ChatKaizen):
    """``ChatKaizen(llm=ChatOpenAI(base_url=<stand-in>, **params))``."""

    def __init__(self, **params: Any) -> None:
        if "llm" in params:
            super().__init__(**params)
            return
        own, inner = _split(params)
        inner.setdefault(
            "base_url", _STANDIN.base_url if _STANDIN.port else "http://127.0.0.1:9/v1"
        )
        inner.setdefault("api_key", "sk-test")
        inner.setdefault("stream_usage", True)
        super().__init__(llm=ChatOpenAI(**inner), **own)


@pytest.fixture(scope="module", autouse=True)
def standin() -> Iterator[OpenAIStandIn]:
    """The OpenAI stand-in for the ChatOpenAI-backed classes of this module."""
    _STANDIN.start()
    try:
        yield _STANDIN
    finally:
        _STANDIN.stop()


class _OverBrain:
    """ChatKaizen around the offline tool-calling model."""

    @property
    def chat_model_class(self) -> type[ChatKaizen]:
        return ChatKaizenOverBrain

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model_name": "brain-1"}


class _OverOpenAI:
    """ChatKaizen around ChatOpenAI talking HTTP to the local stand-in."""

    @property
    def chat_model_class(self) -> type[ChatKaizen]:
        return ChatKaizenOverOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gpt-4o-mini"}


class TestChatKaizenOverBrainUnit(_OverBrain, ChatModelUnitTests):
    pass


class TestChatKaizenOverOpenAIUnit(_OverOpenAI, ChatModelUnitTests):
    pass


class TestChatKaizenOverBrainIntegration(_OverBrain, ChatModelIntegrationTests):
    @property
    def model_override_value(self) -> str:
        return "brain-2"


class TestChatKaizenOverOpenAIIntegration(_OverOpenAI, ChatModelIntegrationTests):
    @property
    def model_override_value(self) -> str:
        return "gpt-4.1-mini"

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def enable_vcr_tests(self) -> bool:
        """``test_stream_time`` replays tests/cassettes/langchain/test_chat_models_standard/."""
        return True
