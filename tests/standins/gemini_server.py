"""A local stand-in for the Gemini API's ``generateContent`` and ``streamGenerateContent``.

Real HTTP on 127.0.0.1 (free port), built on the shared plumbing of
:mod:`tests.standins.anthropic_server` (recorded requests, queued answers, scripted errors,
the concurrency barrier, ``require_ktof``). Point ``google-genai`` at it with::

    client = genai.Client(api_key="test", http_options={"base_url": server.base_url})

Routes: ``POST /{version}/models/{model}:generateContent`` (JSON) and
``POST /{version}/models/{model}:streamGenerateContent?alt=sse`` (server-sent events, one
``GenerateContentResponse`` chunk per event). Errors use Google's envelope
(``{"error": {"code", "message", "status", "details"}}``); a 429 carries a
``google.rpc.RetryInfo`` detail with ``retryDelay`` and, when asked, a ``Retry-After`` header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tests.standins.anthropic_server import RecordedRequest, Reply, StandinServer, sse

_ROUTE = re.compile(r"^/(?P<version>v1(?:alpha|beta)?)/models/(?P<model>[^:/]+):(?P<method>\w+)$")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _iter_part_texts(parts: Any) -> Iterator[str]:
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        if "text" in part:
            yield part["text"]
        response = (part.get("functionResponse") or {}).get("response")
        if isinstance(response, dict):
            for value in response.values():
                if isinstance(value, str):
                    yield value


class GeminiStandin(StandinServer):
    """The Gemini API (``generativelanguage``) for ``generateContent`` calls."""

    def prompt_texts(self, request: RecordedRequest) -> list[str]:
        payload = request.json or {}
        texts = list(_iter_part_texts((payload.get("systemInstruction") or {}).get("parts")))
        for content in payload.get("contents", []):
            texts.extend(_iter_part_texts(content.get("parts")))
        return texts

    def error_body(self, status: int, message: str, retry_after: str | None) -> Any:
        error: dict[str, Any] = {
            "code": status,
            "message": message,
            "status": _STATUS_NAMES.get(status, "UNKNOWN"),
        }
        if retry_after is not None:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{retry_after}s",
                }
            ]
        return {"error": error}

    def fail_next(
        self,
        status: int,
        message: str = "scripted error",
        *,
        retry_after: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after_header: bool = False,
    ) -> None:
        """Like the base, but Google sends the retry hint in the body; the header is opt-in."""
        super().fail_next(status, message, retry_after=retry_after, headers=headers)
        if retry_after is not None and not retry_after_header:
            self._errors[-1].headers.pop("retry-after", None)

    def route(self, request: RecordedRequest) -> Reply:
        match = _ROUTE.match(request.path)
        if request.method != "POST" or match is None:
            return Reply(404, self.error_body(404, f"no route {request.path}", None))
        method, model = match.group("method"), match.group("model")
        text = self.next_answer()
        prompt_tokens = max(1, sum(len(t) for t in self.prompt_texts(request)) // 4)
        if method == "generateContent":
            return Reply(200, self._chunk(text, model, prompt_tokens, final=True))
        if method == "streamGenerateContent":
            pieces = [text[i : i + 8] for i in range(0, len(text), 8)] or [""]
            chunks = [
                self._chunk(piece, model, prompt_tokens, final=index == len(pieces) - 1)
                for index, piece in enumerate(pieces)
            ]
            return Reply(200, events=sse((None, chunk) for chunk in chunks))
        return Reply(404, self.error_body(404, f"unknown method {method}", None))

    @staticmethod
    def _chunk(text: str, model: str, prompt_tokens: int, *, final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": [{"text": text}]},
            "index": 0,
        }
        if final:
            candidate["finishReason"] = "STOP"
        return {
            "candidates": [candidate],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": max(1, len(text) // 4),
                "totalTokenCount": prompt_tokens + max(1, len(text) // 4),
            },
            "modelVersion": model,
            "responseId": "standin-response",
        }
