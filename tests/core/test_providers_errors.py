"""The provider exception tree of ``kaizen_core.providers.errors`` and ``wrap()``'s refusals."""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import json
import pickle
import sys
import threading
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from kaizen_core import KaizenClient, KaizenSyncClient
from kaizen_core.errors import KaizenAPIError, KaizenError, KaizenRateLimitError
from kaizen_core.providers import KaizenProviderError, KaizenProviderRateLimitError, unwrap, wrap
from kaizen_core.providers._proxy import StreamProxy, mapped_errors
from kaizen_core.providers._report import KaizenCallInfo
from kaizen_core.providers.errors import provider_error, vendor_error_class
from kaizen_core.providers.gemini import _retry_delay
from kaizen_core.providers.openai import _ERRORS as openai_errors
from kaizen_core.providers.openai import map_openai_error
from typing_extensions import Self


class VendorError(Exception):
    """An exception class as a vendor SDK defines one (outside the standard library)."""


def test_rate_limit_error_is_both_a_provider_and_a_rate_limit_error() -> None:
    original = VendorError("vendor said no")
    error = provider_error(
        "openai",
        original,
        status_code=429,
        request_id="req_1",
        headers={"Retry-After-Ms": "2500"},
        body={"e": 1},
    )
    assert type(error) is vendor_error_class(KaizenProviderRateLimitError, VendorError)
    assert type(error).__name__ == "KaizenProviderRateLimitError[VendorError]"
    assert isinstance(error, KaizenProviderRateLimitError) and isinstance(error, VendorError)
    assert isinstance(error, KaizenRateLimitError) and isinstance(error, KaizenAPIError)
    assert isinstance(error, KaizenProviderError) and isinstance(error, KaizenError)
    assert error.retry_after == 2.5 and error.headers == {"retry-after-ms": "2500"}
    assert (error.original, error.status_code, error.request_id, error.body) == (
        original,
        429,
        "req_1",
        {"e": 1},
    )
    assert str(error) == "openai error (429): vendor said no (request_id=req_1) (retry_after=2.5s)"


def test_other_statuses_and_transport_failures_are_provider_errors() -> None:
    server_error = provider_error(
        "anthropic", VendorError("boom"), status_code=529, headers={"retry-after": "3"}
    )
    assert type(server_error) is vendor_error_class(KaizenProviderError, VendorError)
    assert isinstance(server_error, VendorError) and server_error.retry_after == 3.0
    assert not isinstance(server_error, (KaizenRateLimitError, KaizenProviderRateLimitError))
    offline = provider_error("gemini", VendorError("refused"))
    assert offline.status_code is None and offline.retry_after is None and offline.headers == {}


def test_errors_survive_pickling() -> None:
    error = provider_error(
        "openai", VendorError("x"), status_code=429, request_id="r", headers={"retry-after": "1"}
    )
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is type(error)
    assert type(error) is vendor_error_class(KaizenProviderRateLimitError, VendorError)
    assert (restored.status_code, restored.request_id, restored.retry_after, str(restored)) == (
        429,
        "r",
        1.0,
        str(error),
    )


@pytest.mark.parametrize(
    ("delay", "expected"), [("17s", 17.0), ("0.5s", 0.5), ("soon", None), (None, None)]
)
def test_gemini_retry_info(delay: str | None, expected: float | None) -> None:
    details = (
        [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]
        if delay
        else []
    )
    assert _retry_delay({"error": {"code": 429, "details": details}}) == expected


def test_wrap_refuses_what_it_cannot_wrap() -> None:
    with pytest.raises(TypeError, match="openai, anthropic or google-genai"):
        wrap(object())
    assert unwrap("not wrapped") == "not wrapped"


def test_wrap_refuses_a_kaizen_client_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError, match="block the event loop"):
        wrap(openai.AsyncOpenAI(api_key="k"), kaizen=KaizenSyncClient())
    with pytest.raises(TypeError, match="KaizenSyncClient"):
        wrap(anthropic.Anthropic(api_key="k"), kaizen=KaizenClient())


async def test_gemini_checks_the_kaizen_client_per_side() -> None:
    client = wrap(genai.Client(api_key="k"), kaizen=KaizenSyncClient())
    with pytest.raises(TypeError, match="block the event loop"):
        await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents='rows: [{"a": 1}, {"a": 2}]'
        )


# -- combined classes ----------------------------------------------------------------------------
class StrictVendorError(Exception):
    """A vendor exception whose constructor needs keyword arguments (as openai's do)."""

    constructed = 0

    def __init__(self, message: str, *, response: object, code: str) -> None:
        super().__init__(message)
        StrictVendorError.constructed += 1
        self.message = message
        self.response = response
        self.code = code


