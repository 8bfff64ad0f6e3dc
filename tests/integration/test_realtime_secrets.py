"""Realtime client secrets: minted with the official SDK (GA ``client_secrets`` and beta ``sessions``),
used in place of an API key on ``/v1/realtime`` with their session, refused once expired, shared by
every worker, and bad minting requests answered with OpenAI's envelope."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

pytestmark = pytest.mark.integration

KEY = "sk-realtime-secrets-1"


@pytest.fixture(scope="module")
def guarded(start_server):
    with start_server("--api-key", KEY, "--workers", "2", "--ttft", "0", "--itl", "0") as url:
        yield url


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)


def ws_url(base_url: str, query: str = "") -> str:
    return base_url.replace("http://", "ws://") + "/v1/realtime" + query


def first_event(ws) -> dict:
    return json.loads(ws.recv(timeout=10))


def test_ga_secret_opens_a_session_with_its_configuration(guarded: str) -> None:
    minted = sdk(guarded).realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 120},
        session={
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": "Speak like a pirate.",
            "output_modalities": ["text"],
        },
    )
    assert minted.value.startswith("ek_")
    assert abs(minted.expires_at - (time.time() + 120)) < 5
    assert minted.session.type == "realtime" and minted.session.instructions == "Speak like a pirate."
    # The browser's way: the secret as the key subprotocol, no model in the URL (the secret names it).
    # Two workers serve the server: every connection finds the secret whichever worker takes it.
    for _ in range(4):
        offered = ["realtime", f"openai-insecure-api-key.{minted.value}"]
        with connect(ws_url(guarded), subprotocols=offered) as ws:
            created = first_event(ws)
            assert created["type"] == "session.created"
            session = created["session"]
            assert session["model"] == "gpt-realtime" and session["instructions"] == "Speak like a pirate."
            assert session["output_modalities"] == ["text"]
            ws.send(json.dumps({"type": "response.create"}))
            kinds = []
            while not kinds or kinds[-1] != "response.done":
                kinds.append(first_event(ws)["type"])
            assert "response.output_text.delta" in kinds and "response.output_audio.delta" not in kinds


def test_sdk_connects_with_the_secret_as_its_key(guarded: str) -> None:
    minted = sdk(guarded).realtime.client_secrets.create(session={"type": "realtime", "instructions": "Hi."})
    browser = openai.OpenAI(base_url=guarded + "/v1", api_key=minted.value, max_retries=0)
    with browser.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        created = conn.recv()
        assert created.type == "session.created"
        assert created.session.model == "gpt-4o-realtime-preview" and created.session.instructions == "Hi."
    # The secret is a Realtime key only: the HTTP API still wants a real one, and so does the
    # Responses API's WebSocket
    with pytest.raises(openai.AuthenticationError):
        browser.models.list()
    url = guarded.replace("http://", "ws://") + "/v1/responses"
    with pytest.raises(InvalidStatus) as refused:
        with connect(url, additional_headers={"Authorization": f"Bearer {minted.value}"}):
            pass
    assert refused.value.response.status_code == 401


def test_beta_sessions_give_a_client_secret(guarded: str) -> None:
    created = sdk(guarded).beta.realtime.sessions.create(
        model="gpt-4o-realtime-preview", modalities=["text"], voice="verse", instructions="Be brief."
    )
    assert created.client_secret.value.startswith("ek_") and created.client_secret.expires_at > time.time()
    assert created.modalities == ["text"] and created.voice == "verse"
    headers = {"Authorization": f"Bearer {created.client_secret.value}", "OpenAI-Beta": "realtime=v1"}
    with connect(ws_url(guarded), additional_headers=headers) as ws:
        session = first_event(ws)["session"]
        assert session["model"] == "gpt-4o-realtime-preview" and session["voice"] == "verse"
        assert session["modalities"] == ["text"] and session["instructions"] == "Be brief."


def test_unknown_and_expired_secrets_are_refused(guarded: str) -> None:
    for value in ("ek_" + "0" * 20, "ek_nope", "ek_" + "x" * 5000):
        with pytest.raises(InvalidStatus) as refused:
            connect(
                ws_url(guarded, "?model=gpt-realtime"),
                additional_headers={"Authorization": f"Bearer {value}"},
            )
        assert refused.value.response.status_code == 401
    minted = sdk(guarded).realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 10}, session={"type": "realtime"}
    )
    headers = {"Authorization": f"Bearer {minted.value}"}
    with connect(ws_url(guarded), additional_headers=headers) as ws:
        assert first_event(ws)["type"] == "session.created"
    time.sleep(max(0.0, minted.expires_at - time.time()) + 1.1)
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(guarded), additional_headers=headers)
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "realtime", "modalities": ["text"]}},
            "session.modalities",
        ),
        ("/v1/realtime/client_secrets", {"session": {"type": "translation"}}, "session.type"),
        ("/v1/realtime/client_secrets", {"session": {"instructions": "x"}}, "session.type"),
        ("/v1/realtime/client_secrets", {"session": {"type": "realtime", "model": 7}}, "session.model"),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "realtime", "output_modalities": ["video"]}},
            None,
        ),
        ("/v1/realtime/client_secrets", {"expires_after": {"seconds": 5}}, "expires_after.seconds"),
        ("/v1/realtime/client_secrets", {"expires_after": {"seconds": 7201}}, "expires_after.seconds"),
        ("/v1/realtime/client_secrets", {"expires_after": {"anchor": "now"}}, "expires_after.anchor"),
        ("/v1/realtime/client_secrets", {"session": "realtime"}, "session"),
        ("/v1/realtime/client_secrets", {"surprise": 1}, None),
        ("/v1/realtime/client_secrets", [1, 2], None),
        ("/v1/realtime/sessions", {"output_modalities": ["text"]}, "output_modalities"),
        ("/v1/realtime/sessions", {"client_secret": {"expires_after": {"seconds": 1}}}, "client_secret"),
        ("/v1/realtime/sessions", {"client_secret": "soon"}, "client_secret"),
        ("/v1/realtime/sessions", {"model": ""}, "model"),
        ("/v1/realtime/sessions", "null", None),
    ],
)
def test_bad_minting_requests(guarded: str, path: str, body: object, param: str | None) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    r = httpx.post(guarded + path, content=content, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param, error


def test_minting_needs_a_real_key(guarded: str) -> None:
    r = httpx.post(
        guarded + "/v1/realtime/client_secrets", json={}, headers={"Authorization": "Bearer sk-bad"}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    minted = sdk(guarded).realtime.client_secrets.create()
    # A secret cannot mint secrets.
    r = httpx.post(
        guarded + "/v1/realtime/client_secrets", json={}, headers={"Authorization": f"Bearer {minted.value}"}
    )
    assert r.status_code == 401


def test_without_api_keys_any_client_mints_and_connects(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="anything", max_retries=0)
    minted = client.realtime.client_secrets.create(session={"type": "realtime", "model": "gpt-realtime-mini"})
    assert minted.session.model == "gpt-realtime-mini"
    with connect(ws_url(base_url), additional_headers={"Authorization": f"Bearer {minted.value}"}) as ws:
        assert first_event(ws)["session"]["model"] == "gpt-realtime-mini"
