"""The OpenAI error envelope, and the exception handlers that give every failure that shape.

Every error a client can cause is an HTTP 4xx whose body is
``{"error": {"message", "type", "param", "code"}}``; an unexpected exception is a 500 with the same
envelope (and a logged traceback), never a bare text page. An Anthropic request (a path under
``/v1/messages``, or any request with an ``anthropic-version`` header) gets Anthropic's envelope
instead, ``{"type": "error", "error": {"type", "message"}}`` (:func:`anthropic_error`), for an
unknown path or method too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import msgspec
import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from fakeai.store.base import StorageFull

log = logging.getLogger("fakeai")


class ApiError(Exception):
    """An error answered with OpenAI's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers

    def body(self) -> bytes:
        return orjson.dumps(
            {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        )

    def response(self) -> Response:
        return Response(self.body(), self.status, headers=self.headers, media_type="application/json")


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `([^`]+)`")
#: Where msgspec says the bad value is: ``- at `$.a[0].b```, or ``- at `key` in `$.a``` for a mapping's key.
_AT = re.compile(r" - at `(?:key` in `)?\$\.?([^`]*)`$")


#: The longest text :func:`shown` quotes whole.
MAX_SHOWN_CHARS = 64


def shown(value: object) -> str:
    """``value``, what a client sent in a JSON body or a form, as an error message quotes it: text
    quoted (cut after :data:`MAX_SHOWN_CHARS` characters), a number, boolean or null as JSON writes
    it, anything else by its kind (``an object``, ``an array``, ``a file``); never a Python repr
    such as ``UploadFile(filename=...)`` or ``{'a': 1}``."""
    if isinstance(value, str):
        return repr(value if len(value) <= MAX_SHOWN_CHARS else value[:MAX_SHOWN_CHARS] + "...")
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, (UploadFile, bytes)):
        return "a file"
    return "a value of another kind"


def missing(param: str) -> ApiError:
    """The 400 of a required parameter that was not sent, in OpenAI's words."""
    return bad_request(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def not_found(what: str, id: str, param: str | None = None) -> ApiError:
    """The 404 of an unknown id: ``No file found with id 'file-x'.``"""
    return ApiError(404, f"No {what} found with id '{id}'.", param=param, code="not_found")


class InvalidJson(ApiError):
    """The 400 of a body that is not JSON. Its ``message`` is Anthropic's words (which name no API:
    ``The request body is not valid JSON: ...``); OpenAI's envelope (:meth:`body`) has OpenAI's."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, f"The request body is not valid JSON: {detail}", code="invalid_json")
        self.openai_message = (
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload, "
            f"but what was sent was not valid JSON ({detail})."
        )

    def body(self) -> bytes:
        return orjson.dumps(
            {"error": {"message": self.openai_message, "type": self.type, "param": None, "code": self.code}}
        )


#: Words for the regex patterns request schemas use, said instead of the regex in a 400
#: (``schemas.common`` registers its own).
PATTERN_WORDS: dict[str, str] = {}


def invalid_body(exc: msgspec.DecodeError) -> ApiError:
    """Turn a msgspec decode/validation error into a 400 that names the offending parameter."""
    text = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return InvalidJson(text)
    at = _AT.search(text)
    path = at.group(1).replace("[...]", "") if at else ""  # a mapping's value: the mapping is named
    absent = _MISSING.search(text)
    if absent:
        param = f"{path}.{absent.group(1)}" if path else absent.group(1)
        return missing(param)
    unknown = _UNKNOWN.search(text)
    if unknown:  # a schema that forbids unknown fields (``forbid_unknown_fields``), as OpenAI's do
        param = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        return bad_request(
            f"Unrecognized request argument supplied: {param}", param=param, code="unknown_parameter"
        )
    message = text[: at.start()] if at else text
    for pattern, words in PATTERN_WORDS.items():
        if f"matching regex {pattern!r}" in message:
            message = f"expected {words}"
    if not path:
        return bad_request(f"Invalid request body: {message}.", code="invalid_type")
    return bad_request(f"Invalid value for '{path}': {message}.", param=path, code="invalid_value")


def rejected(exc: ValueError, param: str | None = None) -> ApiError:
    """A 400 from the Rust core's ``InvalidInput``: ``(message, param, code)``, or a bare message
    about ``param``; code ``overloaded`` (the engine's waiting queue is full) is a 503, as vLLM answers."""
    if len(exc.args) == 3:
        message, where, code = exc.args
        if code == "overloaded":
            return ApiError(503, message, type="server_error", code=code)
        return bad_request(message, param=where, code=code)
    return bad_request(f"Invalid '{param}': {exc}.", param=param)


#: The paths of Anthropic's API (Messages, token counting, Message Batches).
ANTHROPIC_PATH = "/v1/messages"
#: Anthropic's status for an overloaded service (the SDK's ``OverloadedError``).
OVERLOADED = 529
#: Anthropic's error ``type`` by status; any other 4xx is ``invalid_request_error``, 5xx ``api_error``.
ANTHROPIC_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    OVERLOADED: "overloaded_error",
}


def anthropic_error(e: ApiError) -> tuple[int, Mapping[str, object]]:
    """``(status, body)`` of ``e`` as Anthropic answers it: ``{"type": "error", "error": {"type",
    "message"}}``, the parameter named at the message's head (``max_tokens: ...``), a body that is not
    JSON in Anthropic's words (:class:`InvalidJson`), and an overloaded engine (code ``overloaded``) a 529, not a 503."""
    status = OVERLOADED if e.code == "overloaded" else e.status
    kind = ANTHROPIC_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    if e.param and not e.message.startswith(e.param):
        message = f"{e.param}: {e.message}"
    else:
        message = e.message
    return status, {"type": "error", "error": {"type": kind, "message": message}}


def anthropic_response(e: ApiError) -> Response:
    status, body = anthropic_error(e)
    return Response(orjson.dumps(body), status, headers=e.headers, media_type="application/json")


def is_anthropic(request: Request) -> bool:
    """Whether ``request`` is Anthropic's API's: a path under ``/v1/messages`` or an
    ``anthropic-version`` header (what Anthropic's SDKs send on every request)."""
    return request.url.path.startswith(ANTHROPIC_PATH) or "anthropic-version" in request.headers


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        error = ApiError(404, f"Invalid URL ({where})", code="unknown_url")
    elif exc.status_code == 405:
        error = ApiError(405, f"Method not allowed ({where})", code="method_not_allowed", headers=exc.headers)
    else:
        error = ApiError(exc.status_code, str(exc.detail), headers=exc.headers)
    return anthropic_response(error) if is_anthropic(request) else error.response()


async def _on_storage_full(request: Request, exc: Exception) -> Response:
    """An object larger than its whole storage budget (``--max-expiring-bytes`` or
    ``--max-storage-bytes``) where the endpoint has no 400 of its own: it is not stored, and nothing
    is dropped for it."""
    error = bad_request(f"Storage quota exceeded: {exc}.", code="storage_quota_exceeded")
    return anthropic_response(error) if is_anthropic(request) else error.response()


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    error = ApiError(500, "The server had an error while processing your request.", type="server_error")
    return anthropic_response(error) if is_anthropic(request) else error.response()


exception_handlers = {
    ApiError: _on_api_error,
    HTTPException: _on_http_exception,
    StorageFull: _on_storage_full,
    Exception: _on_unexpected,
}
