"""Offline token and cost estimates.

:func:`estimate_tokens` counts tokens with the engine's offline tokenizers (exact for OpenAI
encodings, a labelled estimate otherwise). :func:`estimate_cost` prices a token count from
:data:`PRICES`, a table of USD per million tokens that users extend with
:func:`register_price`. The shipped prices are list prices as published by the providers
(2025); check your own contract before relying on them.
"""

from __future__ import annotations

import re

import threading
from dataclasses import dataclass
from typing import Any, Literal

from .engine import TokenCount, compact_json, count_tokens


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per one million input and output tokens."""

    input_per_million: float
    output_per_million: float


PRICES: dict[str, ModelPrice] = {
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-5": ModelPrice(1.25, 10.00),
    "gpt-5-mini": ModelPrice(0.25, 2.00),
    "gpt-5-nano": ModelPrice(0.05, 0.40),
    "o3": ModelPrice(2.00, 8.00),
    "o4-mini": ModelPrice(1.10, 4.40),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-4": ModelPrice(30.00, 60.00),
    "gpt-3.5-turbo": ModelPrice(0.50, 1.50),
    "claude-opus-4": ModelPrice(15.00, 75.00),
    "claude-sonnet-4": ModelPrice(3.00, 15.00),
    "claude-3-7-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-5-sonnet": ModelPrice(3.00, 15.00),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00),
    "gemini-2.5-pro": ModelPrice(1.25, 10.00),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50),
    "gemini-2.0-flash": ModelPrice(0.10, 0.40),
}
_prices_lock = threading.Lock()


def register_price(model: str, input_per_million: float, output_per_million: float | None = None) -> None:
    """Add or replace the price of ``model`` (USD per million tokens; output defaults to input)."""
    if input_per_million < 0 or (output_per_million is not None and output_per_million < 0):
        raise ValueError("prices must be >= 0")
    output = input_per_million if output_per_million is None else output_per_million
    with _prices_lock:
        PRICES[model.strip().lower()] = ModelPrice(float(input_per_million), float(output))


#: What may follow a priced name and still be the same model: a snapshot date or number,
#: ``-latest``, or a provider's ``@version`` / ``:tag``.
_SNAPSHOT = re.compile(r"-\d[\d-]*|-latest|[@:].*")


def price_for(model: str) -> ModelPrice:
    """The price of ``model``: an exact entry, else the longest entry of which the name is a
    dated snapshot or alias (``gpt-4o-2024-08-06``, ``claude-sonnet-4-20250514``,
    ``claude-3-5-sonnet-latest``, ``name@version``, ``name:tag``). Another variant
    (``o3-mini``, ``gpt-4-32k``) is a different model with its own price: ``KeyError``
    until :func:`register_price` adds it."""
    name = model.strip().lower()
    for prefix in ("openai/", "anthropic/", "google/", "models/"):
        name = name.removeprefix(prefix)
    with _prices_lock:
        table = dict(PRICES)
    if name in table:
        return table[name]
    candidates = [
        key for key in table if name.startswith(key) and _SNAPSHOT.fullmatch(name[len(key) :])
    ]
    if not candidates:
        raise KeyError(f"no price for model {model!r}; add one with register_price()")
    return table[max(candidates, key=len)]


def estimate_tokens(text_or_obj: Any, model: str = "gpt-4o") -> TokenCount:
    """Tokens of a text (or of a JSON value as compact JSON) for ``model``, counted offline.

    ``TokenCount.exact`` tells whether ``model``'s own tokenizer was used.
    """
    text = text_or_obj if isinstance(text_or_obj, str) else compact_json(text_or_obj)
    return count_tokens(text, model)


def estimate_cost(
    tokens: int | TokenCount, model: str, *, kind: Literal["input", "output"] = "input"
) -> float:
    """USD cost of ``tokens`` input (or output) tokens for ``model`` from :data:`PRICES`."""
    count = tokens.tokens if isinstance(tokens, TokenCount) else int(tokens)
    if count < 0:
        raise ValueError("tokens must be >= 0")
    price = price_for(model)
    per_million = price.input_per_million if kind == "input" else price.output_per_million
    return count * per_million / 1_000_000


__all__ = ["PRICES", "ModelPrice", "estimate_cost", "estimate_tokens", "price_for", "register_price"]
