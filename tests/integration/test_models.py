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
