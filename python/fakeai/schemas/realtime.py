"""The parameters of the Realtime API's ``session.update`` and ``response.create``, per protocol.

The GA protocol and the beta one (``OpenAI-Beta: realtime=v1``) name some parameters differently:
GA's ``output_modalities`` and ``max_output_tokens`` are beta's ``modalities`` and
``max_response_output_tokens``, GA nests the audio settings under ``audio``, and only beta has
``temperature`` and ``voice`` at the top level. Each session accepts its own protocol's names (the
lists of the official SDK's ``RealtimeSessionCreateRequest`` / ``RealtimeResponseCreateParams`` and
their beta twins); any other name is answered, as OpenAI does, with an ``error`` event of code
``unknown_parameter`` naming it (``session.modalities``), with a hint when the other protocol knows
it. ``id`` and ``object`` of a session are tolerated in ``session.update`` (read-only: clients echo
the object ``session.created`` gave them).
"""

from __future__ import annotations

from collections.abc import Container
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.errors import bad_request
from fakeai.schemas import realtime_transcription

GA_SESSION = frozenset(
    {
        "type",
        "model",
        "instructions",
        "output_modalities",
        "audio",
        "include",
        "max_output_tokens",
        "parallel_tool_calls",
        "prompt",
        "reasoning",
        "tool_choice",
        "tools",
        "tracing",
        "truncation",
    }
)
BETA_SESSION = frozenset(
    {
        "model",
        "instructions",
        "modalities",
        "voice",
        "input_audio_format",
        "output_audio_format",
        "input_audio_noise_reduction",
        "input_audio_transcription",
        "turn_detection",
        "tools",
        "tool_choice",
        "temperature",
        "max_response_output_tokens",
        "speed",
        "tracing",
        "client_secret",
    }
)
GA_RESPONSE = frozenset(
    {
        "audio",
        "conversation",
        "input",
        "instructions",
        "max_output_tokens",
        "metadata",
        "output_modalities",
        "parallel_tool_calls",
        "prompt",
        "reasoning",
        "tool_choice",
        "tools",
    }
)
BETA_RESPONSE = frozenset(
    {
        "conversation",
        "input",
        "instructions",
        "max_response_output_tokens",
        "metadata",
        "modalities",
        "output_audio_format",
        "temperature",
        "tool_choice",
        "tools",
        "voice",
    }
)
#: Read-only session fields a client may send back unchanged.
READ_ONLY = frozenset({"id", "object"})
#: What the other protocol calls a parameter, for the hint of an unknown one.
RENAMED = {
    "modalities": "output_modalities",
    "max_response_output_tokens": "max_output_tokens",
    "output_modalities": "modalities",
    "max_output_tokens": "max_response_output_tokens",
}
MODALITIES = ("text", "audio")


class Names:
    """One protocol's parameter names: what its sessions and responses accept."""

    def __init__(
        self,
        beta: bool,
        models: Container[str] = realtime_transcription.MODELS,
        languages: Container[str] = ("en",),
    ) -> None:
        """``models`` and ``languages``: what an input audio transcription may name (see
        :mod:`fakeai.schemas.realtime_transcription`)."""
        self.beta = beta
        self.models, self.languages = models, languages
        self.session = BETA_SESSION if beta else GA_SESSION
        self.response = BETA_RESPONSE if beta else GA_RESPONSE
        self.modalities = "modalities" if beta else "output_modalities"
        self.max_tokens = "max_response_output_tokens" if beta else "max_output_tokens"

    def check_session(
        self, changes: dict[str, Any], where: str = "session.", current_vad: str | None = None
    ) -> None:
        """Raise the error of the first parameter ``session.update`` may not set, or of a bad value
        (``where``: how the request names the session's parameters; ``""`` when they are its top level,
        as the beta ``POST /v1/realtime/sessions`` sends them; ``current_vad``: the session's kind of
        turn detection, which a beta update without ``type`` changes)."""
        self._check(changes, self.session | READ_ONLY, where)
        if not self.beta and changes.get("type", "realtime") != "realtime":
            hint = (
                " A transcription session is opened with '?intent=transcription' or a transcription "
                "client secret."
                if changes.get("type") == "transcription"
                else ""
            )
            raise bad_request(
                f"'{where}type' must be 'realtime'.{hint}", param=f"{where}type", code="invalid_value"
            )
        if self.beta:
            realtime_transcription.check_input(changes, where, True, self.models, self.languages, current_vad)
            return
        inputs = realtime_transcription.ga_input(changes, where)
        if inputs is not None:
            realtime_transcription.check_input(
                inputs, f"{where}audio.input.", False, self.models, self.languages
            )

    def check_response(self, options: dict[str, Any]) -> None:
        """Raise the error of the first parameter ``response.create`` may not set, or of a bad value."""
        self._check(options, self.response, "response.")

    def _check(self, params: dict[str, Any], allowed: frozenset[str], where: str) -> None:
        for key in params:
            if key not in allowed:
                other = RENAMED.get(key)
                hint = (
                    f" This session speaks the {'beta' if self.beta else 'GA'} protocol, which calls it "
                    f"'{other}'."
                    if other in allowed
                    else ""
                )
                raise bad_request(
                    f"Unknown parameter: '{where}{key}'.{hint}",
                    param=f"{where}{key}",
                    code="unknown_parameter",
                )
        modalities = params.get(self.modalities)
        if modalities is not None and (
            not isinstance(modalities, list) or not modalities or any(m not in MODALITIES for m in modalities)
        ):
            raise bad_request(
                f"'{where}{self.modalities}' must be a non-empty list of 'text' and 'audio'.",
                param=f"{where}{self.modalities}",
                code="invalid_value",
            )
        limit = params.get(self.max_tokens)
        if limit is not None and limit != "inf" and (type(limit) is not int or not 1 <= limit <= 4096):
            raise bad_request(
                f"'{where}{self.max_tokens}' must be an integer from 1 to 4096, or 'inf'.",
                param=f"{where}{self.max_tokens}",
                code="invalid_value",
            )
        instructions = params.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise bad_request(
                f"'{where}instructions' must be a string.",
                param=f"{where}instructions",
                code="invalid_value",
            )


class ExpiresAfter(msgspec.Struct, forbid_unknown_fields=True):
    """When a Realtime client secret expires: ``seconds`` after it was made (OpenAI's 10-7200, 600)."""

    anchor: Literal["created_at"] = "created_at"
    seconds: Annotated[int, Meta(ge=10, le=7200)] = 600


class ClientSecretRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/realtime/client_secrets`` (the session is checked as ``session.update`` is)."""

    expires_after: ExpiresAfter | None = None
    session: dict[str, Any] | None = None


class ClientSecretConfig(msgspec.Struct, forbid_unknown_fields=True):
    """The beta ``POST /v1/realtime/sessions``' ``client_secret``."""

    expires_after: ExpiresAfter | None = None


class TranscriptionClientSecretConfig(msgspec.Struct, forbid_unknown_fields=True):
    """The beta ``POST /v1/realtime/transcription_sessions``' ``client_secret`` (which names its expiry
    ``expires_at``)."""

    expires_at: ExpiresAfter | None = None
