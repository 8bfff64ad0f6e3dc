"""Deployment surface: ``/ready``, pod headers, TLS through granian, and data-parallel ranks."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from fakeai.runtime.process import free_port_pair, run_fakeai

pytestmark = pytest.mark.integration


def test_ready_and_health(http):
    r = http.get("/ready")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    assert http.get("/health").status_code == 200
    assert http.post("/ready").status_code == 405


def test_no_pod_headers_without_the_environment(http):
    headers = http.get("/health").headers
    assert not any(name.startswith("x-inference-") for name in headers)


def test_pod_headers_come_from_the_environment(start_server):
    env = {"POD_NAME": "fakeai-7c9d-abc", "POD_NAMESPACE": "llm"}
    with start_server("--ttft", "0", "--itl", "0", env=env) as url:
        port = url.rsplit(":", 1)[1]
        for r in (
            httpx.get(url + "/ready"),
            httpx.get(url + "/nope"),
            httpx.post(
                url + "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
            ),
        ):
            assert r.headers["x-inference-pod"] == "fakeai-7c9d-abc"
            assert r.headers["x-inference-namespace"] == "llm"
            assert r.headers["x-inference-port"] == port
        with httpx.stream(
            "POST",
            url + "/v1/chat/completions",
            json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]},
        ) as r:
            assert r.headers["x-inference-pod"] == "fakeai-7c9d-abc"


class Launched:
    """``fakeai server`` run directly (the shared fixture speaks plain HTTP only), log kept in a file."""

    def __init__(self, tmp_path: Path, port: int, *flags: str) -> None:
        self.log = tmp_path / "server.log"
        self.port = port
        cmd = [
            sys.executable,
            "-m",
            "fakeai",
            "server",
            "--port",
            str(self.port),
            "--ttft",
            "0",
            "--itl",
            "0",
            "--log-level",
            "info",
            *flags,
        ]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not seen; output:\n{self.output()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise


def wait_https(url: str, context: ssl.SSLContext) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", verify=context, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("no HTTPS answer")


def test_self_signed_certificate_serves_https(tmp_path, pick_port):
    server = Launched(tmp_path, pick_port(), "--self-signed-certs")
    try:
        cert = server.wait_for(r"self-signed certificate: (\S+)").group(1)
        context = ssl.create_default_context(cafile=cert)
        url = f"https://127.0.0.1:{server.port}"
        wait_https(url, context)
        with httpx.Client(base_url=url, verify=context) as client:
            assert client.get("/ready").json() == {"status": "ready"}
        with openai.OpenAI(
            base_url=url + "/v1", api_key="k", http_client=httpx.Client(verify=context)
        ) as sdk:
            reply = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content
        with pytest.raises(httpx.ConnectError):  # not trusted without the certificate
            httpx.get(url + "/health")
    finally:
        assert server.stop() == 0


def test_given_certificate_files_serve_https(tmp_path, pick_port):
    from fakeai.runtime import tls

    cert, key = tls.self_signed(tmp_path, "127.0.0.1")
    server = Launched(tmp_path, pick_port(), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    try:
        url = f"https://localhost:{server.port}"
        wait_https(url, ssl.create_default_context(cafile=str(cert)))
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--ssl-certfile", "/x.pem"], "--ssl-keyfile"),
        (["--self-signed-certs", "--ssl-certfile", "/a", "--ssl-keyfile", "/b"], "exclude"),
        (["--data-parallel-size", "2", "--port", "0"], "--port"),
        (["--data-parallel-size", "0"], "--data-parallel-size"),
    ],
)
def test_bad_deployment_flags_are_clear_startup_errors(flags, needle):
    r = run_fakeai("server", *flags)
    assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr


def test_data_parallel_ranks_serve_on_consecutive_ports_and_stop_together(tmp_path, pick_port):
    port = free_port_pair()
    server = Launched(tmp_path, port, "--data-parallel-size", "2", "--lora-modules", "base-lora=/l")
    urls = [f"http://127.0.0.1:{server.port + k}" for k in range(2)]
    try:
        wait_ready(urls, server)
        for url in urls:
            with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as sdk:
                r = sdk.chat.completions.create(
                    model="base-lora", messages=[{"role": "user", "content": "hi"}]
                )
                assert r.model == "base-lora"
        # Each rank has its own state: an adapter loaded on rank 0 is not on rank 1.
        load = {"lora_name": "rank0-only", "lora_path": "/r0"}
        assert httpx.post(urls[0] + "/v1/load_lora_adapter", json=load).status_code == 200
        ids = [{m["id"] for m in httpx.get(url + "/v1/models").json()["data"]} for url in urls]
        assert "rank0-only" in ids[0] and "rank0-only" not in ids[1]
    finally:
        assert server.stop() == 0
    for url in urls:
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/health", timeout=1)
    assert len(re.findall(r"Listening at", server.output())) == 2


def wait_ready(urls: list[str], server: Launched) -> None:
    for url in urls:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.1)


def test_ranks_stop_when_their_supervisor_is_killed(tmp_path, pick_port):
    server = Launched(tmp_path, free_port_pair(), "--data-parallel-size", "2")
    urls = [f"http://127.0.0.1:{server.port + k}" for k in range(2)]
    try:
        wait_ready(urls, server)
        server.proc.kill()  # the supervisor only: ranks live in their own process groups
        server.proc.wait(10)
        deadline = time.monotonic() + 20
        for url in urls:
            while True:
                try:
                    httpx.get(url + "/health", timeout=1)
                except httpx.ConnectError:
                    break
                assert time.monotonic() < deadline, f"{url} still serving after its supervisor died"
                time.sleep(0.2)
    finally:
        server.stop()
