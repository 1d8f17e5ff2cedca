"""Kaizen core: the KTOF engine, the Kaizen REST contract, and the clients that speak it.

>>> from kaizen_core import KaizenSyncClient
>>> with KaizenSyncClient() as kaizen:          # embedded engine unless KAIZEN_* says otherwise
...     kaizen.compress({"data": {"ids": [1, 2, 3]}})["result"]
'ids[3]: 1,2,3'
"""

__version__ = "0.1.0"

from .cache import CacheBackend, InMemoryCache, RedisCache
from .client import KaizenClient, KaizenSyncClient
from .config import EMBEDDED_BASE_URL, HOSTED_BASE_URL, KaizenClientConfig
from .decorators import with_kaizen_client
from .errors import (
    KaizenAPIError,
    KaizenAuthenticationError,
    KaizenBadRequestError,
    KaizenConnectionError,
    KaizenDecodeError,
    KaizenError,
    KaizenMalformedResponseError,
    KaizenNotFoundError,
    KaizenPayloadTooLargeError,
    KaizenPermissionDeniedError,
    KaizenRateLimitError,
    KaizenRequestError,
    KaizenServerError,
    KaizenTimeoutError,
    KaizenValidationError,
)
from .estimates import PRICES, estimate_cost, estimate_tokens, register_price
from .metrics import CallRecord, InMemoryMetrics, MetricsCollector
from .middleware import AttemptContext, Middleware
from .models import (
    CompressResponse,
    DecodeOptions,
    DecodeRequest,
    DecompressResponse,
    EncodeOptions,
    EncodeRequest,
    HealthResponse,
    KaizenResponse,
    OptimizeRequestPayload,
    OptimizeRequestResponse,
    OptimizeResponse,
    OptimizeResponsePayload,
    OptimizeResponseResponse,
    PromptDecodePayload,
    PromptDecodeResponse,
    PromptEncodePayload,
    PromptEncodeResponse,
    Stats,
    TokenStats,
)
from .retries import RetryPolicy

__all__ = [
    "EMBEDDED_BASE_URL",
    "HOSTED_BASE_URL",
    "PRICES",
    "AttemptContext",
    "CacheBackend",
    "CallRecord",
    "CompressResponse",
    "DecodeOptions",
    "DecodeRequest",
    "DecompressResponse",
    "EncodeOptions",
    "EncodeRequest",
    "HealthResponse",
    "InMemoryCache",
    "InMemoryMetrics",
    "KaizenAPIError",
    "KaizenAuthenticationError",
    "KaizenBadRequestError",
    "KaizenClient",
    "KaizenClientConfig",
    "KaizenConnectionError",
    "KaizenDecodeError",
    "KaizenError",
    "KaizenMalformedResponseError",
    "KaizenNotFoundError",
    "KaizenPayloadTooLargeError",
    "KaizenPermissionDeniedError",
    "KaizenRateLimitError",
    "KaizenRequestError",
    "KaizenResponse",
    "KaizenServerError",
    "KaizenSyncClient",
    "KaizenTimeoutError",
    "KaizenValidationError",
    "MetricsCollector",
    "Middleware",
    "OptimizeRequestPayload",
    "OptimizeRequestResponse",
    "OptimizeResponse",
    "OptimizeResponsePayload",
    "OptimizeResponseResponse",
    "PromptDecodePayload",
    "PromptDecodeResponse",
    "PromptEncodePayload",
    "PromptEncodeResponse",
    "RedisCache",
    "RetryPolicy",
    "Stats",
    "TokenStats",
    "__version__",
    "estimate_cost",
    "estimate_tokens",
    "register_price",
    "with_kaizen_client",
]
