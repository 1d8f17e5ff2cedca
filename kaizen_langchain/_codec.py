"""The one seam between the LangChain components and Kaizen.

Embedded (the default): the ``kaizen_core.engine`` functions run in-process, the same code
the router serves over HTTP, with no serialisation hop (this sits in front of every LLM
call). With ``client=`` (a ``kaizen_core.KaizenSyncClient`` or ``KaizenClient``): text goes
through the client's ``prompts_encode`` / ``prompts_decode`` endpoints, so a self-hosted
``kaizen serve`` or the hosted API does the work.

Every encode returns an :class:`EncodeResult` with the numbers the callbacks report:
characters and tokens (for the target model's tokenizer) before and after.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from dataclasses import dataclass
from typing import Any

from kaizen_core import engine
from kaizen_core.engine import KTOFDecodeError
from kaizen_core.engine.tokens import counter_for

__all__ = ["Codec", "EncodeResult", "KTOFDecodeError", "new_stream_decoder"]

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


def _result_of(response: Any) -> tuple[Any, dict[str, Any]]:
    """``(result, meta)`` of a client response model or a plain dict envelope."""
    if isinstance(response, dict):
        return response.get("result"), response.get("meta") or {}
    return response["result"], (response.get("meta") or {})


class Codec:
    """Encodes values and text, decodes KTOF, counts tokens for ``model``.

    Args:
        client: ``None`` for the embedded engine, or a Kaizen client (sync or async).
        model: target model whose tokenizer ``format="auto"`` optimises for and whose
            tokens the statistics count (default gpt-4o).
        options: encode options (``format``, ``delimiter``, ``indent``, ``length_marker``);
            ``format`` defaults to ``"auto"`` (fewest tokens, never more than JSON).
    """

    def __init__(
        self,
        client: Any = None,
        *,
        model: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.model = model or DEFAULT_MODEL
        self.options = {"format": "auto", **(options or {})}
        self._count = counter_for(self.model)

    def with_model(self, model: str | None) -> Codec:
        """The same codec targeting another model's tokenizer."""
        if not model or model == self.model:
            return self
        return Codec(self.client, model=model, options=self.options)

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
        if self.client is not None:
            return self._client_encode(value)
        encoded = engine.encode(value, **self._engine_options())
        original = engine.compact_json(value)
        return self._measure(original, encoded, 1)

    def encode_text(self, text: str) -> EncodeResult:
        """``text`` with its embedded JSON objects/arrays rewritten (unchanged if none pay)."""
        if not text or ("{" not in text and "[" not in text):
            return _unchanged(text)
        if self.client is not None:
            return self._client_encode(text)
        encoded, replacements = engine.encode_json_blocks(text, **self._engine_options())
        return self._measure(text, encoded, len(replacements))

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

    def _client_encode(self, prompt: Any) -> EncodeResult:
        if _is_async_client(self.client):
            raise TypeError(
                "A synchronous call needs a KaizenSyncClient; pass client=KaizenSyncClient(...)"
            )
        return self._client_result(prompt, self.client.prompts_encode(self._client_payload(prompt)))

    async def _aclient_encode(self, prompt: Any) -> EncodeResult:
        payload = self._client_payload(prompt)
        if _is_async_client(self.client):
            response = await self.client.prompts_encode(payload)
        else:
            response = await asyncio.to_thread(self.client.prompts_encode, payload)
        return self._client_result(prompt, response)

    async def aencode_value(self, value: Any) -> EncodeResult:
        """Async :meth:`encode_value`: embedded work is sub-millisecond, so it runs inline."""
        if self.client is None:
            return self.encode_value(value)
        return await self._aclient_encode(value)

    async def aencode_text(self, text: str) -> EncodeResult:
        """Async :meth:`encode_text`."""
        if self.client is None or not text or ("{" not in text and "[" not in text):
            return self.encode_text(text) if self.client is None else _unchanged(text)
        return await self._aclient_encode(text)

    # -- decoding -----------------------------------------------------------------
    def decode(self, text: str) -> Any:
        """KTOF text -> value. Raises :class:`KTOFDecodeError` with line and column."""
        if self.client is None or _is_async_client(self.client):
            return engine.decode(text)
        result, _ = _result_of(self.client.prompts_decode({"ktof": text}))
        return result


def decode_json_or_ktof(text: str, codec: Codec) -> Any:
    """A JSON document when ``text`` is one, else KTOF (errors are KTOF's)."""
    stripped = text.strip()
    if stripped[:1] in ("{", '"') or (stripped[:1] == "[" and not _KTOF_ROOT_ARRAY(stripped)):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return codec.decode(stripped)


def _KTOF_ROOT_ARRAY(text: str) -> bool:
    """``[N]...`` / ``[#N]...`` starts a KTOF root array, not JSON."""
    body = text[1:].lstrip("#")
    digits = len(body) - len(body.lstrip("0123456789"))
    return digits > 0 and body[digits : digits + 1] in ("]", ",", "\t", "|")


class _WholeTextDecoder:
    """Stand-in for an engine without ``StreamDecoder``: collects, decodes once at close."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.partial: Any = None

    def feed(self, chunk: str) -> list[Any]:
        self._parts.append(chunk)
        return []

    def close(self) -> Any:
        return engine.decode("".join(self._parts).rstrip("\n"))


def new_stream_decoder() -> Any:
    """The engine's incremental decoder (``feed(chunk) -> list``, ``close()``, ``partial``)."""
    factory = getattr(engine, "StreamDecoder", None)
    return factory() if factory is not None else _WholeTextDecoder()
