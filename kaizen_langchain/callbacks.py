"""Savings accounting: the ``kaizen_encode`` / ``kaizen_decode`` events and their totals.

Every Kaizen component reports each encode (and each decode) as a LangChain custom event
(``dispatch_custom_event`` semantics: the event belongs to the run that did the work, so it
shows up in ``astream_events`` and traces). :class:`KaizenCallbackHandler` sums them;
``with kaizen_usage() as usage:`` registers one for everything run inside the block, like
``get_openai_callback``, through a context variable that LangChain's callback
configuration picks up (``register_configure_hook``), so it follows async tasks and the
threads LangChain starts (``batch``, executors copy the context).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from kaizen_core import estimate_cost
from kaizen_core.estimates import _SNAPSHOT
from langchain_core.callbacks import (
    AsyncCallbackManager,
    BaseCallbackHandler,
    CallbackManager,
)
from langchain_core.runnables.config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
)
from langchain_core.tracers.context import register_configure_hook

from ._codec import EncodeResult

__all__ = [
    "DECODE_EVENT",
    "ENCODE_EVENT",
    "KaizenCallbackHandler",
    "ModelSavings",
    "encode_event_data",
    "kaizen_usage",
]

ENCODE_EVENT = "kaizen_encode"
DECODE_EVENT = "kaizen_decode"


def _cost(tokens: int, model: str, prices: dict[str, float]) -> float:
    """USD for ``tokens`` input tokens: the handler's own prices first, then the core's
    price table (``kaizen_core.estimate_cost``); 0 for a model nobody prices (or when
    the tokens are negative, i.e. the encode cost tokens)."""
    if tokens <= 0:
        return 0.0
    name = model.strip().lower()
    for key in sorted(prices, key=len, reverse=True):
        # the same rule as the core's table: the model itself, or a dated snapshot/alias
        # of it; another variant (``gpt-4o-mini`` for ``gpt-4o``) is not priced by it
        if name == key or (name.startswith(key) and _SNAPSHOT.fullmatch(name[len(key) :])):
            return tokens * prices[key] / 1e6
    try:
        return estimate_cost(tokens, model)
    except KeyError:
        return 0.0


def encode_event_data(result: EncodeResult, *, model: str, source: str) -> dict[str, Any]:
    """The payload of one ``kaizen_encode`` event."""
    return {
        "source": source,
        "model": model,
        "blocks": result.blocks,
        "original_chars": result.original_chars,
        "optimized_chars": result.optimized_chars,
        "original_tokens": result.original_tokens,
        "optimized_tokens": result.optimized_tokens,
        "tokens_saved": result.tokens_saved,
    }


@dataclass
class ModelSavings:
    """Totals for one model."""

    encodes: int = 0
    decodes: int = 0
    original_tokens: int = 0
    optimized_tokens: int = 0
    original_chars: int = 0
    optimized_chars: int = 0
    cost_saved_usd: float = 0.0

    @property
    def tokens_saved(self) -> int:
        return self.original_tokens - self.optimized_tokens


@dataclass
class _Totals:
    per_model: dict[str, ModelSavings] = field(default_factory=dict)


class KaizenCallbackHandler(BaseCallbackHandler):
    """Sums the ``kaizen_encode`` and ``kaizen_decode`` events it sees. Thread-safe.

    Attributes (totals over all models): ``encodes``, ``decodes``, ``original_tokens``,
    ``optimized_tokens``, ``tokens_saved``, ``cost_saved_usd``; ``per_model`` holds a
    :class:`ModelSavings` per model name; ``events`` the raw event payloads.
    """

    raise_error: bool = True
    run_inline: bool = True

    def __init__(
        self,
        *,
        prices: dict[str, float] | None = None,
        parent: KaizenCallbackHandler | None = None,
    ) -> None:
        super().__init__()
        self.prices = {k.lower(): v for k, v in (prices or {}).items()}
        self.parent = parent
        self.events: list[dict[str, Any]] = []
        self._totals = _Totals()
        self._lock = threading.Lock()

    # -- LangChain hook --------------------------------------------------------------
    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Count Kaizen events; ignore every other custom event."""
        if name in (ENCODE_EVENT, DECODE_EVENT) and isinstance(data, dict):
            self.record(name, data)

    # -- recording -------------------------------------------------------------------
    def record(self, name: str, data: dict[str, Any]) -> None:
        """Add one event payload (also forwarded to an enclosing ``kaizen_usage``)."""
        model = str(data.get("model") or "unknown")
        with self._lock:
            self.events.append({"event": name, **data})
            savings = self._totals.per_model.setdefault(model, ModelSavings())
            if name == DECODE_EVENT:
                savings.decodes += 1
            else:
                savings.encodes += 1
                original = int(data.get("original_tokens") or 0)
                optimized = int(data.get("optimized_tokens") or 0)
                savings.original_tokens += original
                savings.optimized_tokens += optimized
                savings.original_chars += int(data.get("original_chars") or 0)
                savings.optimized_chars += int(data.get("optimized_chars") or 0)
                savings.cost_saved_usd += _cost(original - optimized, model, self.prices)
        if self.parent is not None:
            self.parent.record(name, data)

    # -- totals ----------------------------------------------------------------------
    @property
    def per_model(self) -> dict[str, ModelSavings]:
        with self._lock:
            return {k: ModelSavings(**vars(v)) for k, v in self._totals.per_model.items()}

    def _sum(self, attribute: str) -> Any:
        return sum(getattr(s, attribute) for s in self.per_model.values())

    @property
    def encodes(self) -> int:
        return self._sum("encodes")

    @property
    def decodes(self) -> int:
        return self._sum("decodes")

    @property
    def original_tokens(self) -> int:
        return self._sum("original_tokens")

    @property
    def optimized_tokens(self) -> int:
        return self._sum("optimized_tokens")

    @property
    def tokens_saved(self) -> int:
        return self._sum("tokens_saved")

    @property
    def cost_saved_usd(self) -> float:
        return self._sum("cost_saved_usd")

    def __repr__(self) -> str:
        return (
            f"KaizenCallbackHandler(encodes={self.encodes}, decodes={self.decodes}, "
            f"original_tokens={self.original_tokens}, optimized_tokens={self.optimized_tokens}, "
            f"tokens_saved={self.tokens_saved}, cost_saved_usd={self.cost_saved_usd:.6f})"
        )


