"""``/v1/organization/usage/*`` and ``/costs``: buckets add up what every worker actually served."""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.integration


def envelope(r: httpx.Response, param: str) -> dict:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param
    return error


def test_usage_and_costs_count_what_was_served(start_server) -> None:
    with start_server("--workers", "2", "--ttft", "0", "--itl", "0") as url:
        start = int(time.time()) - 1
        served: dict[str, list[int]] = {"gpt-4o": [0, 0, 0], "gpt-4o-mini": [0, 0, 0]}
        for i in range(20):  # fresh connections: both workers answer
            model = "gpt-4o" if i % 2 else "gpt-4o-mini"
            body = {"model": model, "messages": [{"role": "user", "content": f"hi {i}"}], "max_tokens": 8}
            usage = httpx.post(url + "/v1/chat/completions", json=body).json()["usage"]
            served[model][0] += usage["prompt_tokens"]
            served[model][1] += usage["completion_tokens"]
            served[model][2] += 1
        embedded = httpx.post(
            url + "/v1/embeddings", json={"model": "text-embedding-3-small", "input": "a b c"}
        )
        embedding_tokens = embedded.json()["usage"]["prompt_tokens"]
        r = httpx.post(
            url + "/v1/responses", json={"model": "gpt-4o", "input": "hello", "max_output_tokens": 16}
        )
        served["gpt-4o"][0] += r.json()["usage"]["input_tokens"]
        served["gpt-4o"][1] += r.json()["usage"]["output_tokens"]
        served["gpt-4o"][2] += 1

        params = {"start_time": start, "bucket_width": "1m", "group_by": "model"}
        page = httpx.get(url + "/v1/organization/usage/completions", params=params).json()
        assert page["object"] == "page" and page["has_more"] is False
        totals = {}
        for bucket in page["data"]:
            assert bucket["object"] == "bucket" and bucket["end_time"] - bucket["start_time"] <= 60
            for result in bucket["results"]:
                assert result["object"] == "organization.usage.completions.result"
                got = totals.setdefault(result["model"], [0, 0, 0])
                got[0] += result["input_tokens"]
                got[1] += result["output_tokens"]
                got[2] += result["num_model_requests"]
        assert totals == served

        whole = httpx.get(url + "/v1/organization/usage/completions", params={"start_time": start}).json()
        results = [r for b in whole["data"] for r in b["results"]]  # one bucket, two around midnight UTC
        assert (
            all(r["model"] is None for r in results) and sum(r["num_model_requests"] for r in results) == 21
        )

        emb = httpx.get(url + "/v1/organization/usage/embeddings", params={"start_time": start}).json()
        assert sum(r["input_tokens"] for b in emb["data"] for r in b["results"]) == embedding_tokens
        assert (
            httpx.get(url + "/v1/organization/usage/images", params={"start_time": start}).json()["data"][0][
                "results"
            ]
            == []
        )
        only = httpx.get(
            url + "/v1/organization/usage/completions",
            params={"start_time": start, "models": "gpt-4o-mini", "group_by": "model"},
        ).json()
        assert {r["model"] for b in only["data"] for r in b["results"]} == {"gpt-4o-mini"}

        costs = httpx.get(
            url + "/v1/organization/costs", params={"start_time": start, "group_by": "line_item"}
        ).json()
        items = {r["line_item"]: r["amount"]["value"] for r in costs["data"][0]["results"]}
        assert items["gpt-4o, input"] == pytest.approx(served["gpt-4o"][0] * 2.5 / 1e6)
        assert items["gpt-4o-mini, output"] == pytest.approx(served["gpt-4o-mini"][1] * 0.6 / 1e6)
        assert items["text-embedding-3-small, input"] == pytest.approx(embedding_tokens * 0.02 / 1e6)
        assert all(r["amount"]["currency"] == "usd" for r in costs["data"][0]["results"])


