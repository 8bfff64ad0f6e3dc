"""LoRA adapters through the public surface: ``--lora-modules``, the load/unload endpoints, ``/v1/models``
and requests that name an adapter, on a server with two worker processes."""

from __future__ import annotations

import httpx
import openai
import pytest

from fakeai.runtime.process import run_fakeai

pytestmark = pytest.mark.integration

START = [
    "--ttft",
    "0",
    "--itl",
    "0",
    "--workers",
    "2",
    "--max-loras",
    "3",
    "--lora-modules",
    "sql=/loras/sql",
    '{"name": "qwen-tuned", "path": "/loras/qwen", "base_model_name": "Qwen/Qwen3-8B"}',
]


@pytest.fixture(scope="module")
def server(start_server):
    with start_server(*START) as url:
        yield url


def model_ids(url: str) -> set[str]:
    # A new connection each time, so that both workers get asked.
    return {m["id"] for m in httpx.get(url + "/v1/models").json()["data"]}


def test_startup_adapters_are_listed_with_parent_and_root(server):
    cards = {m["id"]: m for m in httpx.get(server + "/v1/models").json()["data"]}
    assert cards["sql"]["root"] == "/loras/sql"
    assert cards["sql"]["parent"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert cards["qwen-tuned"]["parent"] == "Qwen/Qwen3-8B"
    assert cards["qwen-tuned"]["max_model_len"] == cards["Qwen/Qwen3-8B"]["max_model_len"]
    assert cards["gpt-4o"]["parent"] is None
    one = httpx.get(server + "/v1/models/qwen-tuned").json()
    assert (one["id"], one["root"]) == ("qwen-tuned", "/loras/qwen")


def test_requests_naming_an_adapter_are_served(server):
    with openai.OpenAI(base_url=server + "/v1", api_key="k", max_retries=0) as client:
        r = client.chat.completions.create(
            model="sql", messages=[{"role": "user", "content": "hi"}], max_tokens=5
        )
        assert r.model == "sql" and r.usage.completion_tokens <= 5
        r = client.completions.create(model="qwen-tuned", prompt="hi", max_tokens=3)
        assert r.model == "qwen-tuned"
        assert client.models.retrieve("sql").root == "/loras/sql"


def test_load_and_unload_at_run_time_reach_every_worker(server):
    r = httpx.post(server + "/v1/load_lora_adapter", json={"lora_name": "extra", "lora_path": "/loras/extra"})
    assert r.status_code == 200 and r.text == "Success: LoRA adapter 'extra' added successfully."
    for _ in range(8):
        assert "extra" in model_ids(server)
    with openai.OpenAI(base_url=server + "/v1", api_key="k", max_retries=0) as client:
        assert (
            client.chat.completions.create(model="extra", messages=[{"role": "user", "content": "x"}]).model
            == "extra"
        )

    r = httpx.post(server + "/v1/unload_lora_adapter", json={"lora_name": "extra"})
    assert r.status_code == 200 and r.text == "Success: LoRA adapter 'extra' removed successfully."
    for _ in range(8):
        assert "extra" not in model_ids(server)


def test_bad_adapter_requests(server):
    load, unload = server + "/v1/load_lora_adapter", server + "/v1/unload_lora_adapter"
    dup = httpx.post(load, json={"lora_name": "sql", "lora_path": "/x"})
    assert dup.status_code == 400
    assert dup.json()["error"] == {
        "message": "The lora adapter 'sql' has already been loaded.",
        "type": "InvalidUserInput",
        "param": None,
        "code": 400,
    }
    missing = httpx.post(unload, json={"lora_name": "nope"})
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "NotFoundError"
    assert httpx.post(load, json={"lora_name": "third", "lora_path": "/3"}).status_code == 200
    over = httpx.post(load, json={"lora_name": "fourth", "lora_path": "/4"})
    assert over.status_code == 400 and "--max-loras 3" in over.json()["error"]["message"]
    assert httpx.post(unload, json={"lora_name": "third"}).status_code == 200
    empty = httpx.post(load, json={"lora_name": "", "lora_path": "/4"})
    assert empty.status_code == 400 and "must be provided" in empty.json()["error"]["message"]
    no_path = httpx.post(load, json={"lora_name": "x"})
    assert no_path.status_code == 400 and no_path.json()["error"]["param"] == "lora_path"
    assert httpx.post(load, content=b"{nope").status_code == 400
    assert httpx.get(load).status_code == 405


def test_more_startup_adapters_than_max_loras_is_a_startup_error():
    r = run_fakeai("server", "--max-loras", "1", "--lora-modules", "a=/a", "b=/b")
    assert r.returncode != 0 and "--max-loras" in r.stderr and "Traceback" not in r.stderr
    r = run_fakeai("server", "--lora-modules", "broken")
    assert r.returncode != 0 and "name=path" in r.stderr
