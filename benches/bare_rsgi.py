"""The RSGI floor for the HTTP load benchmark: :mod:`bare_asgi`'s app on granian's RSGI interface.

It reads the body and answers the same fixed bodies as the ASGI floor (``app``: 660 bytes,
``app_embeddings``: the size of a 1536-float embeddings response). Beside the ASGI floor, in the
same run, it shows what granian's ASGI layer itself costs per request."""

from bare_asgi import BODY, EMBEDDINGS_BODY

_HEADERS = [("content-type", "application/json")]


class _Floor:
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __rsgi__(self, scope, protocol):
        if scope.proto != "http":
            return
        await protocol()
        protocol.response_bytes(200, _HEADERS, self.body)


app = _Floor(BODY)
app_embeddings = _Floor(EMBEDDINGS_BODY)