def test_paging_and_bad_parameters(http: httpx.Client) -> None:
    now = int(time.time())
    first = http.get(
        "/v1/organization/usage/completions",
        params={"start_time": now - 3 * 3600, "bucket_width": "1h", "limit": 2},
    ).json()
    assert len(first["data"]) == 2 and first["has_more"] and first["next_page"]
    rest = http.get(
        "/v1/organization/usage/completions",
        params={"start_time": now - 3 * 3600, "bucket_width": "1h", "limit": 2, "page": first["next_page"]},
    ).json()
    assert rest["data"][0]["start_time"] == first["data"][-1]["end_time"] and not rest["has_more"]
    path = "/v1/organization/usage/completions"
    missing = envelope(http.get(path), "start_time")
    assert missing["code"] == "missing_required_parameter"
    for given in ("-1", "abc", "²"):  # said "is required" though it was given
        bad = envelope(http.get(path, params={"start_time": given}), "start_time")
        assert bad["code"] == "invalid_value" and "required" not in bad["message"]
    envelope(http.get(path, params={"start_time": now, "end_time": now - 5}), "end_time")
    envelope(http.get(path, params={"start_time": now, "bucket_width": "2d"}), "bucket_width")
    envelope(http.get(path, params={"start_time": now, "bucket_width": "1d", "limit": 32}), "limit")
    color = envelope(http.get(path, params={"start_time": now, "group_by": "model,color"}), "group_by")
    assert color["message"] == "Unsupported 'group_by' value 'color'."  # not the Python list of them all
    envelope(http.get(path, params={"start_time": now, "page": "nope"}), "page")
    envelope(
        http.get("/v1/organization/costs", params={"start_time": now, "bucket_width": "1h"}), "bucket_width"
    )


def test_a_huge_range_builds_only_the_page_asked_for(http: httpx.Client) -> None:
    path = "/v1/organization/usage/completions"
    for width, seconds in (("1m", 60), ("1h", 3600), ("1d", 86400)):
        page = http.get(path, params={"start_time": 0, "bucket_width": width, "limit": 1}).json()
        assert [(b["start_time"], b["end_time"]) for b in page["data"]] == [(0, seconds)]
        assert page["has_more"] and page["next_page"] == f"page_{seconds}"
    far = {"start_time": 0, "end_time": 253_402_300_799, "bucket_width": "1m", "limit": 1440}
    page = http.get(path, params=far).json()
    assert len(page["data"]) == 1440 and page["has_more"]
    last = http.get(path, params={**far, "page": "page_253402300740"}).json()
    assert len(last["data"]) == 1 and not last["has_more"] and last["data"][0]["end_time"] == far["end_time"]
    costs = http.get("/v1/organization/costs", params={"start_time": 0, "end_time": far["end_time"]}).json()
    assert len(costs["data"]) == 7 and costs["has_more"]


@pytest.mark.parametrize(
    "params, param",
    [
        ({"start_time": 0, "end_time": 99_999_999_999_999}, "end_time"),
        ({"start_time": "9" * 5000}, "start_time"),
        ({"start_time": "\u00b2"}, "start_time"),
        ({"start_time": -1}, "start_time"),
        ({"start_time": 0, "limit": 0}, "limit"),
        ({"start_time": 0, "limit": "9" * 5000}, "limit"),
        ({"start_time": 0, "limit": "1.5"}, "limit"),
        ({"start_time": 0, "page": "page_" + "9" * 5000}, "page"),
    ],
)
def test_out_of_range_times_and_limits_are_400(http: httpx.Client, params, param) -> None:
    envelope(http.get("/v1/organization/usage/completions", params=params), param)


def test_images_speech_and_transcriptions_are_counted(base_url):
    import time

    import httpx

    now = int(time.time())
    httpx.post(
        base_url + "/v1/images/generations",
        json={
            "model": "dall-e-2",
            "prompt": "a cat",
            "n": 2,
            "size": "256x256",
            "response_format": "b64_json",
        },
    )
    speech = httpx.post(
        base_url + "/v1/audio/speech",
        json={"model": "tts-1", "voice": "alloy", "input": "Hello there", "response_format": "wav"},
    )
    httpx.post(
        base_url + "/v1/audio/transcriptions",
        data={"model": "whisper-1"},
        files={"file": ("a.wav", speech.content, "audio/wav")},
    )
    for kind, field, least in (
        ("images", "images", 2),
        ("audio_speeches", "characters", 11),
        ("audio_transcriptions", "seconds", 0),
    ):
        page = httpx.get(
            base_url + f"/v1/organization/usage/{kind}",
            params={"start_time": now - 120, "bucket_width": "1m"},
        ).json()
        results = [r for b in page["data"] for r in b["results"]]
        assert sum(r[field] for r in results) >= least, kind
        assert sum(r["num_model_requests"] for r in results) >= 1, kind
