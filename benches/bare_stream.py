"""The floor for the streaming benchmark: a bare granian ASGI app that paces a prebuilt 64-chunk SSE
stream (TTFT 50 ms, ITL 10 ms) with fakeai's own ticker. Nothing per request but reading the body:
no decoding, rendering, routing, metrics or middleware. What it costs per token is what granian and
the kernel cost on this machine."""

import time

from fakeai.engine.pacing import Ticker, send_stream

TOKENS, TTFT, ITL = 64, 0.050, 0.010
_CHUNK = (
    b'data: {"id":"chatcmpl-floor","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o",'
    b'"system_fingerprint":"fp_floor","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,'
    b'"finish_reason":null}]}\n\n'
)
STEPS = [_CHUNK] * (TOKENS - 1) + [_CHUNK + b"data: [DONE]\n\n"]
OFFSETS = [TTFT + k * ITL for k in range(TOKENS)]
_ticker: Ticker | None = None


async def app(scope, receive, send):
    global _ticker
    if scope["type"] != "http":
        return
    if _ticker is None:
        _ticker = Ticker()
    start = time.monotonic()
    message = await receive()
    while message.get("more_body", False):
        message = await receive()
    await send_stream(receive, send, STEPS, OFFSETS, start, _ticker)
