"""Response modes (``--mode echo``, the ``x-fakeai-mode`` header) and ``--output-length-distribution``,
through the official openai SDK."""

from __future__ import annotations

import openai
import pytest

from fakeai import _core
from fakeai.runtime.process import run_fakeai

pytestmark = pytest.mark.integration

TEXT = "Echo me back exactly: 12345 apples, naïve café, and a second sentence."
MESSAGES = [
    {"role": "system", "content": "You are a parrot."},
    {"role": "user", "content": "An earlier question."},
    {"role": "assistant", "content": "An earlier answer."},
    {"role": "user", "content": TEXT},
]
ECHO = {"x-fakeai-mode": "echo"}


@pytest.fixture(scope="module")
def echo_client(start_server):
    with (
        start_server("--ttft", "0", "--itl", "0", "--mode", "echo") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as c,
    ):
        yield c


def test_echo_mode_replies_with_the_last_user_message_and_exact_tokens(echo_client):
    r = echo_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=2)
    assert [c.message.content for c in r.choices] == [TEXT, TEXT]
    assert all(c.finish_reason == "stop" for c in r.choices)
    assert r.usage.completion_tokens == 2 * _core.count_tokens(TEXT)


def test_echo_of_content_parts_joins_their_text(echo_client):
    parts = [{"type": "text", "text": "first part"}, {"type": "text", "text": "second part"}]
    r = echo_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": parts}])
    assert r.choices[0].message.content == "first part second part"


def test_echo_is_truncated_at_max_tokens_with_finish_length(echo_client):
    r = echo_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=3)
    assert r.choices[0].message.content == "Echo me back"
    assert (r.choices[0].finish_reason, r.usage.completion_tokens) == ("length", 3)
    whole = _core.count_tokens(TEXT)
    r = echo_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=whole + 1)
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == (TEXT, "stop")


def test_echo_streams_the_same_text(echo_client):
    stream = echo_client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT
    assert chunks[-1].usage.completion_tokens == _core.count_tokens(TEXT)


def test_echo_mode_legacy_completion_returns_the_prompt(echo_client):
    r = echo_client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt=["alpha beta", "gamma"], max_tokens=50
    )
    assert [c.text for c in r.choices] == ["alpha beta", "gamma"]
    assert r.usage.completion_tokens == 3
    r = echo_client.completions.create(model="gpt-3.5-turbo-instruct", prompt=TEXT, max_tokens=2)
    assert (r.choices[0].text, r.choices[0].finish_reason) == ("Echo me", "length")


def test_header_switches_mode_per_request(client, echo_client):
    r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=ECHO)
    assert r.choices[0].message.content == TEXT
    r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=40, seed=3)
    assert r.choices[0].message.content != TEXT
    r = echo_client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=40, extra_headers={"x-fakeai-mode": "random"}
    )
    assert r.choices[0].message.content != TEXT


def test_bad_mode_header_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-fakeai-mode": "loud"}
        )
    assert err.value.body["code"] == "invalid_header" and "x-fakeai-mode" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="gpt-4o", prompt="x", extra_headers={"x-fakeai-mode": ""})


def test_output_length_distribution_sets_natural_length(start_server):
    with (
        start_server("--ttft", "0", "--itl", "0", "--output-length-distribution", "fixed:23") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as c,
    ):
        r = c.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=3)
        assert [ch.finish_reason for ch in r.choices] == ["stop"] * 3
        assert r.usage.completion_tokens == 3 * 23
        r = c.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=23)
        assert (r.choices[0].finish_reason, r.usage.completion_tokens) == ("length", 23)
        r = c.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100)
        assert (r.choices[0].finish_reason, r.usage.completion_tokens) == ("stop", 23)
        r = c.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, max_tokens=100, extra_body={"ignore_eos": True}
        )
        assert (r.choices[0].finish_reason, r.usage.completion_tokens) == ("length", 100)
        r = c.completions.create(model="gpt-4o", prompt="hi", max_tokens=500)
        assert (r.choices[0].finish_reason, r.usage.completion_tokens) == ("stop", 23)


@pytest.mark.parametrize("spec", ["gamma:1:2", "uniform:9:3", "histogram:1-5", "fixed:0"])
def test_bad_distribution_is_a_clear_startup_error(spec):
    r = run_fakeai("server", "--output-length-distribution", spec)
    assert r.returncode != 0
    assert "--output-length-distribution" in r.stderr and "Traceback" not in r.stderr


def test_length_distribution_object_samples_what_it_parsed():
    assert _core.LengthDistribution("fixed:5").sample(10, 1) == [5] * 10
    draws = _core.LengthDistribution("histogram:10-20=1,90-100=1").sample(400, 2)
    assert all(10 <= n <= 20 or 90 <= n <= 100 for n in draws)
    assert any(n <= 20 for n in draws) and any(n >= 90 for n in draws)
    with pytest.raises(_core.InvalidInput, match="unknown distribution"):
        _core.LengthDistribution("zipf:2")
