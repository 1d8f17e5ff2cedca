"""How a wrapped call compresses its prompt texts and decodes its answer.

Three backends rewrite the JSON embedded in a text as KTOF:

* :class:`EmbeddedCompressor` (the default when the environment selects the embedded host,
  see :func:`default_compressor`): the engine in-process. Pure CPU, no I/O, well under a
  millisecond for chat-sized texts, so the async wrappers call it inline and only move very
  large prompts to a worker thread (``asyncio.to_thread``).
* :class:`ClientCompressor`: a :class:`~kaizen_core.KaizenClient` (awaited, for async vendor
  clients) or :class:`~kaizen_core.KaizenSyncClient` (for sync vendor clients), i.e. a
  hosted or self-hosted Kaizen service via ``/v1/prompts/encode``.
* :class:`EnvClientCompressor` (the default when ``KAIZEN_BASE_URL`` or ``KAIZEN_API_KEY``
  is set): the same through clients built from the environment, a sync one for sync vendor
  calls and an async one for async calls.

:class:`CallRun` drives one call: it feeds every text of the request through the backend,
keeps only rewrites that came back shorter, counts what was saved in a
:class:`~kaizen_core.providers._report.KaizenCallInfo`, and decodes the answer on request.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engine import KTOFDecodeError, count_tokens, decode, encode_json_blocks
from ..env_clients import EnvClients, default_clients
from ._messages import Rewrite
from ._report import KaizenCallInfo, attach_info

__all__ = [
    "CallRun",
    "ClientCompressor",
    "Compressor",
    "EmbeddedCompressor",
    "EnvClientCompressor",
    "Rewritten",
    "WrapSettings",
    "check_compressor",
    "decode_answer",
    "default_compressor",
]

logger = logging.getLogger("kaizen_core.providers")

#: Prompts with more characters than this are compressed in a worker thread by async wrappers.
THREAD_THRESHOLD = 256 * 1024

Walker = Callable[[dict[str, Any], Rewrite], dict[str, Any]]


@dataclass(frozen=True)
class Rewritten:
    """One text after compression: the new text and the replaced JSON blocks."""

    text: str
    replacements: list[dict[str, Any]] = field(default_factory=list)


class EmbeddedCompressor:
    """Rewrite embedded JSON with the in-process engine (``encode_json_blocks``)."""

    is_async = False
    is_sync = True

    def __init__(self, encode_options: Mapping[str, Any]) -> None:
        self.encode_options = dict(encode_options)

    def compress(self, text: str) -> Rewritten:
        """The text with its JSON blocks re-encoded (each kept only when shorter)."""
        new_text, replacements = encode_json_blocks(text, **self.encode_options)
        return Rewritten(new_text, replacements)

    async def acompress(self, text: str) -> Rewritten:
        """Same as :meth:`compress` (CPU only; no I/O to wait for)."""
        return self.compress(text)


class ClientCompressor:
    """Rewrite embedded JSON through a Kaizen client's ``prompts_encode`` endpoint."""

    def __init__(self, client: Any, encode_options: Mapping[str, Any]) -> None:
        self.client = client
        self.encode_options = dict(encode_options)
        self.is_async = inspect.iscoroutinefunction(getattr(client, "prompts_encode", None))
        self.is_sync = not self.is_async

    def _payload(self, text: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"prompt": text, "auto_detect_json": True}
        if self.encode_options:
            payload["options"] = dict(self.encode_options)
        return payload

    @staticmethod
    def _read(text: str, response: Any) -> Rewritten:
        meta = response.get("meta") or {}
        result = response.get("result")
        # Without an applied segment rewrite the service returns the text encoded as one
        # KTOF string (quoted): never better than the original text for a chat message.
        if not meta.get("auto_detection_applied") or not isinstance(result, str):
            return Rewritten(text)
        return Rewritten(result, list(meta.get("replacements") or []))

    def _sync_client(self) -> Any:
        return self.client

    def _async_client(self) -> Any:
        return self.client

    def compress(self, text: str) -> Rewritten:
        """Compress via a :class:`~kaizen_core.KaizenSyncClient`."""
        return self._read(text, self._sync_client().prompts_encode(self._payload(text)))

    async def acompress(self, text: str) -> Rewritten:
        """Compress via a :class:`~kaizen_core.KaizenClient` (awaited)."""
        return self._read(text, await self._async_client().prompts_encode(self._payload(text)))


class EnvClientCompressor(ClientCompressor):
    """:class:`ClientCompressor` over clients built from the environment (both sides)."""

    is_async = True
    is_sync = True

    def __init__(self, clients: EnvClients, encode_options: Mapping[str, Any]) -> None:
        self.clients = clients
        self.encode_options = dict(encode_options)

    def _sync_client(self) -> Any:
        return self.clients.sync_client()

    def _async_client(self) -> Any:
        return self.clients.async_client()


Compressor = EmbeddedCompressor | ClientCompressor


def default_compressor(encode_options: Mapping[str, Any]) -> Compressor:
    """The backend of a wrap without ``kaizen=``: the host ``KaizenClient()`` would pick."""
    clients = default_clients()
    if clients is None:
        return EmbeddedCompressor(encode_options)
    return EnvClientCompressor(clients, encode_options)


@dataclass(frozen=True)
class WrapSettings:
    """The options given to :func:`~kaizen_core.providers.wrap`."""

    compressor: Compressor
    decode_response: bool = False
    roles: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})


