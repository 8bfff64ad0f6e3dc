"""The ``fakeai`` command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fakeai.runtime.process import free_port_pair, run_fakeai, stop, wait_healthy

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


def test_an_engine_region_too_large_is_refused_at_start():
    """Each bound alone allows it, but 256 replicas of 65,536 + 4,096 slots overflow the shared region:
    refused at start, not as a 500 on every engine-timed request."""
    r = run("server", "--replicas", "256", "--max-num-seqs", "65536")
    assert r.returncode == 2 and r.stderr.startswith("fakeai server: error: --replicas x (--max-num-seqs"), (
        r.stderr
    )
    assert "Traceback" not in r.stderr


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


HELP_LINE = "--port PORT  TCP port to listen on. (default: 8000; env FAKEAI_PORT)\n"
POINTER = "(fakeai server --help lists every option)\n"


@pytest.mark.parametrize(
    "args, env, first_line, help_start",
    [
        (("--port", "abc"), None, "argument --port: invalid integer value: 'abc'", HELP_LINE),
        (("--port", "70000"), None, "--port / FAKEAI_PORT must be <= 65535, got 70000", HELP_LINE),
        ((), {"FAKEAI_PORT": "x"}, "FAKEAI_PORT must be an integer, got 'x'", HELP_LINE),
        (
            ("--gpu-model", "V100"),
            None,
            "argument --gpu-model: invalid choice: 'V100' (choose from 'A100', 'H100', 'H200', 'B200')",
            "--gpu-model {A100,H100,H200,B200}\n",
        ),
        (
            ("--rate-limit-tier", "gold"),
            None,
            "--rate-limit-tier / FAKEAI_RATE_LIMIT_TIER must be one of free, tier-1, tier-2, tier-3, "
            "tier-4, tier-5 (or '' for none)",
            "--rate-limit-tier {free,tier-1,tier-2,tier-3,tier-4,tier-5}\n",
        ),
    ],
)
def test_a_bad_value_prints_the_error_and_the_options_help_not_the_usage(args, env, first_line, help_start):
    r = run("server", *args, env=env)
    assert r.returncode == 2 and r.stdout == ""
    error, rest = r.stderr.split("\n", 1)
    assert error == f"fakeai server: error: {first_line}"
    assert rest.startswith(help_start) and rest.endswith(POINTER), r.stderr
    assert "usage:" not in r.stderr and len(r.stderr.splitlines()) <= 5


def test_startup_summary_lists_the_urls_and_every_non_default_option(tmp_path, start_server):
    scenario = tmp_path / "scenario.toml"
    scenario.write_text('rate_limit_tier = "tier-2"\n[[errors]]\nrate = 0.5\nmix = "503"\n')
    log = tmp_path / "server.log"
    flags = ["--log-level", "info", "--config", str(scenario), "--api-key", "sk-summary-key-0001"]
    flags += ["--error-rate", "0.01", "--chaos-rate", "0.02", "--mode", "echo", "--ttft", "5"]
    with log.open("wb") as out, start_server(*flags, output=out) as base:
        pass
    text = log.read_text()
    for url in ("/v1", "/dashboard", "/metrics/prometheus", "/health"):
        assert f" {base}{url}\n" in text, url
    assert f"serving on {base} (1 worker)" in text
    assert "timing           TTFT 5 ms, ITL per model for every model" in text
    for item in (
        f"--config {scenario} (1 error rule)",
        "--api-key sk-************0001 (1 key)",
        "--rate-limit-tier tier-2",
        "--error-rate 0.01",
        "--chaos-rate 0.02",
        "--mode echo",
        "--ttft 5",
    ):
        assert item in text, item
    assert "sk-summary-key" not in text and "--log-level" not in text.split("non-default options:")[1]


def test_root_points_at_the_dashboard_and_the_docs(http):
    r = http.get("/")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["dashboard"] == "/dashboard" and doc["openai_base_url"] == "/v1"
    assert doc["docs"].startswith("https://") and http.get(doc["dashboard"]).status_code == 200


@pytest.mark.parametrize(
    "module, flags, line",
    [
        (
            "cryptography",
            ["--self-signed-certs"],
            "--self-signed-certs needs the cryptography package: pip install 'fakeai[tls]'",
        ),
        (
            "zmq",
            ["--kv-events", "tcp://127.0.0.1:5599"],
            "--kv-events needs the zmq package: pip install 'fakeai[kv-events]'",
        ),
        (
            "yaml",
            ["--config", "{yaml}"],
            "a YAML scenario file needs the yaml package: pip install 'fakeai[yaml]'",
        ),
    ],
)
def test_a_missing_optional_package_is_one_line_naming_the_extra(tmp_path, module, flags, line):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("ttft_ms: 0\n")
    flags = [f.format(yaml=scenario) for f in flags]
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"  # as if the package were not installed
        f"from fakeai.cli import main; main(['server', *{flags!r}])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[0] == f"fakeai server: error: {line}"


def launch(log: Path, *flags: str) -> subprocess.Popen[bytes]:
    """``fakeai server FLAGS`` in its own process group, its output (both streams) in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fakeai", "server", "--log-level", "info", *flags],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_logged(log: Path, pattern: str, count: int = 1, proc: subprocess.Popen[bytes] | None = None):
    """The first ``count`` matches of ``pattern`` in ``log``, once the server has written them."""
    deadline = time.monotonic() + 30
    while True:
        found = re.findall(pattern, log.read_text())
        if len(found) >= count:
            return found[:count]
        assert time.monotonic() < deadline and (proc is None or proc.poll() is None), log.read_text()
        time.sleep(0.05)


