"""Generation: the answer to one decoded request, in one call into the Rust core.

Shared by the live chat, completions and embeddings endpoints, batches, the
Responses API (:mod:`fakeai.engine.responder`) and Realtime, so that all answer through the same engine.
``over`` is the request's ``x-fakeai-*`` overrides (:mod:`fakeai.gateway.overrides`). With ``start``
(its arrival, ``time.monotonic()``) a request runs on the simulated cluster (prefix cache, routing,
batch slots); without it, it only follows its model's latency.

Every generating call returns a :class:`fakeai._core.Answer` (``payload``, ``schedule``,
``prompt_tokens``, ``completion_tokens``, ``ticket``, ``label``). The core call also records the
answer's usage and, for a live request (``start`` given, i.e. the HTTP endpoints), its inference
metrics (:class:`fakeai._core.Meter`): ``label`` is the model label the request counts under.
"""

from __future__ import annotations

from types import EllipsisType
from typing import TYPE_CHECKING, Any

from fakeai import _core
from fakeai.engine.speech import chat_audio
from fakeai.errors import bad_request, rejected

if TYPE_CHECKING:
    from fakeai.context import ServerContext
    from fakeai.engine.catalog import ModelInfo
    from fakeai.engine.lora import LoraModule
    from fakeai.gateway.overrides import Overrides
    from fakeai.schemas.chat import ChatRequest
    from fakeai.schemas.completions import CompletionRequest
    from fakeai.schemas.embeddings import EmbeddingRequest

#: Reported as ``system_fingerprint``; changes when fakeai's generation changes.
FINGERPRINT = "fp_fakeai04"

#: What the core renders: payload and schedule are a body and its ``(first_token_at, done_at)``, or a
#: stream's steps and their offsets; then the token counts and the cluster ticket.
Answer = _core.Answer


def prepare(
    ctx: ServerContext,
    model: str,
    over: Overrides | None,
    start: float | None,
    lora: LoraModule | None | EllipsisType = ...,
) -> tuple[ModelInfo, dict[str, Any]]:
    """What every generating render needs before its core call: admission to the simulated cluster's
    queue (live requests only), the serving model's catalog entry, and the keyword arguments that
    ``_core.chat`` and ``_core.completion`` share: latency with the request's overrides, forced
    length, response mode, length distribution, the cluster to run on and the engine that times the
    request (both None off the live path; the engine None in fixed timing, see
    :class:`fakeai.engine.deployment.Engines`), the server's cap on the tokens one request
    generates (``--max-generated-tokens``), and the meter that records the answer (its inference
    metrics only on the live path).

    ``lora``: the adapter the request names, when the caller has looked it up already (the endpoint,
    which holds the adapter's slot while it serves: one lookup per request), else ``...``."""
    if start is not None and ctx.cluster.bounded:
        ctx.cluster.admit(start)
    _, info = ctx.resolve_model(model, lora)
    lat = ctx.latencies.for_request(info.id, over)
    return info, {
        "fingerprint": FINGERPRINT,
        "ttft": lat.ttft,
        "itl": lat.itl,
        "jitter": lat.jitter,
        "prefill_per_token": lat.prefill_per_token,
        "forced_tokens": over and over.output_tokens,
        "echo_mode": ctx.echo if over is None or over.echo is None else over.echo,
        "lengths": ctx.lengths,
        "cluster": None if start is None else ctx.cluster.core,
        "engine": None if start is None else ctx.engines.for_request(info.id, over),
        "now": start or 0.0,
        "max_generated": ctx.settings.max_generated_tokens,
        "meter": ctx.usage.core,
        "live": start is not None,
    }


def chat(
    ctx: ServerContext,
    req: ChatRequest,
    over: Overrides | None = None,
    start: float | None = None,
    lora: LoraModule | None | EllipsisType = ...,
    *,
    reveal_reasoning: bool = False,
    live: bool | None = None,
) -> Answer:
    """A chat completion (``POST /v1/chat/completions``). OpenAI's reasoning models (catalog
    capability ``hidden_reasoning``) answer without their reasoning text, as OpenAI's chat does;
    ``reveal_reasoning`` keeps it as ``reasoning_content`` (the Responses API builds its reasoning
    item from it). ``live`` (default: whether ``start`` is given) counts the inference in the server's
    metrics; the Responses API's requests are live without a ``start`` (its own pacing times them)."""
    if req.top_logprobs is not None and not req.logprobs:
        raise bad_request("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
    info, shared = prepare(ctx, req.model, over, start, lora)
    if live is not None:
        shared["live"] = live
    audio = chat_audio(req.modalities, req.audio)
    try:
        answer = _core.chat(req, info, audio=audio, reveal_reasoning=reveal_reasoning, **shared)
    except _core.InvalidInput as exc:
        raise rejected(exc) from None
    return answer


def chat_call(ctx: ServerContext, model: str) -> _core.ChatCall:
    """What ``_core.chat`` and ``_core.completion`` are given for a live request of ``model`` without
    overrides, LoRA adapter or audio, held as a ``_core.ChatCall`` whose caller gives ``now`` per
    request (the Rust hot path, :mod:`fakeai.api.hot`, keeps one per model for each route)."""
    info, shared = prepare(ctx, model, None, 0.0, None)
    del shared["now"]
    return _core.ChatCall(info, **shared)


def completion(
    ctx: ServerContext,
    req: CompletionRequest,
    over: Overrides | None = None,
    start: float | None = None,
    lora: LoraModule | None | EllipsisType = ...,
) -> Answer:
    """A legacy text completion (``POST /v1/completions``)."""
    if req.max_tokens == 0 and not req.echo:
        raise bad_request("'max_tokens' must be at least 1 unless 'echo' is true.", param="max_tokens")
    info, shared = prepare(ctx, req.model, over, start, lora)
    try:
        answer = _core.completion(req, info, **shared)
    except _core.InvalidInput as exc:
        raise rejected(exc, param="prompt") from None
    return answer


def embedding_dims(ctx: ServerContext, model: str) -> int:
    """The native dimensions of embedding model ``model`` (registered on first use)."""
    return ctx.catalog.resolve(model, for_embeddings=True).embedding_dims or 1536


def embeddings(
    ctx: ServerContext, req: EmbeddingRequest, live: bool = False
) -> tuple[bytes, int, str | None]:
    """``(body, prompt_tokens, label)``: deterministic, L2-normalised feature-hashing embeddings, their
    usage recorded (and with ``live``, the endpoint, the inference metrics: ``label`` as
    :attr:`fakeai._core.Answer.label`)."""
    native = embedding_dims(ctx, req.model)
    dims = native if req.dimensions is None else req.dimensions
    if dims > native:
        raise bad_request(
            f"'dimensions' must be at most {native} for model '{req.model}', got {dims}.", param="dimensions"
        )
    if (req.input is None) == (req.messages is None):
        raise bad_request(
            "Give exactly one of 'input' and 'messages'.",
            param="input" if req.input is None else "messages",
            code="missing_required_parameter" if req.input is None else "invalid_value",
        )
    try:
        given: str | list[Any] | None = req.input
        if req.messages is not None:
            # vLLM's chat form: the conversation's token ids through the chat template, one input
            given = _core.tokenize_chat(req.messages, None, req.add_generation_prompt)
        assert given is not None  # exactly one of the two, checked above
        body, prompt_tokens = _core.embed(req.model, given, dims, req.encoding_format == "base64")
    except _core.InvalidInput as exc:
        raise rejected(exc, "input" if req.messages is None else "messages") from None
    return body, prompt_tokens, ctx.usage.core.record("embeddings", req.model, prompt_tokens, live=live)
