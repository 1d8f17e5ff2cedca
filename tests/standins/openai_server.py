"""A local stand-in for the OpenAI Chat Completions API, over real HTTP on 127.0.0.1.

The real ``openai`` SDK, ``langchain_openai.ChatOpenAI`` and ``llama_index.llms.openai.OpenAI``
talk to it through a socket exactly as they talk to the vendor; cassettes recorded from it
replay offline. It answers with a deterministic rule-based "brain" or with scripted replies,
and records every request it receives.

Usage::

    from tests.standins.openai_server import OpenAIStandIn, Reply, ToolCall

    with OpenAIStandIn() as server:               # free port, threaded, stops on exit
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])
        server.chat_requests[-1]                  # the parsed JSON body it received

        server.enqueue(Reply(content="scripted answer"))          # next chat reply
        server.enqueue(Reply(tool_calls=[ToolCall("get_rows", {"n": 3})]))
        server.enqueue(Reply(status=429, headers={"retry-after": "0"}))  # an error reply
        server.responder = lambda body: Reply(content="...")      # full override (or None)

pytest: ``from tests.standins.openai_server import openai_standin`` in a conftest (or test
module) makes the function-scoped fixture ``openai_standin`` available; it yields a started
``OpenAIStandIn`` and stops it afterwards. ``start_standin()`` is the plain helper behind it.

Endpoints:
- ``POST /v1/chat/completions``: non-streaming and streaming (SSE ``data:`` events ending with
  ``data: [DONE]``; with ``stream_options.include_usage`` a final usage chunk with empty
  ``choices``); tool calls (streamed as tool-call deltas: id and name first, then the
  arguments in pieces); ``response_format`` ``json_schema`` / ``json_object``; ``stop``;
  usage (``prompt_tokens`` counted with o200k_base over the message texts); the request's
  ``model`` echoed back; an ``x-request-id`` header and a ``chatcmpl-`` id on every answer.
- ``POST /v1/embeddings``: deterministic hashed bag-of-words vectors (``dimensions`` honoured,
  default 64), for vector-index tests.
- ``GET /v1/models``: a small model list. Anything else: 404 in the OpenAI error shape.
The Responses API is not implemented.

The brain (``rule_based_reply(body)``), used when no scripted reply is queued:
1. ``response_format`` json_schema -> JSON text that validates against the schema
   (``$ref``/``$defs``, ``anyOf``, enums, nested objects and arrays); json_object -> a JSON
   object whose keys are the quoted words of the last user message (or ``{"answer": ...}``).
2. Tools given, ``tool_choice`` not ``"none"`` and the last message is not a tool result ->
   one tool call: the tool named by ``tool_choice``, else the tool whose name occurs in the
   last user message, else the first tool. Arguments are built from the tool's JSON schema:
   integers/numbers take the numbers of the last user message in order (``"What is 1 + 2"``
   -> ``a=1, b=2``), strings take the first quoted text of the message (else the message
   itself, shortened), booleans ``true``, enums their first value.
3. Otherwise text: after a tool result, ``"Tool result received: <first 120 characters>"``;
   else ``"Stand-in answer to: <last user text, shortened>"``. ``stop`` sequences cut it.

Streaming splits text into ``stream_chunk_size`` characters (default 8; a Reply may set its
own ``chunk_size``) and tool-call arguments into pieces of the same size.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from typing_extensions import Self

__all__ = [
    "OpenAIStandIn",
    "RecordedRequest",
    "Reply",
    "ToolCall",
    "count_tokens",
    "openai_standin",
    "rule_based_reply",
    "start_standin",
]

DEFAULT_MODEL = "gpt-4o-mini"
_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):06d}"


@dataclass
class ToolCall:
    """One tool call in a scripted reply; ``arguments`` may be a dict or raw JSON text."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass
class Reply:
    """What the stand-in answers to one chat request.

    ``status`` other than 200 sends ``error`` (default: an OpenAI-shaped error body) with
    ``headers``. ``usage`` overrides the counted ``prompt_tokens``/``completion_tokens``.
    """

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    status: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunk_size: int | None = None
    model: str | None = None


