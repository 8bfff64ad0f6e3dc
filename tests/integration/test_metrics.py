"""Metrics over real server processes: exact server-wide counts, Prometheus exposition (fakeai and
vLLM names), JSON views, CSV, SLO and error accounting, bad inputs."""

from __future__ import annotations

import csv
import io
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakeai import _core

CHAT = "/v1/chat/completions"
VLLM_NAMES = {
    "vllm:num_requests_running": "gauge",
    "vllm:num_requests_waiting": "gauge",
    "vllm:kv_cache_usage_perc": "gauge",
    "vllm:prefix_cache_hits": "counter",
    "vllm:prefix_cache_queries": "counter",
    "vllm:prompt_tokens": "counter",
    "vllm:generation_tokens": "counter",
    "vllm:request_success": "counter",
    "vllm:time_to_first_token_seconds": "histogram",
    "vllm:inter_token_latency_seconds": "histogram",
    "vllm:time_per_output_token_seconds": "histogram",
    "vllm:e2e_request_latency_seconds": "histogram",
}


def scrape(base: str) -> dict:
    """Families by name from a fresh connection (so successive scrapes may hit different workers)."""
    text = httpx.get(base + "/metrics/prometheus", headers={"connection": "close"}).text
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(families: dict, name: str, sample: str | None = None, **labels: str) -> float:
    """Sum of the samples of ``name`` (or its ``sample`` series) whose labels include ``labels``."""
    family = families[name]
    wanted = sample or (name + "_total" if family.type == "counter" else name)
    return sum(
        s.value
        for s in family.samples
        if s.name == wanted and all(s.labels.get(k) == v for k, v in labels.items())
    )


def chat(base: str, model: str = "gpt-4o", stream: bool = False, max_tokens: int = 8) -> httpx.Response:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "count me"}],
        "max_tokens": max_tokens,
        "stream": stream,
    }
    return httpx.post(base + CHAT, json=body, headers={"connection": "close"}, timeout=10)


def settle(base: str, name: str, expected: float, **labels: str) -> None:
    """Wait (bounded) until a response's bookkeeping, done just after its last byte, is visible."""
    deadline = time.monotonic() + 5
    while value(scrape(base), name, **labels) < expected and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def two_workers(start_server):
    with start_server("--workers", "2", "--ttft", "0", "--itl", "0", "--slo-latency-ms", "250") as url:
        yield url


def test_counts_are_exact_whichever_worker_is_scraped(two_workers):
    k = 60
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda i: chat(two_workers, stream=i % 2 == 0), range(k)))
    assert all(r.status_code == 200 for r in replies)
    settle(two_workers, "fakeai_requests", k, endpoint=CHAT, status="200")
    served = httpx.get(two_workers + "/metrics").json()["requests"]["by_worker"]
    assert len(served) == 2 and min(served.values()) > 5, served  # both workers served part of the load
    for _ in range(8):
        families = scrape(two_workers)
        assert value(families, "fakeai_requests", endpoint=CHAT, status="200") == k
        assert value(families, "vllm:request_success", model_name="gpt-4o") == k
        assert (
            value(
                families,
                "vllm:e2e_request_latency_seconds",
                "vllm:e2e_request_latency_seconds_count",
                model_name="gpt-4o",
            )
            == k
        )
        assert value(families, "vllm:generation_tokens", model_name="gpt-4o") == 8 * k
        assert value(families, "vllm:prompt_tokens", model_name="gpt-4o") == value(
            families, "fakeai_prompt_tokens", model="gpt-4o"
        )


def test_exposition_has_the_vllm_names_with_model_name_labels(two_workers):
    chat(two_workers, model="meta-llama/Llama-3.1-8B-Instruct", stream=True)
    settle(two_workers, "vllm:request_success", 1, model_name="meta-llama/Llama-3.1-8B-Instruct")
    families = scrape(two_workers)
    for name, kind in VLLM_NAMES.items():
        assert families[name].type == kind, name
        assert any(
            s.labels.get("model_name") == "meta-llama/Llama-3.1-8B-Instruct" for s in families[name].samples
        )
    assert value(families, "vllm:num_requests_waiting") == 0


