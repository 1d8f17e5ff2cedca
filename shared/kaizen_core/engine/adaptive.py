"""Adaptive encoding (``format="auto"``): fewest tokens for the target model."""

from __future__ import annotations

import json
from typing import Any

from .auto_encoder import AutoEncoder
from .codec import encode_toon
from .errors import KTOFEncodeError
from .tokens import counter_for

__all__ = ["encode_adaptive", "render_auto"]


def render_auto(value: Any, *, indent: int, delimiter: str, length_marker: bool) -> str:
    encoder = AutoEncoder(indent, delimiter, length_marker)
    try:
        encoder.root(value)
    except RecursionError:
        raise KTOFEncodeError("Object is nested too deeply to encode") from None
    return "\n".join(encoder.lines)


def encode_adaptive(
    value: Any, *, indent: int, delimiter: str, length_marker: bool, model: str | None
) -> str:
    """Pick the cheapest of KTOF (``,`` ``\\t`` ``|``) and compact JSON for ``value``."""
    count = counter_for(model)
    candidates = [
        render_auto(value, indent=indent, delimiter=d, length_marker=length_marker)
        for d in dict.fromkeys((delimiter, ",", "\t", "|"))
    ]
    candidates.append(encode_toon(value, indent=indent, delimiter=delimiter, length_marker=length_marker))
    if isinstance(value, (dict, list)) and value:
        candidates.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return min(candidates, key=count)
