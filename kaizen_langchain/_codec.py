"""The one seam between the LangChain components and Kaizen.

Which host encodes, when no ``client=`` is given, is the one ``KaizenClient()`` would pick
(``kaizen_core.config.embedded_by_default``), decided once when the codec is made:

- embedded (no ``KAIZEN_BASE_URL``, no ``KAIZEN_API_KEY``): the ``kaizen_core.engine``
  functions run in-process, the same code the router serves over HTTP, with no
  serialisation hop (this sits in front of every LLM call). Async calls run them on the
  event loop, except prompts of more than ``THREAD_THRESHOLD`` characters in all (256 KB,
  the provider wrappers' rule, ``kaizen_core.providers._compression``): those go to a
  worker thread, so a large encode does not stall the other tasks;
- otherwise clients built from the environment (``kaizen_core.env_clients``): a
  ``KaizenSyncClient`` for blocking calls, a ``KaizenClient`` for async ones.

With ``client=`` (a ``kaizen_core.KaizenSyncClient`` or ``KaizenClient``) text goes through
that client's ``prompts_encode`` endpoint, so a self-hosted ``kaizen serve`` or the hosted API
does the work. Several texts (the messages of one prompt, a batch of documents) go out
together through ``prompts_encode_batch``: concurrently, bounded by the client's
``batch_concurrency``, results in input order.

Decoding stays in-process unless a ``KaizenSyncClient`` is passed explicitly: it is parsing
of the model's answer (no tokens to save), and streamed answers are always decoded locally.

Every encode returns an :class:`EncodeResult` with the numbers the callbacks report:
characters and tokens (for the target model's tokenizer) before and after.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from kaizen_core import engine
from kaizen_core.engine import KTOFDecodeError
from kaizen_core.engine.stream import ASCII_BLANK
from kaizen_core.engine.tokens import counter_for
from kaizen_core.env_clients import EnvClients, default_clients
from kaizen_core.errors import KaizenDecodeError
from kaizen_core.providers import _compression
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = [
    "ASCII_BLANK",
    "Codec",
    "CodecSettings",
    "EncodeResult",
    "KTOFDecodeError",
    "new_stream_decoder",
]

DEFAULT_MODEL = "gpt-4o"

@dataclass
class EncodeResult:
    """One encode: the new text and what it saved."""

    text: str
    original_chars: int
    optimized_chars: int
    original_tokens: int
    optimized_tokens: int
    blocks: int

    @property
    def changed(self) -> bool:
        return self.blocks > 0

    @property
    def tokens_saved(self) -> int:
        return self.original_tokens - self.optimized_tokens

    def add(self, other: EncodeResult) -> None:
        """Accumulate ``other``'s numbers into this result (the text is not touched)."""
        self.original_chars += other.original_chars
        self.optimized_chars += other.optimized_chars
        self.original_tokens += other.original_tokens
        self.optimized_tokens += other.optimized_tokens
        self.blocks += other.blocks


def _unchanged(text: str) -> EncodeResult:
    return EncodeResult(text, 0, 0, 0, 0, 0)


def _is_async_client(client: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(client, "prompts_encode", None))


def _may_hold_json(text: str) -> bool:
    return bool(text) and ("{" in text or "[" in text)


def _off_the_loop(chars: int) -> bool:
    """Whether an async call hands embedded work on ``chars`` characters to a worker thread.

    The provider wrappers' rule: more than ``THREAD_THRESHOLD`` characters (256 KB; read per
    call, so it can be tuned) take long enough to encode (~0.5 ms per KB) that running them
    on the event loop would stall every other task; below it a thread hop costs more.
    """
    return chars > _compression.THREAD_THRESHOLD


def _json_chars(value: Any) -> int:
    """About how many characters ``value`` has as compact JSON (C speed; 0 if unsure)."""
    try:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))
    except (TypeError, ValueError):  # not JSON-able as it is: the engine will say why
        return 0


_FROM_ENVIRONMENT: Any = object()


def _result_of(response: Any) -> tuple[Any, dict[str, Any]]:
    """``(result, meta)`` of a client response model or a plain dict envelope."""
    if isinstance(response, dict):
        return response.get("result"), response.get("meta") or {}
    return response["result"], (response.get("meta") or {})


