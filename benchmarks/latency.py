"""Added latency of ``KaizenEncode`` + ``KaizenDecode`` on a ~2 KB chat prompt: embedded and served.

Served means a real ``kaizen serve`` subprocess on a free 127.0.0.1 port, reached over HTTP. The
same round is also timed on ``KaizenSyncClient`` directly (and only there without LangChain).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.datasets import SEED, tool_payload
from benchmarks.formats import exact_equal
from benchmarks.timing import latency_samples, percentiles


def chat_prompt(target_bytes: int = 2048, *, seed: int = SEED) -> list[dict[str, Any]]:
    """A system + user + tool-call + tool-result conversation of at most ``target_bytes`` bytes."""
    rng = random.Random(seed)
    payload = tool_payload(rng, "search_products")
    while len(payload["results"]) < 30:
        payload["results"] += tool_payload(rng, "search_products")["results"]

    def conversation() -> list[dict[str, Any]]:
        return [
            {
                "role": "system",
                "content": "You are a shopping assistant. Answer in one short paragraph.",
            },
            {
                "role": "user",
                "content": "Which of these are in stock under $100, best rated first?",
            },
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "call_1", "name": "search_products", "args": {"query": payload["query"]}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(payload, indent=2)},
        ]

    while prompt_bytes(conversation()) > target_bytes:
        payload["results"].pop()
    return conversation()


def prompt_bytes(messages: list[dict[str, Any]]) -> int:
    """Bytes of the message contents (what the encode step reads)."""
    return sum(len(m["content"].encode()) for m in messages)


def _langchain_messages(messages: list[dict[str, Any]]) -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

    kinds = {"system": SystemMessage, "user": HumanMessage}
    result = []
    for message in messages:
        if message["role"] == "assistant":
            result.append(AIMessage(content=message["content"], tool_calls=message["tool_calls"]))
        elif message["role"] == "tool":
            result.append(
                ToolMessage(content=message["content"], tool_call_id=message["tool_call_id"])
            )
        else:
            result.append(kinds[message["role"]](content=message["content"]))
    return result


@dataclass
class LatencyResult:
    """Percentiles (seconds) of one encode + decode round."""

    mode: str
    via: str
    prompts: str
    iterations: int
    mean_prompt_bytes: float
    p50: float
    p95: float
    exact: bool


COMPONENTS = ("langchain", "client")
Round = Callable[[int], Any]


@dataclass
class _Case:
    """One prompt of the latency run, the model's KTOF answer to decode, and the expected value."""

    messages: list[dict[str, Any]]
    answer: str
    payload: Any


def _cases(count: int, *, fresh: bool) -> list[_Case]:
    """``count`` cases: all different (``fresh``) or the same prompt repeated."""
    from kaizen_core import engine

    cases = []
    for number in range(count if fresh else 1):
        messages = chat_prompt(seed=SEED + number)
        payload = json.loads(messages[-1]["content"])
        cases.append(_Case(messages, engine.encode(payload, format="auto"), payload))
    return cases if fresh else cases * count


def _langchain_round(
    base_url: str | None, cases: list[_Case], stack: contextlib.ExitStack
) -> tuple[str, Round]:
    from kaizen_core import KaizenSyncClient

    from kaizen_langchain import KaizenDecode, KaizenEncode

    client = None
    if base_url:
        client = stack.enter_context(KaizenSyncClient(base_url=base_url, max_retries=0))
    encoder = KaizenEncode(client=client)
    decoder = KaizenDecode(client=client)
    prompts = [_langchain_messages(case.messages) for case in cases]

    def one_round(index: int) -> tuple[str, Any]:
        encoded = encoder.invoke(prompts[index])
        return encoded[-1].content, decoder.invoke(cases[index].answer)

    return "KaizenEncode + KaizenDecode", one_round


def _client_round(
    base_url: str | None, cases: list[_Case], stack: contextlib.ExitStack
) -> tuple[str, Round]:
    from kaizen_core import KaizenSyncClient

    client = stack.enter_context(
        KaizenSyncClient(base_url=base_url, max_retries=0)
        if base_url
        else KaizenSyncClient(mode="embedded")
    )
    texts = ["\n\n".join(m["content"] for m in case.messages if m["content"]) for case in cases]

    def one_round(index: int) -> tuple[str, Any]:
        encoded = client.prompts_encode({"prompt": texts[index]})["result"]
        return encoded, client.prompts_decode({"ktof": cases[index].answer})["result"]

    return "KaizenSyncClient prompts_encode + prompts_decode", one_round


def _round_is_exact(outcome: tuple[str, Any], case: _Case, *, whole_tool_message: bool) -> bool:
    """The answer decoded exactly, and the tool JSON in the prompt was rewritten.

    With ``whole_tool_message`` the encoded text is the tool message alone and must also decode
    back to the tool's JSON value exactly.
    """
    from kaizen_core import engine

    encoded, decoded = outcome
    if case.messages[-1]["content"] in encoded or not exact_equal(decoded, case.payload):
        return False
    return not whole_tool_message or exact_equal(engine.decode(encoded), case.payload)


def measure_latency(
    mode: str,
    base_url: str | None = None,
    *,
    component: str = "langchain",
    fresh: bool = True,
    iterations: int = 500,
    warmup: int = 20,
) -> LatencyResult:
    """p50/p95 of one encode + decode round on a ~2 KB chat prompt.

    ``base_url`` None measures the embedded engine in this process; otherwise the server there.
    ``component`` "langchain" times ``KaizenEncode`` on the messages + ``KaizenDecode`` on a KTOF
    answer (ImportError without LangChain); "client" times ``prompts_encode`` on the prompt text
    + ``prompts_decode`` on the answer through ``KaizenSyncClient``. ``fresh`` gives every round
    a different prompt (tool results differ from call to call, so no cache can answer); without
    it one prompt is repeated, which shows what the engine's cache of repeated blocks does.
    """
    cases = _cases(warmup + iterations, fresh=fresh)
    build = _langchain_round if component == "langchain" else _client_round
    whole = component == "langchain"
    with contextlib.ExitStack() as clients:  # the Kaizen clients of this measurement
        via, one_round = build(base_url, cases, clients)
        exact = all(
            _round_is_exact(one_round(index), cases[index], whole_tool_message=whole)
            for index in range(warmup)
        )
        samples = latency_samples(one_round, first=warmup, stop=warmup + iterations)
    cuts = percentiles(samples)
    sizes = [prompt_bytes(case.messages) for case in cases]
    return LatencyResult(
        mode,
        via,
        "fresh" if fresh else "repeated",
        iterations,
        sum(sizes) / len(sizes),
        cuts[50],
        cuts[95],
        exact,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def kaizen_server(timeout: float = 20.0) -> Iterator[str]:
    """A real ``kaizen serve`` on a free loopback port for the block; yields its base URL."""
    port = _free_port()
    script = Path(sys.executable).with_name("kaizen")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kaizen_core.cli"]
    env = {k: v for k, v in os.environ.items() if k != "KAIZEN_SERVER_API_KEYS"}
    process = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process, timeout)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"kaizen serve exited with {process.returncode}: {error[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base_url + "/", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"kaizen serve did not answer on {base_url} within {timeout} s")
