"""Reading ``multipart/form-data`` request bodies (file uploads) into typed fields.

The body is read with the same size limit as JSON bodies (413 above ``--max-body-bytes``), then
parsed by Starlette (``python-multipart``). Every missing or malformed field is a 400 naming it.
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from fakeai.asgi import read_body
from fakeai.errors import bad_request


async def read_form(request: Request, limit: int) -> FormData:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise bad_request(
            "This endpoint expects a multipart/form-data body (a file upload).", code="invalid_content_type"
        )
    body = await read_body(request.receive, limit)

    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, replay).form()
    except MultiPartException as exc:
        raise bad_request(f"Could not parse the multipart body: {exc.message}", code="invalid_multipart") from None


async def file_bytes(form: FormData, *names: str, required: bool = True) -> bytes | None:
    """The content of the first uploaded file under any of ``names`` (e.g. ``image``, ``image[]``)."""
    for name in names:
        value = form.get(name)
        if isinstance(value, UploadFile):
            return await value.read()
        if value is not None:
            raise bad_request(f"'{names[0]}' must be an uploaded file, not a text field.", param=names[0])
    if required:
        raise bad_request(f"Missing required parameter: '{names[0]}'.", param=names[0],
                          code="missing_required_parameter")
    return None


def text(form: FormData, name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
        return default
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a text field, not a file.", param=name)
    return value


def number(form: FormData, name: str, default: float, lo: float, hi: float, *, integer: bool = False) -> float:
    raw = text(form, name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise bad_request(f"Invalid value for '{name}': expected {kind}, got {raw!r}.", param=name,
                          code="invalid_value") from None
    if not lo <= value <= hi:
        raise bad_request(f"Invalid value for '{name}': must be between {lo:g} and {hi:g}, got {raw}.",
                          param=name, code="invalid_value")
    return value


def choice(form: FormData, name: str, default: str | None, allowed: tuple[str, ...]) -> str | None:
    value = text(form, name, default)
    if value is not None and value not in allowed:
        raise bad_request(f"Invalid value for '{name}': {value!r}; supported values are {', '.join(allowed)}.",
                          param=name, code="invalid_value")
    return value
