"""The models catalog: well-known model ids with context length and capabilities.

Unknown ids are accepted: the first request that names one registers it (with chat defaults, or as an
embedding model when it is used for embeddings), as passthrough gateways and vLLM-style servers do.
At most ``max_auto`` ids are registered so (``--max-auto-models``): past it an unknown id is still
served, with the same defaults, but not registered (not listed by ``/v1/models``), so a client naming
a new model in every request cannot grow the catalog without bound. Refusing to register (rather
than evicting the oldest) keeps the listing stable: an id once listed stays listed. The catalog is per
worker process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CREATED = 1_700_000_000

CHAT = frozenset({"chat", "completions", "tools", "json_schema"})
VISION = CHAT | {"vision"}
REASONING = CHAT | {"reasoning"}
EMBEDDING = frozenset({"embeddings"})


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
        """The OpenAI ``model`` object, with vLLM's and fakeai's extra fields."""
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
            "root": self.id if self.parent is None else self.parent,
            "parent": self.parent,
            "max_model_len": self.context_length,
            "context_length": self.context_length,
            "capabilities": sorted(self.capabilities),
        }


def _m(id: str, owner: str, ctx: int, caps: frozenset[str] = CHAT, dims: int = 0) -> ModelInfo:
    return ModelInfo(id, owner, ctx, caps, dims)


WELL_KNOWN: tuple[ModelInfo, ...] = (
    # OpenAI
    _m("gpt-4o", "openai", 128_000, VISION | {"audio"}),
    _m("gpt-4o-mini", "openai", 128_000, VISION),
    _m("gpt-4.1", "openai", 1_047_576, VISION),
    _m("gpt-4.1-mini", "openai", 1_047_576, VISION),
    _m("gpt-4-turbo", "openai", 128_000, VISION),
    _m("gpt-3.5-turbo", "openai", 16_385),
    _m("gpt-3.5-turbo-instruct", "openai", 4_096, frozenset({"completions"})),
    _m("o1", "openai", 200_000, REASONING | {"vision"}),
    _m("o3", "openai", 200_000, REASONING | {"vision"}),
    _m("o3-mini", "openai", 200_000, REASONING),
    _m("o4-mini", "openai", 200_000, REASONING | {"vision"}),
    _m("openai/gpt-oss-120b", "openai", 131_072, REASONING),
    _m("openai/gpt-oss-20b", "openai", 131_072, REASONING),
    _m("text-embedding-3-small", "openai", 8_191, EMBEDDING, 1536),
    _m("text-embedding-3-large", "openai", 8_191, EMBEDDING, 3072),
    _m("text-embedding-ada-002", "openai", 8_191, EMBEDDING, 1536),
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
DEFAULT_MAX_AUTO = 1_000


@dataclass(slots=True)
class Catalog:
    models: dict[str, ModelInfo] = field(default_factory=lambda: {m.id: m for m in WELL_KNOWN})
    #: Most ids registered on first use; later unknown ids are served unregistered.
    max_auto: int = DEFAULT_MAX_AUTO
    auto: int = 0

    def get(self, model_id: str) -> ModelInfo | None:
        return self.models.get(model_id)

    def resolve(self, model_id: str, *, for_embeddings: bool = False) -> ModelInfo:
        """The model named by a request, registered on first use when unknown."""
        info = self.models.get(model_id)
        if info is None:
            owner = model_id.split("/", 1)[0] if "/" in model_id else "fakeai"
            if for_embeddings:
                info = ModelInfo(model_id, owner, 8_192, EMBEDDING, DEFAULT_EMBEDDING_DIMS)
            else:
                info = ModelInfo(model_id, owner, DEFAULT_CONTEXT)
            if self.auto < self.max_auto:
                self.models[model_id] = info
                self.auto += 1
        return info

    def all(self) -> list[ModelInfo]:
        return list(self.models.values())
