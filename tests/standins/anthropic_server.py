"""A local stand-in for the Anthropic Messages API (``POST /v1/messages``), plus the HTTP
plumbing shared by the vendor stand-ins of the provider tests.

The server is real HTTP on 127.0.0.1 (a free port, one thread per connection), so the real
``anthropic`` SDK talks to it over a socket, and VCR cassettes can be recorded from it.

Usage::

    with AnthropicStandin() as server:
        client = anthropic.Anthropic(api_key="test", base_url=server.base_url, max_retries=0)
        server.answers.append("items[1]{id}:\\n  1")     # next answer text (default "ok")
        server.fail_next(429, retry_after="7")           # scripted vendor error
        server.expect_concurrent(4)                      # answer only once 4 requests arrived
        server.require_ktof = True                       # 400 when a prompt still carries JSON
        server.requests[-1].json                         # what the SDK sent

Every request is recorded (:class:`RecordedRequest`); ``stream: true`` requests get the
vendor's server-sent events.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from typing_extensions import Self

_JSON_OBJECT_OR_TABLE = re.compile(r'\{\s*"|\[\s*\{|\[\s*"')
_KTOF_HEADER = re.compile(r"\[#?\d+[,\t|]?\](\{[^}]*\})?:")


@dataclass
class RecordedRequest:
    """One request as the stand-in received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON (None for an empty body)."""
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    """What the stand-in sends back: a JSON body, or server-sent events when ``events`` is set."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[bytes] | None = None


@dataclass
class ScriptedError:
    """An error answer queued with :meth:`StandinServer.fail_next`."""

    status: int
    body: Any
    headers: dict[str, str]


def looks_like_raw_json(text: str) -> bool:
    """Whether ``text`` still holds a JSON object or array (what Kaizen should have encoded)."""
    for match in _JSON_OBJECT_OR_TABLE.finditer(text):
        start = match.start()
        try:
            json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            continue
        return True
    return False


def has_ktof(text: str) -> bool:
    """Whether ``text`` holds a KTOF (TOON) array header such as ``items[2]{id,name}:``."""
    return bool(_KTOF_HEADER.search(text))


class StandinServer:
    """Threaded HTTP server on 127.0.0.1 that records requests and answers via :meth:`route`.

    Subclasses implement :meth:`route` (a normal answer) and :meth:`error_body` (the vendor's
    error envelope). Scripted errors, the ``require_ktof`` check and the concurrency barrier
    live here so every vendor stand-in behaves the same way.
    """

    #: Seconds a request waits at the barrier before the stand-in gives up (answers 504).
    barrier_timeout: float = 10.0
    #: Response header that carries the vendor's request id (None: the vendor sends none).
    request_id_header: str | None = None

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.answers: deque[str] = deque()
        self.default_answer = "ok"
        self.require_ktof = False
        self._errors: deque[ScriptedError] = deque()
        self._lock = threading.Lock()
        self._barrier: threading.Barrier | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> StandinServer:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        assert self._httpd is not None, "stand-in not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- scripting ---------------------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        message: str = "scripted error",
        *,
        retry_after: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next request with ``status`` in the vendor's error format."""
        all_headers = dict(headers or {})
        if self.request_id_header:
            all_headers.setdefault(self.request_id_header, f"req_error{len(self._errors) + 1:04d}")
        if retry_after is not None:
            all_headers["retry-after"] = retry_after
        self._errors.append(
            ScriptedError(status, self.error_body(status, message, retry_after), all_headers)
        )

    def expect_concurrent(self, count: int) -> None:
        """Hold every request until ``count`` requests are in flight, then answer them all."""
        self._barrier = threading.Barrier(count) if count > 1 else None

    def reset(self) -> None:
        """Forget recorded requests, queued answers, errors and the barrier."""
        with self._lock:
            self.requests.clear()
            self.answers.clear()
            self._errors.clear()
            self._barrier = None
            self.require_ktof = False

    def next_answer(self) -> str:
        """The next queued answer text, else :attr:`default_answer`."""
        with self._lock:
            return self.answers.popleft() if self.answers else self.default_answer

    # -- vendor hooks ------------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:  # pragma: no cover - abstract
        """The answer to a well-formed request."""
        raise NotImplementedError

    def error_body(self, status: int, message: str, retry_after: str | None) -> Any:
        """The vendor's JSON error envelope."""  # pragma: no cover - abstract
        raise NotImplementedError

    def prompt_texts(self, request: RecordedRequest) -> list[str]:
        """Every text the request shows the model (checked by ``require_ktof``)."""
        raise NotImplementedError  # pragma: no cover - abstract

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Reply:
        """Record, apply scripted errors, the barrier and the KTOF check, then route."""
        with self._lock:
            self.requests.append(request)
            scripted = self._errors.popleft() if self._errors else None
            barrier = self._barrier
        if barrier is not None:
            try:
                barrier.wait(self.barrier_timeout)
            except threading.BrokenBarrierError:
                return Reply(
                    504, self.error_body(504, "barrier broken: requests came one by one", None)
                )
        if scripted is not None:
            return Reply(scripted.status, scripted.body, scripted.headers)
        if self.require_ktof:
            texts = self.prompt_texts(request)
            raw = [text for text in texts if looks_like_raw_json(text)]
            if raw or not any(has_ktof(text) for text in texts):
                message = f"stand-in expected KTOF, got raw JSON in: {raw[:1]!r}"
                return Reply(400, self.error_body(400, message, None))
        return self.route(request)


