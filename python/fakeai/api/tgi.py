"""Hugging Face Text Generation Inference's API: ``POST /generate``, ``POST /generate_stream`` and the
compat route ``POST /`` (a stream when the body says ``"stream": true``, else ``/generate``'s answer
in a list of one, as TGI answers it; there ``return_full_text`` defaults to true, as TGI's does for
a ``text-generation`` model).

TGI serves one model and requests name none: the model answering is ``--lora-base-model`` (default
``meta-llama/Llama-3.1-8B-Instruct``, a catalog model), the one a LoRA adapter runs on, and
``adapter_id`` names a loaded adapter (:mod:`fakeai.api.lora`) that then serves the request, as
TGI's multi-LoRA serving does; an adapter that is not loaded is TGI's 424 generation error. A
request is rendered as a legacy completion of ``inputs`` (:func:`fakeai.engine.render.completion`),
so it is timed (TTFT, ITL, the engine model), routed through the prefix cache, honours the
``x-fakeai-*`` overrides and is metered (usage as ``completions``, the per-model metrics) exactly as
that completion is; :mod:`fakeai.api.tgi_answers` turns the answer into TGI's shapes.

Parameters honoured: ``max_new_tokens`` (default 100; ``null``: no cap), ``stop``, ``seed``,
``do_sample``, ``details``, ``decoder_input_details`` (the prompt's tokens, with deterministic fake
logprobs, the first null), ``return_full_text``, ``top_n_tokens``, ``truncate`` (keeps the prompt's
last tokens), ``adapter_id``, and fakeai's extras ``ignore_eos`` and ``min_tokens``. A sampled
request (``do_sample``, or a ``temperature`` other than 1, ``top_k``, ``top_p``, ``typical_p``)
reports its seed in the details, a random one when it gave none, and the same seed gives the same
text; a greedy one reports none and gives the same text for the same inputs. Checked as TGI checks
them, then ignored: ``temperature``, ``top_p``, ``top_k``, ``typical_p``, ``repetition_penalty``,
``frequency_penalty``, ``best_of`` (no ``best_of_sequences``), ``watermark``, ``grammar``.

Errors are TGI's ``{"error", "error_type"}``: a body that is not JSON is a 400, one of the wrong
shape a 422 (``Failed to deserialize the JSON body ...``), a value TGI's validation refuses a 422
``Input validation error: ...`` (so is a request past the model's context window), a full waiting
queue TGI's 429 ``overloaded``; body limits are fakeai's (413 past ``--max-body-bytes``, 400 past
64 levels of nesting).
"""

from __future__ import annotations

import random
import time
from typing import Any

import msgspec
from starlette.routing import Route

from fakeai.api import tgi_answers
from fakeai.api.generation import Generation
from fakeai.context import ServerContext
from fakeai.engine import render
from fakeai.engine.tokenizer import Tokenizer
from fakeai.errors import ApiError
from fakeai.gateway.answers import tgi_body
from fakeai.http.asgi import Receive, Scope, Send, read_body, send_bytes
from fakeai.schemas.common import check_json_shape
from fakeai.schemas.completions import CompletionRequest
from fakeai.schemas.tgi import (
    DEFAULT_MAX_NEW_TOKENS,
    SAMPLED,
    CompatGenerateRequest,
    GenerateRequest,
    check,
    invalid,
)

#: The seed of every greedy request: its text depends on its inputs alone.
GREEDY_SEED = 0


