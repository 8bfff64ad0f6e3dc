"""The scenario file: precedence and start-up errors naming the bad key; CORS; body size on every route."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from fakeai.runtime.process import run_fakeai

pytestmark = pytest.mark.integration


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_fakeai("server", *args, env=env)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("ttft_msec = 3\n", "unknown key 'ttft_msec'"),
        ("ttft_ms = 'fast'\n", "ttft_ms must be a number"),
        ("[keys.sk-a]\nrpm = -1\n", "keys.sk-a.rpm must be >= 0"),
        ("[keys.sk-a]\nburst = 3\n", "keys.sk-a.burst: unknown key"),
        ("[[errors]]\nroute = '/v1/'\n", "errors[0]: missing required key 'rate'"),
        ("[[errors]]\nrate = 0.5\nmix = '418'\n", "unknown error kind '418'"),
        ("rate_limit_tier = 'platinum'\n", "--rate-limit-tier"),
        ("[keys.sk-a]\ntier = 'gold'\n", "unknown tier 'gold'"),
        ("[tiers.platinum]\nrpm = 1\n", "tiers.platinum: unknown tier"),
        ("keys = 3\n", "keys must be a table"),
        ("error_rate = 2.0\n", "<= 1"),
        ("[[errors]]\nrate = 1.5\n", "errors[0].rate must be between 0 and 1"),
        ("ttft_ms = [\n", "not valid TOML"),
    ],
)
def test_bad_scenarios_fail_at_start_naming_the_key(tmp_path, text, needle):
    cfg = tmp_path / "fakeai.toml"
    cfg.write_text(text)
    r = _start("--config", str(cfg), "--port", "1")
    assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_missing_file_is_a_clear_error(tmp_path):
    r = _start("--config", str(tmp_path / "nope.toml"))
    assert r.returncode != 0 and "nope.toml" in r.stderr


@pytest.mark.parametrize(
    "flags, needle",
    [
        (("--error-mix", "500,418"), "--error-mix: unknown error kind '418'"),
        (("--chaos-mix", "explode"), "--chaos-mix: unknown chaos behaviour 'explode'"),
        (("--api-key", "sha256:abc"), "64 hex digits"),
    ],
)
def test_bad_gateway_flags_stop_the_server_before_it_starts(flags, needle):
    r = _start(*flags, "--port", "1")
    assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_precedence_defaults_file_env_flags(tmp_path):
    from fakeai.cli import settings_from

    cfg = tmp_path / "fakeai.toml"
    cfg.write_text("ttft_ms = 1\nitl_ms = 2\njitter = 0.5\napi_keys = ['sk-file']\n")
    env = {"FAKEAI_CONFIG": str(cfg), "FAKEAI_ITL_MS": "3", "FAKEAI_JITTER": "0.25"}
    s = settings_from({"jitter": 0.0}, env)
    assert (s.ttft_ms, s.itl_ms, s.jitter, s.api_keys, s.workers) == (1.0, 3.0, 0.0, ("sk-file",), 1)
    assert settings_from({"api_key": None, "api_keys": ["a", "b"]}, env).api_keys == ("a", "b")


def test_cors_preflight_and_headers(start_server):
    with start_server(
        "--ttft", "0", "--itl", "0", "--cors-origin", "https://app.example", "--api-key", "sk-c"
    ) as url:
        r = httpx.options(
            url + "/v1/chat/completions",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization,content-type",
            },
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in r.headers["access-control-allow-methods"]
        r = httpx.options(
            url + "/v1/chat/completions",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
        assert r.status_code == 400
        r = httpx.get(
            url + "/v1/models", headers={"origin": "https://app.example", "authorization": "Bearer sk-c"}
        )
        assert r.headers["access-control-allow-origin"] == "https://app.example"


def test_max_body_applies_to_every_route(start_server):
    with start_server("--max-body-bytes", "1000") as url:
        for path in ("/v1/chat/completions", "/v1/anything/else", "/v1/messages"):
            r = httpx.post(url + path, content=b"x" * 2000, headers={"content-type": "application/json"})
            assert r.status_code == 413, path
        assert r.json()["type"] == "error"  # Anthropic's envelope on /v1/messages
        r = httpx.post(url + "/v1/chat/completions", content=iter([b"x" * 600, b"x" * 600]))  # chunked
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
