"""Rewrite JSON inside a piece of text to KTOF through a Kaizen client, keeping only savings.

The LlamaIndex components share this seam: the node postprocessor rewrites node text, the
LLM wrapper rewrites message blocks. Encoding goes through the Kaizen core client (embedded
in-process by default, or ``kaizen serve`` / the hosted API when the client is configured so);
token counting is local and offline (``kaizen_core.engine.count_tokens``), because the question
"did this save tokens for *this* model" is about the text the model will actually receive.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kaizen_core import (
    CompressResponse,
    KaizenClient,
    KaizenPayloadTooLargeError,
    KaizenRateLimitError,
    KaizenRequestError,
    KaizenServerError,
    KaizenSyncClient,
    PromptEncodeResponse,
)
from kaizen_core.engine import count_tokens, loads_exact
from kaizen_core.env_clients import EnvClients
from kaizen_core.providers import _compression

__all__ = [
    "AnyKaizenClient",
    "EncodingComponent",
    "KTOFFormat",
    "KaizenTextEncoder",
    "TextRewrite",
    "off_the_loop",
    "resolve_clients",
]

AnyKaizenClient = KaizenClient | KaizenSyncClient
#: "auto": adaptive, fewest tokens for the model; "toon": exactly the TOON spec output.
KTOFFormat = Literal["auto", "toon"]

logger = logging.getLogger("kaizen_llamaindex")

#: The service could not encode right now (after the client's retries). With ``fail_open`` the
#: text goes to the LLM as it is: Kaizen saves tokens, it must not take the pipeline down.
#: Anything else (bad key, bad option, malformed request) is a configuration error and raises.
UNAVAILABLE = (
    KaizenRequestError,
    KaizenRateLimitError,
    KaizenServerError,
    KaizenPayloadTooLargeError,
)

# Cheapest possible pre-check: text without a bracket has no JSON to rewrite.
_JSON_OPENERS = ("{", "[")


@dataclass(frozen=True)
class TextRewrite:
    """The outcome of trying to rewrite one text; ``text`` is the original when not applied."""

    original: str
    text: str
    applied: bool
    original_tokens: int = 0
    encoded_tokens: int = 0
    exact: bool = True
    whole_json: bool = False
    embedded_blocks: int = 0

    @property
    def tokens_saved(self) -> int:
        """Tokens saved by the rewrite (0 when not applied)."""
        return self.original_tokens - self.encoded_tokens if self.applied else 0


def resolve_clients(
    client: AnyKaizenClient | None,
    async_client: KaizenClient | None,
) -> tuple[KaizenSyncClient | None, KaizenClient | None]:
    """Sort the user's ``client``/``async_client`` arguments into a (sync, async) pair.

    ``client`` may be either kind; a side the user did not give stays ``None``.
    """
    sync_client: KaizenSyncClient | None = None
    if isinstance(client, KaizenClient):
        if async_client is not None and async_client is not client:
            raise ValueError("pass the async client as `client` or `async_client`, not both")
        async_client = client
    elif client is not None:
        sync_client = client
    return sync_client, async_client


def _may_hold_json(text: str) -> bool:
    return any(opener in text for opener in _JSON_OPENERS)


def off_the_loop(texts: Iterable[str]) -> bool:
    """Whether an async rewrite of ``texts`` does its CPU work in a worker thread.

    The provider wrappers' rule: more than ``THREAD_THRESHOLD`` characters in all (256 KB;
    ``kaizen_core.providers._compression``, read per call so it can be tuned), counting the
    texts that may hold JSON. Parsing and counting the tokens of that much text would stall
    every other task on the event loop; below it a thread hop costs more than it saves.
    """
    return sum(len(text) for text in texts if _may_hold_json(text)) > _compression.THREAD_THRESHOLD


async def _run(in_thread: bool, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``work(*args, **kwargs)``, in a worker thread when ``in_thread``."""
    if in_thread:
        return await asyncio.to_thread(work, *args, **kwargs)
    return work(*args, **kwargs)


def _parse_whole_json(text: str) -> Any | None:
    """The JSON object/array that is the whole (stripped) text, else None.

    Read as the engine reads embedded blocks (:func:`kaizen_core.engine.loads_exact`): a text
    holding NaN/Infinity or a number a float does not hold as written is left as it is rather
    than sent on with that number changed.
    """
    stripped = text.strip()
    if not stripped or stripped[0] not in _JSON_OPENERS:
        return None
    try:
        value = loads_exact(stripped)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) and value else None


