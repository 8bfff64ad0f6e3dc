"""Property-based fuzzing of every HTTP route: no input gives a 5xx or a hang, every 4xx is an envelope.

The routes come from :func:`fakeai.app.create_app`, so a new route is fuzzed without touching this
file. Each example picks a route and method, fills its path parameters (random text, or the id of an
object created beforehand so the handlers behind the 404 are reached too), a query string, and a body:
a random JSON value (wrong types, integers past int64, deep nesting), a valid request with one field
replaced, removed or added, random bytes, or a multipart form. The numeric ``x-fakeai-*`` headers
are fuzzed apart, with values out of every range (a 400 each). The budget is fixed and the run
derandomized, so the same examples run every time (well under a minute).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from fakeai.app import create_app
from fakeai.gateway import overrides

pytestmark = pytest.mark.integration

#: Examples of the fuzz run; the server answers each in a few ms, so the run takes well under a minute.
EXAMPLES = 1200
TIMEOUT_S = 20

HI = [{"role": "user", "content": "hi"}]
#: A valid body per POST route (the fuzzer mutates them); routes not listed start from random JSON.
BASES: dict[str, dict] = {
    "/v1/chat/completions": {"model": "gpt-4o", "messages": HI, "max_tokens": 4},
    "/v1/chat/completions/{completion_id}": {"metadata": {"k": "v"}},
    "/v1/completions": {"model": "gpt-3.5-turbo-instruct", "prompt": "hi", "max_tokens": 4},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "hi"},
    "/v1/messages": {"model": "claude-3-5-sonnet", "max_tokens": 4, "messages": HI},
    "/v1/messages/count_tokens": {"model": "claude-3-5-sonnet", "messages": HI},
    "/v1/messages/batches": {
        "requests": [
            {"custom_id": "a", "params": {"model": "claude-3-5-sonnet", "max_tokens": 4, "messages": HI}}
        ]
    },
    "/v1/responses": {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16},
    "/v1/responses/input_tokens": {
        "model": "gpt-4o",
        "input": "hi",
        "instructions": "x",
        "conversation": None,
    },
    "/v1/responses/compact": {"model": "gpt-4o", "input": HI, "instructions": "x"},
    "/v1/conversations": {"items": HI, "metadata": {"k": "v"}},
    "/v1/conversations/{conversation_id}": {"metadata": {"k": "v"}},
    "/v1/conversations/{conversation_id}/items": {"items": HI},
    "/v1/images/generations": {"model": "dall-e-2", "prompt": "a cat", "size": "256x256"},
    "/v1/videos": {"model": "sora-2", "prompt": "a cat", "seconds": "4", "size": "720x1280"},
    "/v1/realtime/client_secrets": {
        "expires_after": {"anchor": "created_at", "seconds": 600},
        "session": {"type": "realtime", "model": "gpt-realtime", "instructions": "hi"},
    },
    "/v1/realtime/sessions": {"model": "gpt-4o-realtime-preview", "modalities": ["text"]},
    "/v1/realtime/transcription_sessions": {
        "input_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": "hi"},
        "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 500},
        "client_secret": {"expires_at": {"anchor": "created_at", "seconds": 600}},
    },
    "/v1/videos/extensions": {"prompt": "more", "seconds": "4", "video": {"id": "video_x"}},
    "/v1/audio/speech": {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "hi", "stream_format": "sse"},
    "/v1/moderations": {"input": "hi"},
    "/v1/ranking": {
        "model": "nvidia/nv-rerankqa-mistral-4b-v3",
        "query": {"text": "q"},
        "passages": [{"text": "p"}],
    },
    "/v1/rerank": {"query": "q", "documents": ["a", "b"]},
    "/v2/rerank": {"query": "q", "documents": ["a", "b"]},
    "/rerank": {"query": "q", "texts": ["a", "b"]},
    "/rag/api/prompt": {"query": "q", "top_k": 2},
    "/v1/batches": {
        "input_file_id": "file-x",
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    },
    "/v1/uploads": {"filename": "a.jsonl", "purpose": "batch", "bytes": 10, "mime_type": "text/jsonl"},
    "/v1/vector_stores": {"name": "v"},
    "/v1/containers": {"name": "c", "expires_after": {"anchor": "last_active_at", "minutes": 20}},
    "/v1/containers/{container_id}/files": {"file_id": "file-x"},
    "/v1/fine_tuning/jobs": {"model": "gpt-4o-mini", "training_file": "file-x"},
    "/v1/organization/projects": {"name": "p"},
    "/v1/organization/invites": {"email": "a@b.c", "role": "reader"},
    "/generate": {"inputs": "hi", "parameters": {"max_new_tokens": 4, "details": True}},
    "/generate_stream": {"inputs": "hi", "parameters": {"max_new_tokens": 4, "top_n_tokens": 2}},
    "/": {"inputs": "hi", "stream": True, "parameters": {"max_new_tokens": 4}},
}
#: The header of Anthropic's requests (its SDK sends it on every request).
ANTHROPIC = {"anthropic-version": "2023-06-01"}
#: Text Generation Inference's routes, which answer errors in TGI's envelope.
TGI_ROUTES = ("/generate", "/generate_stream", "/")
FIELDS = sorted(
    {k for body in BASES.values() for k in body}
    | {
        "n",
        "seed",
        "stream",
        "temperature",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
        "response_format",
        "logprobs",
        "top_logprobs",
        "min_tokens",
        "ignore_eos",
        "max_completion_tokens",
        "dimensions",
        "encoding_format",
        "metadata",
        "purpose",
        "file_ids",
        "file_id",
        "chunking_strategy",
        "attributes",
        "part_ids",
        "method",
        "hyperparameters",
        "suffix",
        "quality",
        "speed",
        "top_n",
        "stream_options",
        "modalities",
        "audio",
        "prediction",
        "user",
        "role",
        "limit",
        "max_new_tokens",
        "details",
        "decoder_input_details",
        "return_full_text",
        "top_n_tokens",
        "truncate",
        "best_of",
        "do_sample",
        "adapter_id",
        "grammar",
        "input_reference",
        "video",
        "fps",
        "num_frames",
        "name",
    }
)
QUERY_KEYS = [
    "limit",
    "after",
    "before",
    "order",
    "start_time",
    "end_time",
    "bucket_width",
    "page",
    "group_by",
    "models",
    "stream",
    "purpose",
    "filter",
    "include_usage",
    "variant",
]

BIG_INTS = st.sampled_from([2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1, -1, 0])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    BIG_INTS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)


def fixed_run(examples: int) -> settings:
    """A fuzz run's settings: a fixed budget, derandomized (the same examples every time), no deadline
    or example database, no health check (a server answers each example)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _routes() -> list[tuple[str, str]]:
    """``(method, path template)`` of every HTTP route the app serves."""
    app = create_app()
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                found.append((method, route.path))
    return found


