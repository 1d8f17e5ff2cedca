"""Typed request and response models of the Kaizen REST contract.

The request models keep the names and fields of kaizen-client 0.1.4 (so code written for it
keeps working) plus two extension options on :class:`EncodeOptions`: ``format`` (``"toon"``,
the spec-exact output, or ``"auto"``, the adaptive output) and ``model`` (the tokenizer the
adaptive output optimises for).

The response models are what the client returns. They accept unknown fields (a newer server
may send more) and support ``resp["result"]`` / ``resp.get("stats")`` like the plain dicts
0.1.4 returned.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Dict, List, Literal, Optional, Union, cast

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DecodeOptions",
    "DecodeRequest",
    "DecompressResponse",
    "CompressResponse",
    "EncodeOptions",
    "EncodeRequest",
    "ErrorBody",
    "HealthResponse",
    "KaizenResponse",
    "OptimizeRequestPayload",
    "OptimizeRequestResponse",
    "OptimizeResponse",
    "OptimizeResponsePayload",
    "OptimizeResponseResponse",
    "PromptDecodePayload",
    "PromptDecodeResponse",
    "PromptEncodePayload",
    "PromptEncodeResponse",
    "Stats",
    "TokenCountEntry",
    "TokenStats",
    "ValidationErrorItem",
]

# Strict scalars: a JSON `true` is not an indent and `"2"` is not a number (422, not coerced).
Indent = Annotated[int, Field(ge=1, strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]


class _RequestModel(BaseModel):
    """Request bodies: unknown fields are refused, as kaizen-client 0.1.4 did.

    ``encoded_field`` names the field holding the value the service encodes, if any.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    encoded_field: ClassVar[Optional[str]] = None


class EncodeOptions(_RequestModel):
    """Options for writing KTOF (`/v1/compress`, `/v1/optimize`, prompt encoding)."""

    delimiter: Optional[str] = Field(
        default=None,
        min_length=1,
        max_length=1,
        description='Field delimiter: "," (default), "\\t" or "|".',
    )
    indent: Optional[Indent] = Field(default=None, description="Spaces per level (default 2).")
    length_marker: Optional[Union[StrictBool, str]] = Field(
        default=None,
        description='true or "#" writes `[#N]` array headers; false (default) writes `[N]`.',
    )
    format: Optional[Literal["toon", "auto"]] = Field(
        default=None,
        description=(
            'Extension. "toon": exactly the TOON spec output (default of /v1/compress and '
            '/v1/optimize); "auto": adaptive output with the fewest tokens for `model` '
            "(default of the prompt endpoints)."
        ),
    )
    model: Optional[str] = Field(
        default=None,
        min_length=1,
        description='Extension. Tokenizer the "auto" format optimises for (default gpt-4o).',
    )


class DecodeOptions(_RequestModel):
    """Options for reading KTOF."""

    indent: Optional[Indent] = Field(
        default=None, description="Spaces per level; must match the encoder's when strict."
    )
    strict: Optional[StrictBool] = Field(
        default=True,
        description="Indentation multiples, no tabs in indentation, exact declared counts.",
    )


class EncodeRequest(_RequestModel):
    """Body of `/v1/compress` and `/v1/optimize`."""

    encoded_field: ClassVar[Optional[str]] = "data"
    data: Any
    options: Optional[EncodeOptions] = None


class DecodeRequest(_RequestModel):
    """Body of `/v1/decompress`."""

    data: str
    options: Optional[DecodeOptions] = None


class OptimizeRequestPayload(_RequestModel):
    """Body of `/v1/optimize/request`."""

    encoded_field: ClassVar[Optional[str]] = "prompt"
    prompt: Any
    options: Optional[EncodeOptions] = None
    auto_detect_json: StrictBool = True
    metadata: Optional[Dict[str, Any]] = None
    token_models: Optional[List[str]] = None


class PromptEncodePayload(OptimizeRequestPayload):
    """Body of `/v1/prompts/encode`: as `/v1/optimize/request` plus `schemas`."""

    schemas: Optional[Dict[str, Any]] = None


class OptimizeResponsePayload(_RequestModel):
    """Body of `/v1/optimize/response`."""

    ktof: str
    options: Optional[DecodeOptions] = None


