"""``POST /v1/embeddings`` through the official openai SDK."""

from __future__ import annotations

import base64
import math
import re
import struct
from array import array

import pytest

pytestmark = pytest.mark.integration


def cos(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_unit_length_with_the_model_dimensions(client):
    r = client.embeddings.create(model="text-embedding-3-small", input="The quick brown fox")
    v = r.data[0].embedding
    assert len(v) == 1536
    assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4)
    assert r.usage.prompt_tokens == 4 and r.usage.total_tokens == 4
    assert r.model == "text-embedding-3-small"


def test_long_vectors_are_unit_length_to_a_millionth(client):
    # The norm is summed in sixteen lanes: a serial f32 sum's rounding left some of these 3072-value
    # vectors' squared lengths 2.5e-6 from 1.
    texts = [f"text number {i} about quarterly revenue and geese {i * i}" for i in range(100, 116)]
    r = client.embeddings.create(model="text-embedding-3-large", input=texts)
    assert [len(d.embedding) for d in r.data] == [3072] * len(texts)
    for d in r.data:
        assert abs(math.fsum(x * x for x in d.embedding) - 1.0) < 1e-6


def test_deterministic_and_similar_texts_are_closer(client):
    texts = [
        "the cat sat on the mat",
        "a cat sat on the mat",
        "quarterly revenue grew across european markets",
    ]
    a = client.embeddings.create(model="text-embedding-3-small", input=texts).data
    b = client.embeddings.create(model="text-embedding-3-small", input=texts).data
    assert [d.embedding for d in a] == [d.embedding for d in b]
    assert [d.index for d in a] == [0, 1, 2]
    assert cos(a[0].embedding, a[1].embedding) > cos(a[0].embedding, a[2].embedding) + 0.3


def test_vectors_are_dense(client):
    """Every dimension carries signal, spread like a continuous distribution (#17: "hello" had 6
    non-zero values of 1,536)."""
    for text in ["hello", "The quick brown fox jumps over the lazy dog."]:
        v = client.embeddings.create(model="text-embedding-3-small", input=text).data[0].embedding
        assert sum(x != 0.0 for x in v) == 1536
        assert len(set(v)) > 1400
        # Roughly centred, each coordinate about 1/sqrt(1536) in size, as a real model's.
        assert abs(sum(v)) < 5.0
        rms = math.sqrt(sum(x * x for x in v) / len(v))
        assert sum(abs(x) > rms / 10 for x in v) > 1400


def test_dimensions_truncate_and_renormalise_the_full_vector(client):
    """As OpenAI's v3 models: the 256-dim embedding is the full one's first 256 values, renormalised."""
    full = (
        client.embeddings.create(model="text-embedding-3-large", input="quarterly revenue").data[0].embedding
    )
    short = (
        client.embeddings.create(model="text-embedding-3-large", input="quarterly revenue", dimensions=256)
        .data[0]
        .embedding
    )
    norm = math.sqrt(sum(x * x for x in full[:256]))
    assert short == pytest.approx([x / norm for x in full[:256]], abs=1e-6)


def test_dimensions_and_base64(client, http):
    r = client.embeddings.create(model="text-embedding-3-large", input="hello", dimensions=256)
    assert len(r.data[0].embedding) == 256
    raw = http.post(
        "/v1/embeddings",
        json={
            "model": "text-embedding-3-small",
            "input": ["hello", "world"],
            "encoding_format": "base64",
            "dimensions": 64,
        },
    ).json()
    for item in raw["data"]:
        packed = base64.b64decode(item["embedding"])
        assert len(packed) == 64 * 4
        floats = struct.unpack("<64f", packed)
        assert math.isclose(sum(x * x for x in floats), 1.0, rel_tol=1e-4)
    # the SDK asks for base64 itself and decodes it back to floats
    sdk = client.embeddings.create(model="text-embedding-3-small", input="hello", dimensions=64)
    assert sdk.data[0].embedding == pytest.approx(
        list(struct.unpack("<64f", base64.b64decode(raw["data"][0]["embedding"])))
    )


def _float32(values) -> bytes:
    """JSON numbers (Python floats) as little-endian float32, rounded as numpy's astype does."""
    return array("f", values).tobytes()


