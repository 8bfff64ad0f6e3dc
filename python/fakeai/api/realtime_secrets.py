"""Client secrets for the Realtime API: the short-lived keys (``ek_...``) a backend mints with its own
API key and hands to a browser or phone, which opens ``/v1/realtime`` with them.

- ``POST /v1/realtime/client_secrets`` (GA; ``client.realtime.client_secrets.create``): ``{"expires_after":
  {"anchor": "created_at", "seconds": 10-7200}, "session": {"type": "realtime", ...}}`` answers
  ``{"value": "ek_...", "expires_at", "session"}``, the session as ``session.created`` will show it.
- ``POST /v1/realtime/sessions`` (beta; ``client.beta.realtime.sessions.create``): the beta session's
  parameters, with ``client_secret: {"expires_after": {...}}``; answers the session with
  ``client_secret: {"value", "expires_at"}``.
- ``POST /v1/realtime/transcription_sessions`` (beta; ``client.beta.realtime.transcription_sessions.create``):
  the same for a beta transcription session (``input_audio_transcription``, ``input_audio_format``,
  ``turn_detection``...; ``client_secret: {"expires_at": {...}}``, as that endpoint names it).

A secret opens any number of sessions until it expires (600 s unless ``expires_after`` says otherwise; a
session already open keeps running). Every session opened with it starts from its configuration, checked
at minting as ``session.update`` checks it, and takes its ``model`` when the URL names none. It is
offered as an API key is (``Authorization: Bearer`` or the ``openai-insecure-api-key.`` subprotocol); with
``--api-key`` it is accepted on ``/v1/realtime`` only and counts against the rate limits of the key that
minted it. A session opened in the other protocol than the secret's (a GA secret with ``OpenAI-Beta:
realtime=v1``) takes its model but not its settings, whose names that protocol does not know.
A transcription secret (GA ``session.type: "transcription"``, or the beta transcription endpoint) opens
transcription sessions (:mod:`fakeai.api.realtime_transcription`) whatever the URL says; its session,
checked as ``session.update`` checks a transcription session's, has no model.

Secrets are kept in the server's store, so every worker knows them, under the byte budget of stored
responses (``--max-expiring-bytes``: past it the oldest are dropped, and a dropped secret is refused as an
expired one).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api import realtime_session, realtime_transcription
from fakeai.api.resources import json_body, json_response
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.gateway import websocket as ws_gateway
from fakeai.schemas import realtime_transcription as transcription_params
from fakeai.schemas.realtime import (
    ClientSecretConfig,
    ClientSecretRequest,
    ExpiresAfter,
    Names,
    TranscriptionClientSecretConfig,
)
from fakeai.store import Obj, Store

KIND = "realtime_secret"
PREFIX = "ek_"
#: A secret's ``kind`` when it opens transcription sessions (absent or ``realtime`` otherwise).
TRANSCRIPTION = "transcription"
#: The model of a secret whose session names none (OpenAI's default).
DEFAULT_MODEL = "gpt-realtime"
MAX_MODEL_CHARS = 256


def live(store: Store, value: str) -> Obj | None:
    """The secret ``value`` names, unless it is unknown, dropped or expired."""
    if not value.startswith(PREFIX) or len(value) > 64:
        return None
    secret = store.get(KIND, value)
    if secret is None or secret["expires_at"] <= time.time():
        return None
    return secret


def key_label(store: Store, value: str) -> str | None:
    """The label of the API key that minted the live secret ``value`` (``""`` when none did); None
    when ``value`` is no live secret."""
    secret = live(store, value)
    return None if secret is None else secret["key"]


def _minted_by(request: Request) -> str:
    """The label of the API key the minting request presented ("" without ``--api-key``), as the
    gateway left it in the scope."""
    return request.scope.get(ws_gateway.KEY) or ""


def _config(
    ctx: ServerContext, changes: dict[str, Any], beta: bool, where: str
) -> tuple[str, dict[str, Any]]:
    """The secret's model and its session as ``session.created`` will show it; a 400 for a setting
    ``session.update`` would refuse (``where``: how the request names the session's parameters)."""
    model = changes.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or not model or len(model) > MAX_MODEL_CHARS:
        raise bad_request(f"'{where}model' must be a model id.", param=f"{where}model", code="invalid_value")
    models = realtime_transcription.models(ctx.catalog)
    Names(beta, models, realtime_transcription.LANGUAGES).check_session(changes, where)
    ctx.catalog.resolve(model)
    session = realtime_session.defaults(model, beta)
    realtime_session.apply(session, changes)
    return model, session


def _transcription_config(
    ctx: ServerContext, changes: dict[str, Any], beta: bool, where: str
) -> dict[str, Any]:
    """A transcription secret's session as the session will show it; a 400 for a setting
    ``session.update`` would refuse."""
    models = realtime_transcription.models(ctx.catalog)
    transcription_params.check_session(changes, beta, where, models, realtime_transcription.LANGUAGES)
    session = realtime_session.transcription_defaults(beta)
    realtime_session.apply(session, changes)
    return session


def _mint(
    ctx: ServerContext,
    request: Request,
    model: str | None,
    session: dict[str, Any],
    expires: ExpiresAfter,
    beta: bool,
    kind: str = "realtime",
) -> Obj:
    secret = {
        "id": realtime_session.new_id(PREFIX),
        "object": "realtime.client_secret",
        "created_at": int(time.time()),
        "expires_at": int(time.time()) + expires.seconds,
        "model": model,
        "beta": beta,
        "session": session,
        "kind": kind,
        "key": _minted_by(request),
    }
    ctx.store.insert_expiring([(KIND, secret)], ctx.settings.max_expiring_bytes)
    return secret


def routes(ctx: ServerContext) -> list[Route]:
    limit = ctx.settings.max_body_bytes
    ga_decoder = msgspec.json.Decoder(ClientSecretRequest)
    beta_decoder = msgspec.json.Decoder(dict[str, Any])

    async def client_secrets(request: Request) -> Response:
        req = await json_body(request, ga_decoder, limit)
        changes = dict(req.session) if req.session is not None else {"type": "realtime"}
        expires = req.expires_after or ExpiresAfter()
        if changes.get("type") == TRANSCRIPTION:
            session = _transcription_config(ctx, changes, beta=False, where="session.")
            secret = _mint(ctx, request, None, session, expires, beta=False, kind=TRANSCRIPTION)
            return json_response(
                {"value": secret["id"], "expires_at": secret["expires_at"], "session": session}
            )
        if "type" not in changes:
            raise bad_request(
                "Missing required parameter: 'session.type'.",
                param="session.type",
                code="missing_required_parameter",
            )
        model, session = _config(ctx, changes, beta=False, where="session.")
        secret = _mint(ctx, request, model, session, expires, beta=False)
        return json_response({"value": secret["id"], "expires_at": secret["expires_at"], "session": session})

    async def beta_sessions(request: Request) -> Response:
        changes = await json_body(request, beta_decoder, limit)
        try:
            config = msgspec.convert(changes.pop("client_secret", None) or {}, ClientSecretConfig)
        except msgspec.ValidationError as exc:
            raise bad_request(
                f"Invalid 'client_secret': {exc}", param="client_secret", code="invalid_value"
            ) from None
        model, session = _config(ctx, changes, beta=True, where="")
        secret = _mint(ctx, request, model, session, config.expires_after or ExpiresAfter(), beta=True)
        client_secret = {"value": secret["id"], "expires_at": secret["expires_at"]}
        return json_response({**session, "client_secret": client_secret})

    async def beta_transcription_sessions(request: Request) -> Response:
        changes = await json_body(request, beta_decoder, limit)
        try:
            config = msgspec.convert(
                changes.pop("client_secret", None) or {}, TranscriptionClientSecretConfig
            )
        except msgspec.ValidationError as exc:
            raise bad_request(
                f"Invalid 'client_secret': {exc}", param="client_secret", code="invalid_value"
            ) from None
        session = _transcription_config(ctx, changes, beta=True, where="")
        expires = config.expires_at or ExpiresAfter()
        secret = _mint(ctx, request, None, session, expires, beta=True, kind=TRANSCRIPTION)
        client_secret = {"value": secret["id"], "expires_at": secret["expires_at"]}
        return json_response({**session, "client_secret": client_secret})

    return [
        Route("/v1/realtime/client_secrets", client_secrets, methods=["POST"]),
        Route("/v1/realtime/sessions", beta_sessions, methods=["POST"]),
        Route("/v1/realtime/transcription_sessions", beta_transcription_sessions, methods=["POST"]),
    ]
