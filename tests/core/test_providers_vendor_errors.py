"""Mapped provider errors stay catchable by the vendor SDK's own exception classes.

Each call goes through the real SDK (openai, anthropic, google-genai; sync and async) to the
local stand-ins in ``tests/standins``, which answer with scripted errors. The error a wrapped
client raises must be caught both by the handler a user wrote for the vendor SDK
(``except openai.RateLimitError``) and by Kaizen's (``except KaizenProviderRateLimitError``).
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from kaizen_core.errors import KaizenError, KaizenRateLimitError
from kaizen_core.providers import KaizenProviderError, KaizenProviderRateLimitError, wrap
from kaizen_core.providers._compression import WrapSettings, default_compressor
from kaizen_core.providers.anthropic import wrap_anthropic
from kaizen_core.providers.errors import vendor_error_class
from kaizen_core.providers.gemini import wrap_gemini
from kaizen_core.providers.openai import wrap_openai

from tests.standins.anthropic_server import AnthropicStandin
from tests.standins.gemini_server import GeminiStandin
from tests.standins.openai_server import OpenAIStandIn, Reply

PROMPT = "hello"
GEMINI_MODEL = "gemini-2.5-flash"
MODES = ("sync", "async")
VENDORS = ("openai", "anthropic", "gemini")
# What the vendor SDK raises for each status, i.e. what a user's existing handler names.
VENDOR_CLASSES: dict[str, dict[int, type[BaseException]]] = {
    "openai": {
        429: openai.RateLimitError,
        500: openai.InternalServerError,
        400: openai.BadRequestError,
    },
    "anthropic": {
        429: anthropic.RateLimitError,
        500: anthropic.InternalServerError,
        400: anthropic.BadRequestError,
    },
    "gemini": {
        429: genai_errors.ClientError,
        500: genai_errors.ServerError,
        400: genai_errors.ClientError,
    },
}
STATUS_BASES: dict[str, type[BaseException]] = {
    "openai": openai.APIStatusError,
    "anthropic": anthropic.APIStatusError,
    "gemini": genai_errors.APIError,
}


@dataclass
class Standins:
    openai: OpenAIStandIn
    anthropic: AnthropicStandin
    gemini: GeminiStandin

    def fail_next(self, vendor: str, status: int, retry_after: str | None = None) -> None:
        """Make the vendor's stand-in answer its next request with ``status``."""
        if vendor == "openai":
            headers = {"retry-after": retry_after} if retry_after is not None else {}
            self.openai.enqueue(Reply(status=status, headers=headers))
        else:
            getattr(self, vendor).fail_next(status, "scripted failure", retry_after=retry_after)


@pytest.fixture(scope="module")
def running() -> Iterator[Standins]:
    with OpenAIStandIn() as oa, AnthropicStandin() as an, GeminiStandin() as ge:
        yield Standins(oa, an, ge)


@pytest.fixture
def standins(running: Standins) -> Standins:
    """The three stand-ins, emptied."""
    running.openai.reset()
    running.anthropic.reset()
    running.gemini.reset()
    return running


def _client(vendor: str, mode: str, base_url: str) -> Any:
    """A wrapped vendor client (no SDK retries) pointed at ``base_url``."""
    is_async = mode == "async"
    if vendor == "openai":
        cls: Any = openai.AsyncOpenAI if is_async else openai.OpenAI
        return wrap(cls(api_key="sk-test", base_url=base_url, max_retries=0))
    if vendor == "anthropic":
        cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        return wrap(cls(api_key="sk-ant-test", base_url=base_url, max_retries=0))
    client = wrap(genai.Client(api_key="gemini-test", http_options={"base_url": base_url}))
    return client.aio if is_async else client


async def _call(vendor: str, mode: str, base_url: str) -> Any:
    """One wrapped chat call of ``vendor``, blocking or awaited as ``mode`` says."""
    return await _create(_client(vendor, mode, base_url), vendor, mode)


