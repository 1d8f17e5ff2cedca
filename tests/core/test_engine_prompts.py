"""Prompt encoding: structured prompts, JSON embedded in text, and the contract's meta keys."""

from __future__ import annotations

import json
from typing import Any

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
    assert result == "rows: \n" + encode(USERS, delimiter="|", length_marker=True, indent=1)
    with pytest.raises(KTOFOptionError):
        encode_prompt(prompt, delimiter=";")


def test_json_block_detection_rules() -> None:
    text = 'a {"x": 1} b [1, 2] c{"no": 1} [not json] {} x=[{"k": "v"}].\n{"y": 2}'
    spans = [(s, e) for s, e, _ in find_json_blocks(text)]
    # {"x": 1} is an object without arrays in the middle of a line of prose: it stays
    assert [text[s:e] for s, e in spans] == ["[1, 2]", '[{"k": "v"}]', '{"y": 2}']


def test_blocks_that_would_grow_are_left_alone() -> None:
    text = 'tiny ["a"] and big ' + json.dumps(USERS, indent=2)
    rewritten, replacements = encode_json_blocks(text)
    assert rewritten.startswith('tiny ["a"] and big ')
    assert len(replacements) == 1
    assert rewritten.endswith(encode(USERS))


@pytest.mark.parametrize("fmt", ["toon", "auto"])
def test_a_block_nested_too_deeply_to_encode_is_left_as_it_is(fmt: str) -> None:
    deep = "[" * 600 + "1" + "]" * 600  # valid JSON, deeper than the encoder recurses
    users = json.dumps(USERS, indent=2)
    prompt = f"First:\n{deep}\nthen:\n{users}\nDone."
    assert len(find_json_blocks(prompt)) == 2
    with pytest.raises(ValueError):
        encode(json.loads(deep), format=fmt)
    text, replacements = encode_json_blocks(prompt, format=fmt)
    assert deep in text and users not in text
    assert [r["original_length"] for r in replacements] == [len(users)]
    assert decode(text[text.index("then:\n") + 6 : text.index("\nDone.")]) == USERS


def test_auto_format_blocks_decode_back() -> None:
    tool_json = {"status": "ok", "results": USERS["users"], "meta": {"page": 1, "more": False}}
    text = f"Tool said: {json.dumps(tool_json)}"
    rewritten, replacements = encode_json_blocks(text, format="auto", model="gpt-4o")
    (replacement,) = replacements
    assert decode(rewritten[replacement["start_offset"] :]) == tool_json


SHIPMENTS = [
    {"id": "P7", "weight": 8.5, "region": "north"},
    {"id": "P8", "weight": 3.25, "region": "south"},
]


def test_prose_after_a_table_gets_its_own_line() -> None:
    """Text after a multi-line rewrite on the same line must not read as part of the last row."""
    text = f"Parcels: {json.dumps(SHIPMENTS)} All north parcels arrive Monday."
    rewritten, (replacement,) = encode_json_blocks(text)
    table = encode(SHIPMENTS)
    assert rewritten == f"Parcels: \n{table}\n All north parcels arrive Monday."
    assert rewritten.splitlines()[-2] == "  P8,3.25,south"
    assert replacement["encoded_length"] == len(table) + 2  # the newlines around it
    assert replacement["end_offset"] == text.index(" All")


def test_table_header_starts_its_own_line() -> None:
    rewritten, _ = encode_json_blocks(f"Data={json.dumps(USERS)}")
    assert rewritten == "Data=\n" + encode(USERS)
    assert rewritten.splitlines()[1].startswith("users[3]{id,name}:")


@pytest.mark.parametrize(
    "template",
    [
        "Rows:\n{block}\nDone.",  # already on lines of its own
        "{block}",  # the whole text
        "Rows:\n{block}   \n",  # only whitespace after it on its line
        "  {block}\nnext",  # only indentation before it on its line
    ],
)
def test_no_newline_is_added_where_the_block_has_its_lines(template: str) -> None:
    block = json.dumps(USERS)
    text = template.format(block=block)
    rewritten, _ = encode_json_blocks(text)
    assert rewritten == text.replace(block, encode(USERS))


def test_single_line_rewrites_stay_inline() -> None:
    text = 'Tags: {"tags": ["red", "green", "blue"]} as listed.'
    rewritten, (replacement,) = encode_json_blocks(text)
    assert rewritten == "Tags: tags[3]: red,green,blue as listed."
    assert replacement["encoded_length"] == len("tags[3]: red,green,blue")


def test_rewrites_with_newlines_decode_back_in_auto_format() -> None:
    text = f"See {json.dumps(USERS)} and {json.dumps(SHIPMENTS)}; thanks"
    rewritten, replacements = encode_json_blocks(text, format="auto")
    assert len(replacements) == 2
    prefix, rest = rewritten.split("\n", 1)
    assert prefix == "See "
    users, shipments = rest.removesuffix("\n; thanks").split("\n and \n")
    assert decode(users) == USERS and decode(shipments) == SHIPMENTS


