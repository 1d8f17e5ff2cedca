"""Kaizen clients taken from the environment, for integrations that were given none.

The LangChain components and the provider wrappers run the engine in-process when no client
is passed and the environment selects the embedded host (:func:`default_clients` returns
None). When ``KAIZEN_BASE_URL`` or ``KAIZEN_API_KEY`` is set they talk to that service
instead, through an :class:`EnvClients`: the configuration is read once, when the component
is set up, and the clients are built on first use, one :class:`~kaizen_core.KaizenSyncClient`
for blocking calls and one :class:`~kaizen_core.KaizenClient` per event loop for async calls
(an ``httpx.AsyncClient``'s connections belong to the loop that opened them).
"""

from __future__ import annotations

import asyncio
import threading
import weakref

from .client import KaizenClient, KaizenSyncClient
from .config import KaizenClientConfig, embedded_by_default

__all__ = ["EnvClients", "default_clients"]


class EnvClients:
    """Lazily built sync and async Kaizen clients sharing one configuration.

    Args:
        config: the configuration (default: :meth:`KaizenClientConfig.from_env`, read now).
    """

    def __init__(self, config: KaizenClientConfig | None = None) -> None:
        self.config = config if config is not None else KaizenClientConfig.from_env()
        self._lock = threading.Lock()
        self._sync: KaizenSyncClient | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, KaizenClient] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def base_url(self) -> str:
        """Where the clients send their requests."""
        return self.config.resolved_base_url()

    def sync_client(self) -> KaizenSyncClient:
        """The blocking client (built once, on first use, even under concurrent first use)."""
        with self._lock:
            if self._sync is None:
                self._sync = KaizenSyncClient(self.config)
            return self._sync

    def async_client(self) -> KaizenClient:
        """The async client of the running event loop (built on its first use there).

        Raises:
            RuntimeError: called outside a running event loop.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.get(loop)
            if client is None:
                client = self._async[loop] = KaizenClient(self.config)
            return client

    def close(self) -> None:
        """Close the blocking client, if built (the next :meth:`sync_client` builds anew)."""
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the running loop's async client and the blocking client, those built.

        Async clients of other loops cannot be closed from this one; their connections go
        with their loop.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.pop(loop, None)
        if client is not None:
            await client.close()
        self.close()

    def __repr__(self) -> str:
        return f"EnvClients(base_url={self.base_url!r})"


def default_clients() -> EnvClients | None:
    """None when the environment selects the embedded engine, else clients built from it."""
    return None if embedded_by_default() else EnvClients()
