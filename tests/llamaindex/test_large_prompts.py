"""Large prompts are rewritten off the event loop; ordinary ones stay on it.

The async paths of ``KaizenLLM`` (``achat``, ``astream_chat``, ``acomplete``,
``astream_complete``) and ``KaizenNodePostprocessor.apostprocess_nodes`` follow the provider
wrappers' rule: more than ``kaizen_core.providers._compression.THREAD_THRESHOLD`` characters
in all, and the rewrite's CPU work (parsing the JSON, counting tokens before and after) runs
in a worker thread; the embedded host's transport already runs large request bodies (from
``OFFLOAD_THRESHOLD_BYTES``) in one. The tests record the thread of every engine call and
token count (no timing involved); most lower the threshold (read per call) to keep prompts
small, one uses the real 256 KB.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from kaizen_core import engine
from kaizen_core.providers import _compression
from kaizen_core.transports import OFFLOAD_THRESHOLD_BYTES
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.schema import NodeWithScore, TextNode

import kaizen_llamaindex._encoding as encoding
from kaizen_llamaindex import KaizenLLM, KaizenNodePostprocessor

from .conftest import RecordingLLM

THRESHOLD = 40_000


def rows(count: int) -> list[dict[str, Any]]:
    """Irregular records (optional and nested fields), about 60 characters each as JSON."""
    return [
        {"id": i, "city": f"city{i}", "tags": ["a", "b"][: i % 3]}
        | ({"extra": {"k": i}} if i % 2 else {})
        for i in range(count)
    ]


def prompt(count: int) -> str:
    return f"Which city is warmest? {json.dumps(rows(count))}"


LARGE = prompt(900)  # over THRESHOLD, and over the embedded transport's own offload size
SMALL = prompt(30)
assert len(SMALL) < THRESHOLD and OFFLOAD_THRESHOLD_BYTES < THRESHOLD < len(LARGE)


@pytest.fixture
def cpu_threads(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """The thread of every engine encode and every token count of a rewrite, by kind."""
    threads: dict[str, list[int]] = {"engine": [], "count": []}

    def recording(kind: str, original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            threads[kind].append(threading.get_ident())
            return original(*args, **kwargs)

        return call

    for name in ("encode", "encode_prompt"):
        monkeypatch.setattr(engine, name, recording("engine", getattr(engine, name)))
    monkeypatch.setattr(encoding, "count_tokens", recording("count", encoding.count_tokens))
    return threads


def _chat(text: str) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=text)]


async def _drain(stream: Awaitable[Any]) -> list[Any]:
    return [item async for item in await stream]


def _llm() -> KaizenLLM:
    return KaizenLLM(llm=RecordingLLM())


EntryPoint = Callable[[str], Awaitable[Any]]

ENTRY_POINTS: dict[str, EntryPoint] = {
    "KaizenLLM.acomplete": lambda text: _llm().acomplete(text),
    "KaizenLLM.astream_complete": lambda text: _drain(_llm().astream_complete(text)),
    "KaizenLLM.achat": lambda text: _llm().achat(_chat(text)),
    "KaizenLLM.astream_chat": lambda text: _drain(_llm().astream_chat(_chat(text))),
    "KaizenNodePostprocessor.apostprocess_nodes": lambda text: (
        KaizenNodePostprocessor().apostprocess_nodes([NodeWithScore(node=TextNode(text=text))])
    ),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
async def test_a_prompt_over_the_threshold_is_rewritten_in_worker_threads(
    entry: str, cpu_threads: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compression, "THREAD_THRESHOLD", THRESHOLD)
    await ENTRY_POINTS[entry](LARGE)
    assert cpu_threads["engine"] and len(cpu_threads["count"]) == 2  # before and after
    assert threading.get_ident() not in cpu_threads["engine"] + cpu_threads["count"]


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
async def test_a_prompt_under_the_threshold_is_rewritten_on_the_event_loop(
    entry: str, cpu_threads: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compression, "THREAD_THRESHOLD", THRESHOLD)
    await ENTRY_POINTS[entry](SMALL)
    assert cpu_threads["engine"] and len(cpu_threads["count"]) == 2
    assert set(cpu_threads["engine"] + cpu_threads["count"]) == {threading.get_ident()}


async def test_texts_count_together_against_the_threshold(
    cpu_threads: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compression, "THREAD_THRESHOLD", THRESHOLD)
    texts = [prompt(300 + i) for i in range(3)]  # each under the threshold, not all together
    assert all(len(t) < THRESHOLD for t in texts) and sum(map(len, texts)) > THRESHOLD
    nodes = [NodeWithScore(node=TextNode(text=text)) for text in texts]
    out = await KaizenNodePostprocessor().apostprocess_nodes(nodes)
    assert all(n.node.get_content() != t for n, t in zip(out, texts))  # all rewritten
    assert len(cpu_threads["count"]) == 6
    assert threading.get_ident() not in cpu_threads["count"]

    cpu_threads["count"].clear()
    await _llm().achat([ChatMessage(role=MessageRole.USER, content=text) for text in texts])
    assert len(cpu_threads["count"]) == 6
    assert threading.get_ident() not in cpu_threads["count"]


async def test_the_event_loop_keeps_running_while_a_real_size_prompt_is_rewritten(
    monkeypatch: pytest.MonkeyPatch,
    loop_probe: type,
) -> None:
    """The real threshold (256 KB): a task on the loop runs while the rewrite is busy.

    The patched token counter, once entered, waits for an event that only a task on the
    event loop sets, and only after seeing it entered: had the counting run on the loop,
    that task could not run and the wait would give up.
    """
    text = prompt(5_000)
    assert len(text) > _compression.THREAD_THRESHOLD == 256 * 1024
    probe = loop_probe(encoding.count_tokens)
    monkeypatch.setattr(encoding, "count_tokens", probe)
    inner = RecordingLLM()
    beat = asyncio.ensure_future(probe.heartbeat())
    await KaizenLLM(llm=inner).acomplete(text)
    await beat
    assert probe.waits == [True, True]
    assert engine.decode(inner.prompts[-1].split("? ", 1)[1]) == rows(5_000)