@dataclass
class RecordedRequest:
    """A request as the stand-in received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


# ---------------------------------------------------------------------------------------
# token counting and message text
# ---------------------------------------------------------------------------------------

try:  # offline BPE; identical ids to tiktoken's o200k_base
    import bpe_openai as _bpe

    _ENCODING: Any = _bpe.get_encoding("o200k_base")
except ImportError:  # pragma: no cover - bpe-openai is a core dependency
    _ENCODING = None


def count_tokens(text: str) -> int:
    """Tokens of ``text`` in o200k_base (a chars/4 estimate without bpe-openai)."""
    if not text:
        return 0
    if _ENCODING is not None:
        return len(_ENCODING.encode(text))
    return math.ceil(len(text) / 4)


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return str(content)


def _prompt_tokens(body: dict[str, Any]) -> int:
    total = 0
    for message in body.get("messages") or []:
        total += 4 + count_tokens(_content_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            total += count_tokens(function.get("name", "")) + count_tokens(
                function.get("arguments", "")
            )
    for tool in body.get("tools") or []:
        total += count_tokens(json.dumps(tool, separators=(",", ":")))
    return total + 3


# ---------------------------------------------------------------------------------------
# the rule-based brain
# ---------------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _shorten(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Filler:
    """Builds a value for a JSON schema from the words and numbers of a prompt."""

    def __init__(self, prompt: str, root: dict[str, Any]) -> None:
        self.prompt = prompt
        self.root = root
        self.numbers = [float(n) for n in _NUMBER.findall(prompt)]
        quoted = [a or b for a, b in _QUOTED.findall(prompt)]
        self.quoted = quoted[0] if quoted else None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            node: Any = self.root
            for key in ref[2:].split("/"):
                node = node.get(key, {})
            return self._resolve(node)
        return schema

    def value(self, schema: dict[str, Any], key: str = "value") -> Any:
        schema = self._resolve(schema or {})
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for combinator in ("anyOf", "oneOf", "allOf"):
            options = schema.get(combinator)
            if options:
                non_null = [o for o in options if self._resolve(o).get("type") != "null"]
                return self.value((non_null or options)[0], key)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or (kind is None and "properties" in schema):
            return {
                name: self.value(sub, name)
                for name, sub in (schema.get("properties") or {}).items()
            }
        if kind == "array":
            return [self.value(schema.get("items") or {"type": "string"}, key)]
        if kind == "integer":
            return int(self.numbers.pop(0)) if self.numbers else 1
        if kind == "number":
            return self.numbers.pop(0) if self.numbers else 1.5
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        if self.quoted is not None:
            return self.quoted
        topic = _shorten(self.prompt, 60) or "the request"
        return f"{key.replace('_', ' ')} for: {topic}"


def _json_object_reply(prompt: str) -> dict[str, Any]:
    keys = [a or b for a, b in _QUOTED.findall(prompt)]
    if not keys:
        return {"answer": _shorten(prompt) or "ok"}
    return {key: f"{key} for: {_shorten(prompt, 60)}" for key in keys}


def _choose_tool(body: dict[str, Any], prompt: str) -> dict[str, Any] | None:
    tools = [t for t in body.get("tools") or [] if t.get("type", "function") == "function"]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        for tool in tools:
            if tool["function"]["name"] == wanted:
                return tool
    for tool in tools:
        if tool["function"]["name"] in prompt:
            return tool
    return tools[0]


def rule_based_reply(body: dict[str, Any]) -> Reply:
    """The stand-in's deterministic answer to a chat request body (see module docstring)."""
    messages = body.get("messages") or []
    prompt = _last_user_text(messages)
    last_role = messages[-1].get("role") if messages else None

    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        value = _Filler(prompt, schema).value(schema)
        return Reply(content=json.dumps(value, ensure_ascii=False))
    if response_format.get("type") == "json_object":
        return Reply(content=json.dumps(_json_object_reply(prompt), ensure_ascii=False))

    if last_role != "tool":
        tool = _choose_tool(body, prompt)
        if tool is not None:
            parameters = tool["function"].get("parameters") or {}
            arguments = _Filler(prompt, parameters).value(parameters)
            if not isinstance(arguments, dict):
                arguments = {}
            return Reply(tool_calls=[ToolCall(tool["function"]["name"], arguments)])

    if last_role == "tool":
        result = _content_text(messages[-1].get("content"))
        text = f"Tool result received: {_shorten(result)}"
    else:
        text = f"Stand-in answer to: {_shorten(prompt) or 'your message'}"
    return Reply(content=text)


