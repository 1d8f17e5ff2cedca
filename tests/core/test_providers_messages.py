"""The per-message rewriting of ``kaizen_core.providers._messages`` and the answer decoder.

Pure functions: no server. A recording ``rewrite`` callback shows which texts (with which
role) are offered, and that everything else is passed through by identity.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from kaizen_core.engine import decode, encode
from kaizen_core.providers import decode_answer
from kaizen_core.providers._compression import CallRun, EmbeddedCompressor, WrapSettings
from kaizen_core.providers._messages import (
    rewrite_anthropic_messages,
    rewrite_openai_chat,
    rewrite_openai_responses,
)

try:  # tests/core is a package in some layouts and a rootdir-inserted folder in others
    from .providers_expected import assert_carries, sent_text
except ImportError:
    from providers_expected import assert_carries, sent_text  # type: ignore[no-redef]


class Recorder:
    """A rewrite callback that upper-cases texts holding ``{`` and records (role, text)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, text: str, role: str) -> str:
        self.seen.append((role, text))
        return text.upper() if "{" in text else text


def test_openai_chat_offers_every_text_with_its_role() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    tool_calls = [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
    ]
    messages = [
        {"role": "developer", "content": "dev {x}"},
        {"role": "user", "content": [{"type": "text", "text": "u {y}"}, image]},
        {"role": "assistant", "content": None, "tool_calls": tool_calls},
        {"role": "tool", "tool_call_id": "c1", "content": "t {z}"},
        {"role": "user", "content": "no json"},
    ]
    original = copy.deepcopy(messages)
    recorder = Recorder()

    out = rewrite_openai_chat({"model": "m", "messages": messages, "temperature": 0}, recorder)

    assert recorder.seen == [
        ("system", "dev {x}"),
        ("user", "u {y}"),
        ("tool", "t {z}"),
        ("user", "no json"),
    ]
    assert out["model"] == "m" and out["temperature"] == 0
    assert out["messages"][0] == {"role": "developer", "content": "DEV {X}"}
    assert out["messages"][1]["content"] == [{"type": "text", "text": "U {Y}"}, image]
    assert out["messages"][1]["content"][1] is image
    assert out["messages"][2] is messages[2]  # tool calls: the caller's own object
    assert out["messages"][4] is messages[4]  # unchanged text: the caller's own object
    assert messages == original


def test_openai_chat_accepts_any_iterable_of_messages() -> None:
    messages = ({"role": "user", "content": "x {a}"} for _ in range(2))
    out = rewrite_openai_chat({"messages": messages}, Recorder())
    assert out["messages"] == [{"role": "user", "content": "X {A}"}] * 2


def test_openai_responses_items() -> None:
    call = {"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"q": 1}'}
    reasoning = {"type": "reasoning", "id": "r", "summary": []}
    recorder = Recorder()
    out = rewrite_openai_responses(
        {
            "instructions": "i {a}",
            "input": [
                {"role": "user", "content": "u {b}"},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "o {c}"}],
                },
                call,
                {"type": "function_call_output", "call_id": "c", "output": "r {d}"},
                reasoning,
            ],
        },
        recorder,
    )
    assert out["instructions"] == "I {A}"
    assert [item.get("content", item.get("output")) for item in out["input"][:2]] == [
        "U {B}",
        [{"type": "output_text", "text": "O {C}"}],
    ]
    assert out["input"][2] is call and out["input"][4] is reasoning
    assert out["input"][3]["output"] == "R {D}"
    assert [role for role, _ in recorder.seen] == ["system", "user", "assistant", "tool"]


def test_openai_responses_string_input_and_resume_without_input() -> None:
    assert rewrite_openai_responses({"input": "x {a}"}, Recorder())["input"] == "X {A}"
    assert rewrite_openai_responses({"response_id": "resp_1"}, Recorder()) == {
        "response_id": "resp_1"
    }


def test_anthropic_blocks() -> None:
    tool_use = {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": [1, 2]}}
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
    }
    recorder = Recorder()
    out = rewrite_anthropic_messages(
        {
            "system": [{"type": "text", "text": "s {a}", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": "u {b}"},
                {"role": "assistant", "content": [{"type": "text", "text": "a {c}"}, tool_use]},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": [{"type": "text", "text": "r {d}"}],
                        },
                        {
                            "type": "tool_result",
                            "tool_use_id": "t2",
                            "content": "r2 {e}",
                            "is_error": True,
                        },
                        image,
                    ],
                },
            ],
        },
        recorder,
    )
    assert out["system"] == [
        {"type": "text", "text": "S {A}", "cache_control": {"type": "ephemeral"}}
    ]
    assert out["messages"][0]["content"] == "U {B}"
    assert out["messages"][1]["content"][1] is tool_use
    results = out["messages"][2]["content"]
    assert results[0]["content"] == [{"type": "text", "text": "R {D}"}]
    assert results[1] == {
        "type": "tool_result",
        "tool_use_id": "t2",
        "content": "R2 {E}",
        "is_error": True,
    }
    assert results[2] is image
    assert [role for role, _ in recorder.seen] == ["system", "user", "assistant", "tool", "tool"]


def test_anthropic_model_objects_pass_through() -> None:
    from anthropic.types import TextBlock

    block = TextBlock(type="text", text='{"a": [1, 2]}')
    message = {"role": "assistant", "content": [block]}
    out = rewrite_anthropic_messages({"messages": [message]}, Recorder())
    assert out["messages"][0] is message


def _run(**options: Any) -> CallRun:
    return CallRun(WrapSettings(EmbeddedCompressor(options)), "openai", "gpt-4o")