class FinalVendorError(Exception):
    """A vendor exception that refuses subclasses."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        raise TypeError(f"{cls.__name__}: FinalVendorError cannot be subclassed")


def test_vendor_error_classes_are_made_once_per_pair() -> None:
    rate_limit = vendor_error_class(KaizenProviderRateLimitError, openai.RateLimitError)
    assert vendor_error_class(KaizenProviderRateLimitError, openai.RateLimitError) is rate_limit
    assert (
        rate_limit.__name__
        == rate_limit.__qualname__
        == "KaizenProviderRateLimitError[RateLimitError]"
    )
    assert rate_limit.__module__ == "kaizen_core.providers.errors"
    assert issubclass(rate_limit, KaizenProviderRateLimitError)
    assert issubclass(rate_limit, openai.RateLimitError)
    same_name = vendor_error_class(KaizenProviderRateLimitError, anthropic.RateLimitError)
    assert same_name is not rate_limit and not issubclass(same_name, openai.RateLimitError)
    plain = vendor_error_class(KaizenProviderError, openai.RateLimitError)
    assert plain is not rate_limit and not issubclass(plain, KaizenRateLimitError)


def test_classes_that_cannot_be_combined_fall_back_to_the_kaizen_class() -> None:
    assert vendor_error_class(KaizenProviderError, FinalVendorError) is KaizenProviderError
    error = provider_error("openai", FinalVendorError("no"), status_code=429)
    assert type(error) is KaizenProviderRateLimitError and str(error) == "openai error (429): no"
    # A base Kaizen's class already has: nothing to combine.
    assert vendor_error_class(KaizenProviderError, Exception) is KaizenProviderError


class NeedsArguments(Exception):
    """A vendor exception whose ``__new__`` requires its arguments."""

    def __new__(cls, message: str, *, code: int) -> Self:
        error = super().__new__(cls, message)
        error.code = code
        return error

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)


class ReadOnlyMessage(Exception):
    """A vendor exception whose ``message`` cannot be set."""

    @property
    def message(self) -> str:
        return "the vendor's message"


@pytest.mark.parametrize(
    "original",
    [NeedsArguments("no", code=7), ReadOnlyMessage("no")],
    ids=lambda e: type(e).__name__,
)
def test_vendor_classes_refusing_a_bare_instance_fall_back_to_the_kaizen_class(
    original: Exception,
) -> None:
    combined = vendor_error_class(KaizenProviderError, type(original))
    assert combined is not KaizenProviderError  # the classes combine; an instance fails
    error = provider_error("openai", original, status_code=500)
    assert type(error) is KaizenProviderError and error.original is original
    assert error.message == "no" and str(error) == "openai error (500): no"


class VendorOSError(OSError):
    """A vendor exception built on ``OSError``: ``errno``/``filename`` live outside ``__dict__``."""


STDLIB_AND_C_LEVEL_ORIGINALS: list[BaseException] = [
    ValueError("bad"),
    ConnectionError("refused"),
    FileNotFoundError(2, "No such file or directory", "/srv/key"),
    VendorOSError(13, "Permission denied", "/srv/key"),
    KeyboardInterrupt(),
    SystemExit(3),
    asyncio.CancelledError("cancelled"),
    concurrent.futures.CancelledError(),
    json.JSONDecodeError("Expecting value", "x", 0),
]
if sys.version_info >= (3, 11):
    STDLIB_AND_C_LEVEL_ORIGINALS.append(
        ExceptionGroup("two failures", [ValueError("a"), TypeError("b")])  # noqa: F821
    )


@pytest.mark.parametrize("original", STDLIB_AND_C_LEVEL_ORIGINALS, ids=lambda e: type(e).__name__)
def test_originals_that_are_no_vendor_class_are_never_combined(original: BaseException) -> None:
    """``except ValueError`` / ``OSError`` / ``KeyboardInterrupt`` never catch a provider error."""
    assert vendor_error_class(KaizenProviderError, type(original)) is KaizenProviderError
    error = provider_error("gemini", original, status_code=503)
    assert type(error) is KaizenProviderError and not isinstance(error, type(original))
    assert error.original is original and str(error).startswith("gemini error (503): ")
    copies = (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error))
    for restored in copies:
        assert type(restored) is KaizenProviderError and str(restored) == str(error)
        assert type(restored.original) is type(original)
        assert restored.__cause__ is restored.original
        assert repr(restored.original) == repr(original)
        if isinstance(original, OSError):  # the fields outside args and __dict__ too
            restored_os = restored.original
            assert isinstance(restored_os, OSError)
            assert (restored_os.errno, restored_os.strerror, restored_os.filename) == (
                original.errno,
                original.strerror,
                original.filename,
            )


def test_vendor_state_is_copied_without_calling_the_vendor_constructor() -> None:
    original = StrictVendorError("quota", response={"status": 429}, code="insufficient_quota")
    before = StrictVendorError.constructed
    error = provider_error("openai", original, status_code=429, headers={"retry-after": "2"})
    assert StrictVendorError.constructed == before
    assert isinstance(error, StrictVendorError) and isinstance(error, KaizenProviderRateLimitError)
    assert error.response == {"status": 429} and error.code == "insufficient_quota"
    assert (error.message, error.retry_after, error.original) == ("quota", 2.0, original)
    assert str(error) == "openai error (429): quota (retry_after=2s)"
    assert repr(error) == f"KaizenProviderRateLimitError[StrictVendorError]({str(error)!r})"


def test_pickling_rebuilds_vendor_errors_their_constructors_refuse() -> None:
    lock = threading.Lock()  # pickle refuses a lock: it comes back as None
    original = StrictVendorError("quota", response=lock, code="insufficient_quota")
    error = provider_error("openai", original, status_code=429, request_id="r")
    with pytest.raises(TypeError):  # the vendor's own pickling needs its keyword arguments
        pickle.loads(pickle.dumps(original))
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is type(error) and type(restored.original) is StrictVendorError
    assert restored.original.args == ("quota",) and restored.original.code == "insufficient_quota"
    assert restored.response is None and restored.original.response is None
    assert restored.__cause__ is restored.original and str(restored) == str(error)
    assert error.response is lock  # pickling leaves the live error alone


class Holder:
    """A value whose deep copy fails half-way: ``copy`` files it in its memo, then meets the lock."""

    def __init__(self) -> None:
        self.name = "holder"
        self.lock = threading.Lock()


def test_copies_of_vendor_errors_their_constructors_refuse() -> None:
    holder = Holder()
    original = StrictVendorError("quota", response=holder, code="insufficient_quota")
    error = provider_error("openai", original, status_code=429, body={"e": [1]})
    before = StrictVendorError.constructed

    shallow = copy.copy(error)
    assert type(shallow) is type(error) and shallow.original is original
    assert shallow.__cause__ is original and shallow.body is error.body
    assert str(shallow) == str(error) and shallow.args == error.args

    deep = copy.deepcopy(error)
    assert type(deep) is type(error) and type(deep.original) is StrictVendorError
    assert deep.original is not original and deep.__cause__ is deep.original
    assert deep.original.args == ("quota",) and deep.original.code == "insufficient_quota"
    assert deep.body == {"e": [1]} and deep.body is not error.body
    # Deep copy refuses the holder: shared, the same object in both places (never half-built).
    assert deep.response is deep.original.response is holder
    assert StrictVendorError.constructed == before  # rebuilt without the constructor
    both = copy.deepcopy([error, original])  # the memo holds the rebuilt original
    assert both[0].original is both[1] and type(both[1]) is StrictVendorError


def test_mapped_errors_are_not_mapped_again() -> None:
    """A mapped error is a vendor error too: a mapping layer above must let it through."""
    mapped = map_openai_error(
        openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1"))
    )

    def failing() -> Iterator[Any]:
        raise mapped
        yield  # pragma: no cover - makes this a generator

    stream = StreamProxy(failing(), KaizenCallInfo("openai"), openai_errors)
    with pytest.raises(KaizenProviderError) as caught:
        next(stream)
    assert caught.value is mapped and isinstance(mapped, openai.APIConnectionError)


def _connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1"))


def test_mapped_errors_maps_vendor_errors_once_and_passes_the_rest() -> None:
    original = _connection_error()
    with pytest.raises(openai.APIConnectionError) as caught, mapped_errors(openai_errors):
        raise original
    mapped = caught.value
    assert isinstance(mapped, KaizenProviderError) and mapped.provider == "openai"
    assert mapped.original is original and mapped.__cause__ is original
    for passing in (mapped, StopIteration(), ValueError("not the vendor's")):
        with pytest.raises(type(passing)) as through, mapped_errors(openai_errors):
            raise passing
        assert through.value is passing
    with mapped_errors(openai_errors):
        pass  # nothing raised: nothing to map


async def test_mapped_errors_around_an_await() -> None:
    async def failing(error: BaseException) -> None:
        await asyncio.sleep(0)
        raise error

    original = _connection_error()
    with pytest.raises(KaizenProviderError) as caught, mapped_errors(openai_errors):
        await failing(original)
    assert caught.value.original is original and isinstance(caught.value, type(original))
    end = StopAsyncIteration()
    with pytest.raises(StopAsyncIteration) as through, mapped_errors(openai_errors):
        await failing(end)
    assert through.value is end