ROUTES = _routes()
PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[httpx.Client, dict[str, list[str]]]]:
    """A server of its own (fuzzing creates and deletes objects), and ids of real objects to aim at."""
    from fakeai.runtime.process import running_server

    with (
        running_server("--ttft", "0", "--itl", "0", "--video-duration", "0") as url,
        httpx.Client(base_url=url, timeout=TIMEOUT_S) as c,
    ):
        line = {
            "custom_id": "a",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": BASES["/v1/chat/completions"],
        }
        file_id = c.post(
            "/v1/files", data={"purpose": "batch"}, files={"file": ("b.jsonl", json.dumps(line))}
        ).json()["id"]
        container = c.post("/v1/containers", json={"name": "c", "file_ids": [file_id]}).json()["id"]
        container_file = c.get(f"/v1/containers/{container}/files").json()["data"][0]["id"]
        ids = {
            "file_id": [file_id, container_file],
            "container_id": [container],
            "vector_store_id": [
                c.post("/v1/vector_stores", json={"name": "v", "file_ids": [file_id]}).json()["id"]
            ],
            "upload_id": [c.post("/v1/uploads", json=BASES["/v1/uploads"]).json()["id"]],
            "batch_id": [
                c.post("/v1/batches", json={**BASES["/v1/batches"], "input_file_id": file_id}).json()["id"]
            ],
            "response_id": [c.post("/v1/responses", json=BASES["/v1/responses"]).json()["id"]],
            "conversation_id": [c.post("/v1/conversations", json=BASES["/v1/conversations"]).json()["id"]],
            "completion_id": [
                c.post("/v1/chat/completions", json={**BASES["/v1/chat/completions"], "store": True}).json()[
                    "id"
                ]
            ],
            "project_id": [c.post("/v1/organization/projects", json={"name": "p"}).json()["id"]],
            "model_id": ["gpt-4o"],
            "message_batch_id": [
                c.post("/v1/messages/batches", json=BASES["/v1/messages/batches"], headers=ANTHROPIC).json()[
                    "id"
                ]
            ],
            "video_id": [c.post("/v1/videos", json={"prompt": "a cat", "size": "1280x720"}).json()["id"]],
        }
        yield c, ids


def _body(draw: st.DrawFn, path: str) -> dict:
    """httpx keyword arguments of the body of one request."""
    kind = draw(st.sampled_from(["mutated", "mutated", "json", "deep", "bytes", "form"]))
    if kind == "mutated":
        body = dict(BASES.get(path) or draw(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4)))
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(sorted(body) + FIELDS))
            if draw(st.booleans()) and key in body:
                del body[key]
            else:
                body[key] = draw(JSON)
        return {"json": body}
    if kind == "json":
        return {"json": draw(JSON)}
    if kind == "deep":
        depth = draw(st.sampled_from([63, 65, 1_000, 50_000]))
        opening, closing = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        raw = '{"model": "gpt-4o", "x": ' + opening * depth + "1" + closing * depth + "}"
        return {"content": raw.encode(), "headers": {"content-type": "application/json"}}
    if kind == "bytes":
        return {"content": draw(st.binary(max_size=200)), "headers": {"content-type": "application/json"}}
    fields = draw(
        st.dictionaries(
            st.sampled_from(
                ["purpose", "model", "prompt", "response_format", "n", "size", "temperature", "language"]
            ),
            st.one_of(st.text(max_size=20), BIG_INTS.map(str)),
            max_size=3,
        )
    )
    name = draw(st.sampled_from(["a.wav", "a.flac", "a.ogg", "a.png", "a.jsonl", "a.mp3", "x"]))
    return {
        "data": fields,
        "files": {draw(st.sampled_from(["file", "image", "data"])): (name, draw(st.binary(max_size=300)))},
    }


