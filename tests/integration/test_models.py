"""``GET /v1/models``, ``GET /v1/models/{id}`` and ``GET /health``."""

from __future__ import annotations

import openai
import pytest

pytestmark = pytest.mark.integration


def test_list_has_the_catalog(client):
    ids = {m.id for m in client.models.list()}
    for expected in (
        "gpt-4o",
        "meta-llama/Llama-3.1-8B-Instruct",
        "deepseek-ai/DeepSeek-R1",
        "Qwen/Qwen2.5-7B-Instruct",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "nvidia/llama-3.1-nemotron-70b-instruct",
        "text-embedding-3-small",
    ):
        assert expected in ids


def test_retrieve_ids_with_slashes(client, http):
    m = client.models.retrieve("meta-llama/Llama-3.1-8B-Instruct")
    assert m.object == "model" and m.owned_by == "meta"
    card = http.get("/v1/models/meta-llama/Llama-3.1-8B-Instruct").json()
    assert card["context_length"] == 131072
    assert "tools" in card["capabilities"]


def test_unknown_model_is_404_with_envelope(client, http):
    with pytest.raises(openai.NotFoundError) as e:
        client.models.retrieve("never/used-model")
    assert e.value.body["code"] == "model_not_found"
    r = http.get("/v1/models/never/used-model")
    assert r.json()["error"]["param"] == "model"


def test_health(http):
    r = http.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "healthy"


def test_auto_registered_ids_are_bounded_and_later_ones_still_served(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--max-auto-models", "3") as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            listed_before = {m.id for m in client.models.list()}
            for i in range(6):
                r = client.chat.completions.create(
                    model=f"acme/model-{i}", messages=[{"role": "user", "content": "hi"}], max_tokens=2
                )
                assert r.model == f"acme/model-{i}"
            listed = {m.id for m in client.models.list()} - listed_before
            assert listed == {"acme/model-0", "acme/model-1", "acme/model-2"}
            with pytest.raises(openai.NotFoundError):
                client.models.retrieve("acme/model-5")
