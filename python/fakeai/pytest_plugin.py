"""fakeai's pytest plugin (installed with fakeai, enabled through the ``pytest11`` entry point).

Fixtures:

- ``fakeai_server_options``: the command-line options of the server; override it in a
  ``conftest.py`` (or a test module) to change them. Default: no simulated latency.
- ``fakeai_server``: starts ``fakeai server`` with those options on a free loopback port, once per
  module, and yields its base URL (``http://127.0.0.1:PORT``).
- ``fakeai_client``: an ``openai.OpenAI`` pointed at that server. It needs the ``openai`` package
  (``pip install 'fakeai[client]'``); without it a test using the fixture *fails* saying so, rather
  than being skipped, so that a regression gate cannot pass without running.

Example::

    @pytest.fixture(scope="module")
    def fakeai_server_options():
        return ["--ttft", "50", "--itl", "10", "--api-key", "sk-test"]

    def test_my_client(fakeai_client):
        assert my_summarise(fakeai_client, "text")
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakeai.extras import MissingExtra, require
from fakeai.runtime.process import ServerFailed, running_server


def _api_key(options: list[str]) -> str:
    keys = [options[i + 1] for i, o in enumerate(options[:-1]) if o == "--api-key"]
    return next((k for k in keys if not k.startswith("sha256:")), "fakeai")


@pytest.fixture(scope="module")
def fakeai_server_options() -> list[str]:
    """Options of ``fakeai server`` for this module's server (override to change them)."""
    return ["--ttft", "0", "--itl", "0"]


@pytest.fixture(scope="module")
def fakeai_server(fakeai_server_options: list[str]) -> Iterator[str]:
    """The base URL of a running ``fakeai server`` started with ``fakeai_server_options``."""
    try:
        with running_server(*fakeai_server_options) as base:
            yield base
    except ServerFailed as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture()
def fakeai_client(fakeai_server: str, fakeai_server_options: list[str]):
    """An ``openai.OpenAI`` client for ``fakeai_server`` (using its first ``--api-key``, if any)."""
    try:
        openai = require("openai")
    except MissingExtra as e:  # a failure, not a skip: a regression gate must not pass without running
        raise pytest.fail.Exception(str(e), pytrace=False) from None
    with openai.OpenAI(base_url=fakeai_server + "/v1", api_key=_api_key(fakeai_server_options)) as client:
        yield client