def test_tensorrt_llms_path_serves_the_same_exposition(two_workers):
    """AIPerf reads ``/metrics``, finds JSON, and falls back to ``/prometheus/metrics`` (TRT-LLM's)."""
    chat(two_workers, model="gpt-4o")
    settle(two_workers, "vllm:request_success", 1, model_name="gpt-4o")
    families = {
        f.name: f for f in text_string_to_metric_families(httpx.get(two_workers + "/prometheus/metrics").text)
    }
    assert set(VLLM_NAMES) <= set(families)
    assert value(families, "vllm:request_success", model_name="gpt-4o") >= 1


#: What a Prometheus server sends with each scrape (2.x / 3.x).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


@pytest.mark.parametrize(
    ("accept", "prometheus"),
    [
        (PROMETHEUS_ACCEPT, True),
        ("text/plain;version=0.0.4", True),
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
    ],
)
def test_a_prometheus_scrape_of_metrics_gets_the_exposition(two_workers, accept, prometheus):
    """vLLM's scrape path works for a Prometheus job; everyone else keeps the JSON summary."""
    r = httpx.get(two_workers + "/metrics", headers={"accept": accept} if accept else {})
    assert r.status_code == 200
    if prometheus:
        assert r.headers["content-type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(r.text)}
        assert set(VLLM_NAMES) <= set(families)
    else:
        assert r.headers["content-type"] == "application/json"
        assert r.json()["object"] == "fakeai.metrics"


def test_histogram_buckets_are_cumulative_and_end_in_the_count(two_workers):
    chat(two_workers)
    families = scrape(two_workers)
    for name in (
        "vllm:time_to_first_token_seconds",
        "vllm:e2e_request_latency_seconds",
        "fakeai_request_duration_seconds",
    ):
        series: dict[tuple, list] = {}
        for s in families[name].samples:
            if s.name.endswith("_bucket"):
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                series.setdefault(key, []).append((float(s.labels["le"]), s.value))
        assert series, name
        for key, buckets in series.items():
            bounds = [b for b, _ in buckets]
            counts = [c for _, c in buckets]
            assert bounds == sorted(bounds) and bounds[-1] == float("inf")
            assert bounds[:-1] == list(_core.HISTOGRAM_BOUNDS)
            assert counts == sorted(counts), (name, key)
            count = value(families, name, name + "_count", **dict(key))
            assert counts[-1] == count > 0


def test_errors_are_counted_by_type_and_endpoint(start_server):
    with start_server("--ttft", "0", "--itl", "0") as base:
        assert httpx.post(base + CHAT, content=b"{not json").status_code == 400
        assert httpx.post(base + CHAT, json={"model": "gpt-4o"}).status_code == 400
        assert httpx.get(base + "/v1/nope").status_code == 404
        assert chat(base).status_code == 200
        time.sleep(0.2)
        families = scrape(base)
        assert value(families, "fakeai_request_errors", endpoint=CHAT, code="invalid_json") == 1
        assert value(families, "fakeai_request_errors", endpoint=CHAT, code="missing_required_parameter") == 1
        assert (
            value(families, "fakeai_request_errors", endpoint="unmatched", type="invalid_request_error") == 1
        )
        doc = httpx.get(base + "/metrics").json()
        assert doc["endpoints"][CHAT]["requests"] == 3 and doc["endpoints"][CHAT]["errors"] == 2
        assert doc["endpoints"][CHAT]["by_status"] == {"200": 1, "400": 2}
        assert doc["errors"]["by_type"]["invalid_request_error"] == 3
        # errors the gateway answers before routing count under the route they were sent to
        # (they were all "unmatched")
        for path, body in (
            ("/v1/responses", {"model": "gpt-4o", "input": "hi"}),
            ("/generate", {"inputs": "hi"}),
        ):
            r = httpx.post(base + path, json=body, headers={"x-fakeai-error": "503"})
            assert r.status_code == 503
        time.sleep(0.2)
        endpoints = httpx.get(base + "/metrics").json()["endpoints"]
        assert endpoints["/v1/responses"]["by_status"] == {"503": 1}
        assert endpoints["/generate"]["by_status"] == {"503": 1}
        assert endpoints["unmatched"]["by_status"] == {"404": 1}


def test_slo_share_counts_requests_within_the_objective(start_server):
    with start_server("--ttft", "60", "--itl", "0", "--slo-latency-ms", "30") as base:
        chat(base)  # ~60 ms: misses the 30 ms objective
        httpx.get(base + "/v1/models")  # fast: meets it
        time.sleep(0.2)
        doc = httpx.get(base + "/metrics").json()
        assert doc["slo"]["objective_seconds"] == 0.03
        assert doc["endpoints"][CHAT]["slo_share"] == 0.0
        assert doc["endpoints"]["/v1/models"]["slo_share"] == 1.0
        model = doc["models"]["gpt-4o"]
        assert model["slo_share"] == 0.0
        assert 0.04 <= model["latency_seconds"]["ttft"]["p50"] <= 0.075
        assert model["latency_seconds"]["e2e"]["p50"] >= 0.04


def test_json_summary_tokens_and_latency(two_workers):
    doc = httpx.get(two_workers + "/metrics").json()
    assert doc["object"] == "fakeai.metrics" and doc["workers"] == 2
    families = scrape(two_workers)
    assert doc["tokens"]["completion"] <= value(families, "fakeai_completion_tokens")
    assert doc["tokens"]["total"] == doc["tokens"]["prompt"] + doc["tokens"]["completion"]
    lat = doc["latency_seconds"]
    assert lat["count"] > 0 and 0 <= lat["p50"] <= lat["p90"] <= lat["p99"]
    assert doc["endpoints"][CHAT]["latency_seconds"]["count"] > 0


def test_by_model_views_and_ids_with_slashes(two_workers):
    model = "meta-llama/Llama-3.1-8B-Instruct"
    chat(two_workers, model=model)
    rows = httpx.get(two_workers + "/metrics/by-model").json()
    assert rows["object"] == "list" and model in {r["model"] for r in rows["data"]}
    one = httpx.get(f"{two_workers}/metrics/by-model/{model}").json()
    assert one["model"] == model and one["requests"] >= 1 and one["completion_tokens"] >= 8


def test_csv_has_a_row_per_model(two_workers):
    reply = httpx.get(two_workers + "/metrics/csv")
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    by_model = {r["model"]: r for r in rows}
    assert int(by_model["gpt-4o"]["requests"]) >= 60
    assert float(by_model["gpt-4o"]["e2e_p99_seconds"]) >= 0


def test_health_detailed(two_workers):
    doc = httpx.get(two_workers + "/health/detailed").json()
    assert doc["status"] == "healthy" and doc["workers"] == 2 and doc["metrics_recording"] is True
    assert doc["uptime_seconds"] > 0 and doc["metrics"]["requests"]["total"] > 0


@pytest.mark.parametrize(
    "path, status, param",
    [
        ("/metrics/by-model/no-such/model", 404, "model"),
        ("/metrics?window=5", 400, "window"),
        ("/metrics/prometheus?format=json", 400, "format"),
        ("/metrics/csv?x=1", 400, "x"),
        ("/health/detailed?verbose=1", 400, "verbose"),
    ],
)
def test_bad_inputs_get_the_error_envelope(two_workers, path, status, param):
    reply = httpx.get(two_workers + path)
    assert reply.status_code == status
    error = reply.json()["error"]
    assert error["param"] == param and error["message"] and error["type"] == "invalid_request_error"


def test_wrong_method_is_405(two_workers):
    reply = httpx.post(two_workers + "/metrics", json={})
    assert reply.status_code == 405 and reply.json()["error"]["code"] == "method_not_allowed"


def test_unknown_models_beyond_the_cap_are_folded_into_other(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--metrics-max-models", "2") as base:
        for model in ("gpt-4o", "user/model-a", "user/model-b", "user/model-c"):
            assert chat(base, model=model).status_code == 200
        time.sleep(0.2)
        models = {r["model"]: r["requests"] for r in httpx.get(base + "/metrics/by-model").json()["data"]}
        assert models == {"gpt-4o": 1, "user/model-a": 1, "other": 2}


def test_recording_off_records_nothing(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--no-metrics") as base:
        assert chat(base).status_code == 200
        doc = httpx.get(base + "/metrics").json()
        assert doc["requests"]["total"] == 0 and doc["tokens"]["total"] == 0
        assert httpx.get(base + "/health/detailed").json()["metrics_recording"] is False


def test_errors_before_generation_count_against_the_model(start_server):
    import openai

    with (
        start_server("--ttft", "0", "--itl", "0", "--rpm", "4") as base,
        openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0) as client,
    ):
        hi = [{"role": "user", "content": "hi"}]
        client.chat.completions.create(model="gpt-4o", messages=hi, max_tokens=4)
        with pytest.raises(openai.InternalServerError):  # an injected 503, answered by the gateway
            client.chat.completions.create(
                model="gpt-4o", messages=hi, extra_headers={"x-fakeai-error": "503"}
            )
        with pytest.raises(openai.BadRequestError, match="context"):  # refused by the core
            client.chat.completions.create(model="gpt-4o", messages=hi, max_tokens=10_000_000)
        with pytest.raises(openai.BadRequestError):  # a decode error names no model: server-wide only
            client.chat.completions.create(model="gpt-4o", messages=hi, n=-1)
        with pytest.raises(openai.RateLimitError):  # the fifth request within the minute
            client.chat.completions.create(model="gpt-4o", messages=hi)
        settle(base, "fakeai_model_errors", 3, model="gpt-4o")
        settle(base, "fakeai_request_errors", 4)
        doc = httpx.get(base + "/metrics").json()
        one = httpx.get(base + "/metrics/by-model/gpt-4o").json()
        assert doc["errors"]["total"] == 4
        assert (one["requests"], one["errors"], doc["models"]["gpt-4o"]["errors"]) == (4, 3, 3)
        families = scrape(base)
        assert value(families, "vllm:request_success", model_name="gpt-4o") == 1
        assert value(families, "vllm:num_requests_running", model_name="gpt-4o") == 0


def test_responses_count_their_inference_under_their_model(start_server):
    """A ``POST /v1/responses`` is an inference as a chat completion is: its tokens, its request (and
    an error of its model) are counted under its model (they were not counted at all)."""
    with start_server("--ttft", "0", "--itl", "0") as base:
        model = "gpt-4.1-mini"
        body = {"model": model, "input": "count me", "max_output_tokens": 16}
        r = httpx.post(base + "/v1/responses", json=body)
        assert r.status_code == 200, r.text
        usage = r.json()["usage"]
        streamed = httpx.post(base + "/v1/responses", json={**body, "stream": True})
        assert streamed.status_code == 200
        refused = httpx.post(base + "/v1/responses", json={**body, "max_output_tokens": 10_000_000})
        assert refused.status_code == 400, refused.text
        settle(base, "fakeai_model_errors", 1, model=model)
        one = httpx.get(f"{base}/metrics/by-model/{model}").json()
        assert (one["requests"], one["errors"]) == (3, 1), one
        assert one["completion_tokens"] >= 2 * usage["output_tokens"] > 0, one
        assert one["prompt_tokens"] >= 2 * usage["input_tokens"] > 0, one
        families = scrape(base)
        assert value(families, "vllm:generation_tokens", model_name=model) == one["completion_tokens"]


def test_responses_over_the_websocket_are_counted_and_leave(start_server):
    """A ``response.create`` on the Responses API's WebSocket counts as one request of its model, and
    leaves the running gauge when it ends (every one used to stay running for good)."""
    import openai
    from tests.integration.test_responses_socket import until_end

    with start_server("--ttft", "0", "--itl", "0") as base:
        model = "gpt-4.1-nano"
        sdk = openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0)
        with sdk.responses.connect() as conn:
            for _ in range(3):
                conn.response.create(model=model, input="count me", max_output_tokens=16)
                assert until_end(conn)[-1].type in ("response.completed", "response.incomplete")
            conn.response.create(model=model, input="count me", max_output_tokens=10_000_000)
            assert until_end(conn)[-1].type == "error"
        settle(base, "fakeai_model_errors", 1, model=model)
        one = httpx.get(f"{base}/metrics/by-model/{model}").json()
        assert (one["requests"], one["errors"]) == (4, 1), one
        families = scrape(base)
        assert value(families, "vllm:num_requests_running", model_name=model) == 0
        assert value(families, "vllm:request_success", model_name=model) == 3
        assert httpx.get(base + "/metrics").json()["requests"]["in_flight"] <= 1  # the scrape itself
