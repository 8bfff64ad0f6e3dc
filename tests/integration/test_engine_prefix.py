"""The engine model's prefix caches through the public API: one per replica for the whole server, so a
repeated prompt finds its prefix whichever granian worker answers, and the Dynamo endpoints describe
the engine's replicas the same from every worker."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
ARCH = "llama-3-8b"
#: About 1,000 prompt tokens (62 full blocks of 16).
LONG = "You answer billing questions plainly and cite the handbook. " * 100


@contextlib.contextmanager
def two_connections(url: str, workers: int) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two kept-alive connections, each to one worker process: different ones when the server has
    several (new connections are opened until one lands on another process)."""

    def pid(c: httpx.Client) -> int:
        return c.get("/kv-cache/metrics").json()["pid"]

    with contextlib.ExitStack() as stack:
        a = stack.enter_context(httpx.Client(base_url=url, timeout=30))
        first = pid(a)
        for _ in range(100):
            b = stack.enter_context(httpx.Client(base_url=url, timeout=30))
            if workers == 1 or pid(b) != first:
                break
        else:
            pytest.fail("every new connection went to the same worker process")
        yield a, b


def sdk(http: httpx.Client, url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, http_client=http)


def ask(client: openai.OpenAI, question: str) -> int:
    messages = [{"role": "system", "content": LONG}, {"role": "user", "content": question}]
    r = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=3)
    assert r.usage.prompt_tokens > 1000
    return r.usage.prompt_tokens_details.cached_tokens


def prefix_metrics(http: httpx.Client) -> tuple[float, float]:
    hits = queries = None
    for family in text_string_to_metric_families(http.get("/metrics/prometheus").text):
        for s in family.samples:
            if s.labels.get("model_name") == MODEL and s.name == "vllm:prefix_cache_hits_total":
                hits = s.value
            if s.labels.get("model_name") == MODEL and s.name == "vllm:prefix_cache_queries_total":
                queries = s.value
    assert hits is not None and queries is not None
    return hits, queries


def replicas(view: dict) -> list[dict]:
    return [w for w in view["workers"] if str(w["worker"]).startswith(ARCH + "/")]


def test_a_repeated_prompt_hits_on_another_worker_as_on_one(start_server):
    figures = {}
    for workers in (1, 2):
        with (
            start_server("--workers", str(workers), "--replicas", "2") as url,
            two_connections(url, workers) as (a, b),
        ):
            # The prompt is new to the server, then repeated through the other worker process.
            cached = [ask(sdk(a, url), "Refunds?"), ask(sdk(b, url), "Invoices?"), ask(sdk(a, url), "Taxes?")]
            hits = prefix_metrics(a), prefix_metrics(b)
            kv = [replicas(c.get("/kv-cache/metrics").json()) for c in (a, b)]
        assert cached[0] == 0 and cached[1] > 900 and cached[1] % 16 == 0, (workers, cached)
        assert cached[2] == cached[1], (workers, cached)
        # The same hit/query counters from either worker.
        assert hits[0] == hits[1] and hits[0][0] == sum(cached), (workers, hits)
        assert kv[0] == kv[1] and len(kv[0]) == 2, kv
        figures[workers] = (cached, hits[0], [(w["requests"], w["hit_tokens"]) for w in kv[0]])
    assert figures[1] == figures[2], figures
    # All three went to the replica that holds the prefix.
    assert sorted(r for r, _ in figures[1][2]) == [0, 3], figures


def test_dynamo_endpoints_show_the_engines_replicas_the_same_from_any_worker(start_server):
    with (
        start_server("--workers", "2", "--replicas", "2") as url,
        two_connections(url, 2) as (a, b),
    ):
        body = {"model": MODEL, "messages": [{"role": "user", "content": LONG}], "stream": True}
        headers = {"x-fakeai-output-tokens": "3000"}
        # The stream holds a connection of its own (a and b stay on their worker processes).
        with (
            httpx.Client(base_url=url, timeout=60) as c,
            c.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r,
        ):
            lines = r.iter_lines()
            next(line for line in lines if line.startswith("data: {"))
            views = [c.get("/dynamo/metrics/json").json() for c in (a, b)]
            text = b.get("/dynamo/metrics").text
        assert views[0]["pid"] != views[1]["pid"]
        seen = [[(w["worker"], w["active"], w["queued"], w["requests"]) for w in replicas(v)] for v in views]
        assert seen[0] == seen[1], seen
        busy = [w for w in replicas(views[1]) if w["active"]]
        assert len(busy) == 1 and busy[0]["requests"] == 1 and busy[0]["kv_usage"] > 0, views[1]
        assert views[0]["active_requests"] == views[1]["active_requests"] == 1
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        active = {s.labels["worker"]: s.value for s in fams["dynamo_worker_active_requests"].samples}
        usage = {s.labels["worker"]: s.value for s in fams["dynamo_worker_kv_cache_usage"].samples}
        assert active[busy[0]["worker"]] == 1 and usage[busy[0]["worker"]] > 0, (active, usage)
        assert set(usage) == {f"{ARCH}/0", f"{ARCH}/1"}

        # The stream's client left: its replica is idle again, seen from either worker.
        def idle() -> bool:
            views = [replicas(c.get("/dynamo/metrics/json").json()) for c in (a, b)]
            return all(w["active"] == 0 and w["kv_usage"] == 0 for v in views for w in v)

        deadline = time.monotonic() + 10
        while not idle() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert idle()


@pytest.mark.parametrize("hot_path", [True, False])
def test_anthropic_system_prompts_lead_the_cached_prefix(start_server, hot_path):
    """The prefix cache sees a Messages request's system prompt first, as the chat template puts it:
    the same long system prompt is a hit, a different one with the same messages is not."""
    flags = ["--replicas", "1"] + ([] if hot_path else ["--no-hot-path"])
    with start_server(*flags) as url, httpx.Client(base_url=url, timeout=30) as http:
        headers = {"anthropic-version": "2023-06-01", "x-api-key": "k"}

        def hits(http: httpx.Client) -> float:
            try:
                return prefix_metrics(http)[0]
            except AssertionError:  # no request of the model yet
                return 0.0

        def ask(system: object, question: str) -> float:
            body = {
                "model": MODEL,
                "max_tokens": 3,
                "system": system,
                "messages": [{"role": "user", "content": question}],
            }
            before = hits(http)
            r = http.post("/v1/messages", json=body, headers=headers)
            assert r.status_code == 200, r.text
            return hits(http) - before

        other = "You answer shipping questions tersely and never cite anything. " * 100
        assert ask(LONG, "Refunds?") == 0  # new to the server
        assert ask(LONG, "Invoices?") > 900  # the same system prompt: its blocks are cached
        assert ask(other, "Invoices?") == 0  # the same question under another system prompt
        blocks = [{"type": "text", "text": other}]
        assert ask(blocks, "Taxes?") > 900  # blocks lead the prompt as the string did