ROWS = '[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "Cy"}]'


@pytest.mark.parametrize(
    "number",
    ["1e400", "-1e400", "1e-400", "0.123456789012345678", "12345678901234567.89", "NaN"],
)
def test_a_block_with_a_number_the_rewrite_would_change_is_left_whole(number: str) -> None:
    prompt = f'Readings: {{"reading": {number}, "rows": {ROWS}}} thanks'
    assert find_json_blocks(prompt) == []
    assert encode_json_blocks(prompt) == (prompt, [])  # the rows inside stay JSON too


@pytest.mark.parametrize("number", ["1.5", "2.25e3", "-0.0", "0.1", "123456789012345678901234"])
def test_numbers_a_float_or_int_holds_as_written_are_rewritten(number: str) -> None:
    prompt = f'Readings: {{"reading": {number}, "rows": {ROWS}}}'
    [(_, _, value)] = find_json_blocks(prompt)
    assert value["reading"] == json.loads(number)
    text, [_] = encode_json_blocks(prompt)
    assert decode(text[len("Readings: ") :]) == value


def test_nothing_inside_json_that_does_not_parse_is_rewritten() -> None:
    trailing_comma = f'{{"users": {ROWS}, "total": 3,}}'
    cut_off = f'{{"users": {ROWS}, "next_page": "ab'  # a tool result cut at a size limit
    for broken in (trailing_comma, cut_off):
        prompt = f"Tool said:\n{broken}"
        assert find_json_blocks(prompt) == []
        assert encode_json_blocks(prompt) == (prompt, [])
    # past the broken value's closing bracket, the scan goes on
    [(_, _, value)] = find_json_blocks(f"{trailing_comma}\nand {ROWS}")
    assert value == json.loads(ROWS)
    # an opener that does not start like JSON is prose: what follows is still found
    for prose in ("See [sic and {x} then ", "Pick [a or b "):
        [(_, _, value)] = find_json_blocks(prose + ROWS)
        assert value == json.loads(ROWS)


@pytest.mark.parametrize(
    "quoted",
    [
        "json.loads('{\"users\": %s}')",  # JSON in code, quoted: not a block, nor is its inside
        'payload={"users": %s}x',  # glued to a word after it
        "id%s",  # glued to a word before it
    ],
)
def test_nothing_inside_a_json_value_left_alone_is_rewritten(quoted: str) -> None:
    prompt = "Run this: " + quoted % ROWS
    assert find_json_blocks(prompt) == []
    assert encode_json_blocks(prompt) == (prompt, [])


def test_loads_exact_refuses_what_json_loads_would_change() -> None:
    from kaizen_core.engine.prompts import loads_exact

    assert loads_exact('{"a": [1.5, 2, "x"]}') == {"a": [1.5, 2, "x"]}
    for text in ('{"a": 1e400}', "[0.123456789012345678]", '{"a": NaN}', "[Infinity]"):
        with pytest.raises(ValueError, match="not"):
            loads_exact(text)


TOOL_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "title": "City"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
}


@pytest.mark.parametrize(
    "instruction",
    [
        # a few-shot example in a fence labelled json
        "Answer like this:\n```json\n" + json.dumps(USERS, indent=2) + "\n```\nNow you.",
        "Answer like this:\n~~~JSON\n" + json.dumps(USERS) + "\n~~~",
        # a JSON Schema, alone, as a tool's parameters, in a list of tools
        "Tool Args: " + json.dumps(TOOL_SCHEMA),
        "Tools: "
        + json.dumps(
            [
                {"type": "function", "function": {"name": f"t{i}", "parameters": TOOL_SCHEMA}}
                for i in range(3)
            ]
        ),
        'Schema: {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "string"}',
        # a format example in the middle of a sentence
        'Give the kwargs as JSON (e.g. {"input": "hello world", "num_beams": 5}) each time.',
    ],
)
def test_json_that_tells_the_model_what_to_write_stays_json(instruction: str) -> None:
    assert find_json_blocks(instruction) == []
    assert encode_json_blocks(instruction) == (instruction, [])


@pytest.mark.parametrize(
    "data",
    [
        # "properties" holding values, not field schemas (GeoJSON)
        {"type": "Feature", "properties": {"name": "Park", "area": 12}, "id": 1},
        {"type": "object", "properties": {"rooms": 3, "city": "Oslo"}},
        USERS,
    ],
)
def test_data_is_still_rewritten(data: dict[str, Any]) -> None:
    [(_, _, value)] = find_json_blocks(f"Data:\n{json.dumps(data)}")
    assert value == data
    [(_, _, value)] = find_json_blocks(f"Data: {json.dumps(USERS)} ok")  # holds an array
    assert value == USERS
    fenced = f"```\n{json.dumps(USERS)}\n```"  # a fence without the json label
    assert len(find_json_blocks(fenced)) == 1
    after_fence = "```json\n[1]\n```\n" + json.dumps(USERS)
    assert [value for _, _, value in find_json_blocks(after_fence)] == [USERS]