def test_call_run_keeps_only_shorter_rewrites_and_counts_them() -> None:
    run = _run()
    table = json.dumps([{"id": i, "v": "x" * 3} for i in range(8)])
    out = run.rewrite(
        rewrite_openai_chat,
        {
            "messages": [
                {"role": "user", "content": f"data: {table}"},
                {"role": "user", "content": 'tiny: ["a b"]'},
            ]
        },
    )
    assert out["messages"][0]["content"] == sent_text(f"data: {table}")
    assert_carries(out["messages"][0]["content"], json.loads(table))
    assert (
        out["messages"][1]["content"] == 'tiny: ["a b"]'
    )  # "[1]: a b" is not shorter than ["a b"]
    info = run.info
    assert (info.texts_seen, info.texts_rewritten, info.json_blocks) == (2, 1, 1)
    assert info.original_chars == len(f"data: {table}") and info.saved_chars > 0
    assert info.compressed_chars == len(out["messages"][0]["content"])  # newlines counted
    assert 0 < info.reduction_ratio < 1 and info.as_dict()["saved_tokens"] == info.saved_tokens


def test_a_rewrite_its_own_lines_make_no_shorter_is_sent_as_written() -> None:
    """A multi-line KTOF gets lines of its own; when those newlines eat the saving, the
    text goes out as the caller wrote it and counts as not rewritten."""
    value = {"a": {"b": {"c": {"d": "e"}}}}
    block = json.dumps(value, separators=(",", ":"))
    ktof = encode(value)
    assert "\n" in ktof and len(ktof) == len(block) - 2  # shorter inline, by two characters
    between = f"see {block} here"  # a newline before and one after: no longer shorter
    run = _run()
    out = run.rewrite(
        rewrite_openai_chat,
        {"messages": [{"role": "user", "content": between}, {"role": "tool", "content": block}]},
    )
    assert out["messages"][0]["content"] == between
    assert out["messages"][1]["content"] == ktof  # alone on its lines: still two shorter
    info = run.info
    assert (info.texts_seen, info.texts_rewritten, info.json_blocks) == (2, 1, 1)
    assert (info.original_chars, info.compressed_chars) == (len(block), len(ktof))


def test_roles_option_limits_what_is_compressed() -> None:
    table = json.dumps([{"id": i} for i in range(5)])
    settings_ = WrapSettings(EmbeddedCompressor({}), roles=frozenset({"tool"}))
    run = CallRun(settings_, "openai", "gpt-4o")
    out = run.rewrite(
        rewrite_openai_chat,
        {
            "messages": [
                {"role": "user", "content": table},
                {"role": "tool", "tool_call_id": "c", "content": table},
            ]
        },
    )
    assert out["messages"][0]["content"] == table
    assert out["messages"][1]["content"] == encode(json.loads(table))


def test_encode_options_reach_the_engine() -> None:
    run = _run(delimiter="|", length_marker=True)
    value = [{"id": 1, "n": "a"}, {"id": 2, "n": "b"}]
    out = run.rewrite(
        rewrite_openai_chat, {"messages": [{"role": "tool", "content": json.dumps(value)}]}
    )
    assert out["messages"][0]["content"] == encode(value, delimiter="|", length_marker=True)
    assert out["messages"][0]["content"].startswith("[#2|]")


async def test_async_rewrite_matches_sync_rewrite() -> None:
    kwargs = {"messages": [{"role": "user", "content": f"a {json.dumps({'k': [1, 2, 3]})} b"}] * 3}
    sync_run, async_run = _run(), _run()
    assert await async_run.arewrite(rewrite_openai_chat, kwargs) == sync_run.rewrite(
        rewrite_openai_chat, kwargs
    )
    assert async_run.info.as_dict() == sync_run.info.as_dict()


async def test_large_prompts_are_compressed_in_a_worker_thread(monkeypatch: Any) -> None:
    import threading

    from kaizen_core.providers import _compression

    threads: list[str] = []
    compress = EmbeddedCompressor.compress

    def spy(self: EmbeddedCompressor, text: str) -> Any:
        threads.append(threading.current_thread().name)
        return compress(self, text)

    monkeypatch.setattr(_compression, "THREAD_THRESHOLD", 10)
    monkeypatch.setattr(EmbeddedCompressor, "compress", spy)
    kwargs = {"messages": [{"role": "user", "content": json.dumps([{"id": i} for i in range(20)])}]}
    out = await _run().arewrite(rewrite_openai_chat, kwargs)
    assert out["messages"][0]["content"] == encode([{"id": i} for i in range(20)])
    assert threads and threading.main_thread().name not in threads


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(value=st.dictionaries(st.text(min_size=1, max_size=8), json_values, min_size=1, max_size=5))
def test_rewritten_tool_result_decodes_back_to_the_json(value: dict[str, Any]) -> None:
    """Whatever the wrapper sends instead of a JSON tool result decodes back to that JSON."""
    text = json.dumps(value)
    run = _run()
    sent = run.rewrite(rewrite_openai_chat, {"messages": [{"role": "tool", "content": text}]})[
        "messages"
    ][0]["content"]
    assert len(sent) <= len(text)
    assert (json.loads(sent) if sent == text else decode(sent)) == value


def test_decode_answer() -> None:
    assert decode_answer("rows[2]{a,b}:\n  1,x\n  2,y") == (
        {"rows": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]},
        None,
    )
    value, error = decode_answer("```toon\nrows[2]{a,b}:\n  1,x\n  2,y\n```")
    assert value == {"rows": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]} and error is None
    assert decode_answer("Just prose without structure")[0] is None
    assert "scalar" in (decode_answer("Just prose without structure")[1] or "")
    bad_value, bad_error = decode_answer("rows[3]{a}:\n  1\n  2")
    assert bad_value is None and bad_error and "line" in bad_error
    assert decode_answer("") == (None, "empty answer") and decode_answer(None) == (
        None,
        "empty answer",
    )
