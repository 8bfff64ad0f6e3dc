"""Responses ``message.output_text.logprobs`` cost what chat's do: the core's logprobs JSON is spliced
into the response (no Python object per token and alternative), so the body is close to chat's for
the same output; a stream's ``content_part.added`` carries none yet (as OpenAI's); and a response
larger than the whole ``--max-expiring-bytes`` budget is refused rather than stored."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.integration

TOKENS = {"x-fakeai-output-tokens": "5000"}
ASK = {"model": "gpt-4o", "input": "hi", "include": ["message.output_text.logprobs"], "top_logprobs": 20}


def test_logprobs_body_is_close_to_chat_s(http: httpx.Client) -> None:
    chat = http.post(
        "/v1/chat/completions",
        json={
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "logprobs": True,
            "top_logprobs": 20,
        },
        headers=TOKENS,
    )
    assert chat.status_code == 200, chat.text[:300]
    r = http.post("/v1/responses", json={**ASK, "store": False}, headers=TOKENS)
    assert r.status_code == 200, r.text[:300]
    assert len(r.content) < 1.2 * len(chat.content), (len(r.content), len(chat.content))
    part = r.json()["output"][0]["content"][0]
    assert len(part["logprobs"]) == 5000 and len(part["logprobs"][0]["top_logprobs"]) == 20
    assert "".join(e["token"] for e in part["logprobs"]) == part["text"]


def test_stream_content_part_added_has_no_logprobs(http: httpx.Client) -> None:
    body = {**ASK, "top_logprobs": 2, "stream": True, "store": False}
    with http.stream("POST", "/v1/responses", json=body, headers={"x-fakeai-output-tokens": "30"}) as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    added = next(e for e in events if e["type"] == "response.content_part.added")
    assert added["part"]["logprobs"] == [] and added["part"]["text"] == ""
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    done = next(e for e in events if e["type"] == "response.output_text.done")
    assert [x for d in deltas for x in d["logprobs"]] == done["logprobs"]
    assert len(done["logprobs"]) == 30 and "".join(d["delta"] for d in deltas) == done["text"]


def test_objects_larger_than_the_expiring_budget_are_400s_and_drop_nothing(start_server) -> None:
    """Every kind kept under ``--max-expiring-bytes`` refuses one object larger than the whole budget
    with a 400 (it used to drop every other client's objects and be stored anyway, or answer a 500)."""
    with start_server("--max-expiring-bytes", "10", "--ttft", "0", "--itl", "0") as url:
        with httpx.Client(base_url=url, timeout=30) as c:
            for path, body in [
                ("/v1/responses", {"model": "gpt-4o", "input": "hi"}),
                (
                    "/v1/chat/completions",
                    {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "store": True},
                ),
                ("/v1/realtime/client_secrets", {"session": {"type": "realtime", "model": "gpt-realtime"}}),
                ("/v1/videos", {"model": "sora-2", "prompt": "a cat"}),
            ]:
                r = c.post(path, json=body)
                assert r.status_code == 400, (path, r.text)
                assert r.json()["error"]["code"] == "storage_quota_exceeded", (path, r.text)
            assert c.get("/v1/videos").json()["data"] == []
            assert c.get("/v1/chat/completions").json()["data"] == []
