"""Client configuration: where to send requests and with which HTTP policy.

Selection of the host (:meth:`KaizenClientConfig.resolved_base_url`): an explicit
``base_url``, else ``KAIZEN_BASE_URL``, else the hosted service when an API key is known
(``KAIZEN_API_KEY``), else the embedded engine in this process (no network at all).
"""

from __future__ import annotations

import dataclasses
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .logs import REDACTED, register_secret
from .retries import RetryPolicy

if TYPE_CHECKING:
    from .cache import CacheBackend
    from .metrics import MetricsCollector
    from .middleware import Middleware

HOSTED_BASE_URL = "https://api.getkaizen.io/"
EMBEDDED_BASE_URL = "http://kaizen.embedded/"
DEFAULT_TIMEOUT = 30.0

Mode = Literal["auto", "remote", "embedded"]

# Fields that shape the underlying connection pool: changing one in ``with_options`` needs a
# new httpx client; every other field is applied per request.
CONNECTION_FIELDS = frozenset(
    {
        "base_url",
        "mode",
        "max_connections",
        "max_keepalive_connections",
        "keepalive_expiry",
        "proxy",
        "verify",
        "verify_ssl",
        "ca_bundle",
        "transport",
        "async_transport",
    }
)


def _env_str(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from exc


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {value!r}") from exc


@dataclass(repr=False)
class KaizenClientConfig:
    """Everything a :class:`~kaizen_core.KaizenClient` needs; immutable by convention.

    Compatible with kaizen-client 0.1.4's config (``base_url``, ``api_key``, ``timeout``,
    ``verify_ssl``, ``default_headers``); defaults come from ``KAIZEN_BASE_URL``,
    ``KAIZEN_API_KEY``, ``KAIZEN_TIMEOUT`` and ``KAIZEN_MAX_RETRIES`` at construction time, so
    a config (and a client built on it) keeps its host when the environment changes later.
    """

    # The first five fields are kaizen-client 0.1.4's, in its order (positional use works).
    base_url: str | None = field(default_factory=lambda: _env_str("KAIZEN_BASE_URL"))
    api_key: str | None = field(default_factory=lambda: _env_str("KAIZEN_API_KEY"))
    timeout: float | None = field(default_factory=lambda: _env_float("KAIZEN_TIMEOUT", DEFAULT_TIMEOUT))
    verify_ssl: bool | None = None  # 0.1.4's name; wins over ``verify`` when set
    default_headers: dict[str, str] = field(default_factory=dict)
    mode: Mode = "auto"
    # Per-phase timeouts override ``timeout`` for that phase.
    connect_timeout: float | None = None
    read_timeout: float | None = None
    write_timeout: float | None = None
    pool_timeout: float | None = None
    # Retries (see kaizen_core.retries).
    max_retries: int = field(default_factory=lambda: _env_int("KAIZEN_MAX_RETRIES", 2))
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    backoff_jitter: float = 1.0
    max_retry_after: float = 60.0
    # Connection pool and TLS.
    max_connections: int = 100
    max_keepalive_connections: int = 20
    keepalive_expiry: float = 5.0
    proxy: str | None = None
    verify: bool = True
    ca_bundle: str | None = None
    # Client-side policies.
    max_requests_per_second: float | None = None
    cache: CacheBackend | None = None
    cache_ttl: float | None = 3600.0
    middleware: tuple[Middleware, ...] = ()
    metrics: MetricsCollector | None = None
    # Batch helpers.
    batch_concurrency: int = 8
    # Escape hatches: custom httpx transports (tests, proxies of your own, embedded host).
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None

    def __post_init__(self) -> None:
        register_secret(self.api_key)
        self.middleware = tuple(self.middleware)
        if self.mode not in ("auto", "remote", "embedded"):
            raise ValueError(f"mode must be 'auto', 'remote' or 'embedded', got {self.mode!r}")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.max_requests_per_second is not None and self.max_requests_per_second <= 0:
            raise ValueError("max_requests_per_second must be > 0")
        if self.batch_concurrency < 1:
            raise ValueError("batch_concurrency must be >= 1")

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_env(cls, **overrides: Any) -> KaizenClientConfig:
        """A config from ``KAIZEN_BASE_URL``, ``KAIZEN_API_KEY``, ``KAIZEN_TIMEOUT``,
        ``KAIZEN_MAX_RETRIES`` and ``KAIZEN_MAX_RPS``; keyword arguments win."""
        values: dict[str, Any] = {}
        rps = _env_str("KAIZEN_MAX_RPS")
        if rps is not None:
            values["max_requests_per_second"] = _env_float("KAIZEN_MAX_RPS", 0.0)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def embedded(cls, **overrides: Any) -> KaizenClientConfig:
        """A config that always uses the in-process engine."""
        return cls(mode="embedded", **overrides)

    def replace(self, **changes: Any) -> KaizenClientConfig:
        """A copy with ``changes`` applied (unknown names raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    # -- derived values ---------------------------------------------------------------------
    @property
    def is_embedded(self) -> bool:
        """True when requests are answered in this process by the embedded engine."""
        return self.resolved_base_url() == EMBEDDED_BASE_URL

    def resolved_base_url(self) -> str:
        """The base URL requests go to (``EMBEDDED_BASE_URL`` for the embedded engine)."""
        if self.mode == "embedded":
            return EMBEDDED_BASE_URL
        if self.base_url:
            return self.base_url.rstrip("/") + "/"
        if self.mode == "remote" or self.api_key:
            return HOSTED_BASE_URL
        return EMBEDDED_BASE_URL

    def retry_policy(self) -> RetryPolicy:
        """The retry settings as a :class:`~kaizen_core.retries.RetryPolicy`."""
        return RetryPolicy(
            max_retries=self.max_retries,
            initial_backoff=self.initial_backoff,
            max_backoff=self.max_backoff,
            jitter=self.backoff_jitter,
            max_retry_after=self.max_retry_after,
        )

    def httpx_timeout(self) -> httpx.Timeout:
        """Per-phase timeouts as an ``httpx.Timeout``."""
        return httpx.Timeout(
            self.timeout,
            connect=self.connect_timeout if self.connect_timeout is not None else self.timeout,
            read=self.read_timeout if self.read_timeout is not None else self.timeout,
            write=self.write_timeout if self.write_timeout is not None else self.timeout,
            pool=self.pool_timeout if self.pool_timeout is not None else self.timeout,
        )

    def httpx_limits(self) -> httpx.Limits:
        """Connection-pool limits as ``httpx.Limits``."""
        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
            keepalive_expiry=self.keepalive_expiry,
        )

    def ssl_verify(self) -> bool | ssl.SSLContext:
        """The ``verify`` argument for httpx: False, True, or a context for ``ca_bundle``."""
        verify = self.verify if self.verify_ssl is None else self.verify_ssl
        if not verify:
            return False
        if self.ca_bundle:
            return ssl.create_default_context(cafile=self.ca_bundle)
        return True

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by ``httpx.Client`` and ``httpx.AsyncClient``."""
        kwargs: dict[str, Any] = {
            "base_url": self.resolved_base_url(),
            "timeout": self.httpx_timeout(),
        }
        if not self.is_embedded:
            kwargs.update(limits=self.httpx_limits(), verify=self.ssl_verify())
            if self.proxy:
                kwargs["proxy"] = self.proxy
        return kwargs

    def __repr__(self) -> str:
        shown = {
            "base_url": self.resolved_base_url(),
            "mode": self.mode,
            "api_key": REDACTED if self.api_key else None,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
        if self.max_requests_per_second is not None:
            shown["max_requests_per_second"] = self.max_requests_per_second
        if self.cache is not None:
            shown["cache"] = type(self.cache).__name__
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"KaizenClientConfig({inner})"


def embedded_by_default() -> bool:
    """Whether a component given no client should use the in-process engine.

    The same choice :meth:`KaizenClientConfig.from_env` makes for ``KaizenClient()``:
    False as soon as ``KAIZEN_BASE_URL`` or ``KAIZEN_API_KEY`` is set (the integrations then
    go through a client built from the environment, see :mod:`kaizen_core.env_clients`).
    Reads the environment once per call: call it when a component is set up, not per request.
    """
    return KaizenClientConfig.from_env().is_embedded


def merge_headers(*layers: Mapping[str, str] | None) -> dict[str, str]:
    """Merge header maps left to right, case-insensitively (later layers win)."""
    merged: dict[str, str] = {}
    index: dict[str, str] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            previous = index.get(key.lower())
            if previous is not None:
                merged.pop(previous, None)
            merged[key] = value
            index[key.lower()] = key
    return merged


__all__ = [
    "DEFAULT_TIMEOUT",
    "EMBEDDED_BASE_URL",
    "HOSTED_BASE_URL",
    "KaizenClientConfig",
    "embedded_by_default",
    "merge_headers",
]
