"""Offline token counting with ``bpe-openai`` (the o200k_base / cl100k_base vocabularies).

OpenAI model families map to their real encoding and give exact counts:

* ``o200k_base``: gpt-4o, chatgpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1, o3, o4 (and their dated or
  ``-mini``/``-nano`` variants);
* ``cl100k_base``: gpt-4 (not 4o/4.1/4.5), gpt-3.5, text-embedding-3, text-embedding-ada-002.

Any other model (Claude, Gemini, Llama, unknown names) gets an *estimate*: the o200k_base
count, labelled ``exact=False`` and ``encoding="estimate:o200k_base"``, never a silent
wrong count. Tokenizer objects are loaded once per encoding and cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "DEFAULT_MODEL",
    "ESTIMATE_ENCODING",
    "TokenCount",
    "count_tokens",
    "counter_for",
    "encoding_for_model",
]

DEFAULT_MODEL = "gpt-4o"
ESTIMATE_ENCODING = "o200k_base"

_O200K = re.compile(r"^(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4)(?:$|[-.:_])")
_CL100K = re.compile(
    r"^(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)(?:$|[-.:_])"
)
_PROVIDER_PREFIX = re.compile(r"^(?:openai|azure|azure_openai)[/:]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A token count for one text and model.

    Attributes:
        tokens: The number of tokens.
        exact: True when counted with the model's own tokenizer.
        encoding: The encoding used, ``"estimate:<encoding>"`` for estimates.
    """

    tokens: int
    exact: bool
    encoding: str


@lru_cache(maxsize=256)
def encoding_for_model(model: str | None) -> tuple[str, bool]:
    """Return ``(encoding name, exact)`` for a model name (``None`` means gpt-4o)."""
    name = _PROVIDER_PREFIX.sub("", (model or DEFAULT_MODEL).strip().lower())
    if _O200K.match(name):
        return "o200k_base", True
    if _CL100K.match(name):
        return "cl100k_base", True
    return ESTIMATE_ENCODING, False


@lru_cache(maxsize=8)
def _encoding(name: str) -> Any:
    # Imported on first count: loading bpe-openai takes about half a second, which a client
    # that only talks to a remote Kaizen service should not pay at ``import kaizen_core``.
    import bpe_openai

    return bpe_openai.get_encoding(name)


@lru_cache(maxsize=8)
def _counter(name: str) -> Callable[[str], int]:
    encoding = _encoding(name)
    backend = getattr(encoding, "_backend", None)
    count = getattr(backend, "count", None)
    if callable(count):
        return count  # the Rust counter: no id list is built
    return lambda text: len(encoding.encode_ordinary(text))


def counter_for(model: str | None) -> Callable[[str], int]:
    """A cached ``text -> token count`` function for ``model``'s encoding (or its estimate)."""
    return _counter(encoding_for_model(model)[0])


def count_tokens(text: str, model: str | None = DEFAULT_MODEL) -> TokenCount:
    """Count the tokens of ``text`` for ``model`` offline.

    Special-token text such as ``<|endoftext|>`` is counted as ordinary text.
    """
    encoding, exact = encoding_for_model(model)
    tokens = _counter(encoding)(text)
    return TokenCount(tokens, exact, encoding if exact else f"estimate:{encoding}")
