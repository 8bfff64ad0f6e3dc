"""Shared fixtures: real ``fakeai server`` processes on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(*flags: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``fakeai server`` with ``flags``; yield its base URL; stop it."""
    port = free_port()
    cmd = [sys.executable, "-m", "fakeai", "server", "--port", str(port), "--log-level", "warning", *flags]
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"fakeai exited early: {proc.stdout.read().decode(errors='replace')}")
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("fakeai did not become healthy in 30 s")
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """A server with simulated latency off, shared by the tests that don't measure time."""
    with running_server("--ttft", "0", "--itl", "0") as url:
        yield url


@pytest.fixture(scope="session")
def start_server() -> Callable[..., contextmanager]:
    """Start a server with custom flags: ``with start_server("--ttft", "50") as url: ...``."""
    return running_server


@pytest.fixture()
def client(base_url: str):
    import openai

    with openai.OpenAI(base_url=base_url + "/v1", api_key="test-key", max_retries=0) as c:
        yield c


@pytest.fixture()
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c


@pytest.fixture(scope="session")
def pick_port() -> Callable[[], int]:
    """A free loopback port, for tests that launch a server themselves (e.g. over TLS)."""
    return free_port
