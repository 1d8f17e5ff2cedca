"""``KaizenDocumentCompressor``: retrieved documents with their JSON as KTOF."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager, Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document

from ._codec import CodecSettings, EncodeResult
from .callbacks import ENCODE_EVENT, aemit, emit, encode_event_data

__all__ = ["KaizenDocumentCompressor"]


class KaizenDocumentCompressor(CodecSettings, BaseDocumentCompressor):
    """Rewrite the JSON in each document's ``page_content`` as KTOF.

    Documents keep their ``id`` and ``metadata`` (copied, never shared); a document whose
    text has no JSON that pays to encode is returned as it is. ``metadata["kaizen"]``
    records what was saved when ``annotate`` is on. ``acompress_documents`` is natively
    async (the embedded engine runs inline; a remote client is awaited).

    Works as ``base_compressor`` of ``ContextualCompressionRetriever`` and on its own.
    """

    annotate: bool = True

    def _rewrite(self, document: Document, result: EncodeResult) -> Document:
        if not result.changed:
            return document
        metadata = dict(document.metadata)
        if self.annotate:
            metadata["kaizen"] = {
                "original_tokens": result.original_tokens,
                "optimized_tokens": result.optimized_tokens,
                "tokens_saved": result.tokens_saved,
            }
        return document.model_copy(update={"page_content": result.text, "metadata": metadata})

    def _apply(
        self, documents: Sequence[Document], results: list[EncodeResult]
    ) -> tuple[list[Document], dict[str, Any]]:
        """The rewritten documents and the event data of their summed savings."""
        total = EncodeResult("", 0, 0, 0, 0, 0)
        for result in results:
            total.add(result)
        out = [self._rewrite(document, result) for document, result in zip(documents, results)]
        data = encode_event_data(total, model=self.codec.model, source="KaizenDocumentCompressor")
        return out, data

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Encode the JSON in each document (``query`` does not filter anything).

        Through a Kaizen client the documents go out as one batch (concurrent, in order).
        """
        results = self.codec.encode_texts([document.page_content for document in documents])
        out, data = self._apply(documents, results)
        _emit_for(callbacks, data)
        return out

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Async :meth:`compress_documents`."""
        results = await self.codec.aencode_texts([document.page_content for document in documents])
        out, data = self._apply(documents, results)
        await _aemit_for(callbacks, data)
        return out


def _emit_for(callbacks: Callbacks | None, data: dict[str, Any]) -> None:
    """On the retriever's run when it passed its child callbacks; else as ``emit`` does."""
    if isinstance(callbacks, CallbackManager) and callbacks.parent_run_id and callbacks.handlers:
        callbacks.on_custom_event(ENCODE_EVENT, data, run_id=callbacks.parent_run_id)
        return
    emit(ENCODE_EVENT, data)


async def _aemit_for(callbacks: Callbacks | None, data: dict[str, Any]) -> None:
    """Async :func:`_emit_for`."""
    if (
        isinstance(callbacks, AsyncCallbackManager)
        and callbacks.parent_run_id
        and callbacks.handlers
    ):
        await callbacks.on_custom_event(ENCODE_EVENT, data, run_id=callbacks.parent_run_id)
        return
    if isinstance(callbacks, CallbackManager):
        _emit_for(callbacks, data)
        return
    await aemit(ENCODE_EVENT, data)
