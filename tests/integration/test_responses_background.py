"""Background responses through the official SDK: ``queued -> in_progress -> completed`` on the simulated
schedule, the same whichever worker answers, cancel, streaming again from an event, and bad requests."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

TTFT_MS, ITL_MS = 400, 25


@pytest.fixture(scope="module")
def slow(start_server):
    with start_server("--ttft", str(TTFT_MS), "--itl", str(ITL_MS), "--jitter", "0", "--workers", "2") as url:
        yield url


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)


def test_a_background_response_moves_through_its_states(slow: str) -> None:
    client = sdk(slow)
    t0 = time.monotonic()
    created = client.responses.create(
        model="gpt-4o", input="Tell me a story.", background=True, max_output_tokens=40
    )
    assert time.monotonic() - t0 < TTFT_MS / 1000  # answered before its first token is due
    assert (
        created.status == "queued"
        and created.background is True
        and created.output == []
        and created.usage is None
    )
    seen: list[tuple[float, str]] = []
    while True:
        # a new connection each time, so that either worker answers
        got = sdk(slow).responses.retrieve(created.id)
        if not seen or seen[-1][1] != got.status:
            seen.append((time.monotonic() - t0, got.status))
        if got.status in ("completed", "incomplete"):
            break
        assert got.output == [] and got.usage is None
        assert time.monotonic() - t0 < 10
        time.sleep(0.02)
    assert [s for _, s in seen][:2] == ["queued", "in_progress"]
    in_progress_at = seen[1][0]
    assert TTFT_MS / 1000 * 0.8 < in_progress_at < TTFT_MS / 1000 + 0.5
    assert got.output and got.usage.output_tokens > 0 and got.background is True
    # the end is due after every token's ITL
    assert seen[-1][0] >= TTFT_MS / 1000 + (got.usage.output_tokens - 2) * ITL_MS / 1000 * 0.8
    assert client.responses.retrieve(created.id).model_dump() == got.model_dump()  # settled for good


def test_cancel_before_the_end_and_after_it(slow: str) -> None:
    client = sdk(slow)
    created = client.responses.create(
        model="gpt-4o", input="Long story.", background=True, max_output_tokens=200
    )
    cancelled = client.responses.cancel(created.id)
    assert cancelled.status == "cancelled" and cancelled.output == [] and cancelled.usage is None
    time.sleep(TTFT_MS / 1000 + 200 * ITL_MS / 1000 + 0.3)
    assert sdk(slow).responses.retrieve(created.id).status == "cancelled"  # for good, on every worker
    assert client.responses.cancel(created.id).status == "cancelled"  # a second cancel changes nothing
    short = client.responses.create(model="gpt-4o", input="Hi.", background=True, max_output_tokens=16)
    time.sleep(TTFT_MS / 1000 + 16 * ITL_MS / 1000 + 0.3)
    done = client.responses.cancel(short.id)  # too late: it answers the finished response
    assert done.status in ("completed", "incomplete") and done.output


def test_stream_and_stream_again_from_an_event(slow: str) -> None:
    client = sdk(slow)
    stream = client.responses.create(
        model="gpt-4o", input="Tell me a story.", background=True, stream=True, max_output_tokens=30
    )
    first = []
    for event in stream:
        first.append(event)
        if len(first) == 5:
            break
    stream.close()
    response_id = first[0].response.id
    assert first[0].type == "response.created" and first[0].response.background is True
    again = list(
        client.responses.retrieve(response_id, stream=True, starting_after=first[-1].sequence_number)
    )
    assert again[0].sequence_number == first[-1].sequence_number + 1
    assert [e.sequence_number for e in again] == list(
        range(again[0].sequence_number, again[-1].sequence_number + 1)
    )
    assert again[-1].type in ("response.completed", "response.incomplete")
    whole = list(
        client.responses.retrieve(response_id, stream=True)
    )  # from the start, after the end: at once
    assert [e.type for e in whole[: len(first)]] == [e.type for e in first]
    assert whole[-1].response.output == client.responses.retrieve(response_id).output


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        (
            "POST",
            "/v1/responses",
            {"model": "gpt-4o", "input": "x", "background": True, "store": False},
            "store",
        ),
        ("POST", "/v1/responses", {"model": "gpt-4o", "input": "x", "background": "yes"}, "background"),
    ],
)
def test_bad_background_requests(slow: str, method: str, path: str, body: dict, param: str) -> None:
    r = httpx.request(method, slow + path, json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == param


def test_only_background_responses_cancel_or_stream_again(slow: str) -> None:
    client = sdk(slow)
    plain = client.responses.create(model="gpt-4o", input="x", max_output_tokens=16)
    assert plain.status in ("completed", "incomplete") and plain.background in (None, False)
    for r in (
        httpx.post(f"{slow}/v1/responses/{plain.id}/cancel"),
        httpx.get(f"{slow}/v1/responses/{plain.id}", params={"stream": "true"}),
    ):
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", r.text
    assert httpx.post(f"{slow}/v1/responses/resp_unknown/cancel").status_code == 404
    bg = client.responses.create(model="gpt-4o", input="x", background=True, max_output_tokens=16)
    for after in ("-1", "x", "9" * 40):
        r = httpx.get(f"{slow}/v1/responses/{bg.id}", params={"stream": "true", "starting_after": after})
        assert r.status_code == 400 and r.json()["error"]["param"] == "starting_after", r.text
    client.responses.cancel(bg.id)
    r = httpx.get(f"{slow}/v1/responses/{bg.id}", params={"stream": "true"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "response_cancelled"


def test_stream_again_after_the_last_event_is_empty(slow: str) -> None:
    client = sdk(slow)
    created = client.responses.create(model="gpt-4o", input="hi", background=True, max_output_tokens=16)
    whole = list(client.responses.retrieve(created.id, stream=True))
    last = whole[-1].sequence_number
    for after in (last, last + 1, 2**31):
        assert list(client.responses.retrieve(created.id, stream=True, starting_after=after)) == []


def test_a_background_stream_starts_queued_and_stops_when_cancelled(slow: str) -> None:
    client = sdk(slow)
    stream = client.responses.create(
        model="gpt-4o", input="A long story.", background=True, stream=True, max_output_tokens=400
    )
    kinds = []
    for event in stream:
        kinds.append(event.type)
        if event.type == "response.created":
            assert event.response.status == "queued"
            assert sdk(slow).responses.retrieve(event.response.id).status == "queued"
            response_id = event.response.id
        if kinds.count("response.output_text.delta") == 5:
            assert client.responses.cancel(response_id).status == "cancelled"
    assert kinds[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert "response.completed" not in kinds and "response.incomplete" not in kinds
    assert kinds.count("response.output_text.delta") < 5 + 20  # it ended within a few checks' time
    assert client.responses.retrieve(response_id).status == "cancelled"


def test_a_cancelled_background_response_leaves_its_conversation_without_its_output(slow: str) -> None:
    client = sdk(slow)
    conversation = client.conversations.create()
    created = client.responses.create(
        model="gpt-4o",
        input="Tell me a story.",
        background=True,
        conversation=conversation.id,
        max_output_tokens=400,
    )
    client.responses.cancel(created.id)
    roles = [getattr(i, "role", None) for i in client.conversations.items.list(conversation.id, order="asc")]
    assert roles == ["user"]  # its input stays, as a cancelled request's input does
