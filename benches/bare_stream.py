"""The floor for the streaming benchmark: a bare granian app that paces a prebuilt 64-chunk SSE stream
(TTFT 50 ms, ITL 10 ms, the same events and bytes per write as fakeai's chat stream) with fakeai's own
ticker. Nothing per request but reading the body: no
decoding, rendering, routing, metrics or middleware. What it costs per token is what granian and
the kernel cost on this machine.

``app`` is the ASGI floor; ``app_rsgi`` the same on granian's RSGI interface (the pacer's body
messages written to the stream transport), to show what granian's ASGI layer costs per token."""

import asyncio
import time

from fakeai.engine.pacing import Ticker, send_stream

TOKENS, TTFT, ITL = 64, 0.050, 0.010
_HEAD = (
    b'data: {"id":"chatcmpl-FLOORFLOORFLOORFLOORFLOORFLO","object":"chat.completion.chunk",'
    b'"created":1700000000,"model":"gpt-4o","system_fingerprint":"fp_floor000","choices":[{"index":0,'
)
_TAIL = b'"logprobs":null,"finish_reason":null}]}\n\n'
_ROLE = _HEAD + b'"delta":{"role":"assistant","content":"","refusal":null},' + _TAIL
_CHUNK = _HEAD + b'"delta":{"content":" words"},' + _TAIL
_FINISH = _HEAD + b'"delta":{},"logprobs":null,"finish_reason":"length"}]}\n\n'
#: Shaped as fakeai's chat stream of ``TOKENS`` tokens is: the role chunk goes out with the first
#: token, the finish chunk and ``[DONE]`` with the last; the same bytes per event (an id as long as
#: fakeai's, a six-byte word for its average one).
STEPS = [_ROLE + _CHUNK] + [_CHUNK] * (TOKENS - 2) + [_CHUNK + _FINISH + b"data: [DONE]\n\n"]
OFFSETS = [TTFT + k * ITL for k in range(TOKENS)]
_RSGI_HEADERS = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
]
_ticker: Ticker | None = None


def _the_ticker() -> Ticker:
    global _ticker
    if _ticker is None:
        _ticker = Ticker()
    return _ticker


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    ticker = _the_ticker()
    start = time.monotonic()
    message = await receive()
    while message.get("more_body", False):
        message = await receive()
    await send_stream(receive, send, STEPS, OFFSETS, start, ticker)


class _RsgiFloor:
    async def __rsgi__(self, scope, protocol):
        if scope.proto != "http":
            return
        ticker = _the_ticker()
        start = time.monotonic()
        await protocol()
        transport = protocol.response_stream(200, _RSGI_HEADERS)

        def send(message):  # the pacer's http.response.body messages
            return transport.send_bytes(message["body"])

        gone = asyncio.ensure_future(protocol.client_disconnect())
        try:
            await ticker.play(send, STEPS, OFFSETS, start, gone)
        finally:
            gone.cancel()


app_rsgi = _RsgiFloor()
