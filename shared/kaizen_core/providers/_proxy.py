"""Transparent proxies over vendor SDK clients, and the wrapped methods they expose.

A :class:`ResourceProxy` forwards every attribute to the vendor object it wraps, except the
few names it overrides (``create``, ``stream``, ``generate_content`` ...). The overriding
methods keep the vendor's signature and docstring (``functools.wraps``) and return the
vendor's own result objects, with a ``kaizen`` attribute added.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from typing_extensions import Self

from ._compression import CallRun, Walker, WrapSettings
from .errors import KaizenProviderError

__all__ = [
    "DeferredAsyncStream",
    "DeferredStream",
    "ErrorMapper",
    "ResourceProxy",
    "mapped_errors",
    "resource_with_views",
    "stream_helper",
    "wrap_method",
]


@dataclass(frozen=True)
class ErrorMapper:
    """Which vendor exceptions to catch (``types``) and how to turn one into Kaizen's.

    Applied through :class:`mapped_errors`, never by hand.
    """

    types: tuple[type[BaseException], ...]
    convert: Callable[[BaseException], KaizenProviderError]


class mapped_errors:  # lower case: used like a function, as contextlib.suppress is
    """``with mapped_errors(errors):`` around a vendor call, an ``await`` of one, or a stream's
    ``next``/``__anext__``: a vendor exception of ``errors.types`` leaves as
    ``errors.convert(exc)``, raised ``from`` it.

    An error mapped already (a :class:`KaizenProviderError`, which is a vendor exception too)
    and every other exception (``StopIteration`` ...) leave unchanged, so no layer maps an
    error twice. Used by every wrapped call and stream, sync and async.
    """

    __slots__ = ("_errors",)

    def __init__(self, errors: ErrorMapper) -> None:
        self._errors = errors

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if isinstance(exc, self._errors.types) and not isinstance(exc, KaizenProviderError):
            raise self._errors.convert(exc) from exc
        return False


AnswerText = Callable[[Any], "str | None"]


class ResourceProxy:
    """Forward attributes to ``target``; names in ``overrides`` go through their factory.

    ``overrides[name](vendor_attribute)`` builds what the proxy returns for ``name``.
    """

    __slots__ = ("__wrapped__", "_kaizen_overrides")

    def __init__(self, target: Any, overrides: Mapping[str, Callable[[Any], Any]]) -> None:
        object.__setattr__(self, "__wrapped__", target)
        object.__setattr__(self, "_kaizen_overrides", dict(overrides))

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        # The wrapped object's own __class__, so a proxy of a proxy still passes isinstance.
        return self.__wrapped__.__class__

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.__wrapped__, name)
        factory = self._kaizen_overrides.get(name)
        return factory(value) if factory is not None else value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__wrapped__, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self.__wrapped__)))

    def __repr__(self) -> str:
        return f"<kaizen wrap of {self.__wrapped__!r}>"

    # Context-manager use (``with wrap(OpenAI()) as client:``) returns the proxy, not the
    # raw client, so calls inside the block stay wrapped.
    def __enter__(self) -> Self:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> Any:
        return self.__wrapped__.__exit__(*exc_info)

    async def __aenter__(self) -> Self:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> Any:
        return await self.__wrapped__.__aexit__(*exc_info)


_RESPONSE_VIEWS = ("with_raw_response", "with_streaming_response")


def resource_with_views(target: Any, overrides: Mapping[str, Callable[[Any], Any]]) -> Any:
    """A :class:`ResourceProxy` whose ``with_raw_response``/``with_streaming_response`` views
    call the proxy's (wrapped) methods, not the vendor's, so they compress too.

    The vendor SDKs build such a view as ``ViewClass(resource)`` around the resource's own
    methods; the proxy builds the same class around itself.
    """
    proxy = ResourceProxy(target, overrides)
    for name in _RESPONSE_VIEWS:
        proxy._kaizen_overrides.setdefault(name, lambda view: type(view)(proxy))
    return proxy


class StreamProxy(ResourceProxy):
    """A vendor stream (``stream=True`` result or a stream helper's stream), errors mapped.

    Iterating it yields the vendor's own events; a vendor error raised mid-stream comes out
    as :class:`KaizenProviderError`. ``kaizen`` holds the call's savings; every other
    attribute (``response``, ``close``, ``get_final_text`` ...) is the vendor stream's.
    """

    __slots__ = ("_kaizen_errors", "kaizen")

    def __init__(self, target: Any, info: Any, errors: ErrorMapper) -> None:
        super().__init__(target, {})
        object.__setattr__(self, "kaizen", info)
        object.__setattr__(self, "_kaizen_errors", errors)

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        with mapped_errors(self._kaizen_errors):
            return next(self.__wrapped__)

    def __aiter__(self) -> StreamProxy:
        return self

    async def __anext__(self) -> Any:
        with mapped_errors(self._kaizen_errors):
            return await self.__wrapped__.__anext__()


def _finish(
    run: CallRun,
    result: Any,
    kwargs: dict[str, Any],
    answer_text: AnswerText | None,
    errors: ErrorMapper,
) -> Any:
    if kwargs.get("stream"):
        return StreamProxy(result, run.info, errors)
    return run.finish(result, answer_text)


def wrap_method(
    method: Callable[..., Any],
    settings: WrapSettings,
    provider: str,
    walker: Walker,
    map_error: ErrorMapper,
    answer_text: AnswerText | None = None,
    *,
    is_async: bool,
) -> Callable[..., Any]:
    """Wrap a vendor method: rewrite kwargs, call, map errors, annotate the result.

    ``is_async``: ``method`` is a coroutine function; the wrapper is one too, and its
    compression never blocks the event loop.
    """

    def start(kwargs: dict[str, Any]) -> CallRun:
        return CallRun(settings, provider, kwargs.get("model"))

    if is_async:

        @functools.wraps(method)
        async def awrapped(*args: Any, **kwargs: Any) -> Any:
            run = start(kwargs)
            kwargs = await run.arewrite(walker, kwargs)
            with mapped_errors(map_error):
                result = await method(*args, **kwargs)
            return _finish(run, result, kwargs, answer_text, map_error)

        return awrapped

    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        run = start(kwargs)
        kwargs = run.rewrite(walker, kwargs)
        with mapped_errors(map_error):
            result = method(*args, **kwargs)
        return _finish(run, result, kwargs, answer_text, map_error)

    return wrapped


class DeferredStream:
    """A vendor stream manager (``with client.messages.stream(...) as s``), errors mapped."""

    def __init__(
        self, open_manager: Callable[[], Any], run: CallRun, map_error: ErrorMapper
    ) -> None:
        self._open_manager = open_manager
        self._run = run
        self._map_error = map_error
        self._manager: Any = None
        self.kaizen = run.info

    def __enter__(self) -> Any:
        self._manager = self._open_manager()
        with mapped_errors(self._map_error):
            stream = self._manager.__enter__()
        return StreamProxy(stream, self._run.info, self._map_error)

    def __exit__(self, *exc_info: object) -> Any:
        return self._manager.__exit__(*exc_info)


class DeferredAsyncStream:
    """``async with client.messages.stream(...) as s``: compress, then open; errors mapped."""

    def __init__(
        self,
        open_manager: Callable[[dict[str, Any]], Any],
        kwargs: dict[str, Any],
        walker: Walker,
        run: CallRun,
        map_error: ErrorMapper,
    ) -> None:
        self._open_manager = open_manager
        self._kwargs = kwargs
        self._walker = walker
        self._run = run
        self._map_error = map_error
        self._manager: Any = None
        self.kaizen = run.info

    async def __aenter__(self) -> Any:
        kwargs = await self._run.arewrite(self._walker, self._kwargs)
        self._manager = self._open_manager(kwargs)
        with mapped_errors(self._map_error):
            stream = await self._manager.__aenter__()
        return StreamProxy(stream, self._run.info, self._map_error)

    async def __aexit__(self, *exc_info: object) -> Any:
        return await self._manager.__aexit__(*exc_info)


def stream_helper(
    method: Callable[..., Any],
    settings: WrapSettings,
    provider: str,
    walker: Walker,
    map_error: ErrorMapper,
    *,
    is_async: bool,
) -> Callable[..., Any]:
    """Wrap a ``.stream(...)`` helper that returns a (sync or async) context manager."""

    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        run = CallRun(settings, provider, kwargs.get("model"))
        if is_async:
            return DeferredAsyncStream(
                lambda kw: method(*args, **kw), kwargs, walker, run, map_error
            )
        rewritten = run.rewrite(walker, kwargs)
        return DeferredStream(lambda: method(*args, **rewritten), run, map_error)

    return wrapped