class PromptDecodePayload(_RequestModel):
    """Body of `/v1/prompts/decode`."""

    ktof: str
    options: Optional[DecodeOptions] = None
    replay_meta: Optional[Dict[str, Any]] = None
    metadata: Optional[Dict[str, Any]] = None


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------


class _ResponseModel(BaseModel):
    """Response parts: unknown fields are kept, so a newer server never breaks the client."""

    model_config = ConfigDict(extra="allow")


class Stats(_ResponseModel):
    """Character counts: the input as compact JSON against the KTOF text."""

    original_length: int
    optimized_length: int
    reduction: int
    reduction_ratio: float


class TokenCountEntry(_ResponseModel):
    """Tokens and UTF-8 bytes of one text for one model (``exact`` false: an estimate)."""

    tokens: int
    bytes: int
    exact: Optional[bool] = None
    encoding: Optional[str] = None


class TokenStats(_ResponseModel):
    """Per model token counts of the raw input and of the optimized text."""

    raw: Dict[str, TokenCountEntry]
    optimized: Dict[str, TokenCountEntry]


#: Fields the client fills in that the response body does not carry.
_NOT_IN_BODY = frozenset({"request_id"})


class KaizenResponse(_ResponseModel):
    """The success envelope. Reads like the dict kaizen-client 0.1.4 returned.

    ``request_id`` is not part of the body: the client fills it from the ``X-Request-ID``
    response header.
    """

    operation: Optional[str] = None
    status: Optional[str] = None
    result: Any = None
    stats: Optional[Stats] = None
    token_stats: Optional[TokenStats] = None
    meta: Optional[Dict[str, Any]] = None
    request_id: Optional[str] = None

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields:
            return getattr(self, key)
        extra = self.__pydantic_extra__ or {}
        if key in extra:
            return extra[key]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.keys()

    def get(self, key: str, default: Any = None) -> Any:
        """``dict.get``: the field's value, or ``default`` when absent or null."""
        try:
            value = self[key]
        except KeyError:
            return default
        return default if value is None else value

    def keys(self) -> List[str]:
        """The keys present in the body (as a dict of it would have them)."""
        present = [
            name
            for name in type(self).model_fields
            if name in self.model_fields_set and name not in _NOT_IN_BODY
        ]
        return present + list((self.__pydantic_extra__ or {}).keys())

    def to_dict(self) -> Dict[str, Any]:
        """The body as a plain JSON-ready dict (only the keys the server sent)."""
        return self.model_dump(
            mode="json", exclude_unset=True, exclude=cast("set[str]", _NOT_IN_BODY)
        )


class CompressResponse(KaizenResponse):
    """`/v1/compress`: ``result`` is the KTOF text."""

    result: str


class DecompressResponse(KaizenResponse):
    """`/v1/decompress`: ``result`` is the decoded JSON value."""

    result: Any = None


class OptimizeResponse(KaizenResponse):
    """`/v1/optimize`: KTOF text plus ``stats``."""

    result: str
    stats: Stats


class OptimizeRequestResponse(KaizenResponse):
    """`/v1/optimize/request`: KTOF (or text with KTOF blocks), ``stats``, ``meta``."""

    result: str
    stats: Stats
    meta: Dict[str, Any] = Field(default_factory=dict)


class PromptEncodeResponse(OptimizeRequestResponse):
    """`/v1/prompts/encode`: as `/v1/optimize/request`; ``meta.schemas`` echoes ``schemas``."""


class OptimizeResponseResponse(KaizenResponse):
    """`/v1/optimize/response`: the decoded value plus ``stats``."""

    result: Any = None
    stats: Stats


class PromptDecodeResponse(KaizenResponse):
    """`/v1/prompts/decode`: the decoded value, ``stats`` and the merged ``meta``."""

    result: Any = None
    stats: Stats
    meta: Dict[str, Any] = Field(default_factory=dict)


class HealthResponse(KaizenResponse):
    """`GET /`: ``message`` as the hosted service sends it, plus the engine's version."""

    message: str
    version: Optional[str] = None


class ValidationErrorItem(_ResponseModel):
    """One entry of a 422 body (FastAPI's shape)."""

    loc: List[Union[str, int]]
    msg: str
    type: str


class ErrorBody(_ResponseModel):
    """Every error body: ``detail`` (text, or the 422 list), optional ``code``/``request_id``."""

    detail: Union[str, List[ValidationErrorItem]]
    code: Optional[str] = None
    request_id: Optional[str] = None
