"""The models catalog: well-known model ids with context length and capabilities.

Unknown ids are accepted: the first request that names one registers it (with chat defaults, or as an
embedding model when it is used for embeddings), as passthrough gateways and vLLM-style servers do. An
unknown id of a known family is given that family's window and capabilities (:func:`_family`): a dated
snapshot (``gpt-4o-2024-08-06``, ``o3-mini-2025-01-31``) those of its model, OpenAI's GPT-5-and-later
and o-series ids (``gpt-5.4-mini``, ``o1-pro-2025-03-19``) those of OpenAI's reasoning models with
vision (hidden reasoning, and GPT-5.1-and-later's sampling at ``reasoning_effort: none``), their
``-chat`` ids (``gpt-5.2-chat-latest``) those of a chat model with vision, and Anthropic's ``claude-``
ids a 200,000-token window and vision; so ``reasoning_effort`` and image input work with the model ids
the SDKs name, whatever their version.

Registrations are server-wide: they live in a shared-memory table (one row per id: its kind and its
registration number), so whichever granian worker answers, ``GET /v1/models`` lists the same models in
the same order (well-known first, then auto-registered ones in the order they were first used) and
``GET /v1/models/{id}`` finds the id. The table is bounded by ``--max-auto-models``: once that many ids
are registered, a request naming yet another unknown id is still answered (with chat or embedding
defaults) but the id is not registered, so it is not listed and retrieving it is a 404. Ids longer than
a shared-table key (248 bytes) are likewise answered without being registered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fakeai import _core

CREATED = 1_700_000_000

CHAT = frozenset({"chat", "completions", "tools", "json_schema"})
VISION = CHAT | {"vision"}
REASONING = CHAT | {"reasoning"}
#: OpenAI's hosted reasoning models (o-series, GPT-5 and later, not the open-weight gpt-oss): their
#: chat completions never show the reasoning text (only ``reasoning_tokens``; the Responses API
#: keeps its reasoning item), and chat refuses the sampling parameters OpenAI refuses for them
#: (``max_tokens``, ``temperature``/``top_p`` other than 1, ...: ``fakeai_core`` ``py/chat_options.rs``).
OPENAI_REASONING = REASONING | {"vision", "hidden_reasoning"}
#: GPT-5.1 and later, whose ``reasoning_effort`` defaults to ``none``: at ``none`` (or with no effort
#: given) they take ``temperature``, ``top_p``, ``logprobs`` and the penalties.
SAMPLING_AT_EFFORT_NONE = OPENAI_REASONING | {"sampling_at_effort_none"}
EMBEDDING = frozenset({"embeddings"})
#: Models of the media endpoints: listed as OpenAI lists them, without vLLM's text-window fields.
IMAGES = frozenset({"images"})
SPEECH = frozenset({"speech"})
TRANSCRIPTION = frozenset({"transcription"})
MODERATION = frozenset({"moderation"})
VIDEO = frozenset({"video"})
REALTIME = CHAT | {"audio", "realtime"}
#: Capabilities whose models read text through a context window.
TEXT = CHAT | EMBEDDING


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    owned_by: str
    context_length: int
    capabilities: frozenset[str] = CHAT
    embedding_dims: int = 0
    created: int = CREATED
    parent: str | None = None

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    def card(self) -> dict[str, object]:
        """The OpenAI ``model`` object, with vLLM's and fakeai's extra fields (a media model, which
        has no text window, without ``max_model_len`` and ``context_length``)."""
        card: dict[str, object] = {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
            "root": self.id if self.parent is None else self.parent,
            "parent": self.parent,
        }
        if self.capabilities & TEXT:
            card["max_model_len"] = card["context_length"] = self.context_length
        card["capabilities"] = sorted(self.capabilities)
        return card


def _m(id: str, owner: str, ctx: int, caps: frozenset[str] = CHAT, dims: int = 0) -> ModelInfo:
    return ModelInfo(id, owner, ctx, caps, dims)


WELL_KNOWN: tuple[ModelInfo, ...] = (
    # OpenAI
    _m("gpt-4o", "openai", 128_000, VISION | {"audio"}),
    _m("gpt-4o-mini", "openai", 128_000, VISION),
    _m("gpt-4.1", "openai", 1_047_576, VISION),
    _m("gpt-4.1-mini", "openai", 1_047_576, VISION),
    _m("gpt-4.1-nano", "openai", 1_047_576, VISION),
    _m("gpt-5", "openai", 400_000, OPENAI_REASONING),
    _m("gpt-5-mini", "openai", 400_000, OPENAI_REASONING),
    _m("gpt-5-nano", "openai", 400_000, OPENAI_REASONING),
    _m("gpt-5-chat-latest", "openai", 128_000, VISION),
    _m("gpt-5.1", "openai", 400_000, SAMPLING_AT_EFFORT_NONE),
    _m("gpt-5.2", "openai", 400_000, SAMPLING_AT_EFFORT_NONE),
    _m("gpt-4-turbo", "openai", 128_000, VISION),
    _m("gpt-3.5-turbo", "openai", 16_385),
    _m("gpt-3.5-turbo-instruct", "openai", 4_096, frozenset({"completions"})),
    _m("o1", "openai", 200_000, OPENAI_REASONING),
    _m("o3", "openai", 200_000, OPENAI_REASONING),
    _m("o3-mini", "openai", 200_000, OPENAI_REASONING - {"vision"}),
    _m("o4-mini", "openai", 200_000, OPENAI_REASONING),
    _m("gpt-audio", "openai", 128_000, CHAT | {"audio"}),
    _m("openai/gpt-oss-120b", "openai", 131_072, REASONING),
    _m("openai/gpt-oss-20b", "openai", 131_072, REASONING),
    _m("text-embedding-3-small", "openai", 8_191, EMBEDDING, 1536),
    _m("text-embedding-3-large", "openai", 8_191, EMBEDDING, 3072),
    _m("text-embedding-ada-002", "openai", 8_191, EMBEDDING, 1536),
    _m("gpt-4o-realtime-preview", "openai", 128_000, REALTIME),
    _m("gpt-realtime", "openai", 32_000, REALTIME),
    # OpenAI media models (the images, audio, moderation and video endpoints take any id; these are
    # the ones OpenAI lists). Their context length only bounds a chat request that names one.
    _m("dall-e-2", "openai", 4_096, IMAGES),
    _m("dall-e-3", "openai", 4_096, IMAGES),
    _m("gpt-image-1", "openai", 32_768, IMAGES),
    _m("tts-1", "openai", 4_096, SPEECH),
    _m("tts-1-hd", "openai", 4_096, SPEECH),
    _m("gpt-4o-mini-tts", "openai", 4_096, SPEECH),
    _m("whisper-1", "openai", 4_096, TRANSCRIPTION),
    _m("gpt-4o-transcribe", "openai", 16_000, TRANSCRIPTION),
    _m("gpt-4o-mini-transcribe", "openai", 16_000, TRANSCRIPTION),
    _m("gpt-4o-transcribe-diarize", "openai", 16_000, TRANSCRIPTION),
    _m("omni-moderation-latest", "openai", 32_768, MODERATION),
    _m("text-moderation-latest", "openai", 32_768, MODERATION),
    _m("sora-2", "openai", 4_096, VIDEO),
    _m("sora-2-pro", "openai", 4_096, VIDEO),
    # Meta
    _m("meta-llama/Llama-3.1-8B-Instruct", "meta", 131_072),
    _m("meta-llama/Llama-3.1-70B-Instruct", "meta", 131_072),
    _m("meta-llama/Llama-3.1-405B-Instruct", "meta", 131_072),
    _m("meta-llama/Llama-3.2-11B-Vision-Instruct", "meta", 131_072, VISION),
    _m("meta-llama/Llama-3.3-70B-Instruct", "meta", 131_072),
    # NVIDIA NIM
    _m("meta/llama-3.1-8b-instruct", "nvidia", 131_072),
    _m("meta/llama-3.1-70b-instruct", "nvidia", 131_072),
    _m("nvidia/llama-3.1-nemotron-70b-instruct", "nvidia", 131_072),
    _m("nvidia/llama-3.3-nemotron-super-49b-v1", "nvidia", 131_072, REASONING),
    _m("nvidia/nv-embedqa-e5-v5", "nvidia", 512, EMBEDDING, 1024),
    _m("nvidia/llama-3.2-nv-embedqa-1b-v2", "nvidia", 8_192, EMBEDDING, 2048),
    _m("nvidia/cosmos-reason1-7b", "nvidia", 32_768, VISION | {"video"}),
    # DeepSeek
    _m("deepseek-ai/DeepSeek-V3", "deepseek", 131_072),
    _m("deepseek-ai/DeepSeek-R1", "deepseek", 131_072, REASONING),
    _m("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseek", 131_072, REASONING),
    # Qwen
    _m("Qwen/Qwen2.5-7B-Instruct", "qwen", 32_768),
    _m("Qwen/Qwen2.5-72B-Instruct", "qwen", 32_768),
    _m("Qwen/Qwen3-8B", "qwen", 40_960, REASONING),
    _m("Qwen/Qwen3-235B-A22B", "qwen", 40_960, REASONING),
    _m("Qwen/Qwen2.5-VL-7B-Instruct", "qwen", 32_768, VISION),
    # Mistral
    _m("mistralai/Mistral-7B-Instruct-v0.3", "mistralai", 32_768),
    _m("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai", 32_768),
    _m("mistralai/Mixtral-8x22B-Instruct-v0.1", "mistralai", 65_536),
    # Open embedding models
    _m("sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers", 512, EMBEDDING, 384),
    _m("BAAI/bge-large-en-v1.5", "baai", 512, EMBEDDING, 1024),
)

DEFAULT_CONTEXT = 131_072
DEFAULT_EMBEDDING_DIMS = 1536


#: The shared table of auto-registered models (see the module docstring).
TABLE = "models"
#: The row counting registrations, so that at most ``limit`` ids are ever registered.
_COUNT = "\x00registered"
_CHAT, _EMBEDDING = 1, 2
_UNDO = (1 << 64) - 1  # adding it subtracts 1 (the table's words wrap)


def table_capacity(limit: int) -> int:
    """Rows of the shared table for ``limit`` registrations: twice as many (short probe chains) and
    one for the count."""
    return 2 * limit + 1


def _registrable(model_id: str) -> bool:
    return model_id != _COUNT and len(model_id.encode()) <= _core.SHARED_KEY_BYTES


#: A snapshot's date suffix (OpenAI's ``-2025-04-16``).
SNAPSHOT = re.compile(r"-[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: OpenAI families by id, first match wins: (pattern, context window, capabilities).
_FAMILIES: tuple[tuple[re.Pattern[str], int, frozenset[str]], ...] = (
    (re.compile(r"^gpt-.*audio"), 128_000, CHAT | {"audio"}),
    (re.compile(r"^gpt-([5-9]|[0-9]{2})(\.[0-9]+)?(-[a-z]+)?-chat"), 128_000, VISION),
    # GPT-5 itself (gpt-5-mini, gpt-5-nano) and the -pro models reason whatever the effort; GPT-5.1
    # and later default to reasoning_effort "none"
    (re.compile(r"^gpt-5(-|\Z)"), 400_000, OPENAI_REASONING),
    (re.compile(r"^gpt-([5-9]|[0-9]{2})(\.[0-9]+)?-pro(-|\Z)"), 400_000, OPENAI_REASONING),
    (re.compile(r"^gpt-([5-9]|[0-9]{2})(\.[0-9]+)?(-|\Z)"), 400_000, SAMPLING_AT_EFFORT_NONE),
    (re.compile(r"^o[1-9](-|\Z)"), 200_000, OPENAI_REASONING),
    # Anthropic's: a 200,000-token window and vision (thinking is a request parameter, not a model's)
    (re.compile(r"^claude-"), 200_000, VISION),
)
_KNOWN = {m.id: m for m in WELL_KNOWN}


def _family(model_id: str, kind: int) -> ModelInfo | None:
    """What an unknown id of ``kind`` inherits (see the module docstring), or None."""
    base = _KNOWN.get(SNAPSHOT.sub("", model_id))
    if base is not None and base.supports("embeddings" if kind == _EMBEDDING else "chat"):
        return ModelInfo(model_id, base.owned_by, base.context_length, base.capabilities, base.embedding_dims)
    for pattern, context, capabilities in _FAMILIES if kind == _CHAT else ():
        if pattern.match(model_id):
            return ModelInfo(
                model_id, "anthropic" if model_id.startswith("claude-") else "openai", context, capabilities
            )
    return None


def _auto(model_id: str, kind: int) -> ModelInfo:
    owner = model_id.split("/", 1)[0] if "/" in model_id else "fakeai"
    inherited = _family(model_id, kind)
    if inherited is not None:
        return inherited
    if kind == _EMBEDDING:
        return ModelInfo(model_id, owner, 8_192, EMBEDDING, DEFAULT_EMBEDDING_DIMS)
    return ModelInfo(model_id, owner, DEFAULT_CONTEXT)


@dataclass(slots=True)
class Catalog:
    """Well-known and configured models (identical in every worker) plus the server-wide registry of
    auto-registered ones in ``table`` (row: ``[claims, kind | sequence << 2]``)."""

    table: _core.SharedTable
    limit: int
    models: dict[str, ModelInfo] = field(default_factory=lambda: dict(_KNOWN))
    #: This worker's copy of registered rows (rows are never removed, so a copy never goes stale).
    _seen: dict[str, ModelInfo] = field(default_factory=dict)

    def get(self, model_id: str) -> ModelInfo | None:
        info = self.models.get(model_id) or self._seen.get(model_id)
        if info is None and _registrable(model_id):
            row = self.table.get(model_id)
            if row is not None and row[1]:
                info = self._seen[model_id] = _auto(model_id, row[1] & 3)
        return info

    def resolve(self, model_id: str, *, for_embeddings: bool = False) -> ModelInfo:
        """The model named by a request, registered server-wide on first use when unknown."""
        info = self.get(model_id)
        if info is not None:
            return info
        kind = _EMBEDDING if for_embeddings else _CHAT
        if not _registrable(model_id):
            return _auto(model_id, kind)
        number = self.table.add(_COUNT, 0, 1)
        if number > self.limit:
            self.table.add(_COUNT, 0, _UNDO)
            return _auto(model_id, kind)
        if self.table.add(model_id, 0, 1) == 1:
            self.table.add(model_id, 1, kind | number << 2)
            return self._seen.setdefault(model_id, _auto(model_id, kind))
        # Another worker registered it at the same moment: its row (and kind) wins.
        self.table.add(_COUNT, 0, _UNDO)
        return self.get(model_id) or _auto(model_id, kind)

    def all(self) -> list[ModelInfo]:
        """Well-known and configured models, then auto-registered ones in registration order."""
        rows = sorted(
            (row[1] >> 2, key, row[1] & 3) for key, row in self.table.items() if key != _COUNT and row[1]
        )
        return list(self.models.values()) + [self._seen.get(k) or _auto(k, kind) for _, k, kind in rows]
