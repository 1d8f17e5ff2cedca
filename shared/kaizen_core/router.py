"""The one implementation of the Kaizen REST contract, as a plain synchronous function.

:func:`handle` takes a request (method, path, headers, body bytes) and returns a :class:`Reply`
(status, headers, body bytes). Both hosts call it: the in-process
:class:`~kaizen_core.transports.EmbeddedTransport` and the ASGI app of ``kaizen serve``
(:mod:`kaizen_core.server`). Every envelope and error shape of CONTRACT.md is produced here and
nowhere else, so the two hosts answer byte for byte alike.

Error bodies are ``{"detail", "code", "request_id"}`` (400 decode errors add ``line`` and
``column``). Codes: ``ktof_decode_error``, ``invalid_option``, ``encode_error``,
``unrepresentable_value`` (400), ``unauthorized`` (401), ``not_found`` (404),
``method_not_allowed`` (405), ``payload_too_large`` (413), ``validation_error`` (422, ``detail``
is FastAPI's list of ``{"loc", "msg", "type"}``); ``kaizen serve`` adds ``internal_error`` (500).
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple, Type

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from . import __version__, engine
from .engine import KTOFDecodeError, KTOFOptionError
from .errors import KTOF_DECODE_ERROR_CODE, malformed_ktof_detail
from .models import (
    CompressResponse,
    DecodeOptions,
    DecodeRequest,
    DecompressResponse,
    EncodeOptions,
    EncodeRequest,
    ErrorBody,
    HealthResponse,
    OptimizeRequestPayload,
    OptimizeRequestResponse,
    OptimizeResponse,
    OptimizeResponsePayload,
    OptimizeResponseResponse,
    PromptDecodePayload,
    PromptDecodeResponse,
    PromptEncodePayload,
    PromptEncodeResponse,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_SETTINGS",
    "HEALTH_MESSAGE",
    "Reply",
    "RouterSettings",
    "error_reply",
    "handle",
    "is_authorized",
    "openapi_document",
    "openapi_document_bytes",
    "request_id_for",
    "requires_api_key",
    "too_large_reply",
    "unauthorized_reply",
]

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
HEALTH_MESSAGE = "Welcome to the Token Service"
DELIMITERS = (",", "\t", "|")
_MAX_REQUEST_ID_LENGTH = 200
_JSON_HEADERS = (("content-type", "application/json"),)


@dataclass(frozen=True)
class RouterSettings:
    """What a host configures: accepted API keys (empty = open) and the body size limit."""

    api_keys: frozenset[str] = field(default=frozenset(), repr=False)
    max_body_bytes: Optional[int] = DEFAULT_MAX_BODY_BYTES

    def __repr__(self) -> str:  # never print the keys themselves
        return f"RouterSettings(api_keys={len(self.api_keys)}, max_body_bytes={self.max_body_bytes})"


DEFAULT_SETTINGS = RouterSettings()


class Reply(NamedTuple):
    """An answer: status code, header pairs (lower-case names) and the JSON body bytes."""

    status: int
    headers: List[Tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        """The body decoded."""
        return json.loads(self.body)


class _Problem(Exception):
    """An error answer raised inside the router: becomes the contract's error body."""

    def __init__(
        self,
        status: int,
        detail: Any,
        code: str,
        *,
        extra: Optional[Dict[str, Any]] = None,
        headers: Tuple[Tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.extra = extra or {}
        self.headers = headers


# ---------------------------------------------------------------------------------------------
# Request id, keys, body limit: shared with the ASGI host so it can refuse early
# ---------------------------------------------------------------------------------------------


def request_id_for(headers: Mapping[str, str]) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a fresh one."""
    given = headers.get("x-request-id")
    if given and len(given) <= _MAX_REQUEST_ID_LENGTH and given.isascii() and given.isprintable():
        return given
    return uuid.uuid4().hex


def requires_api_key(method: str, path: str) -> bool:
    """Health and the OpenAPI document stay open; every other route needs a key when set."""
    return (method, _normalize_path(path)) not in _PUBLIC_ROUTES


def is_authorized(settings: RouterSettings, api_key: Optional[str]) -> bool:
    """Whether ``api_key`` is one of the configured keys (always true when none are set).

    Compares against every key in constant time, so timing reveals neither a key nor which
    one matched.
    """
    if not settings.api_keys:
        return True
    if not api_key:
        return False
    offered = api_key.encode("utf-8", "surrogateescape")
    matched = False
    for key in settings.api_keys:
        matched |= hmac.compare_digest(offered, key.encode("utf-8"))
    return matched


def error_reply(
    status: int,
    detail: Any,
    code: str,
    request_id: str,
    *,
    extra: Optional[Dict[str, Any]] = None,
    headers: Tuple[Tuple[str, str], ...] = (),
) -> Reply:
    """The contract's error body: ``detail`` plus ``code`` and ``request_id``."""
    body: Dict[str, Any] = {
        "detail": detail,
        "code": code,
        **(extra or {}),
        "request_id": request_id,
    }
    return Reply(status, _headers(request_id, headers), _dumps(body))


def unauthorized_reply(request_id: str) -> Reply:
    """401 for a missing or unknown ``x-api-key``."""
    return error_reply(
        401, "Missing or invalid API key (x-api-key header).", "unauthorized", request_id
    )


def too_large_reply(settings: RouterSettings, request_id: str) -> Reply:
    """413 for a body over ``settings.max_body_bytes``."""
    detail = f"Request body is larger than the limit of {settings.max_body_bytes} bytes."
    return error_reply(413, detail, "payload_too_large", request_id)


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------


def handle(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    settings: RouterSettings = DEFAULT_SETTINGS,
) -> Reply:
    """Answer one request of the Kaizen contract.

    ``headers`` must look names up case-insensitively (``httpx.Headers``) or have lower-case
    keys. Errors of the contract become error replies; anything else (a bug) propagates, and
    each host decides what to make of it.
    """
    request_id = request_id_for(headers)
    method = method.upper()
    path = _normalize_path(path)
    try:
        if requires_api_key(method, path) and not is_authorized(settings, headers.get("x-api-key")):
            return unauthorized_reply(request_id)
        if settings.max_body_bytes is not None and len(body) > settings.max_body_bytes:
            return too_large_reply(settings, request_id)
        endpoint = _ROUTES.get((method, path))
        if endpoint is None:
            allowed = sorted(m for (m, p) in _ROUTES if p == path)
            if allowed:
                raise _Problem(
                    405,
                    "Method Not Allowed",
                    "method_not_allowed",
                    headers=(("allow", ", ".join(allowed)),),
                )
            raise _Problem(404, "Not Found", "not_found")
        request_model, operation = endpoint
        payload = _parse(request_model, body) if request_model is not None else None
        result = operation(payload)
        if isinstance(result, bytes):
            return Reply(200, _headers(request_id), result)
        return Reply(200, _headers(request_id), _dumps_result(result))
    except _Problem as problem:
        return error_reply(
            problem.status,
            problem.detail,
            problem.code,
            request_id,
            extra=problem.extra,
            headers=problem.headers,
        )


# ---------------------------------------------------------------------------------------------
# Parsing and options
# ---------------------------------------------------------------------------------------------


def _normalize_path(path: str) -> str:
    return path.rstrip("/") or "/"


def _parse(model: Type[BaseModel], body: bytes) -> Any:
    """JSON body -> request model, or the 422 FastAPI-style body."""
    if not body.strip():
        raise _Problem(
            422, [{"loc": ["body"], "msg": "Field required", "type": "missing"}], "validation_error"
        )
    try:
        raw = _JSON_DECODER.decode(body.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise _invalid_json(f"JSON decode error: {exc.msg}", exc.pos) from exc
    except UnicodeDecodeError as exc:
        raise _invalid_json("JSON decode error: body is not UTF-8") from exc
    except ValueError as exc:  # raised by the NaN/Infinity and float range hooks
        raise _invalid_json(f"JSON decode error: {exc}") from exc
    except RecursionError as exc:
        raise _invalid_json("JSON decode error: nested too deeply") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        items = [
            {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise _Problem(422, items, "validation_error") from exc


def _invalid_json(msg: str, position: Optional[int] = None) -> _Problem:
    loc: List[Any] = ["body"] if position is None else ["body", position]
    return _Problem(422, [{"loc": loc, "msg": msg, "type": "json_invalid"}], "validation_error")


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def _finite_float(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise ValueError(f"number {token} is out of range")
    return value


# Strict JSON: NaN/Infinity literals and numbers that overflow to infinity are refused (422)
# rather than silently becoming null in the KTOF.
_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _encode_kwargs(options: Optional[EncodeOptions], default_format: str) -> Dict[str, Any]:
    """Engine keyword arguments for ``options``; an option that cannot be honoured is a 400."""
    opts = options or EncodeOptions()
    delimiter = "," if opts.delimiter is None else opts.delimiter
    if delimiter not in DELIMITERS:
        raise _Problem(
            400,
            f"options.delimiter must be ',', '\\t' or '|', got {delimiter!r}.",
            "invalid_option",
        )
    marker = opts.length_marker
    if marker is None or marker is False:
        length_marker = False
    elif marker is True or marker == "#":
        length_marker = True
    else:
        raise _Problem(
            400,
            f'options.length_marker must be true, false or "#", got {marker!r}.',
            "invalid_option",
        )
    kwargs: Dict[str, Any] = {
        "indent": 2 if opts.indent is None else opts.indent,
        "delimiter": delimiter,
        "length_marker": length_marker,
        "format": opts.format or default_format,
    }
    if opts.model is not None:
        kwargs["model"] = opts.model
    return kwargs


def _decode_kwargs(options: Optional[DecodeOptions]) -> Dict[str, Any]:
    opts = options or DecodeOptions()
    return {
        "indent": 2 if opts.indent is None else opts.indent,
        "strict": True if opts.strict is None else opts.strict,
    }


def _encode(data: Any, kwargs: Dict[str, Any]) -> str:
    try:
        return engine.encode(data, **kwargs)
    except KTOFOptionError as exc:
        raise _Problem(400, str(exc), "invalid_option") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise _Problem(400, f"Cannot encode the data as KTOF: {exc}", "encode_error") from exc


def _decode(text: str, kwargs: Dict[str, Any]) -> Any:
    try:
        return engine.decode(text, **kwargs)
    except KTOFDecodeError as exc:
        raise _Problem(
            400,
            malformed_ktof_detail(exc),
            KTOF_DECODE_ERROR_CODE,
            extra={"line": exc.line, "column": exc.column},
        ) from exc
    except KTOFOptionError as exc:
        raise _Problem(400, str(exc), "invalid_option") from exc


def _encode_prompt(
    prompt: Any, auto_detect_json: bool, kwargs: Dict[str, Any]
) -> Tuple[str, Dict[str, Any]]:
    try:
        text, meta = engine.encode_prompt(prompt, auto_detect_json=auto_detect_json, **kwargs)
    except KTOFOptionError as exc:
        raise _Problem(400, str(exc), "invalid_option") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise _Problem(400, f"Cannot encode the prompt as KTOF: {exc}", "encode_error") from exc
    return text, dict(meta)


# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------


def _envelope(operation: str, result: Any, **extras: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"operation": operation, "status": "success", "result": result}
    body.update((key, value) for key, value in extras.items() if value is not None)
    return body


def _health(_: None) -> Dict[str, Any]:
    return {"message": HEALTH_MESSAGE, "status": "ok", "version": __version__}


def _compress(req: EncodeRequest) -> Dict[str, Any]:
    return _envelope("compress", _encode(req.data, _encode_kwargs(req.options, "toon")))


def _decompress(req: DecodeRequest) -> Dict[str, Any]:
    return _envelope("decompress", _decode(req.data, _decode_kwargs(req.options)))


def _optimize(req: EncodeRequest) -> Dict[str, Any]:
    text = _encode(req.data, _encode_kwargs(req.options, "toon"))
    return _envelope("optimize", text, stats=engine.stats(req.data, text))


def _encode_prompt_envelope(
    operation: str, req: OptimizeRequestPayload, meta_extra: Dict[str, Any]
) -> Dict[str, Any]:
    text, meta = _encode_prompt(
        req.prompt, req.auto_detect_json, _encode_kwargs(req.options, "auto")
    )
    if req.metadata is not None:
        meta["client_metadata"] = req.metadata
    meta.update(meta_extra)
    token_stats = None
    if req.token_models is not None:
        token_stats = engine.token_stats(req.prompt, text, req.token_models)
    return _envelope(
        operation, text, stats=engine.stats(req.prompt, text), token_stats=token_stats, meta=meta
    )


def _optimize_request(req: OptimizeRequestPayload) -> Dict[str, Any]:
    return _encode_prompt_envelope("optimize_request", req, {})


def _prompts_encode(req: PromptEncodePayload) -> Dict[str, Any]:
    extra = {"schemas": req.schemas} if req.schemas is not None else {}
    return _encode_prompt_envelope("prompts_encode", req, extra)


def _optimize_response(req: OptimizeResponsePayload) -> Dict[str, Any]:
    value = _decode(req.ktof, _decode_kwargs(req.options))
    return _envelope("optimize_response", value, stats=engine.stats(value, req.ktof))


def _prompts_decode(req: PromptDecodePayload) -> Dict[str, Any]:
    value = _decode(req.ktof, _decode_kwargs(req.options))
    meta: Dict[str, Any] = dict(req.replay_meta or {})
    if req.metadata is not None:
        meta["client_metadata"] = req.metadata
    return _envelope("prompts_decode", value, stats=engine.stats(value, req.ktof), meta=meta)


def _openapi(_: None) -> bytes:
    return openapi_document_bytes()


_Operation = Callable[[Any], Any]

_ROUTES: Dict[Tuple[str, str], Tuple[Optional[Type[BaseModel]], _Operation]] = {
    ("GET", "/"): (None, _health),
    ("GET", "/openapi.json"): (None, _openapi),
    ("POST", "/v1/compress"): (EncodeRequest, _compress),
    ("POST", "/v1/decompress"): (DecodeRequest, _decompress),
    ("POST", "/v1/optimize"): (EncodeRequest, _optimize),
    ("POST", "/v1/optimize/request"): (OptimizeRequestPayload, _optimize_request),
    ("POST", "/v1/optimize/response"): (OptimizeResponsePayload, _optimize_response),
    ("POST", "/v1/prompts/encode"): (PromptEncodePayload, _prompts_encode),
    ("POST", "/v1/prompts/decode"): (PromptDecodePayload, _prompts_decode),
}
_PUBLIC_ROUTES = frozenset({("GET", "/"), ("GET", "/openapi.json")})

# For the OpenAPI document: route -> (summary, response model).
_DOCS: Dict[Tuple[str, str], Tuple[str, Type[BaseModel]]] = {
    ("GET", "/"): ("Health check", HealthResponse),
    ("POST", "/v1/compress"): (
        "JSON -> KTOF (spec-exact unless options.format is auto)",
        CompressResponse,
    ),
    ("POST", "/v1/decompress"): ("KTOF -> JSON", DecompressResponse),
    ("POST", "/v1/optimize"): ("JSON -> KTOF with stats", OptimizeResponse),
    ("POST", "/v1/optimize/request"): (
        "Prompt -> KTOF with stats and meta",
        OptimizeRequestResponse,
    ),
    ("POST", "/v1/optimize/response"): ("KTOF answer -> JSON with stats", OptimizeResponseResponse),
    ("POST", "/v1/prompts/encode"): (
        "Prompt -> KTOF with stats, meta and schemas",
        PromptEncodeResponse,
    ),
    ("POST", "/v1/prompts/decode"): (
        "KTOF -> JSON with stats and replayed meta",
        PromptDecodeResponse,
    ),
}


# ---------------------------------------------------------------------------------------------
# Serialisation and the OpenAPI document
# ---------------------------------------------------------------------------------------------


def _headers(request_id: str, extra: Tuple[Tuple[str, str], ...] = ()) -> List[Tuple[str, str]]:
    return [*_JSON_HEADERS, ("x-request-id", request_id), *extra]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _dumps_result(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )
    except ValueError as exc:
        raise _Problem(
            400, f"The result holds a number JSON cannot represent: {exc}", "unrepresentable_value"
        ) from exc


@functools.lru_cache(maxsize=1)
def openapi_document() -> Dict[str, Any]:
    """The OpenAPI 3.1 document of every route, generated from the pydantic models."""
    request_models = sorted(
        {m for (m, _) in _ROUTES.values() if m is not None}, key=lambda m: m.__name__
    )
    response_models = sorted(
        {m for (_, m) in _DOCS.values()} | {ErrorBody}, key=lambda m: m.__name__
    )
    keyed: List[Tuple[Type[BaseModel], JsonSchemaMode]] = [
        (m, "validation") for m in request_models
    ] + [(m, "serialization") for m in response_models]
    refs, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}")

    def ref(model: Type[BaseModel], mode: JsonSchemaMode) -> Dict[str, Any]:
        return refs[(model, mode)]

    def json_content(schema: Dict[str, Any]) -> Dict[str, Any]:
        return {"content": {"application/json": {"schema": schema}}}

    errors = {
        "400": {
            "description": "The codec refused the input or an option",
            **json_content(ref(ErrorBody, "serialization")),
        },
        "401": {
            "description": "Missing or invalid x-api-key",
            **json_content(ref(ErrorBody, "serialization")),
        },
        "413": {
            "description": "Body over the configured limit",
            **json_content(ref(ErrorBody, "serialization")),
        },
        "422": {
            "description": "Request validation failed",
            **json_content(ref(ErrorBody, "serialization")),
        },
    }
    paths: Dict[str, Dict[str, Any]] = {}
    for (method, path), (request_model, _) in _ROUTES.items():
        if path == "/openapi.json":
            operation_doc: Dict[str, Any] = {
                "summary": "This OpenAPI document",
                "operationId": "openapi",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1 document",
                        **json_content({"type": "object"}),
                    }
                },
            }
        else:
            summary, response_model = _DOCS[(method, path)]
            operation_doc = {
                "summary": summary,
                "operationId": _operation_id(method, path),
                "responses": {
                    "200": {
                        "description": "Success",
                        **json_content(ref(response_model, "serialization")),
                    },
                    **({"401": errors["401"]} if requires_api_key(method, path) else {}),
                },
            }
            if request_model is not None:
                operation_doc["requestBody"] = {
                    "required": True,
                    **json_content(ref(request_model, "validation")),
                }
                operation_doc["responses"].update({k: errors[k] for k in ("400", "413", "422")})
                operation_doc["security"] = [{"ApiKeyHeader": []}, {}]
        paths.setdefault(path, {})[method.lower()] = operation_doc
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kaizen Token Service",
            "version": __version__,
            "description": "JSON and prompts <-> KTOF (TOON spec v4 plus Kaizen's options).",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "x-api-key"}
            },
        },
    }


@functools.lru_cache(maxsize=1)
def openapi_document_bytes() -> bytes:
    """:func:`openapi_document` serialised once."""
    return _dumps(openapi_document())


def _operation_id(method: str, path: str) -> str:
    if path == "/":
        return "health"
    return path.strip("/").removeprefix("v1/").replace("/", "_")
