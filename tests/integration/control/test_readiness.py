"""``--startup-duration``: alive at once, ready (and serving inference) only once loading is over."""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.integration

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


def test_readiness_flips_when_the_startup_duration_has_passed(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--workers", "2", "--startup-duration", "4") as url:
        with httpx.Client(base_url=url, timeout=10) as c:
            assert c.get("/health").status_code == 200
            loading = c.get("/health/ready")
            assert loading.status_code == 503 and loading.json()["status"] == "loading"
            assert c.get("/ready").status_code == 503
            refused = c.post("/v1/chat/completions", json=CHAT)
            assert refused.status_code == 503
            error = refused.json()["error"]
            assert error["code"] == "model_loading" and error["type"] == "server_error"
            assert int(refused.headers["retry-after"]) >= 1
            assert c.get("/v1/models").status_code == 200  # only inference waits for the model
            deadline = time.monotonic() + 30
            while c.get("/health/ready").status_code == 503 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert c.get("/health/ready").json() == {"status": "ready"}
            assert c.get("/ready").status_code == 200
            assert c.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_without_a_startup_duration_the_server_is_ready_at_once(http):
    assert http.get("/health/ready").json() == {"status": "ready"}
    assert http.get("/version").json()["version"]
