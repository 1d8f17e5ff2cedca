"""Offline token counts, the contract's stats and token_stats."""

from __future__ import annotations

import json

import pytest
from kaizen_core.engine import compact_json, count_tokens, encode, stats, token_stats


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o1-preview", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
    ],
)
def test_openai_models_are_counted_exactly(model: str, encoding: str) -> None:
    count = count_tokens("Hello, world! 你好", model)
    assert count.exact is True
    assert count.encoding == encoding


def test_known_counts() -> None:
    assert count_tokens("hello world", "gpt-4o").tokens == 2
    text = "users[2]{id,name}:\n  1,Ada\n  2,Bob"
    o200k = count_tokens(text, "gpt-4o").tokens
    cl100k = count_tokens(text, "gpt-4").tokens
    assert o200k > 5 and cl100k > 5
    assert count_tokens("", "gpt-4o").tokens == 0


@pytest.mark.parametrize(
    "model", ["claude-3-5-sonnet", "gemini-1.5-pro", "llama-3", "o100", "gpt4o"]
)
def test_other_models_get_a_labelled_estimate(model: str) -> None:
    count = count_tokens("hello world", model)
    assert count.exact is False
    assert count.encoding == "estimate:o200k_base"
    assert count.tokens == count_tokens("hello world", "gpt-4o").tokens


def test_stats_follow_the_contract() -> None:
    data = {"name": "Zoë", "tags": ["a", "b"]}
    text = encode(data)
    original = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    assert stats(data, text) == {
        "original_length": len(original),
        "optimized_length": len(text),
        "reduction": len(original) - len(text),
        "reduction_ratio": (len(original) - len(text)) / len(original),
    }
    assert stats("", "")["reduction_ratio"] == 1.0  # the original is '""', two characters
    assert compact_json({"s": {1, 2}}) == '{"s":[1,2]}'


def test_token_stats_shape() -> None:
    data = {"users": [{"id": i, "name": f"user{i}"} for i in range(20)]}
    text = encode(data)
    result = token_stats(data, text, ["gpt-4o", "gpt-4", "claude-3-haiku"])
    assert set(result) == {"raw", "optimized"}
    raw, optimized = result["raw"], result["optimized"]
    assert raw["gpt-4o"]["tokens"] == count_tokens(compact_json(data), "gpt-4o").tokens
    assert optimized["gpt-4"]["tokens"] == count_tokens(text, "gpt-4").tokens
    assert optimized["gpt-4o"]["bytes"] == len(text.encode())
    assert optimized["gpt-4o"]["tokens"] < raw["gpt-4o"]["tokens"]
    assert raw["claude-3-haiku"]["exact"] is False
