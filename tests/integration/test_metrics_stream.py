"""``/metrics/stream``: a JSON summary on connect, then one per interval, reflecting new requests."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets


def ws_url(base: str, query: str = "") -> str:
    return base.replace("http://", "ws://") + "/metrics/stream" + query


def test_stream_pushes_snapshots_that_follow_the_load(base_url):
    async def run() -> None:
        async with websockets.connect(ws_url(base_url)) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            start = time.monotonic()
            assert first["object"] == "fakeai.metrics"
            async with httpx.AsyncClient() as http:
                for _ in range(3):
                    body = {
                        "model": "gpt-4o",
                        "messages": [{"role": "user", "content": "hi"}],
                        "max_tokens": 4,
                    }
                    assert (await http.post(base_url + "/v1/chat/completions", json=body)).status_code == 200
            second = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert 0.8 <= time.monotonic() - start <= 2.0  # about one second apart
            assert second["tokens"]["completion"] >= first["tokens"]["completion"] + 12
            assert second["uptime_seconds"] > first["uptime_seconds"]

    asyncio.run(run())


def test_stream_interval_parameter(base_url):
    async def run() -> None:
        async with websockets.connect(ws_url(base_url, "?interval=0.2")) as ws:
            await ws.recv()
            start = time.monotonic()
            for _ in range(3):
                await asyncio.wait_for(ws.recv(), 5)
            assert time.monotonic() - start < 1.0

    asyncio.run(run())


@pytest.mark.parametrize("interval", ["0", "abc", "1e9", "nan"])
def test_bad_interval_gets_an_error_envelope_and_a_policy_close(base_url, interval):
    async def run() -> None:
        async with websockets.connect(ws_url(base_url, f"?interval={interval}")) as ws:
            error = json.loads(await asyncio.wait_for(ws.recv(), 5))["error"]
            assert error["param"] == "interval" and error["type"] == "invalid_request_error"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd.code == 1008

    asyncio.run(run())
