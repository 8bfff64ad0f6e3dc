"""The API contract: every object and every streamed chunk or event fakeai emits, per endpoint, checked
against the installed official SDKs' types and against OpenAI's published OpenAPI ``required`` lists.

Each object is validated from its raw JSON (as the server sent it) by :func:`conforms`:

- with the SDK's pydantic type, strictly (``openai.types...``, ``anthropic.types...``), and every field
  the type declares required is present in the JSON (``model_fields_set``), at every depth: the SDK's
  lenient parsing would hand users ``None`` for a missing one;
- with the ``required`` keys of the OpenAPI schema of that object (:mod:`.openapi_required`), which
  also lists nullable keys the SDK types default (``logprobs: null``, ``error: null``);
- timestamps (``created``, ``created_at``, ``completed_at`` ...) are integers, as OpenAI sends them.

The next drift between fakeai and the SDKs (a new required field, a renamed event) fails here.
"""

from __future__ import annotations

import io
import json
import time
import typing
import wave
from collections.abc import Iterator
from typing import Any

import anthropic
import anthropic.types
import httpx
import pydantic
import pytest
from openai.types import (
    Batch,
    Completion,
    CreateEmbeddingResponse,
    FileDeleted,
    FileObject,
    ImagesResponse,
    Model,
    ModelDeleted,
    ModerationCreateResponse,
    Upload,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreSearchResponse,
)
from openai.types.audio import Transcription, Translation
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint
from openai.types.realtime import RealtimeServerEvent
from openai.types.responses import Response, ResponseItem, ResponseStreamEvent
from openai.types.uploads import UploadPart
from openai.types.vector_stores import VectorStoreFile, VectorStoreFileBatch, VectorStoreFileDeleted
from websockets.sync.client import connect

from .openapi_required import OUTPUT_ITEMS, REALTIME_EVENTS, REQUIRED, RESPONSE_EVENTS

pytestmark = pytest.mark.integration

TIMESTAMPS = ("created", "created_at", "completed_at", "finished_at", "expires_at", "last_active_at")
HI = [{"role": "user", "content": "Say something."}]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


# -- the checks -------------------------------------------------------------------------------------


