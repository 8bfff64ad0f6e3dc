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


def test_fakeai_client_fails_without_openai_instead_of_skipping(pytester):
    # a conftest that makes ``import openai`` fail, as on a machine without the package
    pytester.makeconftest("import sys\nsys.modules['openai'] = None\n")
    pytester.makepyfile(
        """
        def test_uses_the_client(fakeai_client):
            raise AssertionError("not reached")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "the fakeai_client fixture needs the openai package: pip install 'fakeai[client]'" in out
    assert "skipped" not in out and "During handling" not in out
