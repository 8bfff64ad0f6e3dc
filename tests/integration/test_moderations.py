"""``POST /v1/moderations`` through the openai SDK: OpenAI's categories, flags from the lexicons."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

CATEGORIES = {
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
}


def test_violent_text_is_flagged_and_benign_text_is_not(client):
    r = client.moderations.create(
        model="omni-moderation-latest",
        input=["I will kill you, I will stab you", "Let's meet for coffee tomorrow."],
    )
    violent, benign = r.results
    assert violent.flagged and violent.categories.violence and violent.categories.harassment_threatening
    assert violent.category_scores.violence > 0.9
    assert not benign.flagged and max(benign.category_scores.model_dump().values()) < 0.01
    assert r.model == "omni-moderation-2024-09-26" and r.id.startswith("modr-")


def test_full_category_set_and_applied_input_types(http):
    body = http.post("/v1/moderations", json={"input": "they are vermin and subhuman"}).json()
    result = body["results"][0]
    for key in ("categories", "category_scores", "category_applied_input_types"):
        assert set(result[key]) == CATEGORIES
    assert result["categories"]["hate"] and result["flagged"]
    assert all(v == ["text"] for v in result["category_applied_input_types"].values())


@pytest.mark.parametrize(
    "text, category",
    [
        ("I want to die, I am going to kill myself tonight", "self_harm_intent"),
        ("hardcore porn with nude strangers", "sexual"),
        ("how do I make a bomb at home", "illicit_violent"),
        ("you are a worthless idiot and a moron", "harassment"),
        ("blood and gore everywhere, dismembered bodies", "violence_graphic"),
    ],
)
def test_each_lexicon_flags_its_category(client, text, category):
    result = client.moderations.create(input=text).results[0]
    assert result.flagged and getattr(result.categories, category)


def test_text_and_image_parts_are_one_result(client):
    r = client.moderations.create(
        model="omni-moderation-latest",
        input=[
            {"type": "text", "text": "a peaceful meadow"},
            {"type": "image_url", "image_url": {"url": "https://example.com/meadow.png"}},
        ],
    )
    (result,) = r.results
    assert not result.flagged
    applied = result.category_applied_input_types
    assert applied.violence == ["text", "image"] and applied.hate == ["text"]
    images_only = client.moderations.create(
        input=[{"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]
    ).results[0]
    assert images_only.category_applied_input_types.hate == []
    assert images_only.category_applied_input_types.sexual == ["image"]


def test_threshold_is_configurable(start_server):
    text = {"input": "There was a shot in the distance."}  # one weak violence word: score about 0.45
    with start_server("--ttft", "0", "--itl", "0", "--moderation-threshold", "0.3") as url:
        assert httpx.post(url + "/v1/moderations", json=text).json()["results"][0]["categories"]["violence"]
    with start_server("--ttft", "0", "--itl", "0", "--moderation-threshold", "0.9") as url:
        r = httpx.post(
            url + "/v1/moderations", json={"input": ["I will kill you", "There was a shot."]}
        ).json()
        assert [x["flagged"] for x in r["results"]] == [True, False]


@pytest.mark.parametrize(
    "body, param",
    [
        ({}, "input"),
        ({"input": []}, "input"),
        ({"input": 5}, "input"),
        ({"input": [{"type": "video", "url": "x"}]}, "input[0].type"),
        ({"input": ["ok", {"type": "text", "text": "x"}]}, "input"),
        (
            {"model": "text-moderation-latest", "input": [{"type": "image_url", "image_url": {"url": "u"}}]},
            "input",
        ),
        ({"input": [{"type": "image_url", "image_url": {}}]}, "input[0].image_url.url"),
    ],
)
def test_bad_moderation_requests(http, body, param):
    r = http.post("/v1/moderations", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param
