"""estimate_tokens (offline, exact for OpenAI encodings) and estimate_cost (extendable prices)."""

from __future__ import annotations

import pytest
from kaizen_core import PRICES, estimate_cost, estimate_tokens, register_price
from kaizen_core.engine import compact_json, count_tokens, encode
from kaizen_core.estimates import price_for

ROWS = [{"id": i, "name": f"user-{i}", "active": i % 2 == 0} for i in range(50)]


def test_text_is_counted_exactly_for_openai_models() -> None:
    count = estimate_tokens("Hello, world! KTOF saves tokens.", "gpt-4o")
    assert count.exact and count.encoding == "o200k_base"
    assert count.tokens == count_tokens("Hello, world! KTOF saves tokens.", "gpt-4o").tokens
    assert estimate_tokens("hello", "gpt-4").encoding == "cl100k_base"


def test_objects_are_counted_as_compact_json_and_ktof_is_smaller() -> None:
    as_json = estimate_tokens(ROWS, "gpt-4o")
    assert as_json.tokens == count_tokens(compact_json(ROWS), "gpt-4o").tokens
    assert estimate_tokens(encode(ROWS), "gpt-4o").tokens < as_json.tokens


def test_other_models_get_a_labelled_estimate() -> None:
    count = estimate_tokens("hello there", "claude-sonnet-4")
    assert not count.exact and count.encoding.startswith("estimate:")


def test_cost_from_the_table() -> None:
    assert estimate_cost(1_000_000, "gpt-4o") == pytest.approx(PRICES["gpt-4o"].input_per_million)
    assert estimate_cost(2_000, "gpt-4o", kind="output") == pytest.approx(2_000 * 10.0 / 1e6)
    assert estimate_cost(estimate_tokens("abc", "gpt-4o-mini"), "gpt-4o-mini") > 0
    # Dated and provider-prefixed names find their family; the longest prefix wins.
    assert price_for("gpt-4o-2024-08-06") == PRICES["gpt-4o"]
    assert price_for("openai/gpt-4o-mini-2024-07-18") == PRICES["gpt-4o-mini"]
    assert price_for("claude-sonnet-4-20250514") == PRICES["claude-sonnet-4"]
    assert price_for("claude-3-5-sonnet-latest") == PRICES["claude-3-5-sonnet"]
    # a variant is another model with another price, never its family's price in silence
    for variant in ("o3-mini", "gpt-4-32k", "gpt-4.5-preview"):
        with pytest.raises(KeyError, match="register_price"):
            price_for(variant)
    with pytest.raises(KeyError, match="register_price"):
        estimate_cost(10, "my-local-llama")
    with pytest.raises(ValueError):
        estimate_cost(-1, "gpt-4o")


def test_users_extend_the_table() -> None:
    register_price("my-local-llama", 0.2, 0.4)
    try:
        assert estimate_cost(1_000_000, "my-local-llama-2025-01-01") == pytest.approx(0.2)
        assert estimate_cost(1_000_000, "My-Local-Llama", kind="output") == pytest.approx(0.4)
    finally:
        PRICES.pop("my-local-llama", None)
    with pytest.raises(ValueError):
        register_price("x", -1)
