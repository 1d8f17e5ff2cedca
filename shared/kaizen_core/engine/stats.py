"""Size and token statistics exactly as the Kaizen contract defines them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .codec import compact_json_text, normalize
from .tokens import count_tokens

__all__ = ["compact_json", "stats", "token_stats"]


def compact_json(value: Any) -> str:
    """``value`` as compact JSON (``separators=(",", ":")``, ``ensure_ascii=False``).

    Host values (sets, dataclasses, datetimes, NaN) are normalized first, the way the
    encoder sees them.
    """
    return compact_json_text(normalize(value))


def stats(original: Any, optimized_text: str) -> dict[str, Any]:
    """``original_length``, ``optimized_length``, ``reduction``, ``reduction_ratio``.

    ``original_length`` counts the characters of ``original`` as compact JSON;
    ``reduction_ratio`` is ``reduction / original_length`` (0 when that is 0).
    """
    original_length = len(compact_json(original))
    optimized_length = len(optimized_text)
    reduction = original_length - optimized_length
    return {
        "original_length": original_length,
        "optimized_length": optimized_length,
        "reduction": reduction,
        "reduction_ratio": reduction / original_length if original_length else 0,
    }


def _measure(text: str, model: str) -> dict[str, Any]:
    count = count_tokens(text, model)
    return {
        "tokens": count.tokens,
        "bytes": len(text.encode("utf-8")),
        "exact": count.exact,
        "encoding": count.encoding,
    }


def token_stats(original: Any, optimized_text: str, models: Iterable[str]) -> dict[str, Any]:
    """``{"raw": {model: {...}}, "optimized": {model: {...}}}`` for each model.

    Each entry holds ``tokens`` and ``bytes`` (UTF-8) as the contract defines, plus
    ``exact`` and ``encoding`` so an estimate is never mistaken for a real count.
    ``raw`` measures ``original`` as compact JSON.
    """
    raw_text = compact_json(original)
    names = list(dict.fromkeys(models))
    return {
        "raw": {model: _measure(raw_text, model) for model in names},
        "optimized": {model: _measure(optimized_text, model) for model in names},
    }