def _apply_stop(text: str, stop: Any) -> tuple[str, bool]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


# ---------------------------------------------------------------------------------------
# response shapes
# ---------------------------------------------------------------------------------------


@dataclass
class _Answer:
    """A Reply resolved against its request: ids, model, text after stop, usage."""

    id: str
    model: str
    created: int
    content: str | None
    tool_calls: list[ToolCall]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    chunk_size: int


def _resolve(reply: Reply, body: dict[str, Any], chunk_size: int) -> _Answer:
    content = reply.content
    finish = reply.finish_reason
    if content is not None and body.get("stop"):
        content, stopped = _apply_stop(content, body.get("stop"))
        finish = finish or ("stop" if stopped else None)
    calls = [ToolCall(c.name, c.arguments, c.id or _next_id("call_")) for c in reply.tool_calls]
    if finish is None:
        finish = "tool_calls" if calls else "stop"
    completion_tokens = count_tokens(content or "") + sum(
        count_tokens(c.name) + count_tokens(c.arguments_json()) for c in calls
    )
    usage = reply.usage or {}
    return _Answer(
        id=_next_id("chatcmpl-standin"),
        model=reply.model or body.get("model") or DEFAULT_MODEL,
        created=int(time.time()),
        content=content,
        tool_calls=calls,
        finish_reason=finish,
        prompt_tokens=usage.get("prompt_tokens", _prompt_tokens(body)),
        completion_tokens=usage.get("completion_tokens", max(completion_tokens, 1)),
        chunk_size=max(1, reply.chunk_size or chunk_size),
    )


def _usage(answer: _Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _completion(answer: _Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
    if answer.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json()},
            }
            for c in answer.tool_calls
        ]
    return {
        "id": answer.id,
        "object": "chat.completion",
        "created": answer.created,
        "model": answer.model,
        "system_fingerprint": "fp_standin",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": _usage(answer),
    }


