"""``KaizenNodePostprocessor``: retrieved nodes' JSON rewritten to KTOF before the LLM reads it."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from kaizen_llamaindex._encoding import (
    AnyKaizenClient,
    EncodingComponent,
    KaizenClient,
    KaizenTextEncoder,
    KTOFFormat,
    TextRewrite,
    off_the_loop,
)
from kaizen_llamaindex.instrumentation import emit_encode

__all__ = ["KaizenNodePostprocessor"]


class KaizenNodePostprocessor(EncodingComponent, BaseNodePostprocessor):
    """Rewrites JSON in retrieved nodes to KTOF, the Kaizen Token Optimized Format.

    A node whose whole text is a JSON object or array is encoded whole; JSON blocks embedded
    in prose are rewritten in place. A node is left as it is when the rewrite would not save
    at least ``min_savings_ratio`` of its tokens (and at least one token) for ``model``.

    Rewritten nodes are copies: ``id_``, metadata, excluded metadata keys, relationships,
    embedding and the ``NodeWithScore.score`` are kept; the original nodes are not modified,
    so the docstore and vector store still hold the JSON.

    Args:
        client: a ``KaizenSyncClient`` or ``KaizenClient``. Without one, clients are built
            from the environment like ``KaizenClient()`` (``KAIZEN_BASE_URL``,
            ``KAIZEN_API_KEY``, else the embedded engine in-process); :meth:`close` /
            :meth:`aclose` close those, never a client passed in.
        async_client: the ``KaizenClient`` for ``apostprocess_nodes`` when ``client`` is sync.
        model: whose tokenizer decides whether a rewrite saves tokens.
        format: KTOF output format ("auto" adaptive by default, or "toon").
        min_savings_ratio: keep a rewrite only when saved/original tokens >= this.
        fail_open: when the Kaizen service is unavailable (connection, timeout, 429, 5xx, 413
            after the client's retries) send the text unencoded with a logged warning; False
            raises. Configuration errors (bad key, bad option) always raise.
        max_concurrency: async path: how many nodes are encoded at once.
    """

    model: str = Field(default="gpt-4o", description="Model whose tokenizer counts savings.")
    format: KTOFFormat = Field(default="auto", description="KTOF output format.")
    min_savings_ratio: float = Field(default=0.0, ge=0.0, lt=1.0)
    fail_open: bool = Field(
        default=True,
        description="Send the text unencoded (and log a warning) when Kaizen is unavailable.",
    )
    max_concurrency: int = Field(default=8, ge=1)
    _encoder: KaizenTextEncoder = PrivateAttr()

    def __init__(
        self,
        client: AnyKaizenClient | None = None,
        *,
        async_client: KaizenClient | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._make_encoder(client, async_client)

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "KaizenNodePostprocessor"

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        """Rewrite each node's JSON to KTOF where that saves tokens (blocking)."""
        return [
            self._apply(item, self._encoder.rewrite(_node_text(item), model=self.model))
            for item in nodes
        ]

    async def _apostprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        """Rewrite each node's JSON to KTOF through the async client, nodes concurrently.

        When the nodes' text is large in all (the provider wrappers' 256 KB rule), parsing
        and token counting run in worker threads, so the event loop is not stalled.
        """
        limit = asyncio.Semaphore(self.max_concurrency)
        texts = [_node_text(item) for item in nodes]
        in_thread = off_the_loop(texts)

        async def one(item: NodeWithScore, text: str) -> NodeWithScore:
            async with limit:
                rewrite = await self._encoder.arewrite(text, model=self.model, in_thread=in_thread)
            return self._apply(item, rewrite)

        return list(await asyncio.gather(*(one(item, text) for item, text in zip(nodes, texts))))

    def _apply(self, item: NodeWithScore, rewrite: TextRewrite) -> NodeWithScore:
        if not rewrite.applied:
            return item
        # A deep copy: the docstore keeps its node, and later postprocessors that edit
        # metadata in place cannot reach back into it.
        node = item.node.model_copy(deep=True)
        node.set_content(rewrite.text)
        emit_encode(rewrite, source="postprocessor", model=self.model, node_id=node.node_id)
        return NodeWithScore(node=node, score=item.score)


def _node_text(item: NodeWithScore) -> str:
    return item.node.get_content(metadata_mode=MetadataMode.NONE)
