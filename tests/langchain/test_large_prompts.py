"""Large prompts are encoded off the event loop; ordinary ones stay on it.

Every async entry point of the LangChain components (``KaizenEncode`` for each input shape
and ``abatch``/``astream``, ``ChatKaizen.ainvoke``/``astream``, the document compressor)
encodes on the embedded engine. The rule is the provider wrappers': more than
``kaizen_core.providers._compression.THREAD_THRESHOLD`` characters in all go to a worker
thread. The tests record the thread of every engine call (no timing involved); most lower
the threshold (the module attribute is read per call) to keep prompts small, one uses the
real 256 KB.
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
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage, ToolMessage

from kaizen_langchain import ChatKaizen, KaizenDocumentCompressor, KaizenEncode
from tests.langchain.brain_chat_model import BrainChatModel

THRESHOLD = 4_000


def rows(count: int) -> list[dict[str, Any]]:
    """Irregular records (optional and nested fields), about 60 characters each as JSON."""
    return [
        {"id": i, "city": f"city{i}", "tags": ["a", "b"][: i % 3]}
        | ({"extra": {"k": i}} if i % 2 else {})
        for i in range(count)
    ]


LARGE = rows(120)  # > THRESHOLD characters of JSON
SMALL = rows(20)  # < THRESHOLD
assert len(json.dumps(SMALL)) < THRESHOLD < len(json.dumps(LARGE))


@pytest.fixture
def engine_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every call into the engine's encoders (filled as they run)."""
    threads: list[int] = []
    for name in ("encode", "encode_json_blocks"):
        original = getattr(engine, name)

        def recording(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            threads.append(threading.get_ident())
            return _original(*args, **kwargs)

        monkeypatch.setattr(engine, name, recording)
    return threads


def _messages(data: list[dict[str, Any]]) -> list[Any]:
    return [HumanMessage("Warmest city?"), ToolMessage(json.dumps(data), tool_call_id="c1")]


def _document_text(data: list[dict[str, Any]]) -> str:
    return f"Export: {json.dumps(data)}"


EntryPoint = Callable[[list[dict[str, Any]]], Awaitable[Any]]

ENTRY_POINTS: dict[str, EntryPoint] = {
    "KaizenEncode.ainvoke(str)": lambda d: KaizenEncode().ainvoke(f"rows: {json.dumps(d)}"),
    "KaizenEncode.ainvoke(value)": lambda d: KaizenEncode().ainvoke({"rows": d}),
    "KaizenEncode.ainvoke(messages)": lambda d: KaizenEncode().ainvoke(_messages(d)),
    "KaizenEncode.abatch": lambda d: KaizenEncode().abatch([{"rows": d}, {"rows": d[::-1]}]),
    "KaizenEncode.astream": lambda d: _drain(KaizenEncode().astream(_messages(d))),
    "ChatKaizen.ainvoke": lambda d: ChatKaizen(llm=BrainChatModel()).ainvoke(_messages(d)),
    "ChatKaizen.astream": lambda d: _drain(ChatKaizen(llm=BrainChatModel()).astream(_messages(d))),
    "KaizenDocumentCompressor.acompress_documents": lambda d: (
        KaizenDocumentCompressor().acompress_documents([Document(_document_text(d))], "q")
    ),
}


async def _drain(stream: Any) -> list[Any]:
    return [item async for item in stream]


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
async def test_a_prompt_over_the_threshold_is_encoded_in_a_worker_thread(
    entry: str, engine_threads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compression, "THREAD_THRESHOLD", THRESHOLD)
    await ENTRY_POINTS[entry](LARGE)
    assert engine_threads
    assert threading.get_ident() not in engine_threads


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
async def test_a_prompt_under_the_threshold_is_encoded_on_the_event_loop(
    entry: str, engine_threads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compression, "THREAD_THRESHOLD", THRESHOLD)
    await ENTRY_POINTS[entry](SMALL)
    assert engine_threads
    assert set(engine_threads) == {threading.get_ident()}


async def test_small_texts_count_together_against_the_threshold(
    engine_threads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compression, "THREAD_THRESHOLD", THRESHOLD)
    documents = [Document(_document_text(SMALL[i : i + 10])) for i in range(0, 20, 2)]
    assert all(len(d.page_content) < THRESHOLD for d in documents)
    assert sum(len(d.page_content) for d in documents) > THRESHOLD
    await KaizenDocumentCompressor().acompress_documents(documents, "q")
    assert engine_threads and threading.get_ident() not in engine_threads


async def test_the_event_loop_keeps_running_while_a_real_size_prompt_is_encoded(
    monkeypatch: pytest.MonkeyPatch,
    loop_probe: type,
) -> None:
    """The real threshold (256 KB): a task on the loop runs while the engine is busy.

    The patched encoder, once entered, waits for an event that only a task on the event
    loop sets, and only after seeing the encoder entered: had the encode run on the loop,
    that task could not run and the wait would give up.
    """
    big = rows(5_000)
    assert len(json.dumps(big)) > _compression.THREAD_THRESHOLD == 256 * 1024
    probe = loop_probe(engine.encode_json_blocks)
    monkeypatch.setattr(engine, "encode_json_blocks", probe)
    llm = ChatKaizen(llm=BrainChatModel())
    beat = asyncio.ensure_future(probe.heartbeat())
    answer = await llm.ainvoke(_messages(big))
    await beat
    assert probe.waits == [True]
    assert answer.response_metadata["kaizen"]["blocks"] == 1
    assert engine.decode(llm.llm.requests[-1]["messages"][1]["content"]) == big
