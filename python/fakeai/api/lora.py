"""``POST /v1/load_lora_adapter`` and ``POST /v1/unload_lora_adapter``, as vLLM serves them.

vLLM needs ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` for these; fakeai always offers them. Success is
a 200 with vLLM's plain-text message; errors use vLLM's envelope (``type`` ``InvalidUserInput`` or
``NotFoundError``, numeric ``code``). The registry is shared by every worker (see ``engine/lora.py``).
"""

from __future__ import annotations

import msgspec
from starlette.routing import Route

from fakeai.context import ServerContext
from fakeai.engine.lora import LoraModule
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes

TEXT = b"text/plain; charset=utf-8"


class LoadRequest(msgspec.Struct, gc=False):
    lora_name: str
    lora_path: str
    base_model_name: str | None = None
    #: Newer vLLM: replace an adapter already loaded under this name instead of failing.
    load_inplace: bool = False


class UnloadRequest(msgspec.Struct, gc=False):
    lora_name: str
    lora_int_id: int | None = None


class LoadAdapter(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(LoadRequest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.ctx.settings.max_body_bytes)
        module = LoraModule(req.lora_name, req.lora_path, req.base_model_name)
        self.ctx.loras.load(module, replace=req.load_inplace)
        await send_bytes(
            send, f"Success: LoRA adapter '{req.lora_name}' added successfully.".encode(), 200, TEXT
        )


class UnloadAdapter(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(UnloadRequest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.ctx.settings.max_body_bytes)
        self.ctx.loras.unload(req.lora_name)
        await send_bytes(
            send, f"Success: LoRA adapter '{req.lora_name}' removed successfully.".encode(), 200, TEXT
        )


def routes(ctx: ServerContext) -> list[Route]:
    return [
        Route("/v1/load_lora_adapter", LoadAdapter(ctx), methods=["POST"]),
        Route("/v1/unload_lora_adapter", UnloadAdapter(ctx), methods=["POST"]),
    ]