class Codec:
    """Encodes values and text, decodes KTOF, counts tokens for ``model``.

    Args:
        client: a Kaizen client (sync or async), or ``None``: the embedded engine when the
            environment selects it, else clients built from the environment.
        model: target model whose tokenizer ``format="auto"`` optimises for and whose
            tokens the statistics count (default gpt-4o).
        options: encode options (``format``, ``delimiter``, ``indent``, ``length_marker``);
            ``format`` defaults to ``"auto"`` (fewest tokens, never more than JSON).
        env_clients: with ``client=None``: the clients to use instead of reading the
            environment (``None`` = embedded); used by :meth:`with_model` to share them.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        model: str | None = None,
        options: dict[str, Any] | None = None,
        env_clients: EnvClients | None = _FROM_ENVIRONMENT,
    ) -> None:
        self.client = client
        if client is not None:
            env_clients = None
        elif env_clients is _FROM_ENVIRONMENT:
            env_clients = default_clients()
        self.env_clients: EnvClients | None = env_clients
        self.model = model or DEFAULT_MODEL
        self.options = {"format": "auto", **(options or {})}
        self._count = counter_for(self.model)

    @property
    def embedded(self) -> bool:
        """True when the in-process engine encodes (no client given or taken from env)."""
        return self.client is None and self.env_clients is None

    def with_model(self, model: str | None) -> Codec:
        """The same codec (same clients) targeting another model's tokenizer."""
        if not model or model == self.model:
            return self
        return Codec(self.client, model=model, options=self.options, env_clients=self.env_clients)

    # -- measuring ----------------------------------------------------------------
    def count(self, text: str) -> int:
        """Tokens of ``text`` for the target model (offline)."""
        return self._count(text)

    def _measure(self, original: str, encoded: str, blocks: int) -> EncodeResult:
        if not blocks or encoded == original:
            return _unchanged(original)
        return EncodeResult(
            encoded,
            len(original),
            len(encoded),
            self._count(original),
            self._count(encoded),
            blocks,
        )

    def _engine_options(self) -> dict[str, Any]:
        options = dict(self.options)
        if options.get("format") == "auto":
            options.setdefault("model", self.model)
        return options

    # -- encoding (embedded) ------------------------------------------------------
    def encode_value(self, value: Any) -> EncodeResult:
        """A dict/list (any JSON value) as KTOF (or compact JSON when that is cheaper)."""
        if not self.embedded:
            return self._client_encode(value)
        encoded = engine.encode(value, **self._engine_options())
        original = engine.compact_json(value)
        return self._measure(original, encoded, 1)

    def encode_text(self, text: str) -> EncodeResult:
        """``text`` with its embedded JSON objects/arrays rewritten (unchanged if none pay)."""
        if not _may_hold_json(text):
            return _unchanged(text)
        if not self.embedded:
            return self._client_encode(text)
        encoded, replacements = engine.encode_json_blocks(text, **self._engine_options())
        return self._measure(text, encoded, len(replacements))

    def encode_texts(self, texts: list[str]) -> list[EncodeResult]:
        """:meth:`encode_text` for each text, in order; through a client in one batch."""
        if self.embedded:
            return [self.encode_text(text) for text in texts]
        wanted = _distinct_with_json(texts)
        if not wanted:
            return [_unchanged(text) for text in texts]
        client = self._sync_client()
        payloads = [self._client_payload(text) for text in wanted]
        batch = getattr(client, "prompts_encode_batch", None)
        responses = (
            batch(payloads) if batch is not None else [client.prompts_encode(p) for p in payloads]
        )
        return self._spread(texts, wanted, responses)

    async def aencode_texts(self, texts: list[str]) -> list[EncodeResult]:
        """Async :meth:`encode_texts`: the client's requests run concurrently (bounded);
        the embedded engine runs in a worker thread when the texts are large in all."""
        if self.embedded:
            if _off_the_loop(sum(len(text) for text in texts if _may_hold_json(text))):
                return await asyncio.to_thread(self.encode_texts, texts)
            return self.encode_texts(texts)
        wanted = _distinct_with_json(texts)
        if not wanted:
            return [_unchanged(text) for text in texts]
        client = self._async_client()
        payloads = [self._client_payload(text) for text in wanted]
        batch = getattr(client, "prompts_encode_batch", None)
        if batch is None:
            responses = await asyncio.gather(*(self._aprompts_encode(p) for p in payloads))
        elif _is_async_client(client):
            responses = await batch(payloads)
        else:
            responses = await asyncio.to_thread(batch, payloads)
        return self._spread(texts, wanted, responses)

    def _spread(
        self, texts: list[str], wanted: list[str], responses: list[Any]
    ) -> list[EncodeResult]:
        """One result per text of ``texts`` from the responses for the distinct ``wanted``."""
        by_text = {
            text: self._client_result(text, response) for text, response in zip(wanted, responses)
        }
        return [by_text.get(text) or _unchanged(text) for text in texts]

    # -- encoding (through a client) ----------------------------------------------
    def _client_payload(self, prompt: Any) -> dict[str, Any]:
        return {"prompt": prompt, "options": self._engine_options(), "auto_detect_json": True}

    def _client_result(self, prompt: Any, response: Any) -> EncodeResult:
        result, meta = _result_of(response)
        if isinstance(prompt, str):
            if not meta.get("auto_detection_applied"):
                return _unchanged(prompt)
            return self._measure(prompt, str(result), int(meta.get("embedded_json_count") or 1))
        return self._measure(engine.compact_json(prompt), str(result), 1)

    def _sync_client(self) -> Any:
        """The client for blocking calls (the given one, or the environment's sync client)."""
        if self.client is None:
            assert self.env_clients is not None
            return self.env_clients.sync_client()
        if _is_async_client(self.client):
            raise TypeError(
                "A synchronous call needs a KaizenSyncClient; pass client=KaizenSyncClient(...)"
            )
        return self.client

    def _async_client(self) -> Any:
        """The client for async calls (the given one, or the environment's async client)."""
        if self.client is None:
            assert self.env_clients is not None
            return self.env_clients.async_client()
        return self.client

    def _client_encode(self, prompt: Any) -> EncodeResult:
        client = self._sync_client()
        return self._client_result(prompt, client.prompts_encode(self._client_payload(prompt)))

    async def _aprompts_encode(self, payload: dict[str, Any]) -> Any:
        client = self._async_client()
        if _is_async_client(client):
            return await client.prompts_encode(payload)
        return await asyncio.to_thread(client.prompts_encode, payload)

    async def _aclient_encode(self, prompt: Any) -> EncodeResult:
        return self._client_result(
            prompt, await self._aprompts_encode(self._client_payload(prompt))
        )

    async def aencode_value(self, value: Any) -> EncodeResult:
        """Async :meth:`encode_value`: embedded, inline unless the value is large."""
        if self.embedded:
            if _off_the_loop(_json_chars(value)):
                return await asyncio.to_thread(self.encode_value, value)
            return self.encode_value(value)
        return await self._aclient_encode(value)

    async def aencode_text(self, text: str) -> EncodeResult:
        """Async :meth:`encode_text`: embedded, inline unless the text is large."""
        if not _may_hold_json(text):
            return _unchanged(text)
        if self.embedded:
            if _off_the_loop(len(text)):
                return await asyncio.to_thread(self.encode_text, text)
            return self.encode_text(text)
        return await self._aclient_encode(text)

    # -- decoding -----------------------------------------------------------------
    @property
    def decodes_remotely(self) -> bool:
        """True when :meth:`decode` is a blocking call to a service (a sync client)."""
        return self.client is not None and not _is_async_client(self.client)

    def decode(self, text: str) -> Any:
        """KTOF text -> value. Raises :class:`KTOFDecodeError` with line and column."""
        if not self.decodes_remotely:
            return engine.decode(text)
        try:
            response = self.client.prompts_decode({"ktof": text})
        except KaizenDecodeError as exc:  # the service's 400 for malformed KTOF
            raise _as_ktof_error(exc, text) from exc
        result, _ = _result_of(response)
        return result


