"""Reading ``multipart/form-data`` bodies as they stream in: the one form reader of the server.

:func:`read_form` (files, uploads) writes its one file part straight into a store blob: the part never
sits in memory whole, its bytes go to a blob writer in ~1 MB writes on a worker thread, and the size
limit is enforced as the bytes arrive (413 as soon as it is exceeded), so a client sending 10 GB costs
the server at most the limit in disk and a megabyte of memory. :func:`read_files` (a skill's folder
upload) does the same for several file parts, each into a blob writer of its own: at most ``most``
parts, ``limit`` bytes in all.

:func:`read_small_form` (image edits, audio transcriptions) keeps a small form whole in memory, at most
``--max-body-bytes``, as Starlette ``FormData`` with each file an ``UploadFile``; :func:`text`,
:func:`number`, :func:`choice` and :func:`file_bytes` read its fields, a missing or malformed one a 400
naming it (a number is ASCII text: ``"\u0664"``, an Arabic-Indic 4, is not one).

Both readers take a body as complete only once its closing ``--boundary--`` arrived: a body cut short
(its ``content-length`` matching the cut) is a 400 ``invalid_multipart``, never a shorter file or a
form missing its last field. An empty body is an empty form (its missing fields are named).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Literal, overload

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.requests import ClientDisconnect, Request

from fakeai.errors import ApiError, bad_request, missing
from fakeai.http.asgi import too_large
from fakeai.schemas.common import decimal
from fakeai.store import Store

FLUSH_BYTES = 1 << 20
#: RFC 2046: a boundary is 1 to 70 characters; a longer one is a 400.
MAX_BOUNDARY_CHARS = 70
MAX_FIELD_BYTES = 64 * 1024
#: Room for the boundaries, part headers and text fields around the file in a request.
ENVELOPE_BYTES = 1 << 20
#: A number in a form field: ASCII digits, an optional fraction and exponent (no ``nan``, ``inf``,
#: ``1_0``, spaces or Unicode digits, which ``float`` takes).
_REAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
#: The longest number text read, and the most of a bad value an error message repeats.
MAX_NUMBER_CHARS = 32


@dataclass(slots=True)
class FormFile:
    """A file part written to an uncommitted blob writer (commit or discard it)."""

    filename: str
    content_type: str
    writer: IO[bytes]
    size: int = 0


@dataclass(slots=True)
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = "application/octet-stream"
    is_file: bool = False
    data: bytearray = field(default_factory=bytearray)


def file_too_large(limit: int) -> ApiError:
    return too_large(limit, "File", "--max-file-bytes", "file_too_large")


def _boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise bad_request(
            "This endpoint expects a multipart/form-data body with a boundary (a file upload).",
            code="invalid_content_type",
        )
    if len(boundary) > MAX_BOUNDARY_CHARS:
        raise bad_request(
            f"The multipart boundary is longer than {MAX_BOUNDARY_CHARS} characters (RFC 2046).",
            code="invalid_content_type",
        )
    return boundary


async def read_small_form(
    request: Request, limit: int, field_limits: Mapping[str, int] | None = None
) -> FormData:
    """The whole form in memory, every file part an ``UploadFile``; the body may hold at most ``limit``
    bytes (413 above ``--max-body-bytes``, as for a JSON body), each text field
    :data:`MAX_FIELD_BYTES` unless ``field_limits`` gives its name another bound (a 400 naming it)."""
    reader = _FormReader(None, "", limit, field_limits)
    await reader.run(request, _boundary(request))
    return FormData(reader.items)


async def read_form(
    request: Request, store: Store, file_field: str, limit: int
) -> tuple[dict[str, str], FormFile]:
    """The text fields and the file part named ``file_field`` (at most ``limit`` bytes) of a request."""
    fields, files = await read_files(request, store, (file_field,), limit, 1)
    return fields, files[0]


async def read_files(
    request: Request, store: Store, file_fields: tuple[str, ...], limit: int, most: int
) -> tuple[dict[str, str], list[FormFile]]:
    """The text fields and the file parts named any of ``file_fields`` (at least one, at most ``most``
    of them, ``limit`` bytes in all; a 400 naming the first name otherwise) of a request. The caller
    commits or discards every one."""
    boundary = _boundary(request)
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > limit + ENVELOPE_BYTES
    ):
        raise file_too_large(limit)
    reader = _FormReader(store, file_fields[0], limit, file_fields=file_fields, most_files=most)
    try:
        await reader.run(request, boundary)
    except BaseException:
        for file in reader.files:
            store.discard_blob(file.writer)
        raise
    if not reader.files:
        raise missing(file_fields[0])
    return reader.fields, reader.files


class _FormReader:
    """Streams one body through the parser. With a ``store``: each part named one of ``file_fields``
    (``file_field`` alone by default; at most ``most_files`` of them) goes to a blob writer of its own,
    ``limit`` bytes in all, and text fields to ``fields``. Without one (a small form): every part, in
    order, to ``items``, the whole body at most ``limit`` bytes."""

    def __init__(
        self,
        store: Store | None,
        file_field: str,
        limit: int,
        field_limits: Mapping[str, int] | None = None,
        *,
        file_fields: tuple[str, ...] = (),
        most_files: int = 1,
    ) -> None:
        self.store, self.file_field, self.limit = store, file_field, limit
        self.file_fields = file_fields or (file_field,)
        self.most_files = most_files
        #: Every file part so far (``file`` is the last), and their bytes in all.
        self.files: list[FormFile] = []
        self.file_bytes = 0
        self.field_limits: Mapping[str, int] = field_limits or {}
        self.fields: dict[str, str] = {}
        self.items: list[tuple[str, str | UploadFile]] = []
        self.received = 0
        #: Whether the closing boundary arrived.
        self.ended = False
        self.file: FormFile | None = None
        self.pending: list[tuple[IO[bytes], memoryview]] = []
        self.pending_size = 0
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.error: ApiError | None = None
        #: Bytes of everything but the file part (headers, text fields): at most ENVELOPE_BYTES.
        self.envelope = 0

    async def run(self, request: Request, boundary: bytes) -> None:
        callbacks = {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_end": self.on_end,
        }
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        try:
            async for chunk in request.stream():
                self.received += len(chunk)
                if self.store is None and self.received > self.limit:
                    raise too_large(self.limit)
                parser.write(chunk)
                if self.error is not None:
                    raise self.error
                if self.pending_size >= FLUSH_BYTES:
                    await self.flush()
            parser.finalize()
        except MultipartParseError as exc:
            raise bad_request(f"Malformed multipart body: {exc}.", code="invalid_multipart") from None
        except ClientDisconnect:
            raise
        if self.error is not None:
            raise self.error
        if self.received and not self.ended:
            raise bad_request(
                "Malformed multipart body: it ends before its closing boundary (cut short?).",
                code="invalid_multipart",
            )
        await self.flush()

    async def flush(self) -> None:
        if self.pending:
            chunks, self.pending, self.pending_size = self.pending, [], 0
            await run_in_threadpool(_write_chunks, chunks)

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_end(self) -> None:
        self.ended = True

    def _count_envelope(self, size: int) -> None:
        self.envelope += size
        if self.envelope > ENVELOPE_BYTES and self.error is None:
            self.error = ApiError(
                413,
                f"The form's fields and part headers exceed {ENVELOPE_BYTES} bytes.",
                code="request_too_large",
            )

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_envelope(end - start)
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_envelope(end - start)
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name, value = self.header_name.lower(), self.header_value
        self.header_name = self.header_value = b""
        if name == b"content-disposition":
            _, options = parse_options_header(value)
            self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
            filename = options.get(b"filename")
            self.part.filename = None if filename is None else filename.decode("utf-8", "replace")
            if (
                self.store is not None
                and self.part.filename is not None
                and self.part.name in self.file_fields
            ):
                if len(self.files) >= self.most_files:
                    self.error = bad_request(
                        f"Send one '{self.file_field}' part only."
                        if self.most_files == 1
                        else f"Send at most {self.most_files} '{self.file_field}' parts.",
                        param=self.file_field,
                    )
                    return
                self.file = FormFile(self.part.filename, self.part.content_type, self.store.blob_writer())
                self.files.append(self.file)
                self.part.is_file = True
        elif name == b"content-type":
            self.part.content_type = value.decode("latin-1")
            if self.part.is_file and self.file is not None:
                self.file.content_type = self.part.content_type

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        if self.part.is_file and self.file is not None:
            self.file.size += end - start
            self.file_bytes += end - start
            if self.file_bytes > self.limit:
                self.error = file_too_large(self.limit)
                return
            self.pending.append((self.file.writer, memoryview(data)[start:end]))  # no copy until the write
            self.pending_size += end - start
        else:
            if self.store is not None:
                self._count_envelope(end - start)
            self.part.data += data[start:end]
            if self.store is None and self.part.filename is not None:
                return  # a small form's file: the body's limit bounds it
            if len(self.part.data) > self.field_limits.get(self.part.name, MAX_FIELD_BYTES):
                self.error = bad_request(f"Form field '{self.part.name}' is too long.", param=self.part.name)

    def on_part_end(self) -> None:
        part = self.part
        if self.store is None and part.name:
            if part.filename is None:
                self.items.append((part.name, part.data.decode("utf-8", "replace")))
            else:
                headers = Headers({"content-type": part.content_type})
                data = io.BytesIO(part.data)
                upload = UploadFile(data, size=len(part.data), filename=part.filename, headers=headers)
                self.items.append((part.name, upload))
        elif part.filename is None and part.name:
            self.fields[part.name] = part.data.decode("utf-8", "replace")


def _write_chunks(chunks: list[tuple[IO[bytes], memoryview]]) -> None:
    for writer, chunk in chunks:
        writer.write(chunk)


async def file_bytes(form: FormData, *names: str, required: bool = True) -> bytes | None:
    """The content of the first uploaded file under any of ``names`` (e.g. ``image``, ``image[]``)."""
    for name in names:
        value = form.get(name)
        if isinstance(value, UploadFile):
            return await value.read()
        if value is not None:
            raise bad_request(f"'{names[0]}' must be an uploaded file, not a text field.", param=names[0])
    if required:
        raise missing(names[0])
    return None


@overload
def text(form: FormData, name: str, default: str, *, required: bool = False) -> str: ...
@overload
def text(form: FormData, name: str, default: None = None, *, required: Literal[True]) -> str: ...
@overload
def text(form: FormData, name: str, default: str | None = None, *, required: bool = False) -> str | None: ...
def text(form: FormData, name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise missing(name)
        return default
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a text field, not a file.", param=name)
    return value


def number(
    form: FormData, name: str, default: float, lo: float, hi: float, *, integer: bool = False
) -> float:
    """The field ``name`` as a number from ``lo`` to ``hi`` (``integer``: ASCII digits, so from 0 up),
    ``default`` when it is absent."""
    raw = text(form, name)
    if raw is None:
        return default
    value: float | None = None
    if integer:
        value = decimal(raw, int(hi))
    elif len(raw) <= MAX_NUMBER_CHARS and _REAL.fullmatch(raw):
        value = float(raw)
    if value is None or not lo <= value <= hi:
        kind = "an integer" if integer else "a number"
        shown = raw if len(raw) <= MAX_NUMBER_CHARS else raw[:MAX_NUMBER_CHARS] + "..."
        raise bad_request(
            f"Invalid value for '{name}': expected {kind} from {lo:g} to {hi:g}, got {shown!r}.",
            param=name,
            code="invalid_value",
        )
    return value


@overload
def choice(form: FormData, name: str, default: str, allowed: tuple[str, ...]) -> str: ...
@overload
def choice(form: FormData, name: str, default: str | None, allowed: tuple[str, ...]) -> str | None: ...
def choice(form: FormData, name: str, default: str | None, allowed: tuple[str, ...]) -> str | None:
    value = text(form, name, default)
    if value is not None and value not in allowed:
        raise bad_request(
            f"Invalid value for '{name}': {value!r}; supported values are {', '.join(allowed)}.",
            param=name,
            code="invalid_value",
        )
    return value
