"""``--access-log``: one line per request with its status, duration and model, on any status; nothing
without the flag."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.integration

LINE = re.compile(
    r'^127\.0\.0\.1:\d+ - "(?P<request>[^"]+)" (?P<status>\d{3}) (?P<ms>\d+\.\d)ms (?P<model>\S+)$'
)


def _requests(base: str) -> None:
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    assert httpx.post(base + "/v1/chat/completions", json=chat).status_code == 200
    assert httpx.post(base + "/v1/chat/completions", content=b"{not json").status_code == 400
    assert httpx.get(base + "/v1/files/file-nope", params={"x": "1"}).status_code == 404
    assert httpx.delete(base + "/health").status_code == 405


def _logged(path) -> dict[str, tuple[str, str]]:
    found = {}
    for text in path.read_text().splitlines():
        m = LINE.match(text)
        if m:
            found[m["request"]] = (m["status"], m["model"])
    return found


@pytest.mark.parametrize("metrics", ["--metrics", "--no-metrics"])
def test_every_request_is_logged_with_status_and_model(start_server, tmp_path, metrics):
    log = tmp_path / "server.log"
    with (
        log.open("wb") as out,
        start_server("--ttft", "0", "--itl", "0", "--access-log", metrics, output=out) as base,
    ):
        _requests(base)
    found = _logged(log)
    statuses = [
        (m["status"], m["model"])
        for m in map(LINE.match, log.read_text().splitlines())
        if m and m["request"] == "POST /v1/chat/completions HTTP/1.1"
    ]
    assert sorted(statuses) == [("200", "gpt-4o-mini"), ("400", "-")]
    assert found["GET /v1/files/file-nope?x=1 HTTP/1.1"] == ("404", "-")
    assert found["DELETE /health HTTP/1.1"] == ("405", "-")


def test_no_access_log_by_default(start_server, tmp_path):
    log = tmp_path / "server.log"
    with log.open("wb") as out, start_server("--ttft", "0", "--itl", "0", output=out) as base:
        _requests(base)
    assert not any(LINE.match(text) for text in log.read_text().splitlines())


@pytest.mark.parametrize("metrics", ["--metrics", "--no-metrics"])
def test_an_injected_fault_is_logged_with_the_model_it_is_counted_under(start_server, tmp_path, metrics):
    """A fault answered by the gateway (a header, a scenario rule) never reaches the endpoint, yet the
    metrics count it as an error of the model asked for: the access log names that model too (with
    ``--no-metrics``, the model asked for)."""
    scenario = tmp_path / "scenario.toml"
    scenario.write_text('[[errors]]\nrate = 1.0\nmodel = "user/flaky"\nmix = "503"\n')
    log = tmp_path / "server.log"
    flags = ["--ttft", "0", "--itl", "0", "--access-log", metrics, "--metrics-max-models", "2"]
    with log.open("wb") as out, start_server(*flags, "--config", str(scenario), output=out) as base:
        chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
        header = {"x-fakeai-error": "500"}
        for model in ("gpt-4o-mini", "user/a"):  # the two models the metrics name; more are "other"
            assert httpx.post(base + "/v1/chat/completions", json={**chat, "model": model}).status_code == 200
        r = httpx.post(base + "/v1/chat/completions", json={**chat, "model": "gpt-4o-mini"}, headers=header)
        assert r.status_code == 500
        r = httpx.post(base + "/v1/chat/completions", json={**chat, "model": "user/flaky"})
        assert r.status_code == 503
        by_model = httpx.get(base + "/metrics/by-model").json()["data"]
    lines = [m for m in map(LINE.match, log.read_text().splitlines()) if m]
    failed = [(m["status"], m["model"]) for m in lines if m["status"] in ("500", "503")]
    if metrics == "--metrics":
        assert failed == [("500", "gpt-4o-mini"), ("503", "other")]  # beyond the cap: "other"
        errors = {row["model"]: row["errors"] for row in by_model}
        assert errors["gpt-4o-mini"] == 1 and errors["other"] == 1
    else:
        assert failed == [("500", "gpt-4o-mini"), ("503", "user/flaky")]
