"""vLLM's sleep mode: ``POST /sleep``, ``POST /wake_up``, ``GET /is_sleeping``, server-wide."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


@pytest.fixture(scope="module")
def sleepy(start_server):
    with start_server("--ttft", "0", "--enable-sleep-mode") as url:
        yield url


def _fresh(url: str, method: str, path: str, **kw) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=10) as c:
        return c.request(method, path, **kw)


def test_sleep_and_wake_round_trip_on_every_worker(start_server):
    flags = (
        "--ttft",
        "0",
        "--itl",
        "0",
        "--workers",
        "2",
        "--enable-sleep-mode",
        "--wake-up-duration",
        "0.5",
    )
    with start_server(*flags) as url:
        assert _fresh(url, "GET", "/is_sleeping").json() == {"is_sleeping": False}
        assert _fresh(url, "POST", "/sleep", params={"level": "2"}).status_code == 200
        for _ in range(8):
            assert _fresh(url, "GET", "/is_sleeping").json() == {"is_sleeping": True}
            refused = _fresh(url, "POST", "/v1/chat/completions", json=CHAT)
            assert refused.status_code == 503 and refused.json()["error"]["code"] == "engine_sleeping"
        assert _fresh(url, "GET", "/health").status_code == 200
        assert _fresh(url, "GET", "/health/ready").json()["status"] == "sleeping"
        assert _fresh(url, "POST", "/wake_up").status_code == 200  # answers once awake
        for _ in range(8):
            assert _fresh(url, "GET", "/is_sleeping").json() == {"is_sleeping": False}
            assert _fresh(url, "POST", "/v1/chat/completions", json=CHAT).status_code == 200
        assert _fresh(url, "POST", "/sleep", json={"level": 1}).status_code == 200
        assert _fresh(url, "GET", "/is_sleeping").json() == {"is_sleeping": True}
        assert _fresh(url, "POST", "/wake_up", params={"tags": "weights"}).status_code == 200
        assert _fresh(url, "GET", "/is_sleeping").json() == {"is_sleeping": False}


@pytest.mark.parametrize(
    ("path", "kw", "param"),
    [
        ("/sleep", {"params": {"level": "3"}}, "level"),
        ("/sleep", {"params": {"level": "deep"}}, "level"),
        ("/sleep", {"json": {"level": True}}, "level"),
        ("/sleep", {"content": b"{oops"}, None),
        ("/wake_up", {"params": {"tags": "gpu"}}, "tags"),
    ],
)
def test_bad_sleep_requests_are_400s(sleepy, path, kw, param):
    r = _fresh(sleepy, "POST", path, **kw)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == param and r.json()["error"]["type"] == "invalid_request_error"
    assert _fresh(sleepy, "GET", "/is_sleeping").json() == {"is_sleeping": False}


def test_sleep_routes_need_sleep_mode(http):
    r = http.post("/sleep")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_url"
    assert http.get("/is_sleeping").status_code == 404


def test_a_large_sleep_body_is_a_413(sleepy):
    body = b'{"level": 1, "pad": "' + b"x" * 200_000 + b'"}'
    r = _fresh(
        sleepy, "POST", "/sleep", content=body, headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    assert _fresh(sleepy, "GET", "/is_sleeping").json() == {"is_sleeping": False}
