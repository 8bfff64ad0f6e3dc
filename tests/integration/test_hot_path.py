"""The Rust hot path (:mod:`fakeai.api.hot`): plain chat, completions and embeddings requests are served
from Rust, and a client cannot tell them from the Python chain's answers.

Every comparison runs the same requests against a server with the hot path and one started with
``--no-hot-path`` (the Python chain alone); ``fakeai_hot_path_requests_total`` shows which path served.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

CHAT = "/v1/chat/completions"
POD = {"POD_NAME": "pod-7", "POD_NAMESPACE": "ns-1"}
FLAGS = ("--ttft", "0", "--itl", "0", "--max-body-bytes", "4096")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
#: A header the Python chain acts on without changing the answer: forces the Python path.
PYTHON_PATH = {"x-fakeai-ttft-ms": "0"}


def chat_body(**extra: object) -> dict:
    return {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hello there"}],
        "max_tokens": 6,
        **extra,
    }


def served(c: httpx.Client) -> int:
    text = c.get("/metrics/prometheus").text
    found = re.search(r"^fakeai_hot_path_requests_total (\S+)$", text, re.M)
    return int(float(found.group(1))) if found else -1


@contextmanager
def pair(start_server, *flags: str, env: dict | None = None) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """``(hot, python)``: clients of a server with the hot path and of one without."""
    with ExitStack() as stack:
        hot = stack.enter_context(start_server(*FLAGS, *flags, env=env))
        cold = stack.enter_context(start_server(*FLAGS, *flags, "--no-hot-path", env=env))
        yield (
            stack.enter_context(httpx.Client(base_url=hot, timeout=10)),
            stack.enter_context(httpx.Client(base_url=cold, timeout=10)),
        )


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], object]:
    """Status, headers (the request id's value and the date masked) and body (ids and times masked)."""
    headers = []
    for name, value in response.headers.multi_items():
        if name == "x-request-id":
            assert HEX32.match(value), value
            value = "<id>"
        elif name == "request-id":  # Anthropic's name for the same id
            assert value == response.headers["x-request-id"], value
            value = "<id>"
        elif name == "x-inference-port":
            assert value == str(response.url.port)
            value = "<port>"
        elif name == "date":
            value = "<date>"
        elif name == "content-length":
            value = "<length>"  # "created" and ids may differ in digits
        elif name == "connection":
            # granian closes a connection whose request body was left partly unread (a 413): whether
            # any was left depends on how much of it had arrived when the answer was sent, not on the path
            continue
        headers.append((name, value))
    body: object = response.content
    if response.headers.get("content-type", "").startswith("application/json"):
        body = mask(response.json())
    elif response.headers.get("content-type", "").startswith("text/event-stream"):
        body = [
            mask(json.loads(line[6:])) for line in response.text.splitlines() if line.startswith("data: {")
        ]
    return response.status_code, headers, body


def mask(value: object) -> object:
    if isinstance(value, dict):
        return {k: "<masked>" if k in ("id", "created") else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def test_plain_requests_take_the_rust_path_and_others_do_not(start_server):
    with start_server(*FLAGS) as url, httpx.Client(base_url=url, timeout=10) as c:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            before = served(c)
            chat = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=4
            )
            assert chat.usage is not None and chat.usage.completion_tokens == 4
            completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", max_tokens=3)
            assert completion.usage is not None and completion.usage.completion_tokens == 3
            vectors = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=8)
            assert [len(d.embedding) for d in vectors.data] == [8, 8]
            assert served(c) == before + 3
            # a header the gateway acts on, and a body with a rule of its own: the Python chain
            c.post(CHAT, json=chat_body(), headers=PYTHON_PATH).raise_for_status()
            assert c.post(CHAT, json=chat_body(top_logprobs=2)).status_code == 400
            assert served(c) == before + 3


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, chat_body(seed=7)),
        (CHAT, chat_body(seed=7, stream=True, stream_options={"include_usage": True})),
        (
            "/v1/completions",
            {"model": "gpt-3.5-turbo-instruct", "prompt": "one two", "max_tokens": 5, "seed": 3},
        ),
        ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "same text", "dimensions": 16}),
        (
            "/v1/embeddings",
            {"model": "text-embedding-3-small", "input": ["x", "y"], "encoding_format": "base64"},
        ),
        # one input computed holding the GIL, and one long enough to release it (py/embeddings.rs:
        # over 1,024 token ids, within the 4,096-byte body these servers take)
        (
            "/v1/embeddings",
            {"model": "text-embedding-3-small", "input": "short", "encoding_format": "base64"},
        ),
        (
            "/v1/embeddings",
            {"model": "text-embedding-3-small", "input": [7] * 1100, "encoding_format": "base64"},
        ),
    ],
)
def test_answers_are_the_python_chains(start_server, path, body):
    with pair(start_server, env=POD) as (hot, cold):
        before = served(hot)
        fast = hot.post(path, json=body)
        slow = cold.post(path, json=body)
        assert served(hot) == before + 1
        assert comparable(fast) == comparable(slow)
        assert ("x-inference-pod", "pod-7") in fast.headers.multi_items()
        # the client's request id is echoed on both paths
        rid = "a-client-id"
        assert hot.post(path, json=body, headers={"x-request-id": rid}).headers["x-request-id"] == rid
        if path == "/v1/embeddings" and body.get("encoding_format") == "base64":
            vector = base64.b64decode(fast.json()["data"][0]["embedding"])
            assert len(vector) == 4 * 1536 and struct.unpack("<f", vector[:4])