async def _create(client: Any, vendor: str, mode: str, **extra: Any) -> Any:
    """``client``'s chat call (``extra``: more keyword arguments), awaited in ``async`` mode."""
    messages = [{"role": "user", "content": PROMPT}]
    if vendor == "openai":
        result = client.chat.completions.create(model="gpt-4o", messages=messages, **extra)
    elif vendor == "anthropic":
        result = client.messages.create(
            model="claude-haiku-4-5", max_tokens=64, messages=messages, **extra
        )
    else:
        result = client.models.generate_content(model=GEMINI_MODEL, contents=PROMPT, **extra)
    return await result if mode == "async" else result


def _base_url(standins: Standins, vendor: str) -> str:
    return str(getattr(standins, vendor).base_url)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("vendor", VENDORS)
async def test_rate_limit_is_caught_by_the_vendor_class_and_by_kaizen(
    standins: Standins, vendor: str, mode: str
) -> None:
    standins.fail_next(vendor, 429, retry_after="7")
    vendor_class = VENDOR_CLASSES[vendor][429]
    with pytest.raises(vendor_class) as caught:  # the handler written before wrapping
        await _call(vendor, mode, _base_url(standins, vendor))
    error = caught.value
    assert isinstance(error, KaizenProviderRateLimitError)  # ... and Kaizen's own handlers
    assert isinstance(error, KaizenRateLimitError) and isinstance(error, KaizenError)
    assert isinstance(error, STATUS_BASES[vendor])
    original = error.original
    assert type(original) is vendor_class and error.__cause__ is original
    assert type(error).__name__ == f"KaizenProviderRateLimitError[{vendor_class.__name__}]"
    assert error.provider == vendor and error.status_code == 429 and error.retry_after == 7.0
    assert error.message == original.message and error.response is original.response
    if vendor == "gemini":  # the attributes a google-genai handler reads
        assert error.code == 429 and error.status == "RESOURCE_EXHAUSTED"
        assert error.details == original.details == error.body
    else:
        assert error.response.status_code == 429 and error.body == original.body
        assert error.request_id == original.request_id
    # `code` is the vendor's, typed as the vendor types it (see the errors module docstring):
    # OpenAI's body code (the stand-in writes the status there), none, Gemini's int status.
    expected_code = {"openai": "429", "anthropic": None, "gemini": 429}[vendor]
    assert error.code == getattr(original, "code", None) == expected_code
    assert type(error.code) is type(expected_code)
    assert str(error).startswith(f"{vendor} error (429): ")
    assert repr(error) == f"{type(error).__name__}({str(error)!r})"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("status", [500, 400])
async def test_other_statuses_are_caught_by_the_vendor_status_classes(
    standins: Standins, vendor: str, mode: str, status: int
) -> None:
    standins.fail_next(vendor, status)
    with pytest.raises(VENDOR_CLASSES[vendor][status]) as caught:
        await _call(vendor, mode, _base_url(standins, vendor))
    error = caught.value
    assert isinstance(error, STATUS_BASES[vendor]) and isinstance(error, KaizenProviderError)
    assert not isinstance(error, (KaizenRateLimitError, KaizenProviderRateLimitError))
    if vendor != "gemini":  # google-genai raises ClientError for every 4xx, 429 included
        assert not isinstance(error, VENDOR_CLASSES[vendor][429])
    assert error.status_code == status and type(error.original) is VENDOR_CLASSES[vendor][status]
    if vendor == "gemini":
        assert error.code == status
    else:
        assert error.response.status_code == status


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("vendor", "vendor_class"),
    [("openai", openai.APIConnectionError), ("anthropic", anthropic.APIConnectionError)],
)
async def test_connection_errors_are_caught_by_the_vendor_class(
    vendor: str, vendor_class: type[BaseException], mode: str
) -> None:
    base_url = "http://127.0.0.1:9/v1" if vendor == "openai" else "http://127.0.0.1:9"
    with pytest.raises(vendor_class) as caught:
        await _call(vendor, mode, base_url)
    error = caught.value
    assert isinstance(error, KaizenProviderError) and error.status_code is None
    assert type(error.original) is vendor_class and error.__cause__ is error.original
    assert error.request is error.original.request  # the vendor's own attribute, copied


