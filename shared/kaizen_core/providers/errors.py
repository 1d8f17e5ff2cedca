"""Vendor SDK errors, mapped into the Kaizen exception tree.

::

    KaizenError
    ├── KaizenProviderError                 any vendor SDK failure (status, connection, timeout)
    │   ├── KaizenProviderError[V]          what is raised for a vendor exception of class V:
    │   │                                   also a V (made per V, see below)
    │   └── KaizenProviderRateLimitError    the vendor answered 429 (``retry_after``)
    │       └── KaizenProviderRateLimitError[V]   likewise also a V
    └── KaizenAPIError
        └── KaizenRateLimitError            (also a base of KaizenProviderRateLimitError)

So ``except KaizenRateLimitError`` catches a rate limit from Kaizen or from the vendor, and
``except KaizenError`` catches everything either side raises. The vendor's own exception
stays reachable as ``original`` (and as ``__cause__``).

The error raised is also an instance of the vendor exception's own class, so handlers written
for the vendor SDK keep working around a wrapped client: ``except openai.RateLimitError``,
``except anthropic.APIStatusError``, ``except google.genai.errors.ClientError`` catch it. Its
class is ``KaizenProviderRateLimitError[RateLimitError]`` (for example): a subclass of the
Kaizen class and of the vendor class, made once per pair and cached (:func:`vendor_error_class`).
The instance holds the vendor exception's attributes (``response``, ``body``, ``request_id``,
gemini's ``code``/``details``/``status`` ...), copied (the vendor's constructor is never
called), next to Kaizen's; where both name an attribute
Kaizen's value is kept (``status_code``, ``message``, ``body``, ``request_id``, ``headers``),
except ``code``, which keeps the vendor's value, so a handler reading ``error.code`` finds what
it found before wrapping. Its type therefore depends on the vendor (``str | int | None``):

- OpenAI: the error code string of the error body (``"rate_limit_exceeded"``,
  ``"insufficient_quota"`` ...), None when the body names none (and for connection errors);
- Anthropic: None (its exceptions carry no code; the kind is ``body["error"]["type"]``);
- Gemini: the HTTP status as an ``int`` (google-genai's ``APIError.code``), so equal to
  ``status_code``.

Kaizen's own ``KaizenAPIError.code`` (a string or None) is unchanged: only a
``KaizenProviderRateLimitError`` read as a ``KaizenRateLimitError`` may hold an ``int`` there.

Only a vendor SDK's own kind of exception class is combined: a subclass of ``Exception``
defined outside the standard library whose instances keep their fields in ``args`` and
``__dict__`` (what is copied). For any other original (``ValueError``, ``OSError``,
``ExceptionGroup``, ``KeyboardInterrupt``, ``asyncio.CancelledError`` ...), and when the two
classes cannot be combined (``TypeError`` on class creation: a metaclass or layout conflict) or
the combined class refuses an instance made without arguments, the Kaizen class is used alone:
the original, untouched, is still ``original``.

``pickle``, ``copy.copy`` and ``copy.deepcopy`` give the same class back, with ``original`` and
``__cause__`` set. A vendor exception is rebuilt its own way when that gives it back (class
included), else without its constructor (OpenAI's and Anthropic's need keyword arguments;
google-genai's own rebuild turns a ``ClientError`` into an ``APIError``). Values pickle refuses
(an aiohttp response) come back as None; values ``copy.deepcopy`` refuses are shared.
"""

from __future__ import annotations

import copy
import pickle
import sys
import threading
import types
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import KaizenError, KaizenRateLimitError
from ..retries import parse_retry_after

__all__ = [
    "KaizenProviderError",
    "KaizenProviderRateLimitError",
    "map_sdk_error",
    "provider_error",
    "vendor_error_class",
]

# The class attribute of a combined class naming its two bases (absent on the plain classes).
_PAIR = "_kaizen_pair"


