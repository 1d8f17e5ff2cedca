"""The embedded host: an httpx transport that answers the Kaizen contract in-process.

``httpx.Client(transport=EmbeddedTransport())`` and ``httpx.AsyncClient(transport=...)``
talk to :func:`kaizen_core.router.handle` directly: no socket, no ASGI layer, no thread hop
for ordinary bodies. Only bodies of at least :data:`OFFLOAD_THRESHOLD_BYTES` are handed to a
worker thread on the async side, so a large encode does not stall the caller's event loop.
Measured on the 2-core dev box: encoding costs about 0.5 ms per KiB of JSON and a thread hop
about 0.2 ms; prompts of a few KiB (the common case in front of an LLM call) stay inline, and
the loop is never blocked for much more than ~15 ms. (``kaizen serve`` offloads from 8 KiB:
there the loop is shared by every connection.)
"""

from __future__ import annotations

import anyio.to_thread
import httpx

from . import router
from .config import EMBEDDED_BASE_URL
from .router import RouterSettings

# EMBEDDED_BASE_URL: the base URL clients use with the embedded transport (any URL works;
# only the path is read).
__all__ = ["EMBEDDED_BASE_URL", "OFFLOAD_THRESHOLD_BYTES", "EmbeddedTransport"]

#: Async requests with bodies at least this large run the router in a worker thread.
OFFLOAD_THRESHOLD_BYTES = 32 * 1024


class EmbeddedTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sync and async httpx transport over :func:`kaizen_core.router.handle`.

    ``settings`` configures API keys and the body limit exactly as ``kaizen serve`` would
    (default: no keys, 10 MiB), so behaviour is identical on both hosts.
    """

    def __init__(self, settings: RouterSettings | None = None) -> None:
        self.settings = settings or router.DEFAULT_SETTINGS

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in the calling thread."""
        return self._respond(request, self._handle(request, request.read()))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` on the loop, or in a worker thread when the body is large."""
        body = await request.aread()
        if len(body) >= OFFLOAD_THRESHOLD_BYTES:
            reply = await anyio.to_thread.run_sync(self._handle, request, body)
        else:
            reply = self._handle(request, body)
        return self._respond(request, reply)

    def _handle(self, request: httpx.Request, body: bytes) -> router.Reply:
        return router.handle(
            request.method, request.url.path, request.headers, body, settings=self.settings
        )

    @staticmethod
    def _respond(request: httpx.Request, reply: router.Reply) -> httpx.Response:
        return httpx.Response(
            reply.status, headers=reply.headers, content=reply.body, request=request
        )

    def __repr__(self) -> str:
        keys = len(self.settings.api_keys)
        return f"EmbeddedTransport(api_keys={keys}, max_body_bytes={self.settings.max_body_bytes})"
