"""Logging for ``kaizen_core``: one logger tree, secrets never written.

Everything logs under the ``kaizen_core`` logger: requests at DEBUG, status and milliseconds
at INFO, retries at WARNING, failures at ERROR. Nothing is printed unless the application
configures logging or ``KAIZEN_LOG=debug|info|warning|error`` is set, in which case a stream
handler is attached once. API keys are replaced by :data:`REDACTED` in every header map this
module formats, and :class:`SecretFilter` scrubs registered secrets from any record that
reaches a ``kaizen_core`` handler.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping

LOGGER_NAME = "kaizen_core"
REDACTED = "***"
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "api-key", "proxy-authorization", "cookie"})

logger = logging.getLogger(LOGGER_NAME)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_env_handler: logging.Handler | None = None


def register_secret(secret: str | None) -> None:
    """Remember a secret (an API key) so that :class:`SecretFilter` scrubs it from records."""
    if secret and len(secret) >= 4:
        with _secrets_lock:
            _secrets.add(secret)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every registered (and given) secret replaced by :data:`REDACTED`."""
    with _secrets_lock:
        known = set(_secrets)
    for secret in known.union(secrets or ()):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` fit for logs and reprs: credentials replaced by :data:`REDACTED`."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


class SecretFilter(logging.Filter):
    """Rewrites records so that no registered secret survives formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _secrets_lock:
            if not _secrets:
                return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """Attach a stream handler to ``kaizen_core`` at the level named by ``KAIZEN_LOG``.

    Returns the level set, or None when ``KAIZEN_LOG`` is unset or unknown. Calling it again
    only changes the level; one handler is attached at most.
    """
    global _env_handler
    env = os.environ if environ is None else environ
    name = env.get("KAIZEN_LOG", "").strip().upper()
    level = logging.getLevelName(name) if name else None
    if not isinstance(level, int):
        return None
    logger.setLevel(level)
    if _env_handler is None:
        _env_handler = logging.StreamHandler()
        _env_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        _env_handler.addFilter(SecretFilter())
        logger.addHandler(_env_handler)
    return level


logger.addFilter(SecretFilter())
# A library stays silent unless the application (or KAIZEN_LOG) configures logging.
logger.addHandler(logging.NullHandler())

__all__ = [
    "LOGGER_NAME",
    "REDACTED",
    "SecretFilter",
    "configure_from_env",
    "logger",
    "redact",
    "register_secret",
    "safe_headers",
]