class KaizenProviderError(KaizenError):
    """A vendor SDK call (OpenAI, Anthropic, Gemini) failed behind a Kaizen wrapper.

    Raised as an instance of a per-vendor subclass that is also the vendor exception's class
    (see the module docstring), so the vendor's ``except`` clauses still apply.

    Attributes:
        provider: ``"openai"``, ``"anthropic"`` or ``"gemini"``.
        original: the vendor SDK's exception, unchanged.
        status_code: the HTTP status the vendor answered (None for connection failures).
        request_id: the vendor's request id (``x-request-id`` / ``request-id``), if sent.
        retry_after: seconds the vendor asked to wait before retrying, if it said.
        body: the vendor's parsed error body (or None).
        headers: the vendor's response headers, lower-cased (empty without a response).
        code: the vendor exception's own ``code``: OpenAI's error code string, Gemini's HTTP
            status (an ``int``), None for Anthropic and when the vendor gives none.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        original: BaseException,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message
        self.provider = provider
        self.original = original
        self.status_code = status_code
        self.request_id = request_id
        self._retry_after = retry_after
        self.body = body
        self.headers: dict[str, str] = {k.lower(): v for k, v in dict(headers or {}).items()}
        # The attributes KaizenAPIError's readers expect, for the rate-limit subclass.
        self.payload = body
        self.code: str | int | None = None  # the vendor's, set by provider_error
        self.detail: Any = message
        # Not super(): in the rate-limit subclass the next base is KaizenAPIError, whose
        # constructor takes an HTTP answer (and in a combined class, then the vendor's
        # constructor); every attribute they would set is set above or copied from `original`.
        Exception.__init__(self, str(self))

    @property
    def retry_after(self) -> float | None:
        """Seconds the vendor asked to wait (``retry-after-ms``, ``Retry-After`` or RetryInfo)."""
        return self._retry_after

    def __str__(self) -> str:
        status = f" ({self.status_code})" if self.status_code is not None else ""
        text = f"{self.provider} error{status}: {self.message}"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        if self._retry_after is not None:
            text += f" (retry_after={self._retry_after:g}s)"
        return text

    def __repr__(self) -> str:
        # Exception's own repr, stated here so a vendor class's __repr__ never takes over.
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # For pickle only (copy.copy and copy.deepcopy use the two methods below): a combined
        # class cannot be pickled by name; its two bases are, and rebuild it.
        kaizen_class, vendor_class = type(self).__dict__.get(_PAIR, (type(self), None))
        state = _portable(self.__dict__)
        return (_rebuild_error, (kaizen_class, vendor_class, state))

    def __copy__(self) -> KaizenProviderError:
        """The same class and attribute values (``original`` shared), ``__cause__`` set again."""
        return _with_cause(_rebuild(type(self), dict(self.__dict__)))

    def __deepcopy__(self, memo: dict[int, Any]) -> KaizenProviderError:
        """The same class with deep copies of the attributes, ``original`` included.

        A vendor exception whose constructor refuses its own ``args`` (OpenAI's and
        Anthropic's need keyword arguments) is rebuilt without it, as unpickling does; a value
        ``copy.deepcopy`` refuses (a lock, a live connection) is shared with this error.
        """
        cls = type(self)
        error = cls.__new__(cls)
        memo[id(self)] = error
        error.__dict__.update(_deep_state(self.__dict__, memo))
        Exception.__init__(error, str(error))
        return _with_cause(error)


# KaizenProviderError.status_code is int | None (connection failures have none); KaizenAPIError's
# is int. This subclass is only built for a 429, so its status_code is always an int. Its code
# is str | int | None where KaizenAPIError's is str | None: Gemini's is the int status.
class KaizenProviderRateLimitError(KaizenProviderError, KaizenRateLimitError):  # type: ignore[misc]
    """The vendor rate-limited the call (HTTP 429); ``retry_after`` carries its hint."""


_COMBINED: dict[tuple[type, type], type[KaizenProviderError]] = {}
_COMBINED_LOCK = threading.Lock()


def vendor_error_class(
    kaizen_class: type[KaizenProviderError], vendor_class: type[BaseException]
) -> type[KaizenProviderError]:
    """The subclass of ``kaizen_class`` and ``vendor_class``, made on first use and cached.

    Named ``f"{kaizen_class.__name__}[{vendor_class.__name__}]"``. ``kaizen_class`` itself when
    it already is a ``vendor_class``; when ``vendor_class`` is not a vendor SDK's kind of
    exception (a ``BaseException`` outside ``Exception``, a class of the standard library, one
    with fields outside ``args`` and ``__dict__``, a Kaizen error); and when the two cannot be
    combined (``TypeError`` on class creation: metaclass or layout conflict, inconsistent MRO).
    """
    key = (kaizen_class, vendor_class)
    with _COMBINED_LOCK:
        combined = _COMBINED.get(key)
        if combined is None:
            combined = _combine(kaizen_class, vendor_class)
            _COMBINED[key] = combined
    return combined


def _combine(
    kaizen_class: type[KaizenProviderError], vendor_class: type[BaseException]
) -> type[KaizenProviderError]:
    if issubclass(kaizen_class, vendor_class) or not _combinable(vendor_class):
        return kaizen_class
    name = f"{kaizen_class.__name__}[{vendor_class.__name__}]"

    def body(namespace: dict[str, Any]) -> None:
        namespace.update(
            {
                "__module__": __name__,
                "__qualname__": name,
                "__doc__": f"{kaizen_class.__doc__}\n\nAlso a ``{vendor_class.__module__}."
                f"{vendor_class.__qualname__}``: the vendor SDK's handlers catch it.",
                _PAIR: (kaizen_class, vendor_class),
            }
        )

    try:
        combined = types.new_class(name, (kaizen_class, vendor_class), exec_body=body)
    except TypeError:
        return kaizen_class
    return combined  # type: ignore[return-value]


class _PlainError(Exception):
    """The instance layout of an exception class written in Python (``args``, ``__dict__``)."""


def _combinable(vendor_class: type[BaseException]) -> bool:
    """Whether an error may also be a ``vendor_class``: a third-party ``Exception`` whose
    instances keep all their fields in ``args`` and ``__dict__``, which are what is copied.

    Never a ``BaseException`` outside ``Exception`` (``KeyboardInterrupt``, ``SystemExit``,
    ``asyncio.CancelledError``: ``except Exception`` must keep missing those), nor a class of the
    standard library (``except ValueError``, ``except OSError`` or ``except
    concurrent.futures.CancelledError`` must not catch provider errors), nor one holding
    C-level fields (an ``OSError`` subclass's ``errno``, an ``ExceptionGroup``'s exceptions), nor
    a Kaizen error.
    """
    root = (vendor_class.__module__ or "").partition(".")[0]
    return (
        issubclass(vendor_class, Exception)
        and not issubclass(vendor_class, KaizenError)
        and root not in sys.stdlib_module_names
        and vendor_class.__basicsize__ <= _PlainError.__basicsize__
    )


def provider_error(
    provider: str,
    original: BaseException,
    *,
    message: str | None = None,
    status_code: int | None = None,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    retry_after: float | None = None,
) -> KaizenProviderError:
    """Build the Kaizen exception for a vendor failure (the rate-limit class for 429).

    The result is also an instance of ``type(original)`` (see :func:`vendor_error_class`)
    and carries a copy of ``original``'s attributes under Kaizen's own.
    ``retry_after`` defaults to the ``retry-after-ms`` / ``Retry-After`` headers.
    """
    if retry_after is None:
        retry_after = parse_retry_after(headers)
    kaizen_class = KaizenProviderRateLimitError if status_code == 429 else KaizenProviderError
    fields: dict[str, Any] = {
        "provider": provider,
        "original": original,
        "status_code": status_code,
        "request_id": request_id,
        "retry_after": retry_after,
        "body": body,
        "headers": headers,
    }
    message = message or str(original) or type(original).__name__
    cls = vendor_error_class(kaizen_class, type(original))
    try:
        return _build(cls, message, fields)
    except Exception:  # a vendor class's __new__ or descriptors may refuse the
        if cls is kaizen_class:  # instance (arguments required, a read-only `message` ...)
            raise
        return _build(kaizen_class, message, fields)


def _build(
    cls: type[KaizenProviderError], message: str, fields: dict[str, Any]
) -> KaizenProviderError:
    """An instance of ``cls`` (its constructor not called) holding the vendor's state and Kaizen's."""
    error = cls.__new__(cls)
    vendor_state = getattr(fields["original"], "__dict__", {})
    error.__dict__.update(vendor_state)
    KaizenProviderError.__init__(error, message, **fields)
    if vendor_state.get("code") is not None:
        error.code = vendor_state["code"]  # what `except <vendor>Error as e: e.code` reads
    return error


def map_sdk_error(
    provider: str,
    exc: BaseException,
    status_error: type[BaseException],
    status_of: Callable[[Any], int],
) -> KaizenProviderError:
    """Map an ``openai``/``anthropic`` SDK error (the two SDKs share the generated shape).

    An instance of ``status_error`` (``APIStatusError``) keeps the status ``status_of`` gives,
    its ``request_id``, the response headers (for the retry hint) and the body; any other
    SDK error (connection, timeout) keeps its message only.
    """
    message = getattr(exc, "message", None)
    if not isinstance(exc, status_error):
        return provider_error(provider, exc, message=message)
    return provider_error(
        provider,
        exc,
        message=message,
        status_code=status_of(exc),
        request_id=getattr(exc, "request_id", None),
        headers=exc.response.headers,  # type: ignore[attr-defined]
        body=getattr(exc, "body", None),
    )


# -- pickling and copies -------------------------------------------------------------------------
class _Reduced:
    """Pickles as ``function(*args)``: unpickling puts that call's result in its place."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self._reduction = (function, args)

    def __reduce__(self) -> tuple[Any, ...]:
        return self._reduction


def _portable(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` made picklable: vendor exceptions rebuilt without their constructors
    (some need keyword arguments pickle does not pass), values pickle refuses (an aiohttp
    response, say) as None.
    """
    out: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, BaseException) and not isinstance(value, KaizenProviderError):
            if not _pickles(value):
                value = _Reduced(
                    _rebuild_vendor_error, type(value), value.args, _portable(value.__dict__)
                )
        else:
            try:
                pickle.dumps(value)
            except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
                value = None  # what pickle raises for objects it refuses
        out[key] = value
    return out


def _pickles(error: BaseException) -> bool:
    """Whether ``error``'s own pickling gives it back, class included (it then keeps what
    ``args`` and ``__dict__`` miss, an ``OSError``'s ``errno`` say; google-genai's rebuilds
    every ``APIError`` subclass as ``APIError``)."""
    try:
        return type(pickle.loads(pickle.dumps(error))) is type(error)
    except Exception:  # noqa: BLE001 - a vendor constructor given only ``args`` may raise anything
        return False


def _deep_state(state: dict[str, Any], memo: dict[int, Any]) -> dict[str, Any]:
    """``copy.deepcopy`` of each value of ``state`` (see ``__deepcopy__`` for the exceptions)."""
    return {key: _deep_value(value, memo) for key, value in state.items()}


def _deep_value(value: Any, memo: dict[int, Any]) -> Any:
    if id(value) in memo:
        return memo[id(value)]
    trial = dict(memo)  # a failed deepcopy leaves half-built copies in its memo: kept apart
    try:
        copied = copy.deepcopy(value, trial)
    except Exception:  # noqa: BLE001 - the value's own reduction (a vendor constructor) may raise anything
        copied = _REFUSED
    if isinstance(value, BaseException) and type(copied) is not type(value):
        copied = _rebuild_vendor_error(  # refused, or rebuilt as another class (google-genai)
            type(value), _deep_value(value.args, memo), _deep_state(value.__dict__, memo)
        )
        memo[id(value)] = copied
    elif copied is _REFUSED:
        return value  # shared
    else:
        kept = trial.pop(id(trial), [])  # copy's keep-alive list sits under its memo's id
        memo.update(trial)
        memo.setdefault(id(memo), []).extend(kept)
    return copied


_REFUSED = object()


def _rebuild_vendor_error(
    cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
) -> BaseException:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def _rebuild_error(
    kaizen_class: type[KaizenProviderError],
    vendor_class: type[BaseException] | None,
    state: dict[str, Any],
) -> KaizenProviderError:
    cls = kaizen_class if vendor_class is None else vendor_error_class(kaizen_class, vendor_class)
    return _with_cause(_rebuild(cls, state))


def _with_cause(error: KaizenProviderError) -> KaizenProviderError:
    original = error.__dict__.get("original")
    if isinstance(original, BaseException):
        error.__cause__ = original  # as `raise ... from original` left it
    return error


def _rebuild(cls: type[KaizenProviderError], state: dict[str, Any]) -> KaizenProviderError:
    # Also the reconstructor named by pickles made before the combined classes existed.
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error
