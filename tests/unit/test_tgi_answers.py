"""TGI's answers made from rendered completions (``fakeai.api.tgi_answers``): one event group per
step of the completion's stream, so its schedule still applies, and the whole text at the end."""

from __future__ import annotations

import orjson

from fakeai import _core
from fakeai.api import tgi_answers
from fakeai.schemas.completions import CompletionRequest

ASKED = tgi_answers.Asked(details=True, prefix="", top_n=0, seed=None, stops=False, prefill=[])


def completion(itl: float, stream: bool = True, **fields) -> _core.Answer:
    req = CompletionRequest(
        model="m", prompt="Hello there", max_tokens=6, ignore_eos=True, stream=stream, logprobs=0, **fields
    )
    return _core.completion(req, None, ttft=0.1, itl=itl)


def parsed(groups: list[bytes]) -> list[dict]:
    return [orjson.loads(e[5:]) for g in groups for e in g.split(b"\n\n") if e]


def test_each_step_becomes_its_tokens_events():
    answer = completion(itl=0.01)
    groups = tgi_answers.events(answer, ASKED)
    assert len(groups) == len(answer.schedule) == 6
    events = parsed(groups)
    assert [e["index"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1]["generated_text"] == "".join(e["token"]["text"] for e in events)
    assert events[-1]["details"] == {
        "finish_reason": "length",
        "generated_tokens": 6,
        "seed": None,
        "input_length": 2,
    }


def test_a_stream_without_inter_token_latency_is_one_group():
    answer = completion(itl=0.0)
    groups = tgi_answers.events(answer, ASKED)
    assert len(groups) == len(answer.schedule) == 1
    assert len(parsed(groups)) == 6


def test_the_body_carries_the_tokens_and_the_prompt_when_asked():
    asked = tgi_answers.Asked(
        details=True, prefix="Hello there", top_n=0, seed=7, stops=True, prefill=[], listed=True
    )
    [body] = orjson.loads(tgi_answers.body(completion(itl=0.0, stream=False), asked))
    tokens = body["details"]["tokens"]
    assert body["generated_text"] == "Hello there" + "".join(t["text"] for t in tokens)
    assert [t["id"] for t in tokens] == [_core.tokenize(t["text"])[0] for t in tokens]
    assert body["details"]["seed"] == 7 and body["details"]["finish_reason"] == "length"


def test_a_stop_finish_is_a_stop_sequence_only_when_stops_were_given():
    answer = completion(itl=0.0, stream=False, stop=[" "])
    asked = tgi_answers.Asked(details=True, prefix="", top_n=0, seed=None, stops=True, prefill=[])
    assert orjson.loads(tgi_answers.body(answer, asked))["details"]["finish_reason"] == "stop_sequence"
    natural = _core.completion(
        CompletionRequest(model="m", prompt="Hi", max_tokens=600, logprobs=0), None, ttft=0.0, itl=0.0
    )
    assert orjson.loads(tgi_answers.body(natural, ASKED))["details"]["finish_reason"] == "eos_token"
