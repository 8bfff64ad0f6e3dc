"""The floor for the HTTP load benchmark: a bare ASGI app that reads the body and answers a fixed
660-byte JSON document. No Python web framework can beat this on the same server and machine."""

_BODY = (
    b'{"id":"chatcmpl-floor","object":"chat.completion","created":1700000000,"model":"floor","choices":'
    b'[{"index":0,"message":{"role":"assistant","content":"'
)
_TAIL = (
    b'"},"finish_reason":"length"}],"usage":{"prompt_tokens":56,"completion_tokens":16,"total_tokens":72}}'
)
BODY = _BODY + b"x" * (660 - len(_BODY) - len(_TAIL)) + _TAIL
assert len(BODY) == 660
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"660")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    message = await receive()
    while message.get("more_body", False):
        message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": BODY})