@st.composite
def requests(draw: st.DrawFn, ids: dict[str, list[str]]) -> tuple[str, str, dict]:
    method, template = draw(st.sampled_from(ROUTES))
    text_id = st.text(
        st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%\\"),
        min_size=1,
        max_size=30,
    )

    def fill(m: re.Match[str]) -> str:
        return draw(
            st.sampled_from(ids[m.group(1)]) if m.group(1) in ids and draw(st.booleans()) else text_id
        )

    path = PARAM.sub(fill, template)
    kwargs: dict = {
        "params": draw(
            st.dictionaries(
                st.sampled_from(QUERY_KEYS), st.one_of(st.text(max_size=20), BIG_INTS.map(str)), max_size=3
            )
        )
    }
    if method in ("POST", "PUT", "PATCH"):
        kwargs.update(_body(draw, template))
    headers = kwargs.setdefault("headers", {})
    if template.startswith("/v1/messages") or (template.startswith("/v1/models") and draw(st.booleans())):
        headers.update(ANTHROPIC)  # Anthropic's routes need it; /v1/models answers Anthropic's shape with it
    if draw(st.integers(0, 3)) == 0:  # the content overrides (not timing ones: a 1 h TTFT is no hang)
        name = draw(st.sampled_from(["x-fakeai-output-tokens", "x-fakeai-mode"]))
        headers[name] = draw(
            st.one_of(
                st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12),
                BIG_INTS.map(str),
                st.sampled_from(["1", "1000000", "echo"]),
            )
        )
    return method, path, kwargs


def check(r: httpx.Response, method: str, path: str, anthropic: bool = False) -> None:
    where = f"{method} {path} -> {r.status_code}: {r.text[:300]}"
    assert r.status_code < 500, where
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/json"), where
        body = r.json()
        if path.startswith("/v1/messages") or anthropic:  # Anthropic's envelope
            assert body["type"] == "error" and {"type", "message"} <= set(body["error"]), where
        elif method == "POST" and path in TGI_ROUTES:  # TGI's envelope
            assert set(body) == {"error", "error_type"} and body["error"], where
        else:
            assert set(body["error"]) == {"message", "type", "param", "code"}, where
            assert body["error"]["message"], where


def test_every_route_answers_fuzzed_requests_without_a_5xx(fuzzed):
    client, ids = fuzzed

    @fixed_run(EXAMPLES)
    @given(requests(ids))
    def run(request: tuple[str, str, dict]) -> None:
        method, path, kwargs = request
        anthropic = "anthropic-version" in kwargs["headers"]
        check(client.request(method, path, **kwargs), method, path, anthropic)

    run()
    assert client.get("/health").status_code == 200


#: Every numeric ``x-fakeai-*`` header (the timing ones too: every value drawn below is out of range,
#: so none can hold a request for long).
NUMERIC_OVERRIDES = sorted(
    name.decode()
    for name in {**overrides.HEADERS, **overrides.GATEWAY_HEADERS}
    if name not in (b"x-fakeai-mode", b"x-fakeai-error", overrides.RETURN_ERROR)
)
#: Values no numeric override accepts: past every bound (the largest is 3,600,000 ms), negative,
#: not a finite number, or digits that are not ASCII.
OUT_OF_RANGE = st.one_of(
    st.integers(min_value=10**10, max_value=10**700).map(str),
    st.integers(max_value=-1).map(str),
    st.text(st.sampled_from("abcxyz+-.,;:!~"), min_size=1, max_size=20),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "0x10", "١٢", "１２", "²", "9" * 5000]),
)


def test_numeric_overrides_out_of_range_are_400s_naming_the_header(fuzzed):
    client, _ = fuzzed

    @fixed_run(200)
    @given(st.sampled_from(NUMERIC_OVERRIDES), OUT_OF_RANGE, st.booleans())
    def run(name: str, value: str, stream: bool) -> None:
        body = {**BASES["/v1/chat/completions"], "stream": stream}
        r = client.post("/v1/chat/completions", json=body, headers={name: value.encode()})
        check(r, "POST", "/v1/chat/completions")
        assert r.status_code == 400 and r.json()["error"]["param"] == name, (name, value[:40], r.text)

    run()
