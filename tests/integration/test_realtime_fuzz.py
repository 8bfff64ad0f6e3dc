"""Property-based fuzzing of ``/v1/realtime``: no client event closes the socket, logs a traceback or
leaves the session unable to go on, and every ``error`` event has OpenAI's shape.

Each example opens a session, sends a few events (every client event type and unknown ones, each a
valid event with fields replaced, removed or added, or random JSON; now and then a frame that is not
JSON, or nests deeper than allowed), then a response over the conversation and a ``session.update``
that must still be answered. The
budget is fixed and the run derandomized, so the same examples run every time.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.test_fuzz import JSON, fixed_run
from websockets.sync.client import connect

pytestmark = pytest.mark.integration

EXAMPLES = 150
PCM = base64.b64encode(bytes(9600)).decode()
#: A valid event of every client type (the fuzzer mutates them).
EVENTS: dict[str, dict] = {
    "session.update": {"session": {"instructions": "be brief", "max_output_tokens": 8}},
    "input_audio_buffer.append": {"audio": PCM},
    "input_audio_buffer.commit": {},
    "input_audio_buffer.clear": {},
    "conversation.item.create": {
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    },
    "response.create": {"response": {"output_modalities": ["text"], "max_output_tokens": 4}},
    "response.cancel": {},
}
KEYS = sorted({"session", "audio", "item", "response", "event_id", "type", "content", "role", "id"})
ERROR_FIELDS = {"type", "code", "message", "param", "event_id"}


@st.composite
def event(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(["mutated", "mutated", "mutated", "item", "item", "valid", "json", "text", "deep"])
    )
    if kind == "text":
        return draw(st.text(max_size=30))
    if kind == "deep":  # past the nesting limit, in a place each handler reads
        depth = draw(st.sampled_from([65, 300, 900]))
        nested = "[" * depth + "]" * depth
        return f'{{"type": "conversation.item.create", "item": {{"type": "message", "role": "user", "content": {nested}}}}}'
    if kind == "item":  # an item whose parts have any shape
        part = st.one_of(JSON, st.dictionaries(st.sampled_from(["type", "text", "transcript"]), JSON))
        content = draw(st.one_of(JSON, st.lists(part, max_size=3)))
        item = {"type": "message", "role": "user", "content": content}
        if draw(st.booleans()):
            item["id"] = draw(JSON)
        return json.dumps({"type": "conversation.item.create", "item": item})
    if kind == "json":
        return json.dumps(draw(JSON))
    name = draw(st.sampled_from([*EVENTS, "session.bogus", ""]))
    body = {"type": name, **json.loads(json.dumps(EVENTS.get(name, {})))}
    if kind == "mutated":
        for _ in range(draw(st.integers(1, 3))):
            target = body
            inner = [k for k, v in body.items() if isinstance(v, dict)]
            if inner and draw(st.booleans()):
                target = body[draw(st.sampled_from(inner))]
            key = draw(st.sampled_from(sorted(target) + KEYS))
            if draw(st.booleans()) and key in target:
                del target[key]
            else:
                target[key] = draw(JSON)
    return json.dumps(body)


@pytest.fixture(scope="module")
def realtime(start_server, tmp_path_factory):
    log = tmp_path_factory.mktemp("realtime-fuzz") / "server.log"
    with log.open("wb") as output, start_server("--ttft", "0", "--itl", "0", output=output) as url:
        yield url, log


def test_fuzzed_client_events_never_break_the_session(realtime):
    url, log = realtime
    ws_url = url.replace("http://", "ws://") + "/v1/realtime?model=gpt-4o-realtime-preview"

    @fixed_run(EXAMPLES)
    @given(st.lists(event(), min_size=1, max_size=6))
    def run(events: list[str]) -> None:
        with connect(ws_url, max_size=None) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
            for text in events:
                ws.send(text)
            # a response over whatever the conversation now holds
            ws.send(
                json.dumps({"type": "response.create", "response": EVENTS["response.create"]["response"]})
            )
            ws.send(json.dumps({"type": "session.update", "session": {"instructions": "still here"}}))
            while True:
                answer = json.loads(ws.recv(timeout=10))
                assert isinstance(answer, dict) and isinstance(answer.get("type"), str), answer
                if answer["type"] == "error":
                    assert set(answer["error"]) == ERROR_FIELDS, answer
                    assert answer["error"]["message"], answer
                if answer["type"] == "session.updated" and answer["session"]["instructions"] == "still here":
                    break

    run()
    assert httpx.get(url + "/health", timeout=10).status_code == 200
    said = log.read_text(errors="replace")
    assert "Traceback" not in said, said[-3000:]
