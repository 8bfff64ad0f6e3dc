"""The streaming clients of ``benches/live_vs_simulate.py`` and the request they send.

Every request asks the same model for ``OSL`` output tokens (``x-fakeai-output-tokens``) with a
prompt of ``words`` words that starts with its own number, so no two prompts share a prefix-cache
block. A client call returns ``(start, wrote, chunk times, prompt tokens)``: when it began, when the
request's last byte was written (what the server receives next), the arrival of each content chunk
(``time.perf_counter()`` seconds) and the prompt tokens the usage chunk reported.

- :func:`stream_httpx`: one request on a shared ``httpx.AsyncClient`` (the Python SDKs' stack: its
  connection pool, line splitting, a trace hook for the write);
- :class:`Raw` (``--client raw``): a tight client's own keep-alive socket, no HTTP library.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
ISL, OSL = 200, 200


def payload(i: int, words: int) -> dict:
    """The body of request ``i``: a streamed chat completion whose last chunk carries the usage."""
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"{i} " + "word " * words}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def stream_httpx(http: httpx.AsyncClient, i: int, words: int) -> tuple[float, float, list[float], int]:
    """(start, request written, content-chunk arrival times, prompt tokens) of one streamed request."""
    start = time.perf_counter()
    wrote = [start]

    async def trace(event: str, info: dict) -> None:
        if event == "http11.send_request_body.complete":
            wrote[0] = time.perf_counter()

    times: list[float] = []
    prompt_tokens = 0
    async with http.stream(
        "POST",
        "/v1/chat/completions",
        json=payload(i, words),
        headers={"x-fakeai-output-tokens": str(OSL)},
        extensions={"trace": trace},
    ) as r:
        async for line in r.aiter_lines():
            if '"content"' in line and '"delta":{' in line:
                times.append(time.perf_counter())
            if '"usage":{' in line:
                prompt_tokens = json.loads(line[6:])["usage"]["prompt_tokens"]
    return start, wrote[0], times, prompt_tokens


class Raw:
    """A tight client's connection: HTTP/1.1 keep-alive on a bare asyncio stream, no HTTP library,
    no JSON per chunk (a content chunk is found by a byte search, as ``benches/stream_client``
    does), and its next request written as soon as the stream's last bytes are in: the turnaround
    of GenAI-Perf's C++ clients rather than httpx's."""

    CONTENT = b'"content":"'
    DONE = b"data: [DONE]"
    END = b"0\r\n\r\n"

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()

    async def one(self, i: int, words: int) -> tuple[float, float, list[float], int]:
        """As :func:`stream_httpx`."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        body = json.dumps(payload(i, words)).encode()
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{self.port}\r\n"
            f"content-type: application/json\r\nx-fakeai-output-tokens: {OSL}\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        start = time.perf_counter()
        self.writer.write(head + body)
        await self.writer.drain()
        wrote = time.perf_counter()
        times: list[float] = []
        seen = b""
        done = False
        while not (done and seen.endswith(self.END)):
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            now = time.perf_counter()
            # A marker split across two reads is found in the joined tail.
            window = seen[-16:] + data
            times.extend([now] * window.count(self.CONTENT))
            done = done or self.DONE in window
            seen = data if len(data) >= 16 else window
            if b'"prompt_tokens":' in window:
                tail = window.split(b'"prompt_tokens":', 1)[1]
                self.prompt_tokens = int(tail.split(b",", 1)[0].split(b"}", 1)[0])
        return start, wrote, times, getattr(self, "prompt_tokens", 0)
