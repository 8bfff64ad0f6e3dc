"""Shared fixtures: real ``fakeai server`` processes on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from fakeai.runtime.process import free_port, running_server


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """A server with simulated latency off, shared by the tests that don't measure time."""
    with running_server("--ttft", "0", "--itl", "0") as url:
        yield url


@pytest.fixture(scope="session")
def start_server() -> Callable[..., AbstractContextManager[str]]:
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