@pytest.mark.parametrize(
    "model, input, dimensions",
    [
        ("text-embedding-3-small", "The quick brown fox jumps over the lazy dog.", None),
        ("text-embedding-3-large", ["quarterly revenue", "geese fly south", "x"], None),
        ("text-embedding-3-small", [[1, 2, 3], [40000, 5]], 256),
        ("text-embedding-3-large", "odd sizes", 7),
        ("text-embedding-3-small", "one dimension", 1),
        ("text-embedding-3-small", "!!!", 2),
    ],
)
def test_float_and_base64_answers_carry_the_identical_float32_vector(client, http, model, input, dimensions):
    """Values are on the 1e-10 decimal grid: the JSON floats read back to exactly the float32s that
    base64 packs, through httpx and through the SDK (which asks for base64 unless told otherwise)."""
    body = {"model": model, "input": input} | ({"dimensions": dimensions} if dimensions else {})
    floats = http.post("/v1/embeddings", json=body | {"encoding_format": "float"})
    packed = http.post("/v1/embeddings", json=body | {"encoding_format": "base64"}).json()
    assert floats.status_code == 200
    assert len(floats.json()["data"]) == len(packed["data"]) == (1 if isinstance(input, str) else len(input))
    for f, b in zip(floats.json()["data"], packed["data"], strict=True):
        assert _float32(f["embedding"]) == base64.b64decode(b["embedding"])
    # the text: fixed-point decimals of at most ten places, always with a point ("1.0", never "1")
    for numbers in re.findall(r'"embedding":\[([^\]]*)\]', floats.text):
        assert all(re.fullmatch(r"-?[01]\.\d{1,10}", n) for n in numbers.split(",")), numbers[:200]
    extra = {"dimensions": dimensions} if dimensions else {}
    sdk_floats = client.embeddings.create(model=model, input=input, encoding_format="float", **extra)
    sdk_default = client.embeddings.create(model=model, input=input, **extra)
    for f, b in zip(sdk_floats.data, sdk_default.data, strict=True):
        assert _float32(f.embedding) == _float32(b.embedding)
        assert _float32(f.embedding) == base64.b64decode(packed["data"][f.index]["embedding"])
    if dimensions == 1:
        assert sdk_floats.data[0].embedding in ([1.0], [-1.0])


def test_token_id_inputs(client):
    r = client.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3], [4, 5]])
    assert len(r.data) == 2 and r.usage.prompt_tokens == 5
    r = client.embeddings.create(model="text-embedding-3-small", input=[10, 11, 12])
    assert len(r.data) == 1 and r.usage.prompt_tokens == 3


def test_vllms_chat_form_embeds_the_conversation(http):
    """vLLM's ``messages`` (AIPerf's ``chat-embeddings``): one embedding of the conversation as the chat
    template renders it, counted as /tokenize counts the same messages."""
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    r = http.post("/v1/embeddings", json={"model": "text-embedding-3-small", "messages": messages})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["data"]) == 1 and len(body["data"][0]["embedding"]) == 1536
    counted = http.post(
        "/tokenize",
        json={"model": "text-embedding-3-small", "messages": messages, "add_generation_prompt": False},
    ).json()["count"]
    assert body["usage"]["prompt_tokens"] == counted
    again = http.post("/v1/embeddings", json={"model": "text-embedding-3-small", "messages": messages}).json()
    assert again["data"][0]["embedding"] == body["data"][0]["embedding"]
    other = [{"role": "user", "content": "something else entirely"}]
    different = http.post(
        "/v1/embeddings", json={"model": "text-embedding-3-small", "messages": other}
    ).json()
    assert different["data"][0]["embedding"] != body["data"][0]["embedding"]


@pytest.mark.parametrize(
    "body, param",
    [
        ({"model": "text-embedding-3-small"}, "input"),
        (
            {"model": "text-embedding-3-small", "input": "x", "messages": [{"role": "user", "content": "x"}]},
            "messages",
        ),
        ({"model": "text-embedding-3-small", "messages": []}, "messages"),
        ({"model": "text-embedding-3-small", "messages": [{"role": "user"}]}, "messages"),
        (
            {"model": "text-embedding-3-small", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
        ),
        ({"model": "text-embedding-3-small", "messages": "hi"}, "messages"),
        ({"model": "text-embedding-3-small", "input": ""}, "input"),
        ({"model": "text-embedding-3-small", "input": []}, "input"),
        ({"model": "text-embedding-3-small", "input": ["ok", 3]}, "input"),
        ({"model": "text-embedding-3-small", "input": 3}, "input"),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": 5000}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"input": "x"}, "model"),
    ],
)
def test_bad_inputs_are_400_naming_the_param(http, body, param):
    r = http.post("/v1/embeddings", json=body)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == param
