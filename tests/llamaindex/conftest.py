"""Fixtures for the LlamaIndex tests: savings handler on the root dispatcher, local embeddings,
JSON documents, a prompt-recording LLM, the OpenAI stand-in and cassette settings."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Document
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import (
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback

from kaizen_llamaindex import KaizenSavingsHandler
from tests.standins.openai_server import openai_standin  # noqa: F401  (fixture)


class HashingEmbedding(BaseEmbedding):
    """Deterministic local embeddings: hashed bag of words, L2-normalised (no network)."""

    dimensions: int = 256

    @classmethod
    def class_name(cls) -> str:
        return "HashingEmbedding"

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % self.dimensions] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


class RecordingLLM(CustomLLM):
    """A completion LLM that records every prompt it receives and answers with a fixed text."""

    answer: str = "recorded"
    prompts: list[str] = Field(default_factory=list)
    model_name: str = "gpt-4o"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model_name, context_window=128_000, num_output=256)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.answer)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        self.prompts.append(prompt)

        def gen() -> CompletionResponseGen:
            text = ""
            for word in self.answer.split(" "):
                text = f"{text} {word}".strip()
                yield CompletionResponse(text=text, delta=word)

        return gen()


class EventLog(BaseEventHandler):
    """Keeps every event that reaches the root dispatcher."""

    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "EventLog"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)

    def of(self, name: str) -> list[BaseEvent]:
        """Events whose class name is ``name``."""
        return [event for event in self.events if event.class_name() == name]


def _attached(handler: BaseEventHandler) -> Iterator[BaseEventHandler]:
    root = get_dispatcher()
    root.add_event_handler(handler)
    try:
        yield handler
    finally:
        root.event_handlers = [h for h in root.event_handlers if h is not handler]


@pytest.fixture
def savings() -> Iterator[KaizenSavingsHandler]:
    """A ``KaizenSavingsHandler`` attached to the root dispatcher for one test."""
    yield from _attached(KaizenSavingsHandler())  # type: ignore[misc]


@pytest.fixture
def event_log() -> Iterator[EventLog]:
    """Every instrumentation event of one test."""
    yield from _attached(EventLog())  # type: ignore[misc]


@pytest.fixture
def embed_model() -> HashingEmbedding:
    """Deterministic local embeddings."""
    return HashingEmbedding()


def _orders(region: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "order_id": f"{region[:2].upper()}-{1000 + i}",
            "customer": f"customer {i} of {region}",
            "region": region,
            "quantity": (i * 7) % 13 + 1,
            "unit_price": round(4.5 + i * 1.25, 2),
            "status": ["shipped", "pending", "cancelled"][i % 3],
        }
        for i in range(count)
    ]


@pytest.fixture
def json_documents() -> list[Document]:
    """Order tables as JSON (whole-document JSON), one note with an embedded JSON block,
    and one prose document with no JSON at all."""
    documents = [
        Document(
            text=json.dumps(_orders(region, 12), indent=2),
            id_=f"orders-{region}",
            metadata={"region": region, "kind": "orders", "secret_note": f"internal {region}"},
            excluded_llm_metadata_keys=["secret_note"],
            excluded_embed_metadata_keys=["secret_note"],
        )
        for region in ("north", "south", "east")
    ]
    documents.append(
        Document(
            text=(
                "Shipping note for the north region. The carrier reported these parcels: "
                + json.dumps(
                    [
                        {"parcel": f"P{i}", "weight_kg": 1.5 + i, "carrier": "north freight"}
                        for i in range(8)
                    ]
                )
                + " All north parcels arrive within two days."
            ),
            id_="note-north",
            metadata={"region": "north", "kind": "note"},
        )
    )
    documents.append(
        Document(
            text="The north region warehouse opens at eight and closes at six.",
            id_="prose-north",
            metadata={"region": "north", "kind": "prose"},
        )
    )
    return documents


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    """The suite's cassette settings, and the embedded Kaizen transport is never recorded:
    it is this process, not the network."""
    return {**vcr_config, "ignore_hosts": ["kaizen.embedded"]}
