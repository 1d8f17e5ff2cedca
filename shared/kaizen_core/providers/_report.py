"""What a wrapped call reports: :class:`KaizenCallInfo`, attached to the vendor's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["KaizenCallInfo", "attach_info", "kaizen_info"]

_ATTRIBUTE = "kaizen"


@dataclass
class KaizenCallInfo:
    """Savings (and the optional decoded answer) of one wrapped vendor call.

    Counts cover the texts Kaizen rewrote (message texts, system prompt, tool results that
    held JSON); texts left alone count on neither side. Tokens are counted offline with the
    tokenizer of ``model`` (exact for OpenAI models, a labelled estimate otherwise:
    ``tokens_exact`` is then False).

    Attributes:
        provider: ``"openai"``, ``"anthropic"`` or ``"gemini"``.
        model: the model the call named.
        texts_seen: texts that could hold JSON and were offered to Kaizen.
        texts_rewritten: texts that came back shorter and were sent rewritten.
        json_blocks: JSON objects/arrays re-encoded as KTOF.
        original_chars / compressed_chars: characters of the rewritten texts before/after.
        original_tokens / compressed_tokens: tokens of the rewritten texts before/after.
        tokens_exact: whether the token counts come from the model's own tokenizer.
        decoded: the answer decoded from KTOF (``decode_response=True``, non-streaming calls,
            answers that decode to an object or array); None otherwise.
        decode_error: why the answer was not decoded, when decoding was asked for.
    """

    provider: str
    model: str | None = None
    texts_seen: int = 0
    texts_rewritten: int = 0
    json_blocks: int = 0
    original_chars: int = 0
    compressed_chars: int = 0
    original_tokens: int = 0
    compressed_tokens: int = 0
    tokens_exact: bool = True
    decoded: Any = None
    decode_error: str | None = None
    replacements: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def saved_chars(self) -> int:
        """Characters the rewrite removed from the prompt."""
        return self.original_chars - self.compressed_chars

    @property
    def saved_tokens(self) -> int:
        """Tokens the rewrite removed from the prompt."""
        return self.original_tokens - self.compressed_tokens

    @property
    def reduction_ratio(self) -> float:
        """``saved_tokens / original_tokens`` (0 when nothing was rewritten)."""
        return self.saved_tokens / self.original_tokens if self.original_tokens else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The counts as a plain dict (for logs and metrics)."""
        return {
            "provider": self.provider,
            "model": self.model,
            "texts_seen": self.texts_seen,
            "texts_rewritten": self.texts_rewritten,
            "json_blocks": self.json_blocks,
            "original_chars": self.original_chars,
            "compressed_chars": self.compressed_chars,
            "saved_chars": self.saved_chars,
            "original_tokens": self.original_tokens,
            "compressed_tokens": self.compressed_tokens,
            "saved_tokens": self.saved_tokens,
            "reduction_ratio": self.reduction_ratio,
            "tokens_exact": self.tokens_exact,
        }


def attach_info(result: Any, info: KaizenCallInfo) -> Any:
    """Set ``result.kaizen = info`` without touching the vendor model's fields.

    ``object.__setattr__`` bypasses pydantic's field handling, so the attribute does not
    show up in ``model_dump()`` / ``to_json()`` of the vendor's response object.
    """
    try:
        object.__setattr__(result, _ATTRIBUTE, info)
    except (AttributeError, TypeError):
        pass  # objects with __slots__ and no __dict__: the info stays reachable via the stream
    return result


def kaizen_info(result: Any) -> KaizenCallInfo | None:
    """The :class:`KaizenCallInfo` a wrapped call attached to ``result`` (typed access)."""
    info = getattr(result, _ATTRIBUTE, None)
    return info if isinstance(info, KaizenCallInfo) else None