def _unchanged(text: str) -> TextRewrite:
    return TextRewrite(original=text, text=text, applied=False)


def _result_text(response: Any) -> str:
    result = response["result"]
    if not isinstance(result, str):
        raise TypeError(f"Kaizen returned a {type(result).__name__} result where KTOF text was due")
    return result


def _meta(response: Any) -> Mapping[str, Any]:
    meta = response.get("meta") if hasattr(response, "get") else None
    return meta or {}


class KaizenTextEncoder:
    """Rewrites whole-JSON or embedded-JSON text to KTOF when that saves tokens.

    A client side the user did not give is built on first use (:class:`EnvClients`): from the
    given client's configuration, so both paths talk to the same service, else from the
    environment as ``KaizenClient()`` reads it (``KAIZEN_BASE_URL``, ``KAIZEN_API_KEY``,
    otherwise embedded), read on first use, as the LangChain components do. The built async
    client is one per event loop (an ``httpx.AsyncClient``'s connections belong to the loop
    that opened them); :meth:`close`/:meth:`aclose` close the built clients, never the user's.

    Args:
        client: a ``KaizenSyncClient`` or ``KaizenClient``, or None.
        async_client: the ``KaizenClient`` for the async paths when ``client`` is sync.
        format: KTOF output format sent as ``options.format`` ("auto" = adaptive, fewest tokens).
        min_savings_ratio: a rewrite is kept only when it saves at least one token and
            ``saved / original >= min_savings_ratio``.
        fail_open: when the service is unavailable (connection, timeout, 429, 5xx, 413 after
            the client's retries), log a warning and leave the text as it is instead of raising.
    """

    def __init__(
        self,
        client: AnyKaizenClient | None = None,
        async_client: KaizenClient | None = None,
        *,
        format: str = "auto",
        min_savings_ratio: float = 0.0,
        fail_open: bool = True,
    ) -> None:
        if not 0.0 <= min_savings_ratio < 1.0:
            raise ValueError("min_savings_ratio must be in [0, 1)")
        self._sync_client, self._async_client = resolve_clients(client, async_client)
        given = self._sync_client or self._async_client
        self._given_config = given.config if given is not None else None
        self._built_clients: EnvClients | None = None
        self._lock = threading.Lock()  # one EnvClients even under concurrent first use
        self.format = format
        self.min_savings_ratio = min_savings_ratio
        self.fail_open = fail_open

    def __deepcopy__(self, memo: dict[int, Any]) -> KaizenTextEncoder:
        """The same settings and the user's clients (shared: they hold connections); clients
        it builds are its own, built on first use."""
        copied = KaizenTextEncoder.__new__(KaizenTextEncoder)
        copied.__dict__.update(self.__dict__)
        copied._built_clients = None
        copied._lock = threading.Lock()
        return copied

    # -- clients -------------------------------------------------------------------------

    @property
    def sync_client(self) -> KaizenSyncClient:
        """The blocking client: the user's, else the built one."""
        if self._sync_client is not None:
            return self._sync_client
        return self._built.sync_client()

    @property
    def async_client(self) -> KaizenClient:
        """The async client: the user's, else the one built for the running event loop."""
        if self._async_client is not None:
            return self._async_client
        return self._built.async_client()

    @property
    def _built(self) -> EnvClients:
        with self._lock:
            if self._built_clients is None:
                self._built_clients = EnvClients(self._given_config)
            return self._built_clients

    def close(self) -> None:
        """Close the blocking client this encoder built (the user's clients stay open)."""
        if self._built_clients is not None:
            self._built_clients.close()

    async def aclose(self) -> None:
        """Close the clients this encoder built for the running loop (the user's stay open)."""
        if self._built_clients is not None:
            await self._built_clients.aclose()

    # -- requests ------------------------------------------------------------------------

    def _options(self, model: str) -> dict[str, Any]:
        return {"format": self.format, "model": model}

    def _compress_payload(self, value: Any, model: str) -> dict[str, Any]:
        return {"data": value, "options": self._options(model)}

    def _prompt_payload(self, text: str, model: str) -> dict[str, Any]:
        return {"prompt": text, "auto_detect_json": True, "options": self._options(model)}

    # -- public --------------------------------------------------------------------------

    def rewrite(self, text: str, *, model: str) -> TextRewrite:
        """Rewrite ``text`` (blocking); the result says whether the rewrite was kept."""
        if not _may_hold_json(text):
            return _unchanged(text)
        try:
            return self._rewrite(text, model)
        except UNAVAILABLE as exc:
            return self._unavailable(text, exc)

    async def arewrite(
        self, text: str, *, model: str, in_thread: bool | None = None
    ) -> TextRewrite:
        """Rewrite ``text`` through the async client.

        Args:
            in_thread: parse the text and count its tokens in a worker thread; default
                :func:`off_the_loop` of this text (a caller rewriting several texts passes
                the verdict for all of them). The request is the async client's either way
                (the embedded host runs large bodies in a worker thread itself).
        """
        if not _may_hold_json(text):
            return _unchanged(text)
        if in_thread is None:
            in_thread = off_the_loop([text])
        try:
            return await self._arewrite(text, model, in_thread)
        except UNAVAILABLE as exc:
            return self._unavailable(text, exc)

    def _rewrite(self, text: str, model: str) -> TextRewrite:
        value = _parse_whole_json(text)
        if value is not None:
            encoded = _result_text(self.sync_client.compress(self._compress_payload(value, model)))
            return self._judge(text, encoded, model, whole_json=True, blocks=1)
        response = self.sync_client.prompts_encode(self._prompt_payload(text, model))
        return self._judge_prompt(text, response, model)

    async def _arewrite(self, text: str, model: str, in_thread: bool) -> TextRewrite:
        value = await _run(in_thread, _parse_whole_json, text)
        if value is not None:
            response: CompressResponse | PromptEncodeResponse = await self.async_client.compress(
                self._compress_payload(value, model)
            )
            encoded = _result_text(response)
            return await _run(
                in_thread, self._judge, text, encoded, model, whole_json=True, blocks=1
            )
        response = await self.async_client.prompts_encode(self._prompt_payload(text, model))
        return await _run(in_thread, self._judge_prompt, text, response, model)

    def _unavailable(self, text: str, exc: Exception) -> TextRewrite:
        if not self.fail_open:
            raise exc
        logger.warning("Kaizen unavailable, sending %d characters unencoded: %s", len(text), exc)
        return _unchanged(text)

    # -- deciding ------------------------------------------------------------------------

    def _judge_prompt(self, text: str, response: Any, model: str) -> TextRewrite:
        meta = _meta(response)
        blocks = int(meta.get("embedded_json_count") or 0)
        if not meta.get("auto_detection_applied") or blocks == 0:
            # The service fell back to encoding the whole string as one KTOF value, which
            # is not a rewrite of the text the model should read.
            return _unchanged(text)
        return self._judge(text, _result_text(response), model, whole_json=False, blocks=blocks)

    def _judge(
        self, text: str, encoded: str, model: str, *, whole_json: bool, blocks: int
    ) -> TextRewrite:
        before = count_tokens(text, model)
        after = count_tokens(encoded, model)
        saved = before.tokens - after.tokens
        keep = saved > 0 and saved / before.tokens >= self.min_savings_ratio
        return TextRewrite(
            original=text,
            text=encoded if keep else text,
            applied=keep,
            original_tokens=before.tokens,
            encoded_tokens=after.tokens,
            exact=before.exact,
            whole_json=whole_json,
            embedded_blocks=blocks,
        )


class EncodingComponent:
    """What the LlamaIndex components built on a :class:`KaizenTextEncoder` share.

    Mixed into pydantic components that have ``format``, ``min_savings_ratio`` and
    ``fail_open`` fields and a private ``_encoder``.
    """

    format: str
    min_savings_ratio: float
    fail_open: bool
    _encoder: KaizenTextEncoder

    def _make_encoder(
        self, client: AnyKaizenClient | None, async_client: KaizenClient | None
    ) -> None:
        self._encoder = KaizenTextEncoder(
            client,
            async_client,
            format=self.format,
            min_savings_ratio=self.min_savings_ratio,
            fail_open=self.fail_open,
        )

    def close(self) -> None:
        """Close the Kaizen client this component built (clients passed in stay open)."""
        self._encoder.close()

    async def aclose(self) -> None:
        """Close the Kaizen clients this component built for the running event loop."""
        await self._encoder.aclose()
