"""What the provider wrappers are expected to send, stated through the engine itself.

The wrappers rewrite each prompt text with ``kaizen_core.engine.encode_json_blocks`` and the
encode options given to ``wrap`` (none by default). The tests build the expected text with
that same function (:func:`sent_text`) instead of spelling out the layout of an embedded
KTOF block by hand, and check what matters to the user with :func:`assert_carries`: the
sent text holds no JSON for the value, and a run of whole lines of it decodes back to the
value (so no prose is read as part of the block).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kaizen_core.engine import KTOFDecodeError, decode, encode_json_blocks, find_json_blocks

__all__ = ["WRAP_ENCODE_OPTIONS", "assert_carries", "ktof_lines_of", "sent_text"]

#: The encode options ``wrap(...)`` uses without ``encode_options=``.
WRAP_ENCODE_OPTIONS: Mapping[str, Any] = {}


def sent_text(text: str, **encode_options: Any) -> str:
    """``text`` as a wrapper sends it: its JSON blocks rewritten by the engine."""
    options = {**WRAP_ENCODE_OPTIONS, **encode_options}
    rewritten, _ = encode_json_blocks(text, **options)
    return rewritten


def ktof_lines_of(sent: str, value: Any) -> str | None:
    """The run of whole lines of ``sent`` that decodes to ``value`` (None when there is none)."""
    lines = sent.split("\n")
    for first in range(len(lines)):
        for last in range(first + 1, len(lines) + 1):
            block = "\n".join(lines[first:last])
            try:
                if decode(block) == value:
                    return block
            except KTOFDecodeError:
                continue
    return None


def assert_carries(sent: str, value: Any) -> None:
    """``sent`` carries ``value`` as KTOF on lines of its own, and not as JSON."""
    assert isinstance(value, (dict, list)) and value, "pass the JSON object or array itself"
    assert not any(block_value == value for _, _, block_value in find_json_blocks(sent)), sent
    assert ktof_lines_of(sent, value) is not None, f"no run of lines decodes to the value: {sent!r}"
