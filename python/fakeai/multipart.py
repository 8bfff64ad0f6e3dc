"""Reading a ``multipart/form-data`` body as it streams in, its one file part straight into a blob.

The file part never sits in memory whole: its bytes go to a store blob writer in ~1 MB writes on a
worker thread, and the size limit is enforced as the bytes arrive (413 as soon as it is exceeded),
so a client sending 10 GB costs the server at most the limit in disk and a megabyte of memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from fakeai.errors import ApiError, bad_request
from fakeai.store import Store

FLUSH_BYTES = 1 << 20
MAX_FIELD_BYTES = 64 * 1024
#: Room for the boundaries, part headers and text fields around the file in a request.
ENVELOPE_BYTES = 1 << 20


@dataclass(slots=True)
class FormFile:
    """A file part written to an uncommitted blob writer (commit or discard it)."""

    filename: str
    content_type: str
    writer: BinaryIO
    size: int = 0


@dataclass(slots=True)
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = "application/octet-stream"
    is_file: bool = False
    data: bytearray = field(default_factory=bytearray)


def too_large(limit: int, what: str = "File") -> ApiError:
    return ApiError(
        413, f"{what} is too large: the limit is {limit} bytes (--max-file-bytes).", code="file_too_large"
    )


async def read_form(
    request: Request, store: Store, file_field: str, limit: int
) -> tuple[dict[str, str], FormFile]:
    """The text fields and the file part named ``file_field`` (at most ``limit`` bytes) of a request."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise bad_request(
            "The request must be multipart/form-data with a boundary.", code="invalid_content_type"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise too_large(limit)
    reader = _FormReader(store, file_field, limit)
    try:
        await reader.run(request, boundary)
    except BaseException:
        if reader.file is not None:
            store.discard_blob(reader.file.writer)
        raise
    if reader.file is None:
        raise bad_request(
            f"Missing required parameter: '{file_field}'.",
            param=file_field,
            code="missing_required_parameter",
        )
    return reader.fields, reader.file


class _FormReader:
    def __init__(self, store: Store, file_field: str, limit: int) -> None:
        self.store, self.file_field, self.limit = store, file_field, limit
        self.fields: dict[str, str] = {}
        self.file: FormFile | None = None
        self.pending: list[memoryview] = []
        self.pending_size = 0
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.error: ApiError | None = None

    async def run(self, request: Request, boundary: bytes) -> None:
        callbacks = {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
        }
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        try:
            async for chunk in request.stream():
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
        await self.flush()

    async def flush(self) -> None:
        if self.pending and self.file is not None:
            chunks, self.pending, self.pending_size = self.pending, [], 0
            await run_in_threadpool(self.file.writer.writelines, chunks)

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name, value = self.header_name.lower(), self.header_value
        self.header_name = self.header_value = b""
        if name == b"content-disposition":
            _, options = parse_options_header(value)
            self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
            filename = options.get(b"filename")
            self.part.filename = None if filename is None else filename.decode("utf-8", "replace")
            if self.part.filename is not None and self.part.name == self.file_field:
                if self.file is not None:
                    self.error = bad_request(
                        f"Send one '{self.file_field}' part only.", param=self.file_field
                    )
                    return
                self.file = FormFile(self.part.filename, self.part.content_type, self.store.blob_writer())
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
            if self.file.size > self.limit:
                self.error = too_large(self.limit)
                return
            self.pending.append(memoryview(data)[start:end])  # no copy until the write
            self.pending_size += end - start
        else:
            self.part.data += data[start:end]
            if len(self.part.data) > MAX_FIELD_BYTES:
                self.error = bad_request(f"Form field '{self.part.name}' is too long.", param=self.part.name)

    def on_part_end(self) -> None:
        if self.part.filename is None and self.part.name:
            self.fields[self.part.name] = self.part.data.decode("utf-8", "replace")
