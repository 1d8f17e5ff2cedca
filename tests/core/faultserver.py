"""A scriptable HTTP server on 127.0.0.1 that misbehaves on cue, for the client's fault tests.

Each incoming request takes the next step of the script (the last step repeats):

* :class:`Reply` — answer with a status, JSON (or raw) body and headers;
* :class:`Reset` — read the request, then drop the connection with a TCP RST;
* :class:`Stall` — read the request, then say nothing for ``seconds`` (past the client's
  read timeout); the wait ends early when the server stops.

Every request is recorded (method, path, headers, body) in :attr:`FaultServer.received`.

>>> with FaultServer([Reply(503), Reply(200, {"ok": True})]) as server:
...     ...  # point a client at server.base_url
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """Answer ``status`` with ``body`` (JSON-encoded unless bytes) and extra ``headers``."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reset:
    """Drop the connection with a TCP reset after reading the request."""


@dataclass(frozen=True)
class Stall:
    """Hold the connection silent for ``seconds`` after reading the request."""

    seconds: float = 30.0


Step = Reply | Reset | Stall


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def envelope(operation: str, result: Any, **extra: Any) -> dict[str, Any]:
    """A contract success envelope."""
    return {"operation": operation, "status": "success", "result": result, **extra}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        received = ReceivedRequest(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        step = self.server.owner._record(received)
        if isinstance(step, Reset):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if isinstance(step, Stall):
            self.server.owner.stopping.wait(step.seconds)
            self.close_connection = True
            return
        payload = step.body if isinstance(step.body, bytes) else json.dumps(step.body).encode()
        self.send_response(step.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        request_id = received.headers.get("x-request-id")
        if request_id:
            self.send_header("x-request-id", request_id)
        for name, value in step.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FaultServer


class FaultServer:
    """The server; use as a context manager. ``base_url`` once started."""

    def __init__(self, script: list[Step]) -> None:
        if not script:
            raise ValueError("the script needs at least one step")
        self.script = list(script)
        self.received: list[ReceivedRequest] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fault-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def attempts(self) -> int:
        """How many requests arrived."""
        with self._lock:
            return len(self.received)

    def request_ids(self) -> list[str | None]:
        """The ``x-request-id`` of every request received, in order."""
        with self._lock:
            return [r.headers.get("x-request-id") for r in self.received]

    def _record(self, received: ReceivedRequest) -> Step:
        with self._lock:
            index = len(self.received)
            self.received.append(received)
            return self.script[min(index, len(self.script) - 1)]

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
