"""``/dashboard`` in a real headless Chromium, driven over the DevTools protocol: the page loads
without console errors and its numbers change after requests are sent."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import time

import httpx
import pytest
import websockets

from fakeai.runtime.process import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium)"
)


@pytest.fixture()
def devtools(tmp_path):
    """A headless Chromium showing about:blank; yields its page's DevTools WebSocket URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={tmp_path / 'profile'}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pages = [
                    t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page"
                ]
                if pages:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chromium did not open its DevTools endpoint")
            time.sleep(0.1)
        yield pages[0]["webSocketDebuggerUrl"]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Page:
    """A minimal DevTools client: commands by id, and every error the page reports."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future] = {}
        self.errors: list[str] = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message:
                self.pending.pop(message["id"]).set_result(message)
                continue
            method, params = message.get("method"), message.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                self.errors.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                self.errors.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.errors.append(f"log: {params['entry']['text']}")

    async def call(self, method: str, **params) -> dict:
        i = next(self.ids)
        self.pending[i] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        reply = await asyncio.wait_for(self.pending[i], 10)
        assert "error" not in reply, reply
        return reply["result"]

    async def text(self, element_id: str) -> str | None:
        """The element's text, None while it does not exist (the page is still loading)."""
        expression = f"document.getElementById({element_id!r})?.textContent ?? null"
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not await predicate():
            assert time.monotonic() < deadline, "the dashboard did not update in time"
            await asyncio.sleep(0.1)


def test_dashboard_is_live_and_error_free(base_url, devtools):
    async def run() -> None:
        async with websockets.connect(devtools, max_size=None) as ws:
            page = Page(ws)
            try:
                await use_dashboard(page, base_url)
            finally:
                page.reader.cancel()
            assert page.errors == []

    asyncio.run(run())


async def use_dashboard(page: Page, base_url: str) -> None:
    """Open the dashboard, wait for live data, send requests, see the numbers change."""
    for domain in ("Runtime", "Log", "Page"):
        await page.call(f"{domain}.enable")
    await page.call("Page.navigate", url=base_url + "/dashboard")

    async def live() -> bool:
        return await page.text("status") == "live" and await page.text("uptime") not in (None, "–")

    await page.wait_for(live)
    before = {i: await page.text(i) for i in ("requests-total", "tokens-total")}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "dashboard"}], "max_tokens": 9}
    async with httpx.AsyncClient() as http:
        for _ in range(5):
            assert (await http.post(base_url + "/v1/chat/completions", json=body)).status_code == 200

    async def changed() -> bool:
        return all([await page.text(i) != v for i, v in before.items()])

    async def tokens_per_second_shown() -> bool:
        return await page.text("token-rate") not in (None, "0")

    await page.wait_for(changed)
    await page.wait_for(tokens_per_second_shown)
    models = "[...document.querySelectorAll('#models tr td:first-child')].map(td => td.textContent)"
    rows = await page.call("Runtime.evaluate", expression=models, returnByValue=True)
    assert "gpt-4o-mini" in rows["result"]["value"]


def test_dashboard_files_are_served(http):
    page = http.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/metrics/stream" in http.get("/dashboard/dashboard.js").text
    assert http.get("/dashboard/dashboard.css").headers["content-type"].startswith("text/css")
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from a CDN
    assert http.get("/dashboard/missing.js").status_code == 404