def test_port_0_on_an_address_not_of_this_machine_is_one_line():
    r = run("server", "--host", "192.0.2.1", "--port", "0")  # TEST-NET-1
    assert r.returncode != 0 and "Traceback" not in r.stderr and "panicked" not in r.stderr
    assert r.stderr.strip() == (
        "fakeai: cannot assign requested address 192.0.2.1 (not an address of this machine); pass --host"
    )


def test_port_0_serves_on_a_free_port_and_logs_it(tmp_path):
    log = tmp_path / "server.log"
    proc = launch(log, "--host", "127.0.0.1", "--port", "0", "--workers", "2")
    try:
        [url] = wait_logged(log, r"serving on (http://127\.0\.0\.1:\d+) \(2 workers\)", proc=proc)
        assert not url.endswith(":0")
        wait_healthy(proc, url + "/health")  # the summary is logged before the workers start
        for _ in range(10):  # both workers listen on it
            assert httpx.get(url + "/health", timeout=5).status_code == 200
        text = log.read_text()
        assert f"Listening at: {url}\n" in text and f"health           {url}/health\n" in text
        assert ":0/" not in text
    finally:
        stop(proc)


def test_each_data_parallel_rank_names_the_size_in_its_summary(tmp_path):
    log = tmp_path / "server.log"
    port = free_port_pair()
    proc = launch(log, "--host", "127.0.0.1", "--port", str(port), "--data-parallel-size", "2")
    try:
        wait_logged(log, r"vLLM compatibility   --data-parallel-size 2\n", count=2, proc=proc)
        heads = wait_logged(log, r"serving on (\S+) \(1 worker, data-parallel rank (\d) of 2\)", 2)
        assert sorted(heads) == [(f"http://127.0.0.1:{port + k}", str(k)) for k in range(2)]
        assert "every other option at its default" not in log.read_text()
    finally:
        stop(proc)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_simulate_into_a_closed_pipe_exits_quietly(fmt):
    """``fakeai simulate ... | head -3``: the reader has gone when the results are written."""
    read, write = os.pipe()
    os.close(read)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "fakeai", "simulate", "--concurrency", "1", "2", "--format", fmt],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert r.returncode == 141 and r.stderr == "", r.stderr


def test_a_server_keeps_serving_when_the_reader_of_its_log_goes_away(tmp_path):
    """``fakeai server | head -3``: the lines after the reader left are dropped, no "Logging error"
    traceback for each."""
    errors = tmp_path / "stderr.log"
    port = free_port_pair()
    cmd = [
        sys.executable,
        "-m",
        "fakeai",
        "server",
        "--port",
        str(port),
        "--access-log",
        "--log-level",
        "info",
    ]
    with errors.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, start_new_session=True)
    try:
        assert proc.stdout is not None
        for _ in range(3):
            proc.stdout.readline()
        proc.stdout.close()  # as head does after its lines
        url = f"http://127.0.0.1:{port}"
        wait_healthy(proc, url + "/health")
        for _ in range(5):  # each one an access-log line to the closed pipe
            assert httpx.get(url + "/health", timeout=5).status_code == 200
        assert proc.poll() is None
    finally:
        stop(proc)
    assert errors.read_text() == ""


def test_a_host_name_serves_on_its_address(start_server):
    """``--host localhost`` ended in granian's "invalid IP address syntax" traceback."""
    with start_server("--host", "localhost") as url:
        assert httpx.get(url + "/health", timeout=5).status_code == 200