def _unset_required(value: Any, path: str) -> Iterator[str]:
    """Paths of fields an SDK model declares required but the JSON did not carry, at any depth."""
    if isinstance(value, pydantic.BaseModel):
        for name, field in type(value).model_fields.items():
            if field.is_required() and name not in value.model_fields_set:
                yield f"{path}.{name}"
        for name in value.model_fields_set:
            yield from _unset_required(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _unset_required(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unset_required(item, f"{path}.{key}")


def _at(data: Any, path: str) -> list[tuple[str, Any]]:
    """The values at an OpenAPI path (``choices[].message``), with where each is."""
    found = [("$", data)]
    for step in [s for s in path.split(".") if s]:
        many = step.endswith("[]")
        key = step.removesuffix("[]")
        nxt = []
        for where, value in found:
            if not isinstance(value, dict) or value.get(key) is None:
                continue
            inner = value[key]
            if many:
                nxt += [(f"{where}.{key}[{i}]", v) for i, v in enumerate(inner)]
            else:
                nxt.append((f"{where}.{key}", inner))
        found = nxt
    return found


def openapi_missing(data: dict, schema: str) -> list[str]:
    """Keys the OpenAPI schema requires that ``data`` lacks (as ``path.key``)."""
    missing = []
    for path, keys in REQUIRED[schema].items():
        for where, value in _at(data, path):
            missing += [f"{where}.{k}" for k in keys if not isinstance(value, dict) or k not in value]
    return missing


def _integer_timestamps(data: Any, path: str = "$") -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in TIMESTAMPS and value is not None and type(value) is not int:
                yield f"{path}.{key}={value!r}"
            yield from _integer_timestamps(value, f"{path}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _integer_timestamps(value, f"{path}[{i}]")


def conforms(sdk_type: Any, data: dict, schema: str | None = None) -> Any:
    """``data`` (raw JSON) as the SDK type, after every check of the module docs; fails naming what is off."""
    try:
        model = pydantic.TypeAdapter(sdk_type).validate_python(data, strict=True)
    except pydantic.ValidationError as e:
        pytest.fail(f"{getattr(sdk_type, '__name__', sdk_type)} rejects {json.dumps(data)[:400]}:\n{e}")
    assert not list(_unset_required(model, "$")), (sdk_type, data)
    if schema is not None:
        assert not openapi_missing(data, schema), (schema, openapi_missing(data, schema), data)
    assert not list(_integer_timestamps(data)), list(_integer_timestamps(data))
    return model


def by_type(union: Any) -> dict[str, type]:
    """The members of an SDK event union by their ``type`` literal."""
    members = (
        typing.get_args(typing.get_args(union)[0]) if typing.get_origin(union) is typing.Annotated else ()
    )
    members = members or typing.get_args(union)
    found = {}
    for cls in members:
        for literal in typing.get_args(cls.model_fields["type"].annotation):
            found[literal] = cls
    return found


RESPONSE_EVENT_TYPES = by_type(ResponseStreamEvent)
REALTIME_EVENT_TYPES = by_type(RealtimeServerEvent)
ANTHROPIC_EVENT_TYPES = by_type(anthropic.types.RawMessageStreamEvent)


def sse(http: httpx.Client, path: str, body: dict) -> list[dict]:
    """The JSON payloads of a streamed answer (``data:`` lines, without ``[DONE]``)."""
    with http.stream("POST", path, json=body) as r:
        assert r.status_code == 200, r.read()
        lines = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert lines, "an empty stream"
    return [json.loads(line) for line in lines if line != "[DONE]"]


def ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    return r.json()


# -- the server -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(start_server) -> Iterator[str]:
    with start_server("--ttft", "0", "--itl", "0", "--fine-tune-duration", "0.3") as url:
        yield url


@pytest.fixture()
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as c:
        yield c


def file_id(http: httpx.Client, name: str, content: bytes, purpose: str) -> str:
    r = http.post("/v1/files", files={"file": (name, content)}, data={"purpose": purpose})
    return conforms(FileObject, ok(r), "OpenAIFile").id


# -- the endpoints ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"logprobs": True, "top_logprobs": 2, "n": 2},
        {"tools": [{"type": "function", "function": {k: WEATHER[k] for k in ("name", "parameters")}}]},
        {"response_format": {"type": "json_object"}},
        {"prediction": {"type": "content", "content": "def f(x):\n    return x + 1\n"}},
    ],
    ids=["plain", "logprobs", "tools", "json", "prediction"],
)
def test_chat_completions(http: httpx.Client, extra: dict) -> None:
    body = {"model": "gpt-4o-mini", "messages": HI, "max_tokens": 12, **extra}
    done = conforms(
        ChatCompletion, ok(http.post("/v1/chat/completions", json=body)), "CreateChatCompletionResponse"
    )
    assert done.usage.completion_tokens_details is not None and done.usage.prompt_tokens_details is not None
    chunks = sse(
        http, "/v1/chat/completions", {**body, "stream": True, "stream_options": {"include_usage": True}}
    )
    for chunk in chunks:
        conforms(ChatCompletionChunk, chunk, "CreateChatCompletionStreamResponse")
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_reasoning_chat_completion(http: httpx.Client) -> None:
    body = {"model": "o3-mini", "messages": HI, "max_completion_tokens": 40}
    conforms(ChatCompletion, ok(http.post("/v1/chat/completions", json=body)), "CreateChatCompletionResponse")
    for chunk in sse(http, "/v1/chat/completions", {**body, "stream": True}):
        conforms(ChatCompletionChunk, chunk, "CreateChatCompletionStreamResponse")


# Not ``echo`` with ``logprobs``: OpenAI gives the first echoed token a null logprob, which the SDK's
# ``Logprobs`` type (lists of floats) does not declare.
@pytest.mark.parametrize("extra", [{}, {"logprobs": 2}], ids=["plain", "logprobs"])
def test_completions(http: httpx.Client, extra: dict) -> None:
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon", "max_tokens": 8, **extra}
    conforms(Completion, ok(http.post("/v1/completions", json=body)), "CreateCompletionResponse")
    stream = {**body, "stream": True, "stream_options": {"include_usage": True}}
    chunks = sse(http, "/v1/completions", stream)
    for chunk in chunks:
        # OpenAI's own streams send ``finish_reason: null`` until the last chunk, which the SDK's
        # ``Completion`` (shared with non-streamed answers) does not allow: check the rest of the chunk.
        assert all(c["finish_reason"] in (None, "stop", "length") for c in chunk["choices"])
        choices = [{**c, "finish_reason": c["finish_reason"] or "length"} for c in chunk["choices"]]
        conforms(Completion, {**chunk, "choices": choices}, "CreateCompletionResponse")
    assert chunks[-2]["choices"][0]["finish_reason"] == "length" and chunks[-1]["usage"]["total_tokens"] > 0


def test_embeddings(http: httpx.Client) -> None:
    body = {"model": "text-embedding-3-small", "input": ["hello", "world"], "dimensions": 64}
    r = conforms(
        CreateEmbeddingResponse, ok(http.post("/v1/embeddings", json=body)), "CreateEmbeddingResponse"
    )
    assert [len(d.embedding) for d in r.data] == [64, 64]


def test_models(http: httpx.Client) -> None:
    listed = ok(http.get("/v1/models"))
    assert not openapi_missing(listed, "ListModelsResponse")
    for m in listed["data"]:
        conforms(Model, m, "Model")
    conforms(Model, ok(http.get("/v1/models/gpt-4o")), "Model")


def test_files_and_uploads(http: httpx.Client) -> None:
    fid = file_id(http, "notes.txt", b"some notes", "assistants")
    conforms(FileObject, ok(http.get(f"/v1/files/{fid}")), "OpenAIFile")
    listed = ok(http.get("/v1/files"))
    assert not openapi_missing(listed, "ListFilesResponse")
    for f in listed["data"]:
        conforms(FileObject, f, "OpenAIFile")
    conforms(FileDeleted, ok(http.delete(f"/v1/files/{fid}")), "DeleteFileResponse")
    upload = {"filename": "u.txt", "purpose": "assistants", "bytes": 3, "mime_type": "text/plain"}
    up = conforms(Upload, ok(http.post("/v1/uploads", json=upload)), "Upload")
    part = ok(http.post(f"/v1/uploads/{up.id}/parts", files={"data": ("blob", b"abc")}))
    conforms(UploadPart, part, "UploadPart")
    done = conforms(
        Upload, ok(http.post(f"/v1/uploads/{up.id}/complete", json={"part_ids": [part["id"]]})), "Upload"
    )
    assert done.status == "completed" and done.file is not None
    conforms(FileObject, ok(http.get(f"/v1/files/{done.file.id}")), "OpenAIFile")


def test_batches(http: httpx.Client) -> None:
    line = {
        "custom_id": "a",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o", "messages": HI},
    }
    fid = file_id(http, "b.jsonl", json.dumps(line).encode() + b"\n", "batch")
    body = {"input_file_id": fid, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch = conforms(Batch, ok(http.post("/v1/batches", json=body)), "Batch")
    deadline = time.monotonic() + 20
    while (done := ok(http.get(f"/v1/batches/{batch.id}")))["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    conforms(Batch, done, "Batch")
    listed = ok(http.get("/v1/batches"))
    assert not openapi_missing(listed, "ListBatchesResponse")
    for b in listed["data"]:
        conforms(Batch, b, "Batch")


def test_fine_tuning(http: httpx.Client) -> None:
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    fid = file_id(http, "t.jsonl", (json.dumps(row) + "\n").encode() * 10, "fine-tune")
    job = conforms(
        FineTuningJob,
        ok(http.post("/v1/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": fid})),
        "FineTuningJob",
    )
    events = ok(http.get(f"/v1/fine_tuning/jobs/{job.id}/events"))
    assert events["data"], "a new job has its creation events"
    deadline = time.monotonic() + 30
    while (done := ok(http.get(f"/v1/fine_tuning/jobs/{job.id}")))["status"] != "succeeded":
        assert time.monotonic() < deadline and done["status"] not in ("failed", "cancelled"), done
        time.sleep(0.05)
    conforms(FineTuningJob, done, "FineTuningJob")
    for path, sdk_type, item, envelope in (
        ("events", FineTuningJobEvent, "FineTuningJobEvent", "ListFineTuningJobEventsResponse"),
        (
            "checkpoints",
            FineTuningJobCheckpoint,
            "FineTuningJobCheckpoint",
            "ListFineTuningJobCheckpointsResponse",
        ),
    ):
        listed = ok(http.get(f"/v1/fine_tuning/jobs/{job.id}/{path}"))
        assert listed["data"] and not openapi_missing(listed, envelope)
        for one in listed["data"]:
            conforms(sdk_type, one, item)
    listed = ok(http.get("/v1/fine_tuning/jobs"))
    assert not openapi_missing(listed, "ListPaginatedFineTuningJobsResponse")
    for one in listed["data"]:
        conforms(FineTuningJob, one, "FineTuningJob")
    short = file_id(http, "x.jsonl", (json.dumps(row) + "\n").encode(), "fine-tune")  # fails validation
    bad = {"model": "gpt-4o-mini", "training_file": short}
    failed = ok(http.post("/v1/fine_tuning/jobs", json=bad))
    while (failed := ok(http.get(f"/v1/fine_tuning/jobs/{failed['id']}")))["status"] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    conforms(FineTuningJob, failed, "FineTuningJob")
    model = done["fine_tuned_model"]
    conforms(Model, ok(http.get(f"/v1/models/{model}")), "Model")
    conforms(ModelDeleted, ok(http.delete(f"/v1/models/{model}")), "DeleteModelResponse")


def response_conforms(data: dict) -> Response:
    response = conforms(Response, data, "Response")
    for item in data["output"]:
        assert not openapi_missing(item, OUTPUT_ITEMS[item["type"]]), item
    return response


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"max_output_tokens": 16},
        {"tools": [WEATHER]},
        {"instructions": "Be brief", "metadata": {"k": "v"}},
    ],
    ids=["plain", "capped", "function_call", "instructions"],
)
def test_responses(http: httpx.Client, extra: dict) -> None:
    body = {"model": "gpt-4o", "input": "Weather in Paris, and a story?", **extra}
    done = response_conforms(ok(http.post("/v1/responses", json=body)))
    response_conforms(ok(http.get(f"/v1/responses/{done.id}")))
    items = ok(http.get(f"/v1/responses/{done.id}/input_items"))
    assert not openapi_missing(items, "ResponseItemList")
    for item in items["data"]:
        conforms(ResponseItem, item)
    deleted = ok(http.delete(f"/v1/responses/{done.id}"))
    assert deleted == {"id": done.id, "object": "response", "deleted": True}
    events = sse(http, "/v1/responses", {**body, "stream": True})
    for event in events:
        conforms(RESPONSE_EVENT_TYPES[event["type"]], event, RESPONSE_EVENTS[event["type"]])
        if "response" in event:
            response_conforms(event["response"])
        if "item" in event:
            assert not openapi_missing(event["item"], OUTPUT_ITEMS[event["item"]["type"]]), event
    final = events[-1]["response"]
    assert events[-1]["type"] == f"response.{final['status']}"


