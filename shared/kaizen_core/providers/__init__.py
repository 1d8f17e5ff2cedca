"""Kaizen inside the vendor SDKs: ``wrap(OpenAI())``, ``wrap(AsyncAnthropic())``, ``wrap(genai.Client())``.

>>> from openai import AsyncOpenAI
>>> from kaizen_core.providers import wrap
>>> client = wrap(AsyncOpenAI())                                   # doctest: +SKIP
>>> completion = await client.chat.completions.create(            # doctest: +SKIP
...     model="gpt-4o-mini",
...     messages=[{"role": "system", "content": "Answer briefly."},
...               {"role": "user", "content": 'Top customer? {"rows": [...]}'}],
... )
>>> completion.kaizen.saved_tokens                                 # doctest: +SKIP

The wrapped client is the vendor's client with a few methods replaced: every other attribute
is the vendor's own, the replaced methods keep the vendor's signatures and return the vendor's
result objects. Each text the model reads (message text, system prompt, tool results) has its
embedded JSON re-encoded as KTOF, per message: roles, the system prompt's place, images and
tool calls stay as they are, and a text is only replaced when the rewrite is shorter.
Streams pass through event for event (the vendor's stream behind a thin proxy: ``isinstance``
holds, vendor errors raised mid-stream are mapped). Each result (stream, or chunk for Gemini) carries
``result.kaizen``, a :class:`KaizenCallInfo` with the savings (``kaizen_info(result)`` is the
typed accessor); with ``decode_response=True`` non-streaming answers written in KTOF are
decoded into ``result.kaizen.decoded``.

Compression runs where ``KaizenClient()`` would send it: on the in-process engine by default
(no I/O: the async wrappers never block the event loop), or, when ``KAIZEN_BASE_URL`` or
``KAIZEN_API_KEY`` is set at ``wrap`` time, on that service through clients built from the
environment. Pass ``kaizen=KaizenClient(...)`` (async vendor clients) or
``kaizen=KaizenSyncClient(...)`` (sync vendor clients) to choose the service yourself.

Vendor errors are raised as :class:`KaizenProviderError` (HTTP 429:
:class:`KaizenProviderRateLimitError`, also a ``KaizenRateLimitError``), keeping the vendor's
exception as ``original`` plus ``status_code``, ``request_id`` and ``retry_after``. The raised
error is also an instance of the vendor exception's class (``KaizenProviderRateLimitError
[RateLimitError]`` and so on) with the vendor's attributes, so ``except openai.RateLimitError``
and the other vendor handlers written before wrapping still catch it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ._compression import (
    ClientCompressor,
    Compressor,
    WrapSettings,
    check_compressor,
    decode_answer,
    default_compressor,
)
from ._report import KaizenCallInfo, kaizen_info
from .errors import KaizenProviderError, KaizenProviderRateLimitError

__all__ = [
    "KaizenCallInfo",
    "KaizenProviderError",
    "KaizenProviderRateLimitError",
    "decode_answer",
    "kaizen_info",
    "unwrap",
    "wrap",
]

ClientT = TypeVar("ClientT")

_DEFAULT_ENCODE_OPTIONS: Mapping[str, Any] = {}


def _vendor(client: Any) -> str:
    root = (type(client).__module__ or "").split(".")[0]
    if root == "openai":
        return "openai"
    if root == "anthropic":
        return "anthropic"
    if root == "google":
        return "gemini"
    raise TypeError(
        f"wrap() takes an openai, anthropic or google-genai client, got {type(client).__name__}"
    )


def _is_async_client(client: Any, vendor: str) -> bool:
    if vendor == "openai":
        import openai

        return isinstance(client, openai.AsyncOpenAI)
    if vendor == "anthropic":
        from anthropic.resources.messages import AsyncMessages

        return isinstance(client.messages, AsyncMessages)
    return False


def wrap(
    client: ClientT,
    *,
    kaizen: Any = None,
    decode_response: bool = False,
    encode_options: Mapping[str, Any] | None = None,
    roles: Iterable[str] = ("system", "user", "assistant", "tool"),
) -> ClientT:
    """Return ``client`` with Kaizen compression inside its chat calls.

    Args:
        client: ``openai.OpenAI`` / ``AsyncOpenAI`` (and Azure), ``anthropic.Anthropic`` /
            ``AsyncAnthropic`` (and Bedrock/Vertex), or ``google.genai.Client`` (its ``aio``
            side included) or ``client.aio``.
        kaizen: None (default): the in-process engine, or the service that
            ``KAIZEN_BASE_URL``/``KAIZEN_API_KEY`` select (read now); a ``KaizenClient`` for
            async vendor clients or a ``KaizenSyncClient`` for sync ones to compress through
            a Kaizen service of your choice (``/v1/prompts/encode``).
        decode_response: decode non-streaming KTOF answers into ``result.kaizen.decoded``.
        encode_options: engine encode options (``indent``, ``delimiter``, ``length_marker``,
            ``format="auto"`` ...) for the embedded KTOF.
        roles: which texts to compress: any of ``system``, ``user``, ``assistant``, ``tool``.

    Returns:
        A proxy typed as ``client``'s own class.

    Raises:
        TypeError: an unsupported client, or a Kaizen client of the wrong kind (a sync
            Kaizen client would block an async vendor client's event loop, and an async one
            cannot serve a sync vendor client).
    """
    client = unwrap(client)  # re-wrapping replaces the settings instead of stacking them
    vendor = _vendor(client)
    options = dict(_DEFAULT_ENCODE_OPTIONS if encode_options is None else encode_options)
    if kaizen is None:
        compressor: Compressor = default_compressor(options)
    else:
        compressor = ClientCompressor(kaizen, options)
        if vendor != "gemini":  # a genai.Client has both sides: checked per call instead
            check_compressor(compressor, is_async=_is_async_client(client, vendor))
    settings = WrapSettings(compressor, decode_response, frozenset(roles))
    if vendor == "openai":
        from .openai import is_openai_client, wrap_openai

        if not is_openai_client(client):
            raise TypeError(
                f"wrap() takes an openai.OpenAI or AsyncOpenAI client, got {type(client).__name__}"
            )
        return wrap_openai(client, settings)  # type: ignore[no-any-return]
    if vendor == "anthropic":
        from .anthropic import is_anthropic_client, wrap_anthropic

        if not is_anthropic_client(client):
            raise TypeError(
                f"wrap() takes an anthropic client with a messages resource, got {type(client).__name__}"
            )
        return wrap_anthropic(client, settings)  # type: ignore[no-any-return]
    from .gemini import is_gemini_client, wrap_gemini

    if not is_gemini_client(client):
        raise TypeError(f"wrap() takes a google.genai Client, got {type(client).__name__}")
    return wrap_gemini(client, settings)  # type: ignore[no-any-return]


def unwrap(client: ClientT) -> ClientT:
    """The vendor client behind a :func:`wrap` proxy (``client`` itself when not wrapped)."""
    return getattr(client, "__wrapped__", client)  # type: ignore[no-any-return]