def check_compressor(compressor: Compressor, *, is_async: bool) -> None:
    """Refuse a Kaizen client that does not fit the vendor client's side.

    Raises:
        TypeError: a sync Kaizen client under an async vendor call (it would block the event
            loop), or an async one under a sync vendor call.
    """
    if is_async and not compressor.is_async and not isinstance(compressor, EmbeddedCompressor):
        raise TypeError("a KaizenSyncClient would block the event loop here; pass a KaizenClient")
    if not is_async and not compressor.is_sync:
        raise TypeError(
            "a KaizenClient (async) cannot serve a sync vendor call; pass a KaizenSyncClient"
        )


def _may_hold_json(text: str) -> bool:
    return len(text) > 2 and ("{" in text or "[" in text)


def decode_answer(text: str | None) -> tuple[Any, str | None]:
    """Decode a KTOF answer: ``(value, None)`` or ``(None, why not)``.

    A single surrounding Markdown code fence (```` ```toon ... ``` ````) is stripped first.
    Only answers that decode to an object or array count as KTOF; prose that happens to
    read as a single KTOF string does not.
    """
    if not text or not text.strip():
        return None, "empty answer"
    body = text.strip()
    if body.startswith("```") and body.endswith("```") and body.count("\n") >= 1:
        body = body[body.index("\n") + 1 : -3].strip("\n")
    try:
        value = decode(body)
    except KTOFDecodeError as exc:
        return None, str(exc)
    if not isinstance(value, (dict, list)):
        return None, "answer is not KTOF (it decodes to a single scalar)"
    return value, None


class CallRun:
    """One wrapped call: rewrite the request, then annotate (and maybe decode) the result."""

    def __init__(self, settings: WrapSettings, provider: str, model: Any) -> None:
        self.settings = settings
        self.info = KaizenCallInfo(
            provider=provider, model=model if isinstance(model, str) else None
        )

    # -- request -----------------------------------------------------------------------------
    def _wanted(self, text: str, role: str) -> bool:
        return role in self.settings.roles and _may_hold_json(text)

    def _account(self, original: str, rewritten: Rewritten) -> str:
        """Count one offered text; return what to send (the rewrite only when shorter)."""
        info = self.info
        info.texts_seen += 1
        if len(rewritten.text) >= len(original):
            return original
        before = count_tokens(original, info.model)
        after = count_tokens(rewritten.text, info.model)
        info.texts_rewritten += 1
        info.json_blocks += len(rewritten.replacements)
        info.replacements.extend(rewritten.replacements)
        info.original_chars += len(original)
        info.compressed_chars += len(rewritten.text)
        info.original_tokens += before.tokens
        info.compressed_tokens += after.tokens
        info.tokens_exact = info.tokens_exact and before.exact
        return rewritten.text

    def rewrite(self, walker: Walker, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Rewrite the call's arguments with a sync backend."""
        compressor = self.settings.compressor
        check_compressor(compressor, is_async=False)
        cache: dict[str, str] = {}

        def rewrite(text: str, role: str) -> str:
            if not self._wanted(text, role):
                return text
            if text not in cache:
                cache[text] = self._account(text, compressor.compress(text))
            return cache[text]

        return walker(kwargs, rewrite)

    async def arewrite(self, walker: Walker, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Rewrite the call's arguments without blocking the event loop.

        Texts are gathered first (a dry walk), compressed concurrently (remote backend) or
        inline / in a worker thread (embedded backend), then put in place.
        """
        check_compressor(self.settings.compressor, is_async=True)
        offered: dict[str, None] = {}

        def collect(text: str, role: str) -> str:
            if self._wanted(text, role):
                offered.setdefault(text)
            return text

        # The dry walk's result is kept: it holds the messages read into lists, so a
        # one-shot iterable (a generator of messages) is not consumed before the real walk.
        kwargs = walker(kwargs, collect)
        if not offered:
            return kwargs
        compressor = self.settings.compressor
        texts = list(offered)
        if isinstance(compressor, EmbeddedCompressor):
            # Module attribute looked up per call, so tests (and users) can tune it.
            if sum(map(len, texts)) > THREAD_THRESHOLD:
                results = await asyncio.to_thread(lambda: [compressor.compress(t) for t in texts])
            else:
                results = [compressor.compress(t) for t in texts]
        else:
            results = await asyncio.gather(*(compressor.acompress(t) for t in texts))
        chosen = {text: self._account(text, result) for text, result in zip(texts, results)}
        return walker(
            kwargs, lambda text, role: chosen.get(text, text) if self._wanted(text, role) else text
        )

    # -- response ----------------------------------------------------------------------------
    def finish(self, result: Any, answer_text: Callable[[Any], str | None] | None = None) -> Any:
        """Attach the info to ``result``; decode its text first when asked and possible."""
        if self.settings.decode_response and answer_text is not None:
            self.info.decoded, self.info.decode_error = decode_answer(answer_text(result))
        if self.info.texts_rewritten:
            logger.debug(
                "%s call to %s: %d text(s) rewritten, %d -> %d tokens",
                self.info.provider,
                self.info.model,
                self.info.texts_rewritten,
                self.info.original_tokens,
                self.info.compressed_tokens,
            )
        return attach_info(result, self.info)


async def maybe_await(value: Any) -> Any:
    """Await ``value`` when it is awaitable (vendor methods that may be sync or async)."""
    if isinstance(value, Awaitable):
        return await value
    return value
