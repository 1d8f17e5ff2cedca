"""Token counts per dataset, representation and tokenizer, counted offline with ``bpe-openai``.

The benchmark counts with the tokenizers directly (not through the engine it measures), using
``encode_ordinary`` so text that looks like a special token is counted as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import bpe_openai

from benchmarks.datasets import Dataset
from benchmarks.formats import FORMATS, round_trip_ok, segments, tool_payloads

# Tokenizer -> the model name handed to the adaptive encoder for it.
TOKENIZERS: dict[str, str] = {"o200k_base": "gpt-4o", "cl100k_base": "gpt-4"}


@cache
def _encoding(name: str) -> Any:
    return bpe_openai.get_encoding(name)


def count(text: str, tokenizer: str) -> int:
    """Tokens of ``text`` under ``tokenizer`` (``o200k_base`` or ``cl100k_base``)."""
    return len(_encoding(tokenizer).encode_ordinary(text))


@dataclass
class TokenRow:
    """Token counts of one dataset for one tokenizer, and the round trip per representation."""

    dataset: str
    tokenizer: str
    tokens: dict[str, int]
    round_trip: dict[str, bool] = field(default_factory=dict)

    @property
    def best_baseline(self) -> int:
        """min(compact JSON, toon-format): what ours has to match or beat."""
        return min(self.tokens["compact_json"], self.tokens["toon"])

    @property
    def ours_meets_target(self) -> bool:
        return self.tokens["ours"] <= self.best_baseline


def measure_tokens(datasets: list[Dataset], formats: tuple[str, ...] = FORMATS) -> list[TokenRow]:
    """Count every dataset in every representation for every tokenizer, and check round trips."""
    rows = []
    for dataset in datasets:
        for tokenizer, model in TOKENIZERS.items():
            tokens = {
                fmt: sum(count(text, tokenizer) for text in segments(dataset, fmt, model=model))
                for fmt in formats
            }
            trips = {fmt: round_trip_ok(dataset, fmt, model=model) for fmt in formats}
            rows.append(TokenRow(dataset.name, tokenizer, tokens, trips))
    return rows


# The delimiters adaptive KTOF can write, as the report labels them.
DELIMITERS: dict[str, str] = {",": "`,`", "\t": "tab", "|": "`|`"}


@dataclass
class DelimiterRow:
    """Tokens of one dataset's adaptive KTOF written with each delimiter (no candidate search).

    ``blocks`` counts the values rendered (a transcript's tool payloads, else 1);
    ``pipe_fewest`` those where ``|`` has fewer tokens than both ``,`` and tab.
    """

    dataset: str
    tokenizer: str
    tokens: dict[str, int]
    blocks: int
    pipe_fewest: int


def measure_delimiters(datasets: list[Dataset]) -> list[DelimiterRow]:
    """Every dataset rendered by the adaptive renderer with each delimiter, counted.

    This is what ``format="auto"`` would write with that delimiter fixed (compact JSON and
    plain TOON, its other candidates, left out), so it shows whether ``|``, which the
    engine renders only when asked for, would ever have been the better choice.
    """
    from kaizen_core.engine.adaptive import render_auto
    from kaizen_core.engine.codec import normalize

    rows = []
    for dataset in datasets:
        values = [dataset.data] if dataset.kind == "value" else tool_payloads(dataset)
        texts = [
            {
                delimiter: render_auto(
                    normalize(value), indent=2, delimiter=delimiter, length_marker=False
                )
                for delimiter in DELIMITERS
            }
            for value in values
        ]
        for tokenizer in TOKENIZERS:
            counts = [
                {delimiter: count(text, tokenizer) for delimiter, text in block.items()}
                for block in texts
            ]
            tokens = {delimiter: sum(block[delimiter] for block in counts) for delimiter in DELIMITERS}
            pipe_fewest = sum(1 for block in counts if block["|"] < min(block[","], block["\t"]))
            rows.append(DelimiterRow(dataset.name, tokenizer, tokens, len(values), pipe_fewest))
    return rows
