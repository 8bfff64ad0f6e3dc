"""The ``fakeai`` command line."""

from __future__ import annotations

import subprocess

import pytest

from fakeai.runtime.process import run_fakeai

pytestmark = pytest.mark.integration


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_fakeai(*args, env=env)


def test_help_lists_every_option_with_its_env_var():
    out = run("server", "--help").stdout
    for flag, env in [
        ("--port", "FAKEAI_PORT"),
        ("--workers", "FAKEAI_WORKERS"),
        ("--ttft", "FAKEAI_TTFT_MS"),
        ("--itl", "FAKEAI_ITL_MS"),
        ("--log-level", "FAKEAI_LOG_LEVEL"),
        ("--max-body-bytes", "FAKEAI_MAX_BODY_BYTES"),
    ]:
        assert flag in out and env in out


def test_bad_values_exit_with_a_clear_message():
    r = run("server", "--workers", "0")
    assert r.returncode != 0 and "--workers" in r.stderr
    r = run("server", env={"FAKEAI_TTFT_MS": "fast"})
    assert r.returncode != 0 and "FAKEAI_TTFT_MS" in r.stderr


def test_version():
    assert run("--version").stdout.startswith("fakeai ")


def test_two_workers_serve(start_server):
    import httpx

    with start_server("--workers", "2", "--ttft", "0", "--itl", "0") as url:
        for _ in range(20):
            r = httpx.post(
                url + "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
            )
            assert r.status_code == 200
