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
