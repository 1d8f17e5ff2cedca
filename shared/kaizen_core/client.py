"""The Kaizen clients: :class:`KaizenClient` (async) and :class:`KaizenSyncClient` (blocking).

Both speak the Kaizen REST contract method for method like kaizen-client 0.1.4 (``compress``,
``decompress``, ``optimize``, ``optimize_request``, ``optimize_response``, ``prompts_encode``,
``prompts_decode``, ``health``, ``from_env``, context managers, ``close``), take a request
model or a plain mapping, and return the typed response models of :mod:`kaizen_core.models`
(which also read like dicts: ``resp["result"]``).

The HTTP policy lives once in :mod:`kaizen_core._pipeline`; the two classes differ only in
how they wait (``await`` vs. blocking calls). :class:`KaizenSyncClient` never starts an event
loop, so it works inside a running one (Jupyter, LangChain's sync ``invoke``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from typing_extensions import Self

from . import _pipeline as pipeline
from . import _streams as streams
from .config import CONNECTION_FIELDS, HOSTED_BASE_URL, KaizenClientConfig
from .errors import KaizenError
from .limiters import AsyncRateLimiter, SyncRateLimiter
from .logs import configure_from_env, safe_headers
from .middleware import AttemptContext, run_request_hooks, run_response_hooks
from .models import (
    CompressResponse,
    DecodeOptions,
    DecodeRequest,
    DecompressResponse,
    EncodeOptions,
    EncodeRequest,
    HealthResponse,
    OptimizeRequestPayload,
    OptimizeRequestResponse,
    OptimizeResponse,
    OptimizeResponsePayload,
    OptimizeResponseResponse,
    PromptDecodePayload,
    PromptDecodeResponse,
    PromptEncodePayload,
    PromptEncodeResponse,
)

#: kaizen-client 0.1.4's name for the hosted service's URL.
DEFAULT_BASE_URL = HOSTED_BASE_URL
HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)
Limiter = TypeVar("Limiter", SyncRateLimiter, AsyncRateLimiter)
Payload = Mapping[str, Any] | BaseModel
#: Per-item failures a batch reports in place when ``return_exceptions=True``.
BATCH_ITEM_ERRORS = (KaizenError, ValidationError, TypeError)


def _make_config(config: KaizenClientConfig | None, overrides: dict[str, Any]) -> KaizenClientConfig:
    configure_from_env()
    base = config if config is not None else KaizenClientConfig()
    return base.replace(**overrides) if overrides else base


def _needs_new_pool(old: KaizenClientConfig, new: KaizenClientConfig, changes: Mapping[str, Any]) -> bool:
    """Whether ``with_options(**changes)`` must open its own connection pool."""
    return bool(CONNECTION_FIELDS.intersection(changes)) or old.resolved_base_url() != new.resolved_base_url()


def _embedded_transport() -> Any:
    from .transports import EmbeddedTransport

    return EmbeddedTransport()


class _ClientBase(Generic[HttpClient, Limiter]):
    """What both clients share: set-up, configuration, copies, repr, request preparation.

    A subclass names its httpx client class, its rate limiter and the config field of its
    custom transport; everything else about building a client is the same for both.
    """

    _http_class: type[HttpClient]
    _limiter_class: type[Limiter]
    _transport_field: str

    def __init__(
        self,
        config: KaizenClientConfig | None = None,
        *,
        client: HttpClient | None = None,
        **overrides: Any,
    ) -> None:
        self._config: KaizenClientConfig = _make_config(config, overrides)
        self._owns_client = client is None
        if client is None:
            transport = getattr(self._config, self._transport_field)
            if transport is None and self._config.is_embedded:
                transport = _embedded_transport()
            client = self._http_class(transport=transport, **self._config.client_kwargs())
        self._client: HttpClient = client
        rate = self._config.max_requests_per_second
        self._limiter: Limiter | None = self._limiter_class(rate) if rate else None

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """A client configured from ``KAIZEN_*`` environment variables."""
        return cls(KaizenClientConfig.from_env(**overrides))

    def with_options(self, **changes: Any) -> Self:
        """A copy with changed settings; shares the connection pool when it can."""
        config = self._config.replace(**changes)
        if _needs_new_pool(self._config, config, changes):
            return type(self)(config)
        return type(self)(config, client=self._client)

    @property
    def config(self) -> KaizenClientConfig:
        """This client's (immutable) configuration."""
        return self._config

    @property
    def base_url(self) -> str:
        """Where requests go (``http://kaizen.embedded/`` for the embedded engine)."""
        return self._config.resolved_base_url()

    @property
    def is_embedded(self) -> bool:
        """True when the in-process engine answers (no network)."""
        return self._config.is_embedded

    def _prepare(self, name: str, payload: Any, extra_headers: Mapping[str, str] | None) -> pipeline.RequestPlan:
        return pipeline.prepare(self._config, pipeline.ENDPOINTS[name], payload, extra_headers=extra_headers)

    def _answered(
        self,
        plan: pipeline.RequestPlan,
        tracker: pipeline.CallTracker,
        request: httpx.Request,
        response: httpx.Response,
        context: AttemptContext,
    ) -> tuple[httpx.Response, Any, Any]:
        """The rest of an attempt once its (read) answer is in: response middleware, the log
        line, error mapping and the typed model."""
        response = run_response_hooks(self._config.middleware, request, response, context)
        tracker.attempt_answered(response)
        body = pipeline.check_response(response, plan)
        return response, body, pipeline.parse_response(response, body, plan)

    def _context(self, plan: pipeline.RequestPlan, number: int) -> AttemptContext:
        return AttemptContext(plan.path, number, plan.request_id, self._config.retry_policy().attempts())

    def __repr__(self) -> str:
        headers = safe_headers(self._config.default_headers)
        host = "embedded" if self.is_embedded else self.base_url
        key = "set" if self._config.api_key else "none"
        return (
            f"{type(self).__name__}(base_url={host!r}, api_key={key}, "
            f"max_retries={self._config.max_retries}, default_headers={headers!r})"
        )


