"""vLLM's ``/tokenize`` and ``/detokenize``: round trips, agreement with ``usage``, bad input."""

from __future__ import annotations

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
TEXT = "The quick brown fox jumps over 12345 lazy dogs; naïve café!\n\nDone."
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "name": "alice", "content": "Summarise the report in three words, please."},
    {"role": "assistant", "content": "Short and sweet."},
    {"role": "user", "content": [{"type": "text", "text": "Again"}, {"type": "text", "text": " louder."}]},
]


@pytest.fixture(scope="module")
def two_workers(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--workers", "2") as url:
        yield url


def _post(url: str, path: str, body: dict) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=10) as c:  # a new connection: any worker may answer
        return c.post(path, json=body)


def test_prompt_round_trip_on_any_worker_and_count_matches_a_completion(two_workers):
    tokens = _post(two_workers, "/tokenize", {"model": MODEL, "prompt": TEXT}).json()
    assert tokens["count"] == len(tokens["tokens"]) and tokens["max_model_len"] == 131072
    assert tokens["token_strs"] is None
    for _ in range(6):
        assert _post(two_workers, "/detokenize", {"model": MODEL, "tokens": tokens["tokens"]}).json() == {
            "prompt": TEXT
        }
    with openai.OpenAI(base_url=two_workers + "/v1", api_key="k", max_retries=0) as client:
        done = client.completions.create(model=MODEL, prompt=TEXT, max_tokens=2)
    assert done.usage.prompt_tokens == tokens["count"]
    strs = _post(two_workers, "/tokenize", {"model": MODEL, "prompt": TEXT, "return_token_strs": True}).json()
    assert "".join(strs["token_strs"]) == TEXT


def test_chat_count_equals_the_prompt_tokens_of_a_chat_completion(two_workers):
    tokens = _post(two_workers, "/tokenize", {"model": MODEL, "messages": MESSAGES}).json()
    with openai.OpenAI(base_url=two_workers + "/v1", api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=2)
    assert tokens["count"] == reply.usage.prompt_tokens == len(tokens["tokens"])
    text = _post(two_workers, "/detokenize", {"model": MODEL, "tokens": tokens["tokens"]}).json()["prompt"]
    assert text.startswith("<|im_start|>system<|im_sep|>You are terse.<|im_end|><|im_start|>user:alice")
    assert text.endswith("Again louder.<|im_end|><|im_start|>assistant<|im_sep|>")
    bare = _post(
        two_workers, "/tokenize", {"model": MODEL, "messages": MESSAGES, "add_generation_prompt": False}
    ).json()
    assert bare["tokens"] == tokens["tokens"][:-3]
    special = _post(
        two_workers, "/tokenize", {"model": MODEL, "prompt": TEXT, "add_special_tokens": True}
    ).json()
    assert special["count"] == len(special["tokens"])  # no BOS: the count stays the completion's


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/tokenize", {"prompt": "hi"}, "model"),
        ("/tokenize", {"model": MODEL}, "prompt"),
        ("/tokenize", {"model": MODEL, "prompt": "hi", "messages": MESSAGES}, "messages"),
        ("/tokenize", {"model": MODEL, "messages": []}, "messages"),
        ("/tokenize", {"model": MODEL, "prompt": 7}, "prompt"),
        ("/tokenize", {"model": MODEL, "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        (
            "/tokenize",
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            },
            "messages",
        ),
        ("/detokenize", {"model": MODEL}, "tokens"),
        ("/detokenize", {"model": MODEL, "tokens": [-1]}, "tokens[0]"),
        ("/detokenize", {"model": MODEL, "tokens": [2**40]}, "tokens[0]"),
        ("/detokenize", {"model": MODEL, "tokens": "abc"}, "tokens"),
    ],
)
def test_bad_input_gets_the_openai_envelope(http, path, body, param):
    r = http.post(path, json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]


def test_not_json_and_wrong_method(http):
    assert http.post("/tokenize", content=b"{").json()["error"]["code"] == "invalid_json"
    assert http.get("/tokenize").status_code == 405
