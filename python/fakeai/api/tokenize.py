"""``POST /tokenize`` and ``POST /detokenize``, as vLLM serves them (JSON shapes of vLLM's
``TokenizeCompletionRequest`` / ``TokenizeChatRequest`` / ``DetokenizeRequest`` and their responses).

``/tokenize`` takes ``model`` with ``prompt``, or ``model`` with ``messages`` (through the chat
template; ``add_generation_prompt``, default true, adds the reply's priming), and answers
``{"count", "max_model_len", "tokens", "token_strs"}`` (``token_strs`` with ``return_token_strs``).
``add_special_tokens`` is accepted and changes nothing: like cl100k, fakeai's tokenizer adds no BOS
token, so ``count`` equals the ``prompt_tokens`` of a completion of the same prompt or messages.
``/detokenize`` takes ``model`` and ``tokens`` and answers ``{"prompt"}``. See
:mod:`fakeai.engine.tokenizer` for the ids.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
import orjson
from msgspec import Meta
from starlette.routing import Route

from fakeai import _core
from fakeai.context import ServerContext
from fakeai.engine.tokenizer import Tokenizer
from fakeai.errors import bad_request, rejected
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas.chat import Message
from fakeai.schemas.common import ModelId

TokenId = Annotated[int, Meta(ge=0, le=2**32 - 1)]


class TokenizeRequest(msgspec.Struct, gc=False):
    model: ModelId
    prompt: str | None = None
    messages: list[Message] | None = None
    add_special_tokens: bool | None = None
    add_generation_prompt: bool = True
    return_token_strs: bool = False


class DetokenizeRequest(msgspec.Struct, gc=False):
    model: ModelId
    tokens: list[TokenId]


class Tokenize(Endpoint):
    def __init__(self, ctx: ServerContext, tokenizer: Tokenizer) -> None:
        self.ctx = ctx
        self.tokenizer = tokenizer
        self.decoder = msgspec.json.Decoder(TokenizeRequest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.ctx.settings.max_body_bytes)
        if (req.prompt is None) == (req.messages is None):
            raise bad_request(
                "Give exactly one of 'prompt' and 'messages'.",
                param="prompt" if req.prompt is None else "messages",
                code="invalid_value" if req.prompt is not None else "missing_required_parameter",
            )
        _, info = self.ctx.resolve_model(req.model)
        if req.messages is not None:
            if not req.messages:
                raise bad_request("'messages' must not be empty.", param="messages")
            try:
                tokens = self.tokenizer.chat(req.messages, req.add_generation_prompt)
            except _core.InvalidInput as exc:
                raise rejected(exc) from None
        else:
            tokens = self.tokenizer.prompt(req.prompt or "")
        body = {
            "count": len(tokens),
            "max_model_len": info.context_length,
            "tokens": tokens,
            "token_strs": self.tokenizer.pieces(tokens) if req.return_token_strs else None,
        }
        await send_bytes(send, orjson.dumps(body))


class Detokenize(Endpoint):
    def __init__(self, ctx: ServerContext, tokenizer: Tokenizer) -> None:
        self.ctx = ctx
        self.tokenizer = tokenizer
        self.decoder = msgspec.json.Decoder(DetokenizeRequest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.ctx.settings.max_body_bytes)
        await send_bytes(send, orjson.dumps({"prompt": self.tokenizer.text(req.tokens)}))


def routes(ctx: ServerContext) -> list[Route]:
    tokenizer = Tokenizer()
    return [
        Route("/tokenize", Tokenize(ctx, tokenizer), methods=["POST"]),
        Route("/detokenize", Detokenize(ctx, tokenizer), methods=["POST"]),
    ]