def _unpickled(error: BaseException) -> Any:
    return pickle.loads(pickle.dumps(error))


COPIES = {"pickle": _unpickled, "copy": copy.copy, "deepcopy": copy.deepcopy}


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("vendor", VENDORS)
async def test_copies_keep_the_combined_class_and_the_cause(
    standins: Standins, vendor: str, mode: str, how: str
) -> None:
    standins.fail_next(vendor, 429, retry_after="7")
    with pytest.raises(KaizenProviderRateLimitError) as caught:
        await _call(vendor, mode, _base_url(standins, vendor))
    error = caught.value
    duplicate = COPIES[how](error)
    assert duplicate is not error and type(duplicate) is type(error)
    with pytest.raises(VENDOR_CLASSES[vendor][429]):  # the vendor's handler catches the copy
        raise duplicate
    original = duplicate.original
    assert type(original) is type(error.original) and duplicate.__cause__ is original
    assert not isinstance(original, KaizenProviderError)
    assert (duplicate.status_code, duplicate.retry_after, duplicate.request_id) == (
        429,
        7.0,
        error.request_id,
    )
    assert (duplicate.body, duplicate.headers, str(duplicate)) == (
        error.body,
        error.headers,
        str(error),
    )
    assert duplicate.code == error.code and duplicate.message == error.message
    assert (original.args, original.message) == (error.original.args, error.original.message)
    if how == "copy":  # shallow: the same values
        assert original is error.original and duplicate.response is error.response
    else:
        assert original is not error.original and duplicate.headers is not error.headers
    if how == "pickle" and vendor == "gemini" and mode == "async":
        assert duplicate.response is None  # aiohttp's response does not pickle
    elif vendor == "gemini" and mode == "async":  # nor deep-copy: shared
        assert duplicate.response is original.response is error.response
    else:
        assert duplicate.response.status_code == original.response.status_code == 429
        assert duplicate.response is original.response  # one response, as in the error


