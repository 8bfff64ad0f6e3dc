"""``/v1/models`` in Anthropic's shape for requests with an ``anthropic-version`` header (the official
``anthropic`` SDK), and unchanged for OpenAI's."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest
from anthropic.types import ModelInfo

pytestmark = pytest.mark.integration

V = {"anthropic-version": "2023-06-01"}


@pytest.fixture()
def claude(base_url):
    with anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as c:
        yield c


def every_id(http: httpx.Client) -> list[str]:
    return [m["id"] for m in http.get("/v1/models").json()["data"]]


def test_the_list_is_a_page_of_model_infos(claude: anthropic.Anthropic, http: httpx.Client) -> None:
    r = http.get("/v1/models", headers=V, params={"limit": 1000})
    assert r.status_code == 200 and r.headers["request-id"] == r.headers["x-request-id"]
    page = r.json()
    assert set(page) == {"data", "has_more", "first_id", "last_id"} and page["has_more"] is False
    for raw in page["data"]:
        info = ModelInfo.model_validate(raw)  # strictly: every required field, the right types
        assert info.type == "model" and info.lifecycle == "active" and info.display_name
        assert raw["created_at"].endswith("Z")
    assert [m["id"] for m in page["data"]] == every_id(http)  # the same models as OpenAI's list
    assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"]
    gpt = next(m for m in page["data"] if m["id"] == "gpt-4o")
    assert gpt["max_input_tokens"] == 128_000 and gpt["created_at"] == "2023-11-14T22:13:20Z"


def test_paging_with_the_sdk(claude: anthropic.Anthropic, http: httpx.Client) -> None:
    ids = every_id(http)
    first = claude.models.list(limit=2)
    assert [m.id for m in first.data] == ids[:2] and first.has_more
    assert first.first_id == ids[0] and first.last_id == ids[1]
    second = claude.models.list(limit=3, after_id=first.last_id)
    assert [m.id for m in second.data] == ids[2:5]
    back = claude.models.list(limit=2, before_id=second.first_id)
    assert [m.id for m in back.data] == ids[:2] and not back.has_more
    assert len(claude.models.list().data) == 20  # Anthropic's default limit
    assert [m.id for m in claude.models.list(limit=7)] == ids  # the auto-pager walks them all
    assert [m.id for m in claude.beta.models.list(limit=1000).data] == ids


def test_retrieve(claude: anthropic.Anthropic) -> None:
    info = claude.models.retrieve("gpt-4o")
    assert info.id == "gpt-4o" and info.type == "model" and info.created_at.year == 2023
    assert info._request_id
    assert claude.models.retrieve("meta-llama/Llama-3.1-8B-Instruct").max_input_tokens == 131_072
    claude.messages.create(
        model="claude-auto-registered-1", max_tokens=2, messages=[{"role": "user", "content": "x"}]
    )
    assert claude.models.retrieve("claude-auto-registered-1").display_name == "claude-auto-registered-1"
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude.models.retrieve("claude-does-not-exist-9")
    assert missing.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "model: claude-does-not-exist-9"},
    }
    assert missing.value.request_id


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "two"}, "limit"),
        ({"before_id": "gpt-4o", "after_id": "gpt-4o"}, "before_id"),
        ({"after_id": "no-such-model"}, "after_id"),
    ],
)
def test_bad_list_queries_are_400s_in_anthropics_envelope(
    http: httpx.Client, query: dict, param: str
) -> None:
    r = http.get("/v1/models", headers=V, params=query)
    assert r.status_code == 400 and r.headers["request-id"]
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(param)


def test_openai_requests_are_unchanged(client: openai.OpenAI, http: httpx.Client) -> None:
    body = http.get("/v1/models", params={"limit": 2}).json()
    assert body["object"] == "list" and set(body) == {"object", "data"} and len(body["data"]) > 2
    assert body["data"][0]["object"] == "model" and "has_more" not in body
    assert client.models.retrieve("gpt-4o").owned_by == "openai"
    r = http.get("/v1/models/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert "request-id" not in r.headers and r.headers["x-request-id"]
