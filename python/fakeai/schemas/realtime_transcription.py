"""The input-audio settings of Realtime sessions, and the parameters of transcription sessions.

A transcription session (``session.type: "transcription"``) takes, in the GA protocol, ``type``,
``audio.input`` (``format``, ``transcription``, ``turn_detection``, ``noise_reduction``) and
``include``; in the beta one (``transcription_session.update``, ``POST
/v1/realtime/transcription_sessions``) ``input_audio_format``, ``input_audio_transcription``,
``input_audio_noise_reduction``, ``turn_detection``, ``include`` and ``modalities`` (the lists of the
official SDK's ``RealtimeTranscriptionSessionCreateRequest`` and ``TranscriptionSessionUpdate``). Any
other name is an ``unknown_parameter`` naming it, as :class:`fakeai.schemas.realtime.Names` answers
for a conversation session.

The values are checked wherever a session names them (a conversation session's
``audio.input.transcription`` / ``input_audio_transcription`` too): a transcription ``model`` is one
of OpenAI's transcription models (:data:`MODELS`) or a model the catalog lists as one; ``language``
an ISO-639-1 code ``/v1/audio/transcriptions`` knows; ``prompt`` at most :data:`MAX_PROMPT_CHARS`
characters; a format one of OpenAI's (PCM16 at 24 kHz, G.711 u-law or A-law); turn detection
``server_vad`` or ``semantic_vad`` with its numbers in OpenAI's ranges, each with only its own fields
(the SDK's ``ServerVad`` and ``SemanticVad``: ``threshold``, ``prefix_padding_ms``,
``silence_duration_ms`` and ``idle_timeout_ms`` are server VAD's, ``eagerness`` semantic VAD's; the
other's is an ``unknown_parameter``, in both protocols, although the beta SDK declares one flat type
whose docs say "used only for" one mode); noise reduction ``near_field`` or ``far_field``. Every mistake
is a 400 (an ``error`` event on the socket) naming the parameter.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from fakeai.errors import ApiError, bad_request, missing

#: OpenAI's transcription models (the SDK's ``AudioTranscription.model``).
MODELS = frozenset(
    {
        "whisper-1",
        "gpt-transcribe",
        "gpt-live-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-4o-transcribe",
        "gpt-4o-transcribe-diarize",
        "gpt-realtime-whisper",
    }
)
GA_SESSION = frozenset({"type", "audio", "include"})
BETA_SESSION = frozenset(
    {
        "input_audio_format",
        "input_audio_transcription",
        "input_audio_noise_reduction",
        "turn_detection",
        "include",
        "modalities",
        "client_secret",
    }
)
#: Read-only fields a client may echo back.
READ_ONLY = frozenset({"id", "object", "expires_at"})
GA_INPUT = frozenset({"format", "transcription", "turn_detection", "noise_reduction"})
GA_TRANSCRIPTION = frozenset({"model", "language", "prompt", "delay", "keywords", "languages"})
BETA_TRANSCRIPTION = frozenset({"model", "language", "prompt"})
GA_FORMATS = ("audio/pcm", "audio/pcmu", "audio/pcma")
BETA_FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")
#: Each turn detection type's fields (the SDK's ``ServerVad`` and ``SemanticVad``).
VAD_FIELDS = {
    "server_vad": frozenset(
        {
            "type",
            "threshold",
            "prefix_padding_ms",
            "silence_duration_ms",
            "create_response",
            "interrupt_response",
            "idle_timeout_ms",
        }
    ),
    "semantic_vad": frozenset({"type", "eagerness", "create_response", "interrupt_response"}),
}
TURN_DETECTION = VAD_FIELDS["server_vad"] | VAD_FIELDS["semantic_vad"]
VAD_TYPES = ("server_vad", "semantic_vad")
EAGERNESS = ("low", "medium", "high", "auto")
NOISE_REDUCTION = ("near_field", "far_field")
DELAYS = ("minimal", "low", "medium", "high", "xhigh")
LOGPROBS = "item.input_audio_transcription.logprobs"
MAX_PROMPT_CHARS = 4096
#: Most ``keywords`` / ``languages``, and the longest keyword.
MAX_LIST = 100
MAX_KEYWORD_CHARS = 256
#: The longest ``prefix_padding_ms`` / ``silence_duration_ms`` / ``idle_timeout_ms``.
MAX_MS = 30_000


def _object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"'{param}' must be an object.", param=param, code="invalid_type")
    return value


def _names(params: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in params:
        if key not in allowed:
            raise bad_request(
                f"Unknown parameter: '{where}{key}'.", param=f"{where}{key}", code="unknown_parameter"
            )


def _choice(value: Any, allowed: tuple[str, ...], param: str) -> None:
    if value not in allowed:
        raise bad_request(
            f"Invalid value for '{param}': expected one of {', '.join(repr(a) for a in allowed)}.",
            param=param,
            code="invalid_value",
        )


def _number(value: Any, low: float, high: float, param: str, integer: bool = False) -> None:
    ok = type(value) is int or (not integer and type(value) is float)
    if not ok or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise bad_request(
            f"'{param}' must be {kind} from {low:g} to {high:g}.", param=param, code="invalid_value"
        )


def check_transcription(
    value: Any, where: str, beta: bool, models: Container[str], languages: Container[str]
) -> None:
    """A transcription configuration (``where``: its parameter name); ``None`` turns it off."""
    if value is None:
        return
    config = _object(value, where)
    _names(config, BETA_TRANSCRIPTION if beta else GA_TRANSCRIPTION, where + ".")
    model = config.get("model")
    if model is not None and (not isinstance(model, str) or model not in models):
        raise bad_request(
            f"Invalid value for '{where}.model': not a transcription model (use e.g. 'gpt-4o-transcribe' "
            "or 'whisper-1').",
            param=f"{where}.model",
            code="invalid_value",
        )
    language = config.get("language")
    if language is not None and language not in languages:
        raise bad_request(
            f"Invalid value for '{where}.language': use an ISO-639-1 code such as 'en'.",
            param=f"{where}.language",
            code="invalid_value",
        )
    prompt = config.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > MAX_PROMPT_CHARS):
        raise bad_request(
            f"'{where}.prompt' must be a string of at most {MAX_PROMPT_CHARS} characters.",
            param=f"{where}.prompt",
            code="invalid_value",
        )
    if config.get("delay") is not None:
        _choice(config["delay"], DELAYS, f"{where}.delay")
    for key, check in (("keywords", None), ("languages", languages)):
        items = config.get(key)
        if items is None:
            continue
        param = f"{where}.{key}"
        if not isinstance(items, list) or len(items) > MAX_LIST:
            raise bad_request(f"'{param}' must be a list of at most {MAX_LIST} strings.", param=param)
        for item in items:
            if not isinstance(item, str) or len(item) > MAX_KEYWORD_CHARS or (check and item not in check):
                raise bad_request(f"Invalid value in '{param}'.", param=param, code="invalid_value")


def check_format(value: Any, where: str, beta: bool) -> None:
    """An input audio format: a beta name (``pcm16``...) or a GA object (``{"type": "audio/pcm"}``)."""
    if beta:
        _choice(value, BETA_FORMATS, where)
        return
    fmt = _object(value, where)
    _names(fmt, frozenset({"type", "rate"}), where + ".")
    _choice(fmt.get("type", "audio/pcm"), GA_FORMATS, f"{where}.type")
    if fmt.get("rate") is not None and (fmt.get("type", "audio/pcm") != "audio/pcm" or fmt["rate"] != 24000):
        raise bad_request(
            f"Invalid value for '{where}.rate': only 24000 Hz PCM is supported.",
            param=f"{where}.rate",
            code="invalid_value",
        )


def check_turn_detection(value: Any, where: str, beta: bool = True, current: str | None = None) -> None:
    """``server_vad`` / ``semantic_vad`` settings, or ``None`` (off). GA's types require ``type``;
    beta's leave it out to change the session's ``current`` kind (``server_vad`` when it has none),
    whose fields are then the ones allowed (its settings are merged into the current ones)."""
    if value is None:
        return
    config = _object(value, where)
    _names(config, TURN_DETECTION, where + ".")
    if not beta and "type" not in config:
        raise missing(f"{where}.type")
    kind = config.get("type", current or "server_vad")
    _choice(kind, VAD_TYPES, f"{where}.type")
    for key in config:
        if key not in VAD_FIELDS[kind]:
            other = "semantic_vad" if kind == "server_vad" else "server_vad"
            raise bad_request(
                f"Unknown parameter: '{where}.{key}'. It is a setting of '{other}' turn detection, not of "
                f"'{kind}'.",
                param=f"{where}.{key}",
                code="unknown_parameter",
            )
    if config.get("threshold") is not None:
        _number(config["threshold"], 0.0, 1.0, f"{where}.threshold")
    for key in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
        if config.get(key) is not None:
            _number(config[key], 0, MAX_MS, f"{where}.{key}", integer=True)
    for key in ("create_response", "interrupt_response"):
        if config.get(key) is not None and not isinstance(config[key], bool):
            raise bad_request(f"'{where}.{key}' must be a boolean.", param=f"{where}.{key}")
    if config.get("eagerness") is not None:
        _choice(config["eagerness"], EAGERNESS, f"{where}.eagerness")


def check_noise_reduction(value: Any, where: str) -> None:
    if value is None:
        return
    config = _object(value, where)
    _names(config, frozenset({"type", "strength"}), where + ".")
    if config.get("type") is not None:
        _choice(config["type"], NOISE_REDUCTION, f"{where}.type")
    if config.get("strength") is not None:
        _number(config["strength"], 0.0, 1.0, f"{where}.strength")


def check_input(
    params: dict[str, Any],
    where: str,
    beta: bool,
    models: Container[str],
    languages: Container[str],
    current_vad: str | None = None,
) -> None:
    """The input-audio settings among a session's ``params``, in either protocol's names (GA:
    ``params`` is ``audio.input``; beta: the session's top level). ``current_vad``: the kind of turn
    detection the session has (what a beta update without ``type`` changes)."""
    if beta:
        names = {
            "input_audio_format": "format",
            "input_audio_transcription": "transcription",
            "turn_detection": "turn_detection",
            "input_audio_noise_reduction": "noise_reduction",
        }
    else:
        names = {name: name for name in GA_INPUT}
    for key, kind in names.items():
        if key not in params:
            continue
        value, param = params[key], where + key
        if kind == "format":
            check_format(value, param, beta)
        elif kind == "transcription":
            check_transcription(value, param, beta, models, languages)
        elif kind == "turn_detection":
            check_turn_detection(value, param, beta, current_vad)
        else:
            check_noise_reduction(value, param)


def ga_input(changes: dict[str, Any], where: str) -> dict[str, Any] | None:
    """A GA session's ``audio.input`` settings (checked to be objects), None when it names none."""
    audio = changes.get("audio")
    if audio is None:
        return None
    audio = _object(audio, f"{where}audio")
    value = audio.get("input")
    return None if value is None else _object(value, f"{where}audio.input")


def check_session(
    changes: dict[str, Any],
    beta: bool,
    where: str,
    models: Container[str],
    languages: Container[str],
    current_vad: str | None = None,
) -> None:
    """A transcription session's parameters (``where``: how the request names them, e.g.
    ``session.``)."""
    _names(changes, (BETA_SESSION if beta else GA_SESSION) | READ_ONLY, where)
    include = changes.get("include")
    if include is not None and (not isinstance(include, list) or any(i != LOGPROBS for i in include)):
        raise bad_request(
            f"Invalid value for '{where}include': only '{LOGPROBS}' may be included.",
            param=f"{where}include",
            code="invalid_value",
        )
    if beta:
        modalities = changes.get("modalities")
        if modalities is not None and (
            not isinstance(modalities, list) or any(m not in ("text", "audio") for m in modalities)
        ):
            raise bad_request(
                f"'{where}modalities' must be a list of 'text' and 'audio'.",
                param=f"{where}modalities",
                code="invalid_value",
            )
        check_input(changes, where, beta, models, languages, current_vad)
        if changes.get("input_audio_transcription", 0) is None:
            raise _off(where + "input_audio_transcription")
        return
    if changes.get("type", "transcription") != "transcription":
        raise bad_request(
            f"'{where}type' cannot change: this is a transcription session.",
            param=f"{where}type",
            code="invalid_value",
        )
    audio = changes.get("audio")
    if audio is not None:
        _names(_object(audio, f"{where}audio"), frozenset({"input"}), f"{where}audio.")
    inputs = ga_input(changes, where)
    if inputs is not None:
        _names(inputs, GA_INPUT, f"{where}audio.input.")
        check_input(inputs, f"{where}audio.input.", beta, models, languages)
        if inputs.get("transcription", 0) is None:
            raise _off(f"{where}audio.input.transcription")


def _off(param: str) -> ApiError:
    return bad_request(
        f"'{param}' cannot be null in a transcription session: it says how to transcribe the audio.",
        param=param,
        code="invalid_value",
    )
