"""Shared fixtures: a real ``kaizen serve`` on 127.0.0.1, the TOON spec fixtures, VCR config.

- ``kaizen_server``: base URL of a ``kaizen serve`` subprocess (no API keys, default body
  limit) started once per test session on a free loopback port.
- ``kaizen_server_factory``: starts further servers with their own flags or environment
  (API keys, small body limits); each is stopped at the end of the session.
- ``spec_fixtures_dir``: ``../shared/data/toon-spec-v4/fixtures`` beside the repository; the
  test is skipped with the reason when that reference folder is absent (a user's clone).
- ``loop_probe``: wraps a blocking function so that each call waits until a task on the
  running event loop has run; a call made on the loop's own thread could not see that.
- ``vcr_config`` / ``vcr_cassette_dir``: secrets filtered from cassettes, matching that
  ignores host and port (the servers' ports are random), cassettes under tests/cassettes/<area>.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
SPEC_FIXTURES_DIR = REPO_DIR.parent / "shared" / "data" / "toon-spec-v4" / "fixtures"
SERVER_START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class KaizenServerProcess:
    """One ``kaizen serve`` subprocess on 127.0.0.1; ``base_url`` once :meth:`start` returns."""

    def __init__(
        self, log_path: Path, args: Sequence[str] = (), env: Mapping[str, str] | None = None
    ) -> None:
        self.log_path = log_path
        self.args = list(args)
        self.env = dict(env or {})
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The command line: this interpreter runs the CLI module (the venv's ``kaizen``)."""
        return [
            sys.executable, "-m", "kaizen_core.cli", "serve",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", *self.args,
        ]  # fmt: skip

    def start(self) -> str:
        """Start the server and wait until ``GET /`` answers; return the base URL."""
        env = {
            key: value for key, value in os.environ.items() if not key.startswith("KAIZEN_SERVER_")
        }
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_DIR
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"kaizen serve exited with {self._process.returncode}:\n{self.log()}"
                    )
                try:
                    if client.get("/").status_code == 200:
                        return self.base_url
                except httpx.TransportError:
                    time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"kaizen serve did not answer within {SERVER_START_TIMEOUT_S} s:\n{self.log()}"
        )

    def is_running(self) -> bool:
        """Whether the process is still alive."""
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after 10 s)."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)

    def log(self) -> str:
        """What the server wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@pytest.fixture(scope="session")
def kaizen_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., KaizenServerProcess]]:
    """Start ``kaizen serve`` processes: ``factory(args=[...], env={...})`` -> started process."""
    started: list[KaizenServerProcess] = []

    def start(args: Sequence[str] = (), env: dict[str, str] | None = None) -> KaizenServerProcess:
        log_path = tmp_path_factory.mktemp("kaizen-serve") / "server.log"
        server = KaizenServerProcess(log_path, args=args, env=env)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def kaizen_server_process(
    kaizen_server_factory: Callable[..., KaizenServerProcess],
) -> KaizenServerProcess:
    """The session's default ``kaizen serve`` (no keys, 10 MiB body limit)."""
    return kaizen_server_factory()


@pytest.fixture(scope="session")
def kaizen_server(kaizen_server_process: KaizenServerProcess) -> str:
    """Base URL (``http://127.0.0.1:<port>``) of the session's real ``kaizen serve``."""
    return kaizen_server_process.base_url


@pytest.fixture(scope="session")
def spec_fixtures_dir() -> Path:
    """The TOON spec v4 fixtures (``encode/`` and ``decode/``) beside the repository."""
    if not SPEC_FIXTURES_DIR.is_dir():
        pytest.skip(
            f"TOON spec fixtures not found at {SPEC_FIXTURES_DIR}: the reference folder "
            "../shared/data sits beside the development checkout, not in a user's clone"
        )
    return SPEC_FIXTURES_DIR


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    """Never record credentials; match without host/port (servers run on random ports)."""
    return {
        "filter_headers": ["authorization", "x-api-key", "api-key", "x-goog-api-key"],
        "match_on": ["method", "path", "query", "body"],
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Cassettes live in tests/cassettes/<area>/<test module>/ (area: core, langchain, ...)."""
    module_path = Path(str(request.node.fspath))
    try:
        area = module_path.parent.relative_to(TESTS_DIR).parts[0]
    except (ValueError, IndexError):
        area = "misc"
    return str(TESTS_DIR / "cassettes" / area / module_path.stem)


@pytest.fixture(scope="session")
def embedded_http() -> Iterator[httpx.Client]:
    """A plain ``httpx.Client`` on the embedded host (in-process router, no socket)."""
    from kaizen_core.transports import EMBEDDED_BASE_URL, EmbeddedTransport

    with httpx.Client(transport=EmbeddedTransport(), base_url=EMBEDDED_BASE_URL) as client:
        yield client


@pytest.fixture(scope="session")
def server_http(kaizen_server: str) -> Iterator[httpx.Client]:
    """A plain ``httpx.Client`` on the session's real ``kaizen serve``."""
    with httpx.Client(base_url=kaizen_server, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session", params=["embedded", "server"])
def kaizen_http(request: pytest.FixtureRequest) -> httpx.Client:
    """The same contract on both hosts: each test using it runs once per host."""
    return request.getfixturevalue(f"{request.param}_http")


class LoopProbe:
    """``function`` wrapped: each call, once entered, waits (up to 10 s) for ``heartbeat()`` on
    the event loop to run, and records whether it did in ``waits``. Had the call run on the
    loop's own thread, the heartbeat could not run and the wait gives up (``False``)."""

    def __init__(self, function: Callable[..., object]) -> None:
        import threading

        self.function = function
        self.entered, self.loop_ran = threading.Event(), threading.Event()
        self.waits: list[bool] = []

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.entered.set()
        self.waits.append(self.loop_ran.wait(timeout=10))
        return self.function(*args, **kwargs)

    async def heartbeat(self) -> None:
        import asyncio

        while not self.entered.is_set():
            await asyncio.sleep(0.001)
        self.loop_ran.set()


@pytest.fixture
def loop_probe() -> type:
    """:class:`LoopProbe`, for tests that prove work left the event loop."""
    return LoopProbe
