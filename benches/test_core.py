"""Micro-benchmarks of the Rust core against pure-Python baselines of the same algorithms.

    pytest benches/test_core.py --benchmark-enable --benchmark-group-by=group

Every benchmark checks its result, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import struct

import jsonschema
import msgspec
import orjson
import pytest

from fakeai import _core
from fakeai.schemas.chat import ChatRequest, Message

PROSE = (
    "Simulated inference servers let gateway teams test routing, retries and rate limits without GPUs. "
    "They must answer quickly, count tokens the way real tokenizers do, and stream deltas on time. "
) * 8

# --- a pure-Python tokenizer of the same design as rust/fakeai_core/src/text/tokens.rs -------------------
_PIECE = re.compile(r" ?[A-Za-z]{1,12}|[0-9]{1,3}|\s+(?=\s[A-Za-z])|\s+|.", re.DOTALL)


def py_count_tokens(text: str) -> int:
    return len(_PIECE.findall(text))


@pytest.mark.benchmark(group="count_tokens")
def test_count_tokens_rust(benchmark):
    n = benchmark(_core.count_tokens, PROSE)
    assert n == py_count_tokens(PROSE)


@pytest.mark.benchmark(group="count_tokens")
@pytest.mark.reference
def test_count_tokens_python(benchmark):
    assert benchmark(py_count_tokens, PROSE) == _core.count_tokens(PROSE)


# --- a whole chat completion: generate 16 tokens and render the JSON ------------------------------
WORDS = ["the", "model", "server", "token", "cache", "latency", "gateway", "stream", "request", "batch"]
MESSAGES = [Message(role="user", content=PROSE[:200])]


def py_chat(messages: list[Message], max_tokens: int, seed: int) -> bytes:
    rng = random.Random(seed)
    prompt_tokens = 3 + sum(3 + py_count_tokens(m.role) + py_count_tokens(m.content) for m in messages)
    words = [rng.choice(WORDS) for _ in range(max_tokens)]
    text = " ".join(words).capitalize()
    body = {
        "id": "chatcmpl-" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=29)),
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "length",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": max_tokens,
            "total_tokens": prompt_tokens + max_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fakeai04",
    }
    return orjson.dumps(body)


CHAT_REQUEST = ChatRequest(model="gpt-4o", messages=MESSAGES, max_tokens=16, ignore_eos=True, seed=1)


def rust_chat() -> bytes:
    return _core.chat(CHAT_REQUEST).payload


@pytest.mark.benchmark(group="chat_16_tokens")
def test_chat_rust(benchmark):
    body = orjson.loads(benchmark(rust_chat))
    assert body["usage"]["completion_tokens"] == 16


@pytest.mark.benchmark(group="chat_16_tokens")
@pytest.mark.reference
def test_chat_python(benchmark):
    body = orjson.loads(benchmark(py_chat, MESSAGES, 16, 1))
    assert body["usage"]["completion_tokens"] == 16


# --- the hot path's chat call: a live request on the simulated cluster, metered, with metrics ------
# (benches/http_load.py's CHAT_BODY: one user message, max_tokens 16, fixed zero timing). The Rust hot
# path holds a ChatCall per model; the baseline is the same core call made from Python with keywords.
HOT_MESSAGES = [
    Message(
        role="user",
        content="Summarise the trade-offs between latency and throughput when batching requests on an "
        "inference server, and say which metric a gateway team should watch first under load.",
    )
]
HOT_REQUEST = ChatRequest(model="gpt-4o", messages=HOT_MESSAGES, max_tokens=16)


@pytest.fixture(scope="module")
def live_kwargs(tmp_path_factory):
    d = tmp_path_factory.mktemp("hot")
    metrics = _core.SharedTable(str(d / "metrics.table"), 4096, _core.HISTOGRAM_WIDTH)
    cluster = _core.Cluster(4, table=_core.SharedTable(str(d / "cluster.table"), 1024, _core.HISTOGRAM_WIDTH))
    meter = _core.Meter(_core.SharedTable(str(d / "usage.table"), 4096, 4), metrics)
    return {"fingerprint": "fp_fakeai04", "cluster": cluster, "meter": meter, "live": True}


def _check_hot(answer) -> None:
    body = orjson.loads(answer.payload)
    assert body["usage"]["completion_tokens"] == 16 and body["choices"][0]["message"]["content"]
    assert answer.label == "gpt-4o"


@pytest.mark.benchmark(group="chat_hot_path")
def test_chat_hot_path_held_call(benchmark, live_kwargs):
    call = _core.ChatCall(None, **live_kwargs)
    _check_hot(benchmark(call, HOT_REQUEST, 1.0))


@pytest.mark.benchmark(group="chat_hot_path")
def test_chat_hot_path_keywords(benchmark, live_kwargs):
    def keywords():
        return _core.chat(HOT_REQUEST, None, now=1.0, **live_kwargs)

    _check_hot(benchmark(keywords))


# --- embeddings: hashed features mixed by H D H (Walsh-Hadamard, random diagonal) into 1536 dense dims ---
EMBED_SPACE = 4096


def _h64(data: bytes, seed: int) -> int:
    return int.from_bytes(
        hashlib.blake2b(data, digest_size=8, salt=seed.to_bytes(8, "little")).digest(), "little"
    )


def _hadamard(v: list[float]) -> None:
    half = 1
    while half < len(v):
        for start in range(0, len(v), 2 * half):
            for j in range(start, start + half):
                x, y = v[j], v[j + half]
                v[j], v[j + half] = x + y, x - y
        half *= 2


_DIAGONAL = [
    (0.5 + (h & 0xFFFFFF) / (1 << 24)) * (1 if h >> 63 == 0 else -1)
    for h in (_h64(i.to_bytes(8, "little"), 5) for i in range(EMBED_SPACE))
]


def py_embed(text: str, dims: int) -> bytes:
    v = [0.0] * EMBED_SPACE

    def add(h: int, weight: float) -> None:
        v[h % EMBED_SPACE] += weight if h >> 63 == 0 else -weight

    for word in re.findall(r"\w+", text.lower()):
        add(_h64(word.encode(), 1), 1.0)
        padded = ("^" + word + "$").encode()
        for i in range(len(padded) - 2):
            add(_h64(padded[i : i + 3], 2), 0.3)
    v[0] += math.sqrt(sum(x * x for x in v) * 0.15 / 0.85)  # the shared direction
    _hadamard(v)
    v = [x * d for x, d in zip(v, _DIAGONAL, strict=True)]
    _hadamard(v)
    v = v[:dims]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return orjson.dumps(
        {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [x / norm for x in v]}]}
    )


def check_dense(body: dict) -> None:
    v = body["data"][0]["embedding"]
    assert len(v) == 1536 and all(x != 0.0 for x in v)
    assert math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4)


@pytest.mark.benchmark(group="embedding_1536")
def test_embed_rust(benchmark):
    check_dense(orjson.loads(benchmark(lambda: _core.embed("m", PROSE[:400], 1536)[0])))


@pytest.mark.benchmark(group="embedding_1536")
def test_embed_rust_base64(benchmark):
    """The same vector packed as base64: what the JSON floats cost to write is the difference."""
    body = orjson.loads(benchmark(lambda: _core.embed("m", PROSE[:400], 1536, True)[0]))
    packed = base64.b64decode(body["data"][0]["embedding"])
    floats = orjson.loads(_core.embed("m", PROSE[:400], 1536)[0])["data"][0]["embedding"]
    # every JSON float reads back as the very f32 that base64 packs (values on the 1e-10 decimal grid)
    assert struct.pack(f"<{len(floats)}f", *floats) == packed


@pytest.mark.benchmark(group="embedding_1536")
@pytest.mark.reference
def test_embed_python(benchmark):
    check_dense(orjson.loads(benchmark(py_embed, PROSE[:400], 1536)))


def py_embed_base64(text: str, dims: int) -> bytes:
    body = orjson.loads(py_embed(text, dims))
    for item in body["data"]:
        raw = struct.pack(f"<{len(item['embedding'])}f", *item["embedding"])
        item["embedding"] = base64.b64encode(raw).decode()
    return orjson.dumps(body)


def check_dense_base64(body: dict) -> None:
    raw = base64.b64decode(body["data"][0]["embedding"])
    check_dense({"data": [{"embedding": list(struct.unpack(f"<{len(raw) // 4}f", raw))}]})


# The official SDK's default request (`encoding_format: "base64"`), as benches/http_load.py's
# embeddings-b64 sends it.
@pytest.mark.benchmark(group="embedding_1536_base64")
def test_embed_base64_rust(benchmark):
    out = benchmark(lambda: _core.embed("m", PROSE[:400], 1536, True)[0])
    check_dense_base64(orjson.loads(out))


@pytest.mark.benchmark(group="embedding_1536_base64")
@pytest.mark.reference
def test_embed_base64_python(benchmark):
    check_dense_base64(orjson.loads(benchmark(py_embed_base64, PROSE[:400], 1536)))


# --- a tool call: parse the tool list, generate schema-valid arguments, render the completion -------
TOOL_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
    },
    "required": ["city", "unit", "days", "tags"],
}
TOOLS_REQUEST = orjson.dumps(
    {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "What's the weather in Paris?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": TOOL_SCHEMA}}],
        "tool_choice": "required",
    }
)


def py_value(schema: dict, rng: random.Random) -> object:
    """A pure-Python generator of the same design as rust/fakeai_core/src/text/schema_gen/ (subset)."""
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type", "string")
    if kind == "object":
        return {k: py_value(s, rng) for k, s in schema.get("properties", {}).items()}
    if kind == "array":
        n = rng.randint(schema.get("minItems", 1), min(schema.get("maxItems", 3), 3))
        return [py_value(schema.get("items", {}), rng) for _ in range(n)]
    if kind == "integer":
        return rng.randint(schema.get("minimum", 0), schema.get("maximum", 100))
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))


def py_tool_call(raw: bytes, seed: int) -> bytes:
    rng = random.Random(seed)
    req = orjson.loads(raw)
    function = req["tools"][0]["function"]
    args = orjson.dumps(py_value(function["parameters"], rng)).decode()
    call = {
        "id": "call_" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=24)),
        "type": "function",
        "function": {"name": function["name"], "arguments": args},
    }
    messages = req["messages"]
    prompt_tokens = 3 + sum(3 + py_count_tokens(m["role"]) + py_count_tokens(m["content"]) for m in messages)
    prompt_tokens += py_count_tokens(orjson.dumps(req["tools"]).decode())
    completion_tokens = py_count_tokens(function["name"]) + py_count_tokens(args)
    body = {
        "id": "chatcmpl-" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=29)),
        "object": "chat.completion",
        "created": 1700000000,
        "model": req["model"],
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [call],
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_fakeai04",
    }
    return orjson.dumps(body)


CHAT_DECODER = msgspec.json.Decoder(ChatRequest)


def rust_tool_call(raw: bytes) -> bytes:
    req = CHAT_DECODER.decode(raw)
    return _core.chat(msgspec.structs.replace(req, seed=1)).payload


def check_tool_call(body: bytes) -> None:
    choice = orjson.loads(body)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    arguments = choice["message"]["tool_calls"][0]["function"]["arguments"]
    jsonschema.validate(orjson.loads(arguments), TOOL_SCHEMA)


@pytest.mark.benchmark(group="chat_tool_call")
def test_tool_call_rust(benchmark):
    check_tool_call(benchmark(rust_tool_call, TOOLS_REQUEST))


@pytest.mark.benchmark(group="chat_tool_call")
@pytest.mark.reference
def test_tool_call_python(benchmark):
    check_tool_call(benchmark(py_tool_call, TOOLS_REQUEST, 1))
