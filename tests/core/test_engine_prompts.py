"""Prompt encoding: structured prompts, JSON embedded in text, and the contract's meta keys."""

from __future__ import annotations

import json

import pytest
from kaizen_core.engine import (
    KTOFOptionError,
    decode,
    encode,
    encode_json_blocks,
    encode_prompt,
    find_json_blocks,
)

USERS = {"users": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "Cy"}]}


def test_structured_prompt_is_encoded_whole() -> None:
    result, meta = encode_prompt(USERS)
    assert result == encode(USERS)
    assert meta == {}
    assert decode(result) == USERS


def test_string_prompt_with_embedded_json() -> None:
    block = json.dumps(USERS, indent=2)
    prompt = f"Summarise these users:\n{block}\nBe brief."
    result, meta = encode_prompt(prompt)
    start = prompt.index("{")
    assert result == prompt[:start] + encode(USERS) + "\nBe brief."
    assert meta["auto_detected_json"] is True
    assert meta["auto_detection_applied"] is True
    assert meta["embedded_json_count"] == 1
    assert meta["segments_schema"] == "text_with_ktof"
    (replacement,) = meta["replacements"]
    assert replacement["start_offset"] == start
    assert replacement["end_offset"] == start + len(block)
    assert replacement["original_length"] == len(block)
    assert replacement["encoded_length"] == len(encode(USERS))
    assert replacement["original_preview"] == block[:80]
    assert replacement["encoded_preview"] == encode(USERS)[:80]


def test_string_prompt_without_json_keeps_the_plain_encode() -> None:
    prompt = "Just a question: what is 2 + 2?"
    result, meta = encode_prompt(prompt)
    assert result == encode(prompt)
    assert decode(result) == prompt
    assert meta == {
        "auto_detected_json": False,
        "embedded_json_count": 0,
        "auto_detection_applied": False,
    }


def test_auto_detection_can_be_disabled() -> None:
    prompt = f"data: {json.dumps(USERS)}"
    result, meta = encode_prompt(prompt, auto_detect_json=False)
    assert result == encode(prompt)
    assert meta == {}


def test_encode_options_reach_the_blocks() -> None:
    prompt = f"rows: {json.dumps(USERS)}"
    result, _ = encode_prompt(prompt, delimiter="|", length_marker=True, indent=1)
    assert result == "rows: " + encode(USERS, delimiter="|", length_marker=True, indent=1)
    with pytest.raises(KTOFOptionError):
        encode_prompt(prompt, delimiter=";")


def test_json_block_detection_rules() -> None:
    text = 'a {"x": 1} b [1, 2] c{"no": 1} [not json] {} x=[{"k": "v"}].'
    spans = [(s, e) for s, e, _ in find_json_blocks(text)]
    assert [text[s:e] for s, e in spans] == ['{"x": 1}', "[1, 2]", '[{"k": "v"}]']


def test_blocks_that_would_grow_are_left_alone() -> None:
    text = 'tiny ["a"] and big ' + json.dumps(USERS, indent=2)
    rewritten, replacements = encode_json_blocks(text)
    assert rewritten.startswith('tiny ["a"] and big ')
    assert len(replacements) == 1
    assert rewritten.endswith(encode(USERS))


def test_auto_format_blocks_decode_back() -> None:
    tool_json = {"status": "ok", "results": USERS["users"], "meta": {"page": 1, "more": False}}
    text = f"Tool said: {json.dumps(tool_json)}"
    rewritten, replacements = encode_json_blocks(text, format="auto", model="gpt-4o")
    (replacement,) = replacements
    assert decode(rewritten[replacement["start_offset"] :]) == tool_json
