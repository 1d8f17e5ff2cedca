"""Adaptive encoding (``format="auto"``): fewest tokens for the target model."""

from __future__ import annotations

import json
from typing import Any

from .codec import encode_toon
from .tokens import counter_for

__all__ = ["encode_adaptive"]


def encode_adaptive(
    value: Any, *, indent: int, delimiter: str, length_marker: bool, model: str | None
) -> str:
    """Pick the cheapest of KTOF (``,`` ``\\t`` ``|``) and compact JSON for ``value``."""
    count = counter_for(model)
    candidates = [
        encode_toon(value, indent=indent, delimiter=d, length_marker=length_marker)
        for d in dict.fromkeys((delimiter, ",", "\t", "|"))
    ]
    if isinstance(value, (dict, list)) and value:
        candidates.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return min(candidates, key=count)