def sse(events: Iterable[tuple[str | None, Any]]) -> list[bytes]:
    """Server-sent events: ``event: NAME`` (when given) and ``data: JSON`` per item."""
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out.append(f"{head}data: {json.dumps(data)}\n\n".encode())
    return out


def _make_handler(server: StandinServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            request = RecordedRequest(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            reply = server.handle(request)
            if reply.events is not None:
                payload = b"".join(reply.events)
                content_type = "text/event-stream"
            else:
                payload = json.dumps(reply.body).encode()
                content_type = "application/json"
            self.send_response(reply.status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    return Handler


def _iter_text_blocks(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
        return
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            yield block.get("text", "")
        elif block.get("type") == "tool_result":
            yield from _iter_text_blocks(block.get("content"))


class AnthropicStandin(StandinServer):
    """``POST /v1/messages`` as Anthropic answers it (JSON or SSE with ``stream: true``)."""

    request_id_header = "request-id"

    def __init__(self) -> None:
        super().__init__()
        self._counter = 0
        self._stream_errors: deque[tuple[str, str]] = deque()

    def fail_next_stream_midway(
        self, kind: str = "overloaded_error", message: str = "overloaded"
    ) -> None:
        """The next streamed answer starts, then sends an ``error`` event of type ``kind``."""
        self._stream_errors.append((kind, message))

    def reset(self) -> None:
        """Also forget queued mid-stream errors."""
        super().reset()
        self._stream_errors.clear()

    def prompt_texts(self, request: RecordedRequest) -> list[str]:
        payload = request.json or {}
        texts = list(_iter_text_blocks(payload.get("system")))
        for message in payload.get("messages", []):
            texts.extend(_iter_text_blocks(message.get("content")))
        return texts

    def error_body(self, status: int, message: str, retry_after: str | None) -> Any:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def route(self, request: RecordedRequest) -> Reply:
        if request.method != "POST" or request.path != "/v1/messages":
            return Reply(404, self.error_body(404, f"no route {request.path}", None))
        payload = request.json or {}
        with self._lock:
            self._counter += 1
            number = self._counter
        message_id = f"msg_standin{number:04d}"
        headers = {"request-id": f"req_standin{number:04d}"}
        text = self.next_answer()
        input_tokens = max(1, sum(len(t) for t in self.prompt_texts(request)) // 4)
        output_tokens = max(1, len(text) // 4)
        model = payload.get("model", "claude-standin")
        if payload.get("stream"):
            events = self._events(message_id, model, text, input_tokens, output_tokens)
            with self._lock:
                midway = self._stream_errors.popleft() if self._stream_errors else None
            if midway is not None:
                error = {"type": "error", "error": {"type": midway[0], "message": midway[1]}}
                events = events[:2] + sse([("error", error)])
            return Reply(200, headers=headers, events=events)
        body = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
        return Reply(200, body, headers)

    @staticmethod
    def _events(
        message_id: str, model: str, text: str, input_tokens: int, output_tokens: int
    ) -> list[bytes]:
        pieces = [text[i : i + 8] for i in range(0, len(text), 8)] or [""]
        start = {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        }
        events: list[tuple[str | None, Any]] = [
            ("message_start", start),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            ("ping", {"type": "ping"}),
        ]
        events += [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
            )
            for piece in pieces
        ]
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return sse(events)