_usage_var: ContextVar[KaizenCallbackHandler | None] = ContextVar("kaizen_usage", default=None)
register_configure_hook(_usage_var, inheritable=True)


@contextmanager
def kaizen_usage(*, prices: dict[str, float] | None = None) -> Iterator[KaizenCallbackHandler]:
    """Count Kaizen savings for everything run inside the block.

    >>> with kaizen_usage() as usage:          # doctest: +SKIP
    ...     chain.invoke(data)
    ... usage.tokens_saved

    Nested blocks each see their own calls; an outer block also sees the inner ones.
    """
    handler = KaizenCallbackHandler(prices=prices, parent=_usage_var.get())
    token = _usage_var.set(handler)
    try:
        yield handler
    finally:
        _usage_var.reset(token)


def _manager_for(run_manager: Any, manager_class: type) -> Any:
    return manager_class(
        handlers=list(run_manager.handlers),
        inheritable_handlers=list(run_manager.inheritable_handlers),
        parent_run_id=run_manager.run_id,
        tags=list(run_manager.tags),
        inheritable_tags=list(run_manager.inheritable_tags),
        metadata=dict(run_manager.metadata),
        inheritable_metadata=dict(run_manager.inheritable_metadata),
    )


def _usage_handler_record(name: str, data: dict[str, Any]) -> None:
    handler = _usage_var.get()
    if handler is not None:
        handler.record(name, data)


def emit(name: str, data: dict[str, Any], run_manager: Any | None = None) -> None:
    """Report an event on the run that did the work.

    Without a run manager (``BaseChatModel.stream`` does not hand one to ``_stream``), the
    event goes to the enclosing run of the current context, as ``dispatch_custom_event``
    does; with no run at all, straight to the active ``kaizen_usage`` handler.
    """
    if run_manager is not None:
        if run_manager.handlers:
            _manager_for(run_manager, CallbackManager).on_custom_event(
                name, data, run_id=run_manager.run_id
            )
        return
    manager = get_callback_manager_for_config(ensure_config())
    if manager.parent_run_id is not None and manager.handlers:
        manager.on_custom_event(name, data, run_id=manager.parent_run_id)
        return
    _usage_handler_record(name, data)


async def aemit(name: str, data: dict[str, Any], run_manager: Any | None = None) -> None:
    """Async :func:`emit` (for async run managers)."""
    if run_manager is not None:
        if run_manager.handlers:
            await _manager_for(run_manager, AsyncCallbackManager).on_custom_event(
                name, data, run_id=run_manager.run_id
            )
        return
    manager = get_async_callback_manager_for_config(ensure_config())
    if manager.parent_run_id is not None and manager.handlers:
        await manager.on_custom_event(name, data, run_id=manager.parent_run_id)
        return
    _usage_handler_record(name, data)
