"""``GET /v1/models``, ``GET /v1/models/{id}`` and ``GET /health``."""

from __future__ import annotations

import httpx
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
        # the media endpoints' models, as OpenAI lists them
        "dall-e-3",
        "gpt-image-1",
        "tts-1",
        "whisper-1",
        "omni-moderation-latest",
        "sora-2",
        "gpt-4o-realtime-preview",
    ):
        assert expected in ids
    sora = client.models.retrieve("sora-2")
    assert sora.id == "sora-2" and sora.owned_by == "openai"


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


def fresh_get(url: str, path: str) -> httpx.Response:
    """One request on a new connection, so that granian may hand it to any worker."""
    with httpx.Client(base_url=url, timeout=10) as c:
        return c.get(path)


def test_auto_registered_models_are_server_wide(start_server):
    """#17: with two workers, a model registered by one request is listed and retrievable whichever
    worker answers (40 fresh connections: the old per-worker registry gave about half 404s)."""
    with start_server("--workers", "2", "--ttft", "0", "--itl", "0") as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            client.chat.completions.create(
                model="acme/plausible-x-8b", messages=[{"role": "user", "content": "hi"}], max_tokens=2
            )
            client.embeddings.create(model="acme/embedder-1", input="hi")
        for _ in range(20):
            r = fresh_get(url, "/v1/models/acme/plausible-x-8b")
            assert r.status_code == 200 and r.json()["owned_by"] == "acme", r.text
            card = fresh_get(url, "/v1/models/acme/embedder-1").json()
            assert card["capabilities"] == ["embeddings"]
        listings = {tuple(m["id"] for m in fresh_get(url, "/v1/models").json()["data"]) for _ in range(20)}
        assert len(listings) == 1
        assert listings.pop()[-2:] == ("acme/plausible-x-8b", "acme/embedder-1")


def test_auto_registration_is_bounded(start_server):
    with start_server("--workers", "2", "--ttft", "0", "--itl", "0", "--max-auto-models", "2") as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            for name in ("org/one", "org/two", "org/three"):
                r = client.chat.completions.create(
                    model=name, messages=[{"role": "user", "content": "hi"}], max_tokens=2
                )
                assert r.model == name  # past the bound a new id is still answered
        for _ in range(10):
            listed = fresh_get(url, "/v1/models").json()["data"]
            assert [m["id"] for m in listed if m["id"].startswith("org/")] == ["org/one", "org/two"]
            r = fresh_get(url, "/v1/models/org/three")
            assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("model", ["gpt-4o\n", " gpt-4o", "gpt-4o ", "a\x00b", "\t"])
def test_ids_with_control_characters_or_outer_spaces_are_refused(http, model):
    """Such an id would be registered and listed, but its URL could never retrieve it."""
    r = http.post(
        "/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "model", r.text
    assert "without control characters or spaces at either end" in r.json()["error"]["message"]
    assert "regex" not in r.json()["error"]["message"]  # words, not the schema's pattern
    assert model not in [m["id"] for m in http.get("/v1/models").json()["data"]]