class KaizenClient(_ClientBase[httpx.AsyncClient, AsyncRateLimiter]):
    """Async client of the Kaizen contract (embedded, self-hosted or hosted).

    ``KaizenClient()`` picks the host from the environment (see :mod:`kaizen_core.config`);
    keyword arguments override fields of ``config``; ``client`` injects your own
    ``httpx.AsyncClient`` (then this client does not close it), as in 0.1.4.
    """

    _http_class = httpx.AsyncClient
    _limiter_class = AsyncRateLimiter
    _transport_field = "async_transport"

    # -- lifecycle ----------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the connection pool (when this client created it)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the contract's endpoints ------------------------------------------------------------
    async def compress(self, payload: EncodeRequest | Mapping[str, Any], **kw: Any) -> CompressResponse:
        """``POST /v1/compress``: JSON -> KTOF text."""
        return await self._call("compress", payload, **kw)  # type: ignore[return-value]

    async def decompress(self, payload: DecodeRequest | Mapping[str, Any], **kw: Any) -> DecompressResponse:
        """``POST /v1/decompress``: KTOF text -> JSON value."""
        return await self._call("decompress", payload, **kw)  # type: ignore[return-value]

    async def optimize(self, payload: EncodeRequest | Mapping[str, Any], **kw: Any) -> OptimizeResponse:
        """``POST /v1/optimize``: KTOF text plus ``stats``."""
        return await self._call("optimize", payload, **kw)  # type: ignore[return-value]

    async def optimize_request(
        self, payload: OptimizeRequestPayload | Mapping[str, Any], **kw: Any
    ) -> OptimizeRequestResponse:
        """``POST /v1/optimize/request``: a prompt with its JSON re-encoded as KTOF."""
        return await self._call("optimize_request", payload, **kw)  # type: ignore[return-value]

    async def optimize_response(
        self, payload: OptimizeResponsePayload | Mapping[str, Any], **kw: Any
    ) -> OptimizeResponseResponse:
        """``POST /v1/optimize/response``: a model's KTOF answer back to JSON."""
        return await self._call("optimize_response", payload, **kw)  # type: ignore[return-value]

    async def prompts_encode(self, payload: PromptEncodePayload | Mapping[str, Any], **kw: Any) -> PromptEncodeResponse:
        """``POST /v1/prompts/encode``: as ``optimize_request`` plus ``schemas``."""
        return await self._call("prompts_encode", payload, **kw)  # type: ignore[return-value]

    async def prompts_decode(self, payload: PromptDecodePayload | Mapping[str, Any], **kw: Any) -> PromptDecodeResponse:
        """``POST /v1/prompts/decode``: KTOF -> JSON with ``replay_meta`` merged into ``meta``."""
        return await self._call("prompts_decode", payload, **kw)  # type: ignore[return-value]

    async def health(self, **kw: Any) -> HealthResponse:
        """``GET /``: the service's welcome message."""
        return await self._call("health", None, **kw)  # type: ignore[return-value]

    # -- batches -------------------------------------------------------------------------------
    async def compress_batch(
        self, payloads: Iterable[Payload], *, concurrency: int | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """``compress`` for many payloads, at most ``concurrency`` at a time, in input order.

        With ``return_exceptions=True`` a failed item's exception takes its place in the list
        instead of failing the batch.
        """
        return await self._batch("compress", payloads, concurrency, return_exceptions)

    async def prompts_encode_batch(
        self, payloads: Iterable[Payload], *, concurrency: int | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """``prompts_encode`` for many payloads (see :meth:`compress_batch`)."""
        return await self._batch("prompts_encode", payloads, concurrency, return_exceptions)

    async def prompts_decode_batch(
        self, payloads: Iterable[Payload], *, concurrency: int | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """``prompts_decode`` for many payloads (see :meth:`compress_batch`)."""
        return await self._batch("prompts_decode", payloads, concurrency, return_exceptions)

    async def _batch(
        self, name: str, payloads: Iterable[Payload], concurrency: int | None, return_exceptions: bool
    ) -> list[Any]:
        items = list(payloads)
        gate = asyncio.Semaphore(concurrency or self._config.batch_concurrency)

        async def one(payload: Payload) -> Any:
            async with gate:
                try:
                    return await self._call(name, payload)
                except BATCH_ITEM_ERRORS as exc:
                    if return_exceptions:
                        return exc
                    raise

        tasks = [asyncio.ensure_future(one(item)) for item in items]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()

    # -- streams -------------------------------------------------------------------------------
    async def prompts_decode_stream(
        self,
        chunks: AsyncIterable[str] | Iterable[str],
        *,
        options: DecodeOptions | Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Any]:
        """Decode KTOF arriving in text chunks (an LLM stream), yielding values as they complete.

        Decoding runs in this process on the engine's streaming decoder, whatever the host;
        malformed input raises :class:`~kaizen_core.errors.KaizenDecodeError`.
        """
        decoder = streams.ChunkDecoder(options)
        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                for value in decoder.feed(chunk):
                    yield value
        else:
            for chunk in chunks:
                for value in decoder.feed(chunk):
                    yield value
        for value in decoder.finish():
            yield value

    async def prompts_encode_stream(
        self,
        items: AsyncIterable[Any] | Iterable[Any],
        *,
        options: EncodeOptions | Mapping[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        """Encode a large array as KTOF, yielding its lines as they are produced.

        ``"\\n".join`` of the lines equals ``engine.encode(list(items))``; encoding runs in
        this process on the engine, whatever the host.
        """
        if isinstance(items, AsyncIterable):
            collected = [item async for item in items]
        else:
            collected = list(items)
        for line in streams.ktof_lines(collected, options):
            yield line
            await asyncio.sleep(0)

    # -- the pipeline's async I/O ------------------------------------------------------------
    async def _call(self, name: str, payload: Any, *, extra_headers: Mapping[str, str] | None = None) -> Any:
        plan = self._prepare(name, payload, extra_headers)
        tracker = pipeline.CallTracker(plan, self._config)
        cache = self._config.cache
        if plan.cache_key is not None and cache is not None:
            hit = pipeline.cached_answer(await cache.aget(plan.cache_key), plan)
            if hit is not None:
                tracker.succeeded(200, hit[0], cache_hit=True)
                return hit[1]
        policy = self._config.retry_policy()
        try:
            async for attempt in policy.context(pipeline.retry_hook(policy)):
                with attempt:
                    response, body, result = await self._attempt(plan, tracker, attempt.num)
        except KaizenError as error:
            tracker.failed(error)
            raise
        if plan.cache_key is not None and cache is not None:
            await cache.aset(plan.cache_key, pipeline.body_for_cache(body), self._config.cache_ttl)
        tracker.succeeded(response.status_code, body)
        return result

    async def _attempt(
        self, plan: pipeline.RequestPlan, tracker: pipeline.CallTracker, number: int
    ) -> tuple[httpx.Response, Any, Any]:
        tracker.begin_attempt(number, self._config.retry_policy().attempts())
        try:
            if self._limiter is not None:
                await self._limiter.acquire()
            request = pipeline.build_request(self._client, plan)
            context = self._context(plan, number)
            response = run_request_hooks(self._config.middleware, request, context)
            if response is None:
                try:
                    response = await self._client.send(request)
                except httpx.TransportError as exc:
                    raise pipeline.transport_error(exc, plan) from exc
            else:
                await response.aread()
            return self._answered(plan, tracker, request, response, context)
        except KaizenError as error:
            tracker.attempt_failed(error)
            raise


class KaizenSyncClient(_ClientBase[httpx.Client, SyncRateLimiter]):
    """Blocking client with the same surface as :class:`KaizenClient` (on ``httpx.Client``).

    Never touches an event loop, so it is safe inside a running one (Jupyter, LangChain's sync
    ``invoke``); thread-safe, so one instance can serve a thread pool.
    """

    _http_class = httpx.Client
    _limiter_class = SyncRateLimiter
    _transport_field = "transport"

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool (when this client created it)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the contract's endpoints ------------------------------------------------------------
    def compress(self, payload: EncodeRequest | Mapping[str, Any], **kw: Any) -> CompressResponse:
        """``POST /v1/compress``: JSON -> KTOF text."""
        return self._call("compress", payload, **kw)  # type: ignore[return-value]

    def decompress(self, payload: DecodeRequest | Mapping[str, Any], **kw: Any) -> DecompressResponse:
        """``POST /v1/decompress``: KTOF text -> JSON value."""
        return self._call("decompress", payload, **kw)  # type: ignore[return-value]

    def optimize(self, payload: EncodeRequest | Mapping[str, Any], **kw: Any) -> OptimizeResponse:
        """``POST /v1/optimize``: KTOF text plus ``stats``."""
        return self._call("optimize", payload, **kw)  # type: ignore[return-value]

    def optimize_request(
        self, payload: OptimizeRequestPayload | Mapping[str, Any], **kw: Any
    ) -> OptimizeRequestResponse:
        """``POST /v1/optimize/request``: a prompt with its JSON re-encoded as KTOF."""
        return self._call("optimize_request", payload, **kw)  # type: ignore[return-value]

    def optimize_response(
        self, payload: OptimizeResponsePayload | Mapping[str, Any], **kw: Any
    ) -> OptimizeResponseResponse:
        """``POST /v1/optimize/response``: a model's KTOF answer back to JSON."""
        return self._call("optimize_response", payload, **kw)  # type: ignore[return-value]

    def prompts_encode(self, payload: PromptEncodePayload | Mapping[str, Any], **kw: Any) -> PromptEncodeResponse:
        """``POST /v1/prompts/encode``: as ``optimize_request`` plus ``schemas``."""
        return self._call("prompts_encode", payload, **kw)  # type: ignore[return-value]

    def prompts_decode(self, payload: PromptDecodePayload | Mapping[str, Any], **kw: Any) -> PromptDecodeResponse:
        """``POST /v1/prompts/decode``: KTOF -> JSON with ``replay_meta`` merged into ``meta``."""
        return self._call("prompts_decode", payload, **kw)  # type: ignore[return-value]

    def health(self, **kw: Any) -> HealthResponse:
        """``GET /``: the service's welcome message."""
        return self._call("health", None, **kw)  # type: ignore[return-value]

    # -- batches -------------------------------------------------------------------------------
    def compress_batch(
        self, payloads: Iterable[Payload], *, concurrency: int | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """``compress`` for many payloads on a thread pool of ``concurrency``, in input order.

        With ``return_exceptions=True`` a failed item's exception takes its place in the list.
        """
        return self._batch("compress", payloads, concurrency, return_exceptions)

    def prompts_encode_batch(
        self, payloads: Iterable[Payload], *, concurrency: int | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """``prompts_encode`` for many payloads (see :meth:`compress_batch`)."""
        return self._batch("prompts_encode", payloads, concurrency, return_exceptions)

    def prompts_decode_batch(
        self, payloads: Iterable[Payload], *, concurrency: int | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """``prompts_decode`` for many payloads (see :meth:`compress_batch`)."""
        return self._batch("prompts_decode", payloads, concurrency, return_exceptions)

    def _batch(
        self, name: str, payloads: Iterable[Payload], concurrency: int | None, return_exceptions: bool
    ) -> list[Any]:
        items: Sequence[Payload] = list(payloads)

        def one(payload: Payload) -> Any:
            try:
                return self._call(name, payload)
            except BATCH_ITEM_ERRORS as exc:
                if return_exceptions:
                    return exc
                raise

        workers = min(concurrency or self._config.batch_concurrency, max(1, len(items)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kaizen-batch") as pool:
            futures = [pool.submit(one, item) for item in items]
            try:
                return [future.result() for future in futures]
            finally:
                for future in futures:
                    future.cancel()

    # -- streams -------------------------------------------------------------------------------
    def prompts_decode_stream(
        self, chunks: Iterable[str], *, options: DecodeOptions | Mapping[str, Any] | None = None
    ) -> Iterator[Any]:
        """Decode KTOF arriving in text chunks, yielding values as they complete (see
        :meth:`KaizenClient.prompts_decode_stream`)."""
        decoder = streams.ChunkDecoder(options)
        for chunk in chunks:
            yield from decoder.feed(chunk)
        yield from decoder.finish()

    def prompts_encode_stream(
        self, items: Iterable[Any], *, options: EncodeOptions | Mapping[str, Any] | None = None
    ) -> Iterator[str]:
        """Encode a large array as KTOF, yielding its lines as they are produced."""
        yield from streams.ktof_lines(list(items), options)

    # -- the pipeline's blocking I/O ---------------------------------------------------------
    def _call(self, name: str, payload: Any, *, extra_headers: Mapping[str, str] | None = None) -> Any:
        plan = self._prepare(name, payload, extra_headers)
        tracker = pipeline.CallTracker(plan, self._config)
        cache = self._config.cache
        if plan.cache_key is not None and cache is not None:
            hit = pipeline.cached_answer(cache.get(plan.cache_key), plan)
            if hit is not None:
                tracker.succeeded(200, hit[0], cache_hit=True)
                return hit[1]
        policy = self._config.retry_policy()
        try:
            for attempt in policy.context(pipeline.retry_hook(policy)):
                with attempt:
                    response, body, result = self._attempt(plan, tracker, attempt.num)
        except KaizenError as error:
            tracker.failed(error)
            raise
        if plan.cache_key is not None and cache is not None:
            cache.set(plan.cache_key, pipeline.body_for_cache(body), self._config.cache_ttl)
        tracker.succeeded(response.status_code, body)
        return result

    def _attempt(
        self, plan: pipeline.RequestPlan, tracker: pipeline.CallTracker, number: int
    ) -> tuple[httpx.Response, Any, Any]:
        tracker.begin_attempt(number, self._config.retry_policy().attempts())
        try:
            if self._limiter is not None:
                self._limiter.acquire()
            request = pipeline.build_request(self._client, plan)
            context = self._context(plan, number)
            response = run_request_hooks(self._config.middleware, request, context)
            if response is None:
                try:
                    response = self._client.send(request)
                except httpx.TransportError as exc:
                    raise pipeline.transport_error(exc, plan) from exc
            else:
                response.read()
            return self._answered(plan, tracker, request, response, context)
        except KaizenError as error:
            tracker.attempt_failed(error)
            raise


__all__ = ["BATCH_ITEM_ERRORS", "DEFAULT_BASE_URL", "KaizenClient", "KaizenSyncClient"]