def _pieces(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _stream_chunks(answer: _Answer, include_usage: bool) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": answer.id,
            "object": "chat.completion.chunk",
            "created": answer.created,
            "model": answer.model,
            "system_fingerprint": "fp_standin",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    for piece in _pieces(answer.content or "", answer.chunk_size):
        yield chunk({"content": piece})
    for index, call in enumerate(answer.tool_calls):
        head = {"index": index, "id": call.id, "type": "function"}
        yield chunk({"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]})
        for piece in _pieces(call.arguments_json(), answer.chunk_size):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, answer.finish_reason)
    if include_usage:
        last = chunk({})
        last["choices"] = []
        last["usage"] = _usage(answer)
        yield last


def _embedding(text: str, dimensions: int) -> list[float]:
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dimensions
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# ---------------------------------------------------------------------------------------
# the HTTP server
# ---------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", _next_id("req_standin"))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, method: str) -> RecordedRequest:
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(
            method=method,
            path=self.path.split("?", 1)[0],
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
        )
        self.server.standin._record(request)
        return request

    def _authorized(self, request: RecordedRequest) -> bool:
        expected = self.server.standin.api_key
        if expected is None:
            return True
        if request.headers.get("authorization") == f"Bearer {expected}":
            return True
        self._send_json(
            401,
            _error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
        )
        return False

    def do_GET(self) -> None:
        request = self._record("GET")
        if not self._authorized(request):
            return
        if request.path.rstrip("/").endswith("/models"):
            models = [DEFAULT_MODEL, "gpt-4o", "gpt-4.1-mini"]
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "standin"} for m in models
            ]
            self._send_json(200, {"object": "list", "data": data})
            return
        self._send_json(404, _error_body(f"Unknown path {request.path}", "invalid_request_error"))

    def do_POST(self) -> None:
        request = self._record("POST")
        if not self._authorized(request):
            return
        if not isinstance(request.body, dict):
            self._send_json(
                400, _error_body("Body must be a JSON object.", "invalid_request_error")
            )
            return
        if request.path.endswith("/chat/completions"):
            self._chat(request.body)
        elif request.path.endswith("/embeddings"):
            self._embeddings(request.body)
        else:
            self._send_json(
                404, _error_body(f"Unknown path {request.path}", "invalid_request_error")
            )

    def _embeddings(self, body: dict[str, Any]) -> None:
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        dimensions = int(body.get("dimensions") or 64)
        data = [
            {"object": "embedding", "index": i, "embedding": _embedding(str(t), dimensions)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(count_tokens(str(t)) for t in texts)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model") or "text-embedding-3-small",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        standin = self.server.standin
        reply = standin._next_reply(body)
        if reply.status != 200:
            error = reply.error or _error_body(
                HTTPStatus(reply.status).phrase, "standin_error", str(reply.status)
            )
            self._send_json(reply.status, error, reply.headers)
            return
        answer = _resolve(reply, body, standin.stream_chunk_size)
        if not body.get("stream"):
            self._send_json(200, _completion(answer), reply.headers)
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", _next_id("req_standin"))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        events = (
            f"data: {json.dumps(c, ensure_ascii=False)}\n\n"
            for c in _stream_chunks(answer, include_usage)
        )
        for event in itertools.chain(events, ["data: [DONE]\n\n"]):
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], standin: OpenAIStandIn) -> None:
        self.standin = standin
        super().__init__(address, _Handler)


class OpenAIStandIn:
    """The stand-in server. Start with ``with OpenAIStandIn() as server:`` or ``start()``.

    Args:
        host: interface to bind (loopback only by default).
        port: 0 picks a free port.
        api_key: when set, requests without ``Authorization: Bearer <api_key>`` get 401.
        stream_chunk_size: characters per streamed content / tool-argument delta.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        stream_chunk_size: int = 8,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.stream_chunk_size = stream_chunk_size
        self.responder: Callable[[dict[str, Any]], Reply | None] | None = None
        self._requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------
    def start(self) -> Self:
        """Bind and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"openai-standin-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # addresses -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no path)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``: ``http://127.0.0.1:<port>/v1``."""
        return f"{self.url}/v1"

    # scripting -----------------------------------------------------------------------
    def enqueue(self, *replies: Reply | str) -> None:
        """Queue replies for the next chat requests (a str is ``Reply(content=str)``)."""
        with self._lock:
            for reply in replies:
                self._queue.append(Reply(content=reply) if isinstance(reply, str) else reply)

    def reset(self) -> None:
        """Forget recorded requests, queued replies and the responder."""
        with self._lock:
            self._requests.clear()
            self._queue.clear()
            self.responder = None

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            reply = self.responder(body)
            if reply is not None:
                return reply
        return rule_based_reply(body)

    # recording -----------------------------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Parsed JSON bodies of the ``/chat/completions`` requests, in order."""
        return [
            r.body
            for r in self.requests
            if r.method == "POST" and r.path.endswith("/chat/completions")
        ]

    @property
    def pending_replies(self) -> int:
        """Scripted replies not consumed yet."""
        with self._lock:
            return len(self._queue)


def start_standin(**kwargs: Any) -> OpenAIStandIn:
    """Start an ``OpenAIStandIn`` (same keyword arguments) and return it; call ``stop()``."""
    return OpenAIStandIn(**kwargs).start()


try:
    import pytest
except ImportError:  # pragma: no cover - the test suite always has pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def openai_standin() -> Iterator[OpenAIStandIn]:
        """A started stand-in for one test; stopped afterwards."""
        server = start_standin()
        try:
            yield server
        finally:
            server.stop()
