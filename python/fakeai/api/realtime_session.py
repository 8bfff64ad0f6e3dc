"""A Realtime session's settings: the object ``session.created`` shows, per protocol, and how
``session.update`` (or a client secret's configuration) changes it.

The GA protocol's session is ``{"type": "realtime", "output_modalities", "max_output_tokens", "audio":
{"input", "output"}}``; the beta one's (``OpenAI-Beta: realtime=v1``) has ``modalities``, ``voice``,
``temperature`` and the audio formats at the top level (:mod:`fakeai.schemas.realtime` checks the
names). A transcription session's (``?intent=transcription``, or a transcription client secret) is
``{"type": "transcription", "audio": {"input"}, "include"}`` in GA, and beta's
``input_audio_transcription``, ``input_audio_format``, ``turn_detection``... (``object``
``realtime.transcription_session`` in both). An update replaces a setting, except that an object
setting is merged one level deep, ``audio`` two, so ``{"audio": {"output": {...}}}`` keeps the input
settings and ``{"audio": {"input": {"transcription": {...}}}}`` the input format; ``id``, ``object``
and ``model`` are read-only.
"""

from __future__ import annotations

import secrets
from typing import Any

#: Settings an update leaves as they are (clients echo the object ``session.created`` gave them).
READ_ONLY = ("id", "object", "model", "expires_at")
#: A transcription session's model when its configuration names none.
TRANSCRIPTION_MODEL = "gpt-4o-transcribe"


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(10)


def defaults(model: str, beta: bool) -> dict[str, Any]:
    """A new session's settings, as ``session.created`` shows them."""
    common = {
        "id": new_id("sess_"),
        "object": "realtime.session",
        "model": model,
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
    }
    if beta:
        return {
            **common,
            "temperature": 0.8,
            "modalities": ["text", "audio"],
            "voice": "alloy",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "turn_detection": None,
            "input_audio_transcription": None,
            "max_response_output_tokens": "inf",
        }
    audio_format = {"type": "audio/pcm", "rate": 24000}
    return {
        **common,
        "type": "realtime",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {
            "input": {"format": audio_format, "turn_detection": None, "transcription": None},
            "output": {"format": audio_format, "voice": "alloy", "speed": 1.0},
        },
    }


def transcription_defaults(beta: bool) -> dict[str, Any]:
    """A new transcription session's settings, as ``session.created`` (GA) or
    ``transcription_session.created`` (beta) shows them."""
    transcription = {"model": TRANSCRIPTION_MODEL, "language": None, "prompt": ""}
    common = {"id": new_id("sess_"), "object": "realtime.transcription_session"}
    if beta:
        return {
            **common,
            "modalities": ["text"],
            "input_audio_format": "pcm16",
            "input_audio_transcription": transcription,
            "turn_detection": None,
            "input_audio_noise_reduction": None,
            "include": [],
        }
    audio_input = {
        "format": {"type": "audio/pcm", "rate": 24000},
        "transcription": transcription,
        "turn_detection": None,
        "noise_reduction": None,
    }
    return {**common, "type": "transcription", "audio": {"input": audio_input}, "include": []}


def apply(session: dict[str, Any], changes: dict[str, Any]) -> None:
    """Change ``session`` by ``changes`` (already checked against the protocol's names). An object
    setting is merged into the one it changes, unless it changes its ``type`` (beta's
    ``turn_detection`` from ``server_vad`` to ``semantic_vad``): then it replaces it, so no field of
    the old type is left in the new."""
    for key, value in changes.items():
        if key in READ_ONLY:
            continue
        old = session.get(key)
        if (
            isinstance(old, dict)
            and isinstance(value, dict)
            and value.get("type", old.get("type")) == old.get("type")
        ):
            merged = {**old, **value}
            if key == "audio":  # audio.input / audio.output: merged too
                for part, settings in value.items():
                    if isinstance(old.get(part), dict) and isinstance(settings, dict):
                        merged[part] = {**old[part], **settings}
            session[key] = merged
        else:
            session[key] = value