def test_a_forced_python_answer_equals_the_rust_one(start_server):
    with start_server(*FLAGS) as url, httpx.Client(base_url=url, timeout=10) as c:
        fast = c.post(CHAT, json=chat_body(seed=11))
        slow = c.post(CHAT, json=chat_body(seed=11), headers=PYTHON_PATH)
        assert comparable(fast) == comparable(slow)


def chunked(data: bytes) -> Iterator[bytes]:
    yield data[:5]
    yield data[5:]


@pytest.mark.parametrize(
    ("path", "content"),
    [
        (CHAT, b"{not json"),
        (CHAT, b'{"model": "gpt-4o", "messages": 3}'),
        (CHAT, b'{"model": "gpt-4o"}'),
        (CHAT, b"[" * 100 + b"]" * 100),
        (CHAT, json.dumps(chat_body(pad="x" * 5000)).encode()),  # over --max-body-bytes
        (CHAT, json.dumps(chat_body(top_logprobs=3)).encode()),
        (CHAT, json.dumps(chat_body(stream=True, max_tokens=-1)).encode()),
        ("/v1/completions", b'{"model": "m", "prompt": "p", "max_tokens": 0}'),
        ("/v1/embeddings", b'{"model": "text-embedding-3-small", "input": "x", "dimensions": 99999}'),
        ("/v1/embeddings", b'{"model": "text-embedding-3-small", "input": ""}'),
        ("/v1/embeddings", b'{"model": "text-embedding-3-small"}'),
    ],
)
def test_bad_bodies_get_the_same_envelopes(start_server, path, content):
    with pair(start_server) as (hot, cold):
        before = served(hot)
        fast = hot.post(path, content=content, headers={"content-type": "application/json"})
        slow = cold.post(path, content=content, headers={"content-type": "application/json"})
        assert fast.status_code >= 400
        assert comparable(fast) == comparable(slow)
        assert set(fast.json()["error"]) == {"message", "type", "param", "code"}
        # the same body sent chunked (no content-length): the gateway's rules, the same answer
        fast = hot.post(path, content=chunked(content))
        slow = cold.post(path, content=chunked(content))
        assert comparable(fast) == comparable(slow)
        assert served(hot) == before


def test_a_chunked_good_body_is_answered(start_server):
    with pair(start_server) as (hot, cold):
        content = json.dumps(chat_body(seed=1)).encode()
        assert comparable(hot.post(CHAT, content=chunked(content))) == comparable(
            cold.post(CHAT, content=chunked(content))
        )


def requests_by_status(c: httpx.Client, path: str) -> dict[str, int]:
    return c.get("/metrics").json()["endpoints"].get(path, {}).get("by_status", {})


def test_a_client_gone_mid_body_is_counted_as_before(start_server):
    with pair(start_server) as (hot, cold):
        for c in (hot, cold):
            host, port = c.base_url.host, c.base_url.port
            with socket.create_connection((host, port)) as s:
                s.sendall(
                    b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                    b"content-length: 1000\r\n\r\n" + b'{"model": "gpt-4o", '
                )
            deadline = time.monotonic() + 10
            while "499" not in requests_by_status(c, CHAT) and time.monotonic() < deadline:
                time.sleep(0.02)
            # the server is still well and answers the next request
            assert c.post(CHAT, json=chat_body()).status_code == 200
        assert requests_by_status(hot, CHAT) == requests_by_status(cold, CHAT) == {"200": 1, "499": 1}


