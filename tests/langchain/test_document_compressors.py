"""``KaizenDocumentCompressor``: alone and inside ``ContextualCompressionRetriever``."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from kaizen_core import engine
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from kaizen_langchain import KaizenDocumentCompressor, kaizen_usage

RECORDS = [
    {"ticket": 500 + i, "status": "open" if i % 3 else "closed", "owner": f"agent{i % 4}"}
    for i in range(25)
]


def corpus() -> list[Document]:
    return [
        Document(json.dumps(RECORDS), id="d1", metadata={"source": "tickets.json", "page": 1}),
        Document("Plain prose about the support desk.", id="d2", metadata={"source": "notes.md"}),
        Document(
            f"Export follows: {json.dumps(RECORDS[:10])}", id="d3", metadata={"source": "mail"}
        ),
    ]


class ListRetriever(BaseRetriever):
    """Returns the documents whose text mentions the query (or all for '*')."""

    documents: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [d for d in self.documents if query == "*" or query in d.page_content]


class EncodeEvents(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], UUID, UUID | None]] = []
        self.retriever_runs: list[UUID] = []

    def on_retriever_start(
        self, serialized: Any, query: str, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.retriever_runs.append(run_id)

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if name == "kaizen_encode":
            self.events.append((data, run_id, kwargs.get("parent_run_id")))


def _check(out: list[Document], original: list[Document]) -> None:
    assert [d.id for d in out] == [d.id for d in original]
    assert [d.metadata["source"] for d in out] == [d.metadata["source"] for d in original]
    assert engine.decode(out[0].page_content) == RECORDS
    assert out[0].metadata["kaizen"]["tokens_saved"] > 0 and out[0].metadata["page"] == 1
    assert out[1] is original[1]  # nothing to encode: the same document comes back
    assert out[2].page_content.startswith("Export follows: ")
    assert json.dumps(RECORDS[:10]) not in out[2].page_content
    assert "kaizen" not in original[0].metadata  # inputs are not mutated


def test_compress_documents_keeps_ids_and_metadata() -> None:
    documents = corpus()
    _check(list(KaizenDocumentCompressor().compress_documents(documents, "q")), documents)


async def test_acompress_documents_is_the_same() -> None:
    documents = corpus()
    out = list(await KaizenDocumentCompressor().acompress_documents(documents, "q"))
    _check(out, documents)
    assert out == list(KaizenDocumentCompressor().compress_documents(documents, "q"))


def test_inside_contextual_compression_retriever() -> None:
    events = EncodeEvents()
    documents = corpus()
    retriever = ContextualCompressionRetriever(
        base_compressor=KaizenDocumentCompressor(),
        base_retriever=ListRetriever(documents=documents),
    )
    with kaizen_usage() as usage:
        out = retriever.invoke("*", config={"callbacks": [events]})
    _check(out, documents)
    [(data, run_id, _)] = events.events
    assert run_id == events.retriever_runs[0]  # reported on the retriever's run
    assert data["source"] == "KaizenDocumentCompressor" and data["blocks"] == 2
    assert usage.encodes == 1 and usage.tokens_saved == data["tokens_saved"]


async def test_inside_contextual_compression_retriever_async() -> None:
    events = EncodeEvents()
    retriever = ContextualCompressionRetriever(
        base_compressor=KaizenDocumentCompressor(), base_retriever=ListRetriever(documents=corpus())
    )
    out = await retriever.ainvoke("ticket", config={"callbacks": [events]})
    assert [d.id for d in out] == ["d1", "d3"]
    assert engine.decode(out[0].page_content) == RECORDS
    assert len(events.events) == 1 and events.events[0][1] == events.retriever_runs[0]


def test_annotate_off_leaves_metadata_as_it_was() -> None:
    [out] = KaizenDocumentCompressor(annotate=False).compress_documents(corpus()[:1], "q")
    assert out.metadata == {"source": "tickets.json", "page": 1}
