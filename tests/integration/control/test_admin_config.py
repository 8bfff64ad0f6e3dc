"""``GET``/``POST /admin/config``: run-time settings changed on one worker, applied by every worker."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


def _fresh_post(url: str, path: str, json: dict) -> httpx.Response:
    """A request on a new connection, so that either worker may take it."""
    with httpx.Client(base_url=url, timeout=10) as c:
        return c.post(path, json=json)


def test_a_change_reaches_both_workers_at_once(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--workers", "2") as url, httpx.Client(base_url=url) as c:
        before = c.get("/admin/config").json()
        assert before["error_rate"] == 0.0 and before["ttft_ms"] == 0.0 and "api_keys" not in before
        assert [_fresh_post(url, "/v1/chat/completions", CHAT).status_code for _ in range(4)] == [200] * 4
        answer = c.post("/admin/config", json={"error_rate": 1, "error_mix": "502"})
        assert answer.status_code == 200
        assert answer.json() == {**before, "error_rate": 1.0, "error_mix": "502"}
        # no wait: every worker applies the change before its next request
        codes = [_fresh_post(url, "/v1/chat/completions", CHAT).status_code for _ in range(30)]
        assert codes == [502] * 30
        workers = c.get("/metrics").json()["requests"]["by_worker"]
        assert len(workers) == 2, workers  # both workers answered, both with the change
        assert c.get("/admin/config").json()["error_mix"] == "502"
        assert c.post("/admin/config", json={"error_rate": 0}).json()["error_mix"] == "502"
        assert _fresh_post(url, "/v1/chat/completions", CHAT).status_code == 200


def test_timing_and_mode_change_at_run_time(start_server):
    with start_server("--ttft", "0", "--itl", "0") as url, httpx.Client(base_url=url) as c:
        assert c.post("/admin/config", json={"mode": "echo"}).status_code == 200
        reply = c.post("/v1/chat/completions", json={**CHAT, "max_tokens": 50}).json()
        assert reply["choices"][0]["message"]["content"] == "hi"
        assert c.post("/admin/config", json={"ttft_ms": None}).json()["ttft_ms"] is None


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"error_rate": 2}, "error_rate"),
        ({"error_rate": "high"}, "error_rate"),
        ({"error_mix": "418"}, "error_mix"),
        ({"chaos_mix": "explode"}, "chaos_mix"),
        ({"mode": "loud"}, "mode"),
        ({"rpm": -1}, "rpm"),
        # past the per-request headers' bounds: every request hung afterwards
        ({"ttft_ms": 1e308}, "ttft_ms"),
        ({"itl_ms": 3_600_001}, "itl_ms"),
        ({"jitter": 1e300}, "jitter"),
        ({"chaos_delay_ms": 1e12}, "chaos_delay_ms"),
        ({"prefill_time_per_token_us": 1e9}, "prefill_time_per_token_us"),
        ({"rpm": 10**30}, "rpm"),
        ({"fault_seed": -1}, "fault_seed"),
        ({"fake_metrics": "{"}, "fake_metrics"),
        ({"output_length_distribution": "wide"}, "output_length_distribution"),
        ({"port": 9}, "port"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_a_bad_change_is_a_400_naming_the_key_and_changes_nothing(base_url, change, param):
    with httpx.Client(base_url=base_url) as c:
        before = c.get("/admin/config").json()
        r = c.post("/admin/config", json={"ttft_ms": 5, **change})
        assert r.status_code == 400
        error = r.json()["error"]
        assert (
            error["param"] == param and error["type"] == "invalid_request_error" and param in error["message"]
        )
        assert c.get("/admin/config").json() == before


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b"3"])
def test_a_body_that_is_not_an_object_is_a_400(base_url, body):
    r = httpx.post(base_url + "/admin/config", content=body)
    assert r.status_code == 400 and set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_the_admin_key_guards_and_no_admin_api_removes(start_server):
    flags = ("--ttft", "0", "--itl", "0", "--api-key", "sk-user", "--admin-key", "sk-admin")
    with start_server(*flags) as url:
        assert httpx.get(url + "/admin/config").status_code == 401
        user = httpx.get(url + "/admin/config", headers={"authorization": "Bearer sk-user"})
        assert user.status_code == 401 and user.json()["error"]["code"] == "invalid_admin_key"
        admin = {"authorization": "Bearer sk-admin"}
        assert httpx.post(url + "/admin/config", json={"rpm": 5}, headers=admin).json()["rpm"] == 5
        # the admin key is not an API key
        assert httpx.post(url + "/v1/chat/completions", json=CHAT, headers=admin).status_code == 401
    with start_server("--ttft", "0", "--api-key", "sk-user") as url:
        assert httpx.get(url + "/admin/config").status_code == 401
        ok = httpx.get(url + "/admin/config", headers={"authorization": "Bearer sk-user"})
        assert ok.status_code == 200
    with start_server("--ttft", "0", "--no-admin-api") as url:
        r = httpx.get(url + "/admin/config")
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_url"


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=x", None])
def test_a_large_body_is_a_413_before_it_is_parsed(base_url, content_type):
    """A control body is a few kB of settings: a larger one is refused unread, whatever its content
    type (a multipart type once raised the limit to a file's 513 MiB and a 500 MB array of numbers
    took 7 GB to parse)."""
    body = b"[" + b"0," * 300_000 + b"0]"  # 600 kB
    headers = {"content-type": content_type} if content_type else {}
    before = httpx.get(base_url + "/admin/config").json()
    r = httpx.post(base_url + "/admin/config", content=body, headers=headers, timeout=30)
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == "request_too_large"
    assert httpx.get(base_url + "/admin/config").json() == before


def test_only_file_routes_take_a_file_sized_form(base_url):
    """A multipart body to a route that takes no file is held to --max-body-bytes (32 MiB)."""
    body = b"--x\r\n" + b"a" * (33 * 1024 * 1024) + b"\r\n--x--\r\n"
    headers = {"content-type": "multipart/form-data; boundary=x"}
    for path in ("/v1/chat/completions", "/v1/embeddings", "/v1/batches"):
        r = httpx.post(base_url + path, content=body, headers=headers, timeout=60)
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large", (path, r.text)