def _as_ktof_error(exc: KaizenDecodeError, text: str) -> KTOFDecodeError:
    """The service's decode error as the engine's, so callers handle one error type."""
    detail = exc.detail if isinstance(exc.detail, str) else str(exc)
    match = re.search(r"column \d+: (.*)", detail, re.DOTALL)
    return KTOFDecodeError(
        match.group(1) if match else detail, exc.line or 1, exc.column or 1, exc.text or text
    )


class CodecSettings(BaseModel):
    """The Kaizen fields of the encoding components, and the :class:`Codec` they make.

    Mixed into ``KaizenEncode`` and ``KaizenDocumentCompressor`` (before their LangChain base).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: Any = Field(default=None, exclude=True)
    model: str | None = None
    encode_options: dict[str, Any] = Field(default_factory=dict)

    _codec: Codec | None = PrivateAttr(default=None)

    @property
    def codec(self) -> Codec:
        """The codec, made on first use (that is when the host is chosen)."""
        if self._codec is None:
            self._codec = Codec(self.client, model=self.model, options=self.encode_options)
        return self._codec


def _distinct_with_json(texts: list[str]) -> list[str]:
    """The texts worth sending (they may hold JSON), each once, in first-seen order."""
    return list(dict.fromkeys(text for text in texts if _may_hold_json(text)))


def decode_json_or_ktof(text: str, codec: Codec | None) -> Any:
    """A JSON document when ``text`` is one, else KTOF (errors are KTOF's).

    ``codec`` decodes the KTOF; ``None`` decodes it in this process.
    """
    return decode_reading(text, codec)[0]


def decode_reading(text: str, codec: Codec | None) -> tuple[Any, Literal["json", "ktof"]]:
    """:func:`decode_json_or_ktof`'s value, and whether ``text`` was read as JSON or KTOF.

    Only :data:`ASCII_BLANK` is stripped from ``text``: other spaces belong to its KTOF.
    """
    stripped = text.strip(ASCII_BLANK)
    if stripped[:1] in ("{", '"') or (stripped[:1] == "[" and not is_ktof_root_array(stripped)):
        try:
            return json.loads(stripped), "json"
        except (ValueError, RecursionError):  # not JSON (or too deep for it): read as KTOF
            pass
    return (engine.decode(stripped) if codec is None else codec.decode(stripped)), "ktof"


def is_ktof_root_array(text: str) -> bool:
    """``[N]...`` / ``[#N]...`` starts a KTOF root array, not JSON."""
    body = text[1:].lstrip("#")
    digits = len(body) - len(body.lstrip("0123456789"))
    return digits > 0 and body[digits : digits + 1] in ("]", ",", "\t", "|")


def new_stream_decoder() -> engine.StreamDecoder:
    """The engine's incremental decoder (``feed(chunk) -> list``, ``close()``, ``snapshot()``)."""
    return engine.StreamDecoder()
