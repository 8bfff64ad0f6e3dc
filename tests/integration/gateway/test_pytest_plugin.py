"""The pytest plugin, run in a separate pytest session by ``pytester``."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]


def test_fixtures_start_a_server_and_configure_a_client(pytester):
    pytester.makeconftest("")
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="module")
        def fakeai_server_options():
            return ["--ttft", "0", "--itl", "0", "--api-key", "sk-plugin-1"]

        def test_chat(fakeai_client, fakeai_server):
            assert fakeai_server.startswith("http://127.0.0.1:")
            reply = fakeai_client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=4)
            assert reply.usage.completion_tokens <= 4

        def test_same_server_for_the_module(fakeai_server):
            import httpx
            assert httpx.get(fakeai_server + "/v1/models").status_code == 401
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