class Generate(Generation):
    """One TGI route: ``stream`` True (``/generate_stream``), False (``/generate``) or None (``/``,
    where the request's ``stream`` decides)."""

    def __init__(self, ctx: ServerContext, tokenizer: Tokenizer, stream: bool | None) -> None:
        super().__init__(
            ctx, GenerateRequest if stream is not None else CompatGenerateRequest, render.completion
        )
        self.tokenizer = tokenizer
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        try:
            req = await self.read(receive)
            stream = (
                self.stream
                if self.stream is not None
                else isinstance(req, CompatGenerateRequest) and bool(req.stream)
            )
            completion, asked = self.completion(req, stream)
            reshape = tgi_answers.events if stream else tgi_answers.body
            await self.serve(scope, receive, send, completion, start, lambda answer: reshape(answer, asked))
        except ApiError as e:
            status, message = _as_tgi(e)
            await send_bytes(send, tgi_body(status, message), status)

    async def read(self, receive: Receive) -> GenerateRequest:
        """The decoded body, refused in the words of TGI's web framework (axum)."""
        body = await read_body(receive, self.limit)
        check_json_shape(body)
        try:
            req: GenerateRequest = self.decoder.decode(body)
        except msgspec.ValidationError as e:
            message = f"Failed to deserialize the JSON body into the target type: {e}"
            raise ApiError(422, message, code="validation") from None
        except msgspec.DecodeError as e:
            raise ApiError(
                400, f"Failed to parse the request body as JSON: {e}", code="invalid_json"
            ) from None
        return req

    def completion(self, req: GenerateRequest, stream: bool) -> tuple[CompletionRequest, tgi_answers.Asked]:
        """The legacy completion that answers ``req``, and what TGI's answer adds to its text."""
        p = req.parameters or SAMPLED
        check(req, p, stream)
        model = self.model(p.adapter_id)
        prompt = self.truncated(req.inputs, p.truncate, model)
        sampled = p.sampling()
        seed = p.seed if p.seed is not None else random.getrandbits(64) if sampled else None
        details = bool(p.details)
        full_text = p.return_full_text if p.return_full_text is not None else self.stream is None
        fields: dict[str, Any] = {
            "model": model,
            "prompt": prompt,
            "max_tokens": DEFAULT_MAX_NEW_TOKENS if p.max_new_tokens is msgspec.UNSET else p.max_new_tokens,
            "stream": stream,
            "stop": p.stop or None,
            # the core takes an int64: a u64 seed wraps, so each seed still gives its own text
            "seed": GREEDY_SEED if seed is None else seed - 2**64 if seed >= 2**63 else seed,
            "logprobs": (p.top_n_tokens or 0) if stream or details else None,
            "ignore_eos": bool(p.ignore_eos),
            "min_tokens": p.min_tokens or 0,
        }
        asked = tgi_answers.Asked(
            details=details,
            prefix=req.inputs if full_text else "",
            top_n=p.top_n_tokens or 0,
            seed=seed if sampled else None,
            stops=bool(p.stop),
            prefill=self.prefill(prompt) if details and p.decoder_input_details else [],
            listed=self.stream is None and not stream,
        )
        return CompletionRequest(**fields), asked

    def model(self, adapter_id: str | None) -> str:
        """The model serving a request: the base model, or the loaded LoRA adapter it names."""
        base = self.ctx.settings.lora_base_model
        if not adapter_id or adapter_id == base:
            return base
        if self.ctx.loras.find(adapter_id) is None:
            message = f"Request failed during generation: Server error: Adapter '{adapter_id}' is not loaded."
            raise ApiError(424, message, type="server_error", code="generation")
        return adapter_id

    def truncated(self, inputs: str, truncate: int | None, model: str) -> str:
        """``inputs`` kept to its last ``truncate`` tokens, as TGI truncates (from the left)."""
        if truncate is None:
            return inputs
        limit = self.ctx.resolve_model(model)[1].context_length - 1  # TGI's --max-input-tokens
        if not 0 < truncate <= limit:
            raise invalid(f"`truncate` must be strictly positive and less than {limit}. Given: {truncate}")
        ids = self.tokenizer.prompt(inputs)
        return inputs if len(ids) <= truncate else self.tokenizer.text(ids[-truncate:])

    def prefill(self, prompt: str) -> list[dict[str, Any]]:
        """``decoder_input_details``' prompt tokens: fakeai's ids and pieces, a fake logprob per id
        (TGI gives the first token none)."""
        ids = self.tokenizer.prompt(prompt)
        pieces = self.tokenizer.pieces(ids)
        return [
            {"id": i, "text": text, "logprob": None if k == 0 else -(i % 1000) / 100}
            for k, (i, text) in enumerate(zip(ids, pieces, strict=True))
        ]


def _as_tgi(e: ApiError) -> tuple[int, str]:
    """TGI's status and message for an error: fakeai's 400s about a value (the core's refusals, e.g.
    past the context window) are TGI's validation 422, a full waiting queue its 429; a bad
    ``x-fakeai-*`` header stays a 400, as the gateway answers the others."""
    if e.param is not None and e.param.startswith("x-fakeai-"):
        return e.status, e.message
    if e.status == 400 and e.code != "invalid_json":
        return 422, f"Input validation error: {e.message}"
    if e.code == "overloaded":
        return 429, "Model is overloaded"
    return e.status, e.message


def routes(ctx: ServerContext) -> list[Route]:
    tokenizer = Tokenizer()
    return [
        Route("/generate", Generate(ctx, tokenizer, stream=False), methods=["POST"]),
        Route("/generate_stream", Generate(ctx, tokenizer, stream=True), methods=["POST"]),
        Route("/", Generate(ctx, tokenizer, stream=None), methods=["POST"]),
    ]
