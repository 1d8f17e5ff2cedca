"""Middleware: code that runs around every attempt of every request.

A middleware sees each attempt's ``httpx.Request`` before it is sent and the
``httpx.Response`` after it arrived (or was produced), in both clients: its hooks are plain
functions, so one middleware serves :class:`~kaizen_core.KaizenClient` and
:class:`~kaizen_core.KaizenSyncClient` alike.

* ``on_request(request, context)`` may change the request (headers, say) in place, and may
  return an ``httpx.Response`` to short-circuit: nothing is sent, and that response is
  processed as if the service had answered it (status mapping and retries included).
* ``on_response(request, response, context)`` may return a replacement response.

Middlewares run in order for ``on_request`` and in reverse order for ``on_response``.
Subclass :class:`Middleware` and override what you need (both hooks default to no-ops).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import httpx


@dataclass(frozen=True, slots=True)
class AttemptContext:
    """What a middleware knows about the attempt: endpoint path, attempt number (1-based),
    the logical call's request id, and the attempts allowed in all."""

    path: str
    attempt: int
    request_id: str
    max_attempts: int


@runtime_checkable
class Middleware(Protocol):
    """Runs once per attempt; see the module docstring."""

    def on_request(self, request: httpx.Request, context: AttemptContext) -> httpx.Response | None:
        """Inspect or adjust ``request``; return a response to skip sending it."""
        return None

    def on_response(
        self, request: httpx.Request, response: httpx.Response, context: AttemptContext
    ) -> httpx.Response | None:
        """Inspect ``response``; return a response to replace it."""
        return None


def run_request_hooks(
    middleware: Sequence[Middleware], request: httpx.Request, context: AttemptContext
) -> httpx.Response | None:
    """Run every ``on_request`` in order; the first response returned short-circuits."""
    for item in middleware:
        short_circuit = item.on_request(request, context)
        if short_circuit is not None:
            if short_circuit._request is None:
                short_circuit.request = request
            return short_circuit
    return None


def run_response_hooks(
    middleware: Sequence[Middleware],
    request: httpx.Request,
    response: httpx.Response,
    context: AttemptContext,
) -> httpx.Response:
    """Run every ``on_response`` in reverse order, threading replacements through."""
    for item in reversed(middleware):
        replacement = item.on_response(request, response, context)
        if replacement is not None:
            if replacement._request is None:
                replacement.request = request
            response = replacement
    return response


__all__ = ["AttemptContext", "Middleware", "run_request_hooks", "run_response_hooks"]
