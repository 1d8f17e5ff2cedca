"""Kaizen events on LlamaIndex's instrumentation dispatcher, and a handler that sums savings.

Every time a Kaizen component rewrites text to KTOF it emits one :class:`KaizenEncodeEvent`;
every time KTOF is read back it emits one :class:`KaizenDecodeEvent`. Both go through
LlamaIndex's dispatcher (``get_dispatcher("kaizen_llamaindex")``), so they propagate to the
root dispatcher like LlamaIndex's own events and reach any handler attached there::

    from llama_index.core.instrumentation import get_dispatcher
    from kaizen_llamaindex import KaizenSavingsHandler

    savings = KaizenSavingsHandler()
    get_dispatcher().add_event_handler(savings)
    ...
    savings.tokens_saved, savings.by_model["gpt-4o"].tokens_saved
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.bridge.pydantic import BaseModel, PrivateAttr
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent

if TYPE_CHECKING:
    from kaizen_llamaindex._encoding import TextRewrite

__all__ = [
    "KaizenDecodeEvent",
    "KaizenEncodeEvent",
    "KaizenSavingsHandler",
    "ModelSavings",
    "dispatcher",
]

dispatcher = get_dispatcher("kaizen_llamaindex")

EncodeSource = Literal["postprocessor", "llm"]


class KaizenEncodeEvent(BaseEvent):
    """One piece of text (a node's content or a message block) rewritten to KTOF.

    Token counts are for ``model``'s tokenizer; ``exact`` is False when the count is an
    estimate (models whose tokenizer is not available offline).
    """

    source: EncodeSource
    model: str
    original_tokens: int
    encoded_tokens: int
    original_chars: int
    encoded_chars: int
    exact: bool = True
    whole_json: bool = False
    embedded_blocks: int = 0
    node_id: str | None = None

    @property
    def tokens_saved(self) -> int:
        """Prompt tokens this rewrite saved (never negative: only savings are applied)."""
        return self.original_tokens - self.encoded_tokens

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "KaizenEncodeEvent"


class KaizenDecodeEvent(BaseEvent):
    """KTOF (or JSON) model output read back into a value by ``KaizenOutputParser``."""

    input_format: Literal["ktof", "json"]
    input_chars: int
    value_type: str

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "KaizenDecodeEvent"


class ModelSavings(BaseModel):
    """Running totals for one model."""

    encodes: int = 0
    original_tokens: int = 0
    encoded_tokens: int = 0

    @property
    def tokens_saved(self) -> int:
        """Tokens saved across all encodes for this model."""
        return self.original_tokens - self.encoded_tokens

    @property
    def savings_ratio(self) -> float:
        """Saved tokens / original tokens (0.0 before anything was encoded)."""
        return self.tokens_saved / self.original_tokens if self.original_tokens else 0.0


class KaizenSavingsHandler(BaseEventHandler):
    """Aggregates :class:`KaizenEncodeEvent` token savings per model; counts decodes.

    Thread-safe: events may arrive from worker threads (``asyncio.to_thread``) and the
    event loop at once.
    """

    decodes: int = 0
    _by_model: dict[str, ModelSavings] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "KaizenSavingsHandler"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Add an encode event's tokens to its model's totals; count decode events."""
        if isinstance(event, KaizenEncodeEvent):
            with self._lock:
                totals = self._by_model.setdefault(event.model, ModelSavings())
                totals.encodes += 1
                totals.original_tokens += event.original_tokens
                totals.encoded_tokens += event.encoded_tokens
        elif isinstance(event, KaizenDecodeEvent):
            with self._lock:
                self.decodes += 1

    @property
    def by_model(self) -> dict[str, ModelSavings]:
        """A snapshot of the per-model totals."""
        with self._lock:
            return {name: totals.model_copy() for name, totals in self._by_model.items()}

    @property
    def tokens_saved(self) -> int:
        """Tokens saved over all models."""
        return sum(totals.tokens_saved for totals in self.by_model.values())

    @property
    def encodes(self) -> int:
        """Number of encode events seen over all models."""
        return sum(totals.encodes for totals in self.by_model.values())

    def reset(self) -> None:
        """Forget all totals."""
        with self._lock:
            self._by_model.clear()
            self.decodes = 0


def emit(event: BaseEvent) -> None:
    """Send ``event`` through the Kaizen dispatcher (and, by propagation, the root one)."""
    dispatcher.event(event)


def emit_encode(
    rewrite: TextRewrite, *, source: EncodeSource, model: str, node_id: str | None = None
) -> None:
    """Emit the :class:`KaizenEncodeEvent` of an applied ``rewrite``."""
    emit(
        KaizenEncodeEvent(
            source=source,
            model=model,
            original_tokens=rewrite.original_tokens,
            encoded_tokens=rewrite.encoded_tokens,
            original_chars=len(rewrite.original),
            encoded_chars=len(rewrite.text),
            exact=rewrite.exact,
            whole_json=rewrite.whole_json,
            embedded_blocks=rewrite.embedded_blocks,
            node_id=node_id,
        )
    )