def test_responses_file_search(http: httpx.Client) -> None:
    fid = file_id(http, "kb.txt", b"Sourdough bread needs a starter.", "assistants")
    vs = conforms(
        VectorStore,
        ok(http.post("/v1/vector_stores", json={"name": "kb", "file_ids": [fid]})),
        "VectorStoreObject",
    )
    deadline = time.monotonic() + 20
    while (store := ok(http.get(f"/v1/vector_stores/{vs.id}")))["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    conforms(VectorStore, store, "VectorStoreObject")
    tool = {"type": "file_search", "vector_store_ids": [vs.id]}
    body = {
        "model": "gpt-4o",
        "input": "How is sourdough made?",
        "tools": [tool],
        "include": ["file_search_call.results"],
    }
    response_conforms(ok(http.post("/v1/responses", json=body)))
    for event in sse(http, "/v1/responses", {**body, "stream": True}):
        conforms(RESPONSE_EVENT_TYPES[event["type"]], event, RESPONSE_EVENTS[event["type"]])
    search = ok(http.post(f"/v1/vector_stores/{vs.id}/search", json={"query": "sourdough"}))
    assert search["data"] and not openapi_missing(search, "VectorStoreSearchResultsPage")
    for result in search["data"]:
        conforms(VectorStoreSearchResponse, result)
    files = ok(http.get(f"/v1/vector_stores/{vs.id}/files"))
    assert files["data"] and not openapi_missing(files, "ListVectorStoreFilesResponse")
    for one in files["data"]:
        conforms(VectorStoreFile, one, "VectorStoreFileObject")
    other = file_id(http, "more.txt", b"Rye bread is dense.", "assistants")
    batch = ok(http.post(f"/v1/vector_stores/{vs.id}/file_batches", json={"file_ids": [other]}))
    conforms(VectorStoreFileBatch, batch, "VectorStoreFileBatchObject")
    deleted = ok(http.delete(f"/v1/vector_stores/{vs.id}/files/{fid}"))
    conforms(VectorStoreFileDeleted, deleted, "DeleteVectorStoreFileResponse")
    conforms(VectorStoreDeleted, ok(http.delete(f"/v1/vector_stores/{vs.id}")), "DeleteVectorStoreResponse")


def test_images_moderations_transcriptions(http: httpx.Client) -> None:
    body = {"model": "dall-e-2", "prompt": "a cat", "size": "256x256", "response_format": "b64_json"}
    conforms(ImagesResponse, ok(http.post("/v1/images/generations", json=body)), "ImagesResponse")
    body = {"model": "omni-moderation-latest", "input": ["hello", "I will hurt you"]}
    conforms(
        ModerationCreateResponse, ok(http.post("/v1/moderations", json=body)), "CreateModerationResponse"
    )
    pcm = io.BytesIO()
    with wave.open(pcm, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(32000))
    r = http.post(
        "/v1/audio/transcriptions", files={"file": ("a.wav", pcm.getvalue())}, data={"model": "whisper-1"}
    )
    conforms(Transcription, ok(r), "CreateTranscriptionResponseJson")
    r = http.post(
        "/v1/audio/translations", files={"file": ("a.wav", pcm.getvalue())}, data={"model": "whisper-1"}
    )
    conforms(Translation, ok(r), "CreateTranslationResponseJson")


def test_anthropic_messages(base: str) -> None:
    with anthropic.Anthropic(base_url=base, api_key="k", max_retries=0) as client:
        raw = client.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=16, messages=HI)
        conforms(anthropic.types.Message, raw.http_response.json())
    body = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": HI, "stream": True}
    with httpx.Client(base_url=base, timeout=30, headers={"anthropic-version": "2023-06-01"}) as http:
        events = sse(http, "/v1/messages", body)
    for event in events:
        if event["type"] != "ping":  # Anthropic's keep-alive, which the SDK skips (no type for it)
            conforms(ANTHROPIC_EVENT_TYPES[event["type"]], event)
    assert [events[0]["type"], events[-1]["type"]] == ["message_start", "message_stop"]


def test_realtime_events(base: str) -> None:
    def check(event: dict) -> dict:
        conforms(REALTIME_EVENT_TYPES[event["type"]], event, REALTIME_EVENTS[event["type"]])
        return event

    with connect(base.replace("http://", "ws://") + "/v1/realtime?model=gpt-realtime") as ws:
        check(json.loads(ws.recv(timeout=10)))
        ws.send(
            json.dumps(
                {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
            )
        )
        check(json.loads(ws.recv(timeout=10)))
        ws.send(json.dumps({"type": "response.create", "response": {"modalities": ["text"]}}))
        assert check(json.loads(ws.recv(timeout=10)))["error"]["code"] == "unknown_parameter"
        ws.send(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Hi"}],
                    },
                }
            )
        )
        check(json.loads(ws.recv(timeout=10)))
        check(json.loads(ws.recv(timeout=10)))
        ws.send(json.dumps({"type": "response.create"}))
        while check(json.loads(ws.recv(timeout=10)))["type"] != "response.done":
            pass
