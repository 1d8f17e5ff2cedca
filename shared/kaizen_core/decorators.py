"""``with_kaizen_client``: hand a function a Kaizen client it does not have to manage.

Works on async functions (injects a :class:`~kaizen_core.KaizenClient`) and plain functions
(injects a :class:`~kaizen_core.KaizenSyncClient`). The caller may pass its own client by
keyword or by position; otherwise one is created from ``config`` and closed afterwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, overload

from .client import KaizenClient, KaizenSyncClient
from .config import KaizenClientConfig

F = TypeVar("F", bound=Callable[..., Any])


def _supplied(signature: inspect.Signature, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The client the caller passed for parameter ``name`` (keyword or position), or None."""
    if name in kwargs:
        return kwargs[name]
    params = list(signature.parameters.values())
    for index, param in enumerate(params):
        if param.name == name:
            positional = param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
            return args[index] if positional and index < len(args) else None
    return None


def _inject(signature: inspect.Signature, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], client: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    params = list(signature.parameters.values())
    for index, param in enumerate(params):
        if param.name == name and index < len(args):
            return args[:index] + (client,) + args[index + 1 :], kwargs
    return args, {**kwargs, name: client}


@overload
def with_kaizen_client(config: F) -> F: ...
@overload
def with_kaizen_client(
    config: KaizenClientConfig | None = None, *, param: str = "kaizen"
) -> Callable[[F], F]: ...


def with_kaizen_client(config: Any = None, *, param: str = "kaizen") -> Any:
    """Decorate a function so it receives a Kaizen client as ``param`` (default ``kaizen``).

    Usable bare (``@with_kaizen_client``) or called (``@with_kaizen_client(config)``), as in
    kaizen-client 0.1.4. A client the caller passes (by keyword or position) is used as is and
    left open; a client the decorator creates is closed when the function returns.
    """
    if callable(config) and not isinstance(config, KaizenClientConfig):
        return with_kaizen_client(None, param=param)(config)

    def decorator(func: F) -> F:
        signature = inspect.signature(func)
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        if param not in signature.parameters and not takes_kwargs:
            raise TypeError(f"{func.__qualname__} has no parameter {param!r} to receive the client")

        if inspect.iscoroutinefunction(func):

            @wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if _supplied(signature, param, args, kwargs) is not None:
                    return await func(*args, **kwargs)
                async with KaizenClient(config) as client:
                    args, kwargs = _inject(signature, param, args, kwargs, client)
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @wraps(func)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            if _supplied(signature, param, args, kwargs) is not None:
                return func(*args, **kwargs)
            with KaizenSyncClient(config) as client:
                args, kwargs = _inject(signature, param, args, kwargs, client)
                return func(*args, **kwargs)

        return sync_wrapper  # type: ignore[return-value]

    return decorator


__all__ = ["with_kaizen_client"]