def test_metrics_count_as_the_python_chain_does(start_server):
    requests = [
        (CHAT, chat_body()),
        (CHAT, chat_body(model="my-own-model")),
        (CHAT, chat_body(stream=True)),
        ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "p", "max_tokens": 2}),
        ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a b c", "d"]}),
        (CHAT, {"model": "gpt-4o", "messages": "x"}),
    ]
    with pair(start_server) as (hot, cold):
        views = []
        for c in (hot, cold):
            for path, body in requests:
                c.post(path, json=body)
            m = c.get("/metrics").json()
            endpoints = {k: (v["by_status"], v["errors_by_type"]) for k, v in m["endpoints"].items()}
            endpoints.pop("/metrics", None)
            models = {
                k: (v["requests"], v["errors"], v["prompt_tokens"], v["completion_tokens"])
                for k, v in m["models"].items()
            }
            views.append((m["requests"]["total"], m["requests"]["in_flight"], endpoints, models, m["tokens"]))
            models_listed = {x["id"] for x in c.get("/v1/models").json()["data"]}
            assert "my-own-model" in models_listed  # registered on first use on both paths
        assert views[0] == views[1]
        assert served(hot) == 5


def test_a_change_at_run_time_applies_to_the_next_request_of_every_worker(start_server):
    with start_server(*FLAGS, "--workers", "2") as url, httpx.Client(base_url=url, timeout=10) as c:

        def fresh(headers: dict | None = None) -> int:
            with httpx.Client(base_url=url, timeout=10) as one:  # a new connection: either worker
                return one.post(CHAT, json=chat_body(), headers=headers).status_code

        assert [fresh() for _ in range(6)] == [200] * 6
        plain = served(c)
        assert plain >= 6
        assert c.post("/admin/config", json={"error_rate": 1, "error_mix": "503"}).status_code == 200
        assert [fresh() for _ in range(20)] == [503] * 20
        assert len(c.get("/metrics").json()["requests"]["by_worker"]) == 2
        assert c.post("/admin/config", json={"error_rate": 0}).status_code == 200
        assert fresh() == 200
        assert c.post("/admin/config", json={"rpm": 3}).status_code == 200
        statuses = [fresh() for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        assert served(c) == plain + 1  # only the request between the two changes took the Rust path
        assert c.post("/admin/config", json={"rpm": 0}).status_code == 200
        assert fresh() == 200
        assert served(c) == plain + 2


def test_timed_and_streamed_answers_are_paced_from_the_rust_path(start_server):
    with start_server("--ttft", "30", "--itl", "5") as url, httpx.Client(base_url=url, timeout=10) as c:
        before = served(c)
        reply = c.post(CHAT, json=chat_body())
        assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] == 6
        with c.stream("POST", CHAT, json=chat_body(stream=True)) as stream:
            events = [line for line in stream.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "data: [DONE]" and len(events) >= 7
        assert served(c) == before + 2
        assert requests_by_status(c, CHAT) == {"200": 2}


def raw_post(c: httpx.Client, body: bytes, parts: int = 1) -> socket.socket:
    """A connection that sent a chat request with a ``content-length`` body, in ``parts`` writes."""
    s = socket.create_connection((c.base_url.host, c.base_url.port))
    s.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % len(body)
    )
    step = -(-len(body) // parts)
    for at in range(0, len(body), step):
        time.sleep(0.05)  # each part its own read
        s.sendall(body[at : at + step])
    return s


def test_a_body_that_comes_in_parts_is_served_from_the_rust_path(start_server):
    with start_server(*FLAGS) as url, httpx.Client(base_url=url, timeout=10) as c:
        before = served(c)
        body = json.dumps(chat_body(seed=3)).encode()
        with raw_post(c, body, parts=3) as s:
            s.settimeout(10)
            reply = b""
            while b"system_fingerprint" not in reply:
                reply += s.recv(65536)
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert json.loads(payload)["usage"]["completion_tokens"] == 6
        assert served(c) == before + 1


def test_a_client_gone_before_a_paced_answer_is_counted_as_before(start_server):
    # the whole body came, so the Rust path answers without the body's last message; the pacer
    # still sees the client leave (it reads that message first)
    with pair(start_server, "--ttft", "400") as (hot, cold):
        for c in (hot, cold):
            raw_post(c, json.dumps(chat_body()).encode()).close()
            deadline = time.monotonic() + 10
            while "499" not in requests_by_status(c, CHAT) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert c.post(CHAT, json=chat_body()).status_code == 200
        assert requests_by_status(hot, CHAT) == requests_by_status(cold, CHAT) == {"200": 1, "499": 1}
        assert served(hot) == 2
