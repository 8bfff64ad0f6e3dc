"""The floors for the HTTP load benchmark: bare ASGI apps that read the body and answer a fixed JSON
document. No Python web framework can beat them on the same server and machine.

- ``app``: a 660-byte chat completion (the chat floor).
- ``app_embeddings``: a 19,357-byte embeddings list, the size of fakeai's answer to the benchmark's
  embeddings request (one 1536-float vector as JSON) when it printed ryu's shortest digits, so that
  what the bigger body costs granian and the kernel is in the floor too.
- ``app_embeddings_grid``: the same at 20,736 bytes, the size of that answer since its values are
  printed on the 1e-10 decimal grid (``rust/fakeai_core/src/render/decimal_grid.rs``).
- ``app_length``: ``app`` that stops reading once the ``content-length`` bytes have come, as
  fakeai's Rust hot path does (granian sends a body with ``more_body`` set, then an empty last message:
  awaiting that one is a round trip to granian's I/O thread).
"""

_BODY = (
    b'{"id":"chatcmpl-floor","object":"chat.completion","created":1700000000,"model":"floor","choices":'
    b'[{"index":0,"message":{"role":"assistant","content":"'
)
_TAIL = (
    b'"},"finish_reason":"length"}],"usage":{"prompt_tokens":56,"completion_tokens":16,"total_tokens":72}}'
)
BODY = _BODY + b"x" * (660 - len(_BODY) - len(_TAIL)) + _TAIL
assert len(BODY) == 660

#: Bytes of fakeai's answer to ``benches/http_load.py``'s embeddings request: ryu's shortest digits,
#: and the decimal grid's ten places.
EMBEDDINGS_BYTES = 19357
EMBEDDINGS_GRID_BYTES = 20736
_EMBED_HEAD = b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":['
_EMBED_TAIL = b']}],"model":"text-embedding-3-small","usage":{"prompt_tokens":30,"total_tokens":30}}'


def _embeddings_body(size: int) -> bytes:
    floats = b",".join(b"-0.0%07d" % (i * 7919 % 10_000_000) for i in range(1536))
    body = _EMBED_HEAD + floats + _EMBED_TAIL
    pad = size - len(body)  # widen the last float's digits to the exact size
    return _EMBED_HEAD + floats + b"1" * pad + _EMBED_TAIL


EMBEDDINGS_BODY = _embeddings_body(EMBEDDINGS_BYTES)
EMBEDDINGS_GRID_BODY = _embeddings_body(EMBEDDINGS_GRID_BYTES)
assert len(EMBEDDINGS_BODY) == EMBEDDINGS_BYTES and len(EMBEDDINGS_GRID_BODY) == EMBEDDINGS_GRID_BYTES


def _app(body: bytes):
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        message = await receive()
        while message.get("more_body", False):
            message = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _app_length(body: bytes):
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        length = next((int(v) for k, v in scope["headers"] if k == b"content-length"), -1)
        message = await receive()
        got = len(message.get("body", b""))
        while message.get("more_body", False) and got < length:
            message = await receive()
            got += len(message.get("body", b""))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


app = _app(BODY)
app_embeddings = _app(EMBEDDINGS_BODY)
app_embeddings_grid = _app(EMBEDDINGS_GRID_BODY)
app_length = _app_length(BODY)
