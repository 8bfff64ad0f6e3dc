"""The Rust core as Python sees it: token counts, determinism, error type."""

from __future__ import annotations

import orjson
import pytest

from fakeai import _core
from fakeai.schemas.chat import ChatRequest, Message


def test_count_tokens():
    assert _core.count_tokens("") == 0
    assert _core.count_tokens("Hello world") == 2


def test_chat_is_deterministic_with_a_seed():
    req = ChatRequest(model="m", messages=[Message(role="user", content="hi")], max_tokens=10, seed=5)
    a = orjson.loads(_core.chat(req).payload)
    b = orjson.loads(_core.chat(req).payload)
    assert a["choices"] == b["choices"] and a["id"] != b["id"]
    assert a["usage"]["completion_tokens"] <= 10


def test_stream_returns_steps_and_offsets():
    req = ChatRequest(
        model="m", messages=[Message(role="user", content="hi")], max_tokens=4, ignore_eos=True, stream=True
    )
    answer = _core.chat(req, ttft=0.05, itl=0.01)
    steps, offsets, completion = answer.payload, answer.schedule, answer.completion_tokens
    assert len(steps) == len(offsets) == 4 and completion == 4
    assert offsets[0] == pytest.approx(0.05) and offsets[3] == pytest.approx(0.08)


def test_a_paced_stream_renders_its_steps_on_demand():
    def answer(tokens: int, itl: float = 0.01) -> _core.Answer:
        msgs = [Message(role="user", content="hi")]
        req = ChatRequest(model="m", messages=msgs, max_tokens=tokens, ignore_eos=True, stream=True, seed=5)
        return _core.chat(req, ttft=0.05, itl=itl)

    # sent in one write (no inter-token latency): rendered whole, one step
    assert isinstance(answer(64, itl=0.0).payload, list) and len(answer(64, itl=0.0).payload) == 1
    # one token: one step, rendered whole
    assert isinstance(answer(1).payload, list)
    # paced: each step rendered as it goes out, the same bytes as a whole rendering
    paced, whole = answer(64), answer(64, itl=0.0)
    assert isinstance(paced.payload, _core.Steps) and len(paced.payload) == len(paced.schedule) == 64
    chunks = paced.payload.window(0, 64).split(b"\n\n")
    assert len(chunks) == len(whole.payload[0].split(b"\n\n"))
    assert chunks[-2] == b"data: [DONE]"
    # a very long stream is rendered on demand even when sent in one write
    assert isinstance(answer(5000, itl=0.0).payload, _core.Steps)
    long = answer(5000)
    steps = long.payload
    assert isinstance(steps, _core.Steps) and len(steps) == len(long.schedule) == 5000
    assert steps[-1] == steps[4999] and steps[-1].endswith(b"data: [DONE]\n\n")
    assert steps.window(0, 3) == steps[0] + steps[1] + steps[2]
    assert steps.window(4998, 10**9) == steps[4998] + steps[4999]
    with pytest.raises(IndexError):
        steps[5000]
    whole = b"".join(steps[k] for k in range(len(steps)))
    assert whole.count(b"data: ") == 1 + 5000 + 1 + 1  # role, tokens, finish, [DONE]
    assert steps.window(0, len(steps)) == whole


def test_invalid_input_is_a_value_error():
    with pytest.raises(ValueError):
        _core.embed("m", [], 8)
    assert issubclass(_core.InvalidInput, ValueError)


def test_a_held_chat_call_answers_as_chat_does(tmp_path):
    """``ChatCall(model_info, **kw)(request, now)`` is ``chat(request, model_info, now=now, **kw)``: same
    body (but id and created), schedule, token counts, cached tokens from the cluster, and the same usage
    and metrics recorded."""

    def server() -> dict:
        d = tmp_path / str(len(list(tmp_path.iterdir())))
        d.mkdir()
        table = lambda name, width: _core.SharedTable(str(d / name), 1024, width)  # noqa: E731
        metrics = table("metrics", _core.HISTOGRAM_WIDTH)
        return {
            "fingerprint": "fp_x",
            "ttft": 0.02,
            "itl": 0.001,
            "cluster": _core.Cluster(2, table=table("cluster", _core.HISTOGRAM_WIDTH)),
            "meter": _core.Meter(table("usage", 4), metrics),
            "live": True,
            "metrics": metrics,
        }

    req = ChatRequest(
        model="gpt-4o", messages=[Message(role="user", content="word " * 40)], max_tokens=9, seed=7
    )
    held, plain = server(), server()
    call = _core.ChatCall(None, **{k: v for k, v in held.items() if k != "metrics"})
    for now in (1.0, 2.0, 3.0):
        a = call(req, now)
        b = _core.chat(req, None, now=now, **{k: v for k, v in plain.items() if k != "metrics"})
        body_a, body_b = orjson.loads(a.payload), orjson.loads(b.payload)
        for body in (body_a, body_b):
            del body["id"], body["created"]
        assert body_a == body_b
        assert (a.prompt_tokens, a.completion_tokens, a.label) == (
            b.prompt_tokens,
            b.completion_tokens,
            b.label,
        )
    assert body_a["usage"]["prompt_tokens_details"]["cached_tokens"] > 0  # the cluster's prefix cache
    assert sorted(held["metrics"].items()) == sorted(plain["metrics"].items())


def test_the_live_engine_and_the_offline_engine_agree_on_the_same_arrivals(tmp_path):
    """What ``benches/live_vs_simulate.py`` replays: requests reaching the server at given times go
    through the front end (``frontend_arrivals``) and the offline engine (``EngineModel``) to the
    same first and last token times as through the live server's ``SharedEngine``; requests sent
    together leave the front end one service apart."""
    deployment = {"model": "meta-llama/Meta-Llama-3-8B-Instruct", "gpu": "H100", "precision": "fp8", "tp": 1}
    # A burst of 12 at once, then a spread of 28 (some inside a step, some between steps).
    sends = [100.0] * 12 + sorted(100.5 + 0.0037 * k * (k % 5) for k in range(28))
    arrivals = _core.frontend_arrivals(deployment, sends)
    assert all(a > s for a, s in zip(arrivals, sends, strict=True))
    assert all(b > a for a, b in zip(arrivals[:12], arrivals[1:12], strict=False))  # one lane, in order
    frontend = _core.deployment_info(deployment)["coefficients"]["frontend"]
    assert arrivals[11] - 100.0 > 12 * frontend / 4  # the burst queued (12 draws of mean `frontend`)
    assert _core.frontend_arrivals({**deployment, "coefficients": {"frontend": 0.0}}, sends) == sends

    offline = _core.EngineModel(deployment)
    ids = []
    for at in arrivals:
        offline.run_until(at)
        ids.append(offline.submit(at, 200, 50))
    offline.run_until(1e9)
    times = [offline.token_times(i) for i in ids]
    # The live engine asked as the server's pacer asks it: each token when it is due, in time order.
    live = _core.SharedEngine(str(tmp_path / "engine"), deployment, 256)
    events = sorted(
        [(s, 0, k) for k, s in enumerate(sends)]
        + [(t[0], 1, k) for k, t in enumerate(times)]
        + [(t[-1], 2, k) for k, t in enumerate(times)]
    )
    tickets: dict[int, int] = {}
    for at, kind, k in events:
        if kind == 0:
            tickets[k] = live.submit(at, 200, 50)[0]
        else:
            assert live.settle(tickets[k], at, last=kind == 2) == ("at", pytest.approx(at, abs=1e-9))