async def test_stream_errors_are_caught_by_the_vendor_classes(standins: Standins) -> None:
    """Mid-stream (anthropic), on opening a stream helper (openai) and per chunk (gemini)."""
    standins.anthropic.fail_next_stream_midway("rate_limit_error", "too fast")
    client = _client("anthropic", "async", _base_url(standins, "anthropic"))
    messages = [{"role": "user", "content": PROMPT}]
    stream = await client.messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=messages, stream=True
    )
    with pytest.raises(anthropic.APIStatusError) as midway:
        [event async for event in stream]
    assert isinstance(midway.value, KaizenProviderRateLimitError)
    assert midway.value.status_code == 429  # Kaizen's reading: the response itself said 200

    standins.fail_next("openai", 500)
    helper = _client("openai", "sync", _base_url(standins, "openai")).chat.completions.stream(
        model="gpt-4o", messages=messages
    )
    with pytest.raises(openai.InternalServerError) as opening, helper:
        pass  # pragma: no cover - the 500 is raised on entry
    assert isinstance(opening.value, KaizenProviderError) and opening.value.status_code == 500

    for mode in MODES:
        standins.fail_next("gemini", 503)
        gemini = _client("gemini", mode, _base_url(standins, "gemini"))
        with pytest.raises(genai_errors.ServerError) as chunked:
            if mode == "sync":
                list(gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
            else:
                chunks = await gemini.models.generate_content_stream(
                    model="gemini-2.5-flash", contents="x"
                )
                [chunk async for chunk in chunks]
        assert isinstance(chunked.value, KaizenProviderError) and chunked.value.code == 503


# -- mapped once, on every path --------------------------------------------------------------------
# A mapped error is a vendor exception too: any mapping layer it passes on its way out must let
# it through. Here a wrapped client is wrapped once more by the same factories, so every call
# path below crosses two mapping layers; the error must come out as the inner layer mapped it.
OUTER_WRAPS: dict[str, Callable[[Any, WrapSettings], Any]] = {
    "openai": wrap_openai,
    "anthropic": wrap_anthropic,
    "gemini": wrap_gemini,
}


def _layered(standins: Standins, vendor: str, mode: str) -> Any:
    settings = WrapSettings(default_compressor({}), False, frozenset({"user"}))
    return OUTER_WRAPS[vendor](_client(vendor, mode, _base_url(standins, vendor)), settings)


async def _drain(stream: Any, mode: str) -> None:
    if mode == "sync":
        list(stream)
    else:
        [item async for item in stream]


async def _call_path(standins: Standins, client: Any, vendor: str, mode: str) -> None:
    standins.fail_next(vendor, 429)
    await _create(client, vendor, mode)


async def _midway_stream_path(standins: Standins, client: Any, vendor: str, mode: str) -> None:
    standins.anthropic.fail_next_stream_midway("rate_limit_error", "too fast")
    await _drain(await _create(client, vendor, mode, stream=True), mode)


async def _stream_helper_path(standins: Standins, client: Any, vendor: str, mode: str) -> None:
    standins.fail_next(vendor, 500)
    messages = [{"role": "user", "content": PROMPT}]
    if vendor == "openai":
        helper = client.chat.completions.stream(model="gpt-4o", messages=messages)
    else:
        helper = client.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=messages)
    if mode == "sync":
        with helper:
            pass  # pragma: no cover - the 500 is raised on entry
    else:
        async with helper:
            pass  # pragma: no cover - the 500 is raised on entry


async def _gemini_stream_path(standins: Standins, client: Any, vendor: str, mode: str) -> None:
    standins.fail_next(vendor, 503)
    stream = client.models.generate_content_stream(model=GEMINI_MODEL, contents=PROMPT)
    await _drain(stream if mode == "sync" else await stream, mode)


async def _gemini_chat_path(standins: Standins, client: Any, vendor: str, mode: str) -> None:
    standins.fail_next(vendor, 429)
    answer = client.chats.create(model=GEMINI_MODEL).send_message(PROMPT)
    if mode == "async":
        await answer


async def _gemini_chat_stream_path(standins: Standins, client: Any, vendor: str, mode: str) -> None:
    standins.fail_next(vendor, 503)
    stream = client.chats.create(model=GEMINI_MODEL).send_message_stream(PROMPT)
    await _drain(stream if mode == "sync" else await stream, mode)


PATHS = [
    *((vendor, "call", _call_path) for vendor in VENDORS),
    ("anthropic", "stream iteration", _midway_stream_path),
    ("openai", "stream helper", _stream_helper_path),
    ("anthropic", "stream helper", _stream_helper_path),
    ("gemini", "stream iteration", _gemini_stream_path),
    ("gemini", "chat", _gemini_chat_path),
    ("gemini", "chat stream", _gemini_chat_stream_path),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("vendor", "path"),
    [pytest.param(vendor, run, id=f"{vendor}-{name}") for vendor, name, run in PATHS],
)
async def test_errors_are_mapped_once_on_every_path(
    standins: Standins, vendor: str, mode: str, path: Callable[..., Awaitable[None]]
) -> None:
    client = _layered(standins, vendor, mode)
    with pytest.raises(KaizenProviderError) as caught:
        await path(standins, client, vendor, mode)
    error = caught.value
    original = error.original
    assert isinstance(original, STATUS_BASES[vendor]) and error.__cause__ is original
    assert not isinstance(original, KaizenProviderError)  # not a mapped error mapped again
    rate_limited = error.status_code == 429
    kaizen_class = KaizenProviderRateLimitError if rate_limited else KaizenProviderError
    assert type(error) is vendor_error_class(kaizen_class, type(original))
