"""Simulated DCGM exporter: names, types and labels as the real exporter's, values following load."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

LABELS = {"gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "DCGM_FI_DRIVER_VERSION"}
FIELDS = {
    "DCGM_FI_DEV_GPU_UTIL": "gauge",
    "DCGM_FI_DEV_FB_USED": "gauge",
    "DCGM_FI_DEV_FB_FREE": "gauge",
    "DCGM_FI_DEV_POWER_USAGE": "gauge",
    "DCGM_FI_DEV_GPU_TEMP": "gauge",
    "DCGM_FI_DEV_SM_CLOCK": "gauge",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": "gauge",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": "gauge",
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL": "counter",
    "DCGM_FI_PROF_PCIE_TX_BYTES": "counter",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": "counter",
}


def samples(text: str) -> dict[str, list]:
    """Samples by family name (the parser adds ``_total`` to counter samples; the exporter does not)."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


@pytest.fixture(scope="module")
def h200(start_server):
    with start_server("--gpu-model", "H200", "--gpu-count", "4", "--ttft", "200", "--itl", "5") as url:
        yield url


def test_names_types_and_labels_are_the_exporters(h200):
    text = httpx.get(h200 + "/dcgm/metrics").text
    for name, kind in FIELDS.items():
        assert f"# TYPE {name} {kind}\n" in text, name
        assert re.search(rf"^{name}{{gpu=\"0\",UUID=\"GPU-[0-9a-f-]{{36}}\",", text, re.MULTILINE), name
    got = samples(text)
    for name in FIELDS:
        assert len(got[name]) == 4
        assert all(set(s.labels) == LABELS and s.labels["modelName"] == "NVIDIA H200" for s in got[name])
    assert [s.labels["device"] for s in got["DCGM_FI_DEV_GPU_UTIL"]] == [
        "nvidia0",
        "nvidia1",
        "nvidia2",
        "nvidia3",
    ]
    for used, free in zip(got["DCGM_FI_DEV_FB_USED"], got["DCGM_FI_DEV_FB_FREE"], strict=True):
        assert used.value + free.value == 143771


def test_utilisation_and_power_follow_load(h200):
    def util() -> tuple[float, float]:
        got = samples(httpx.get(h200 + "/dcgm/metrics?gpu=0").text)
        return got["DCGM_FI_DEV_GPU_UTIL"][0].value, got["DCGM_FI_DEV_POWER_USAGE"][0].value

    idle_util, idle_power = util()
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "load"}], "max_tokens": 200}
    with ThreadPoolExecutor(24) as pool:
        futures = [
            pool.submit(httpx.post, h200 + "/v1/chat/completions", json=body, timeout=30) for _ in range(24)
        ]
        time.sleep(0.5)  # requests are in flight for about 1.2 s each
        busy_util, busy_power = util()
        assert all(f.result().status_code == 200 for f in futures)
    assert busy_util > idle_util and busy_power > idle_power
    json_view = httpx.get(h200 + "/dcgm/metrics/json").json()
    assert len(json_view["data"]) == 4
    assert json_view["data"][1]["metrics"]["DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL"] > 0


def test_gpu_models_have_their_names(start_server):
    with start_server("--gpu-model", "A100", "--gpu-count", "2") as url:
        data = httpx.get(url + "/dcgm/metrics/json").json()["data"]
        assert [g["model_name"] for g in data] == ["NVIDIA A100-SXM4-80GB"] * 2


@pytest.mark.parametrize(
    "query, param", [("?gpu=4", "gpu"), ("?gpu=-1", "gpu"), ("?gpu=x", "gpu"), ("?foo=1", "foo")]
)
def test_bad_query_parameters(h200, query, param):
    for path in ("/dcgm/metrics", "/dcgm/metrics/json"):
        reply = httpx.get(h200 + path + query)
        assert reply.status_code == 400 and reply.json()["error"]["param"] == param
