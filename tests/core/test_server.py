"""The ASGI host of `kaizen serve`: settings, fault barrier, lifespan, disconnects, big bodies.

The contract itself is tested on both hosts in test_contract_http.py; this module covers
what only the server layer does, in-process (httpx.ASGITransport or raw ASGI calls) where a
fault has to be injected, and against the real `kaizen serve` process otherwise.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

import httpx
import pytest

from kaizen_core import engine
from kaizen_core.router import DEFAULT_MAX_BODY_BYTES, HEALTH_MESSAGE, Reply, RouterSettings
from kaizen_core.server import KaizenApp, create_app, settings_from_env


class FaultyApp(KaizenApp):
    """The real app, with a bug planted in one route."""

    def _handle(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Reply:
        if path == "/v1/optimize":
            raise RuntimeError("planted fault")
        return super()._handle(method, path, headers, body)


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kaizen.test")


async def test_unexpected_error_becomes_a_logged_500_and_the_app_keeps_answering(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with asgi_client(FaultyApp()) as client:
        with caplog.at_level(logging.ERROR, logger="kaizen_core.server"):
            response = await client.post(
                "/v1/optimize", json={"data": [1]}, headers={"x-request-id": "fault-1"}
            )
        assert response.status_code == 500
        assert response.json() == {
            "detail": "Internal server error.",
            "code": "internal_error",
            "request_id": "fault-1",
        }
        assert response.headers["x-request-id"] == "fault-1"
        (record,) = [r for r in caplog.records if r.name == "kaizen_core.server"]
        assert (
            "fault-1" in record.getMessage()
            and record.exc_info
            and record.exc_info[0] is RuntimeError
        )
        after = await client.post("/v1/compress", json={"data": [1]})
        assert after.status_code == 200 and after.json()["result"] == "[1]: 1"


async def test_large_bodies_are_answered_the_same_in_a_worker_thread() -> None:
    rows = [{"id": i, "name": f"user {i}", "score": i * 0.5} for i in range(5000)]
    async with (
        asgi_client(KaizenApp(offload_threshold=1)) as threaded,
        asgi_client(KaizenApp(offload_threshold=10**12)) as inline,
    ):
        first = await threaded.post(
            "/v1/optimize", json={"data": rows}, headers={"x-request-id": "same"}
        )
        second = await inline.post(
            "/v1/optimize", json={"data": rows}, headers={"x-request-id": "same"}
        )
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.json()["result"] == engine.encode(rows)


async def test_lifespan_startup_and_shutdown() -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        return messages.pop(0)

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    await KaizenApp()({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_client_gone_before_the_body_arrived_gets_no_answer() -> None:
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/compress",
        "headers": [(b"content-length", b"10")],
    }
    await KaizenApp()(scope, receive, send)
    assert sent == []


async def test_body_arriving_in_chunks_is_joined() -> None:
    chunks = [b'{"data":', b' {"a": [1, 2]', b"}}"]
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/compress", "headers": []}
    await KaizenApp()(scope, receive, send)
    start, body = sent
    assert (
        start["status"] == 200
        and (b"content-length", str(len(body["body"])).encode()) in start["headers"]
    )
    assert json.loads(body["body"])["result"] == "a[2]: 1,2"


def test_settings_from_env() -> None:
    assert settings_from_env({}) == RouterSettings(
        api_keys=frozenset(), max_body_bytes=DEFAULT_MAX_BODY_BYTES
    )
    settings = settings_from_env(
        {"KAIZEN_SERVER_API_KEYS": " a ,b,,", "KAIZEN_SERVER_MAX_BODY_BYTES": "1024"}
    )
    assert settings == RouterSettings(api_keys=frozenset({"a", "b"}), max_body_bytes=1024)
    with pytest.raises(ValueError, match="positive"):
        settings_from_env({"KAIZEN_SERVER_MAX_BODY_BYTES": "0"})


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_SERVER_API_KEYS", "k")
    monkeypatch.setenv("KAIZEN_SERVER_MAX_BODY_BYTES", "99")
    assert create_app().settings == RouterSettings(api_keys=frozenset({"k"}), max_body_bytes=99)


@pytest.mark.parametrize(
    ("content", "status"),
    [
        pytest.param(
            b'{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}", 422, id="json-nested-too-deep"
        ),
        pytest.param(b'{"data":' + b"[" * 800 + b"]" * 800 + b"}", 400, id="ktof-nested-too-deep"),
        pytest.param(b'{"data": "\xff\xfe"}', 422, id="not-utf8"),
        pytest.param(b'{"data": NaN}', 422, id="nan-literal"),
        pytest.param(b'{"data": 1e999}', 422, id="float-overflow"),
        pytest.param(b'{"data": "\\ud800"}', 400, id="lone-surrogate"),
    ],
)
def test_hostile_bodies_get_contract_errors_and_the_server_keeps_answering(
    kaizen_http: httpx.Client, content: bytes, status: int
) -> None:
    response = kaizen_http.post(
        "/v1/compress", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] in {"validation_error", "encode_error"}
    assert kaizen_http.get("/").json()["message"] == HEALTH_MESSAGE


def test_many_bad_requests_in_a_row_leave_the_real_server_healthy(
    server_http: httpx.Client, kaizen_server_process: Any
) -> None:
    for attempt in range(50):
        server_http.post("/v1/decompress", json={"data": f"a[{attempt + 2}]: 1"})
        server_http.post("/v1/compress", content=b"{")
    assert kaizen_server_process.is_running()
    assert server_http.post("/v1/decompress", json={"data": "a[1]: 1"}).json()["result"] == {
        "a": [1]
    }


def test_serve_with_several_workers_passes_its_flags_to_each(kaizen_server_factory: Any) -> None:
    server = kaizen_server_factory(args=["--workers", "2", "--max-body-bytes", "64"])
    with httpx.Client(base_url=server.base_url) as client:
        for _ in range(6):  # connections land on either worker; each must know the limit
            with httpx.Client(base_url=server.base_url) as fresh:
                assert fresh.post("/v1/compress", json={"data": "x" * 100}).status_code == 413
        assert client.post("/v1/compress", json={"data": [1, 2]}).json()["result"] == "[2]: 1,2"
