"""The Kubernetes manifests in ``deploy/``: they parse, and what they configure exists in fakeai."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fakeai.app import create_app
from fakeai.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KNOWN_ENV = {Settings.env_name(f.name) for f in Settings.knobs()} | {"POD_NAME", "POD_NAMESPACE"}


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def containers(docs: list[dict]) -> list[dict]:
    return [c for d in docs if d["kind"] == "Deployment" for c in d["spec"]["template"]["spec"]["containers"]]


@pytest.mark.parametrize("name", ["fakeai.yaml", "disaggregated.yaml"])
def test_deployments_probe_real_routes_and_set_only_real_knobs(name):
    docs = documents(name)
    paths = {route.path for route in create_app().routes}
    for container in containers(docs):
        assert container["livenessProbe"]["httpGet"]["path"] in paths
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready" and "/health/ready" in paths
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert set(env) <= KNOWN_ENV, set(env) - KNOWN_ENV
        assert int(env["FAKEAI_PORT"]) == container["ports"][0]["containerPort"]
        assert env["FAKEAI_HOST"] == "0.0.0.0"
        # The knobs given are valid values (from_env validates them like the server does at start).
        assert Settings.from_env({k: v for k, v in env.items() if k.startswith("FAKEAI_")}).port == 8000
        assert container["resources"]["limits"]["cpu"]
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"


def test_services_select_their_deployments():
    for name in ("fakeai.yaml", "disaggregated.yaml"):
        docs = documents(name)
        pods = [d["spec"]["template"]["metadata"]["labels"] for d in docs if d["kind"] == "Deployment"]
        for service in (d for d in docs if d["kind"] == "Service"):
            selector = service["spec"]["selector"]
            assert any(selector.items() <= labels.items() for labels in pods), service["metadata"]["name"]
    deployments = [d for d in documents("disaggregated.yaml") if d["kind"] == "Deployment"]
    assert {d["metadata"]["labels"]["llm-d.ai/role"] for d in deployments} == {"prefill", "decode"}


def test_service_monitor_scrapes_the_service_port():
    (monitor,) = documents("servicemonitor.yaml")
    (service,) = [d for d in documents("fakeai.yaml") if d["kind"] == "Service"]
    assert monitor["kind"] == "ServiceMonitor"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
