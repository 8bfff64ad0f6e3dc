"""Speaker diarization of ``POST /v1/audio/transcriptions``: ``gpt-4o-transcribe-diarize`` (any model id
with ``diarize`` in it) and its ``diarized_json`` format, and ``chunking_strategy`` (every model).

``diarized_json`` is ``{task, duration, text, segments, usage}``: each segment ``{type:
"transcript.text.segment", id: "seg_N", start, end, text, speaker}``, in order, non-overlapping,
within the audio's duration, their texts joining into ``text`` (the same transcript the file gives
in ``json``); speakers are ``A``, ``B``... in order of first appearance, or the request's
``known_speaker_names[]`` (:func:`fakeai._core.diarization` draws the turns). ``usage`` is the token
usage of the other gpt-4o models. With ``stream=true`` each segment streams as its
``transcript.text.delta`` pieces, each naming its ``segment_id``, then its ``transcript.text.segment``
event (with its last delta); ``transcript.text.done`` ends the stream.

As OpenAI documents it, the diarize model answers ``json``, ``text`` and ``diarized_json`` only, and
only it answers ``diarized_json``; it takes no ``prompt``, no ``include[]=logprobs`` and no
``timestamp_granularities[]`` (each a 400 naming it), and audio longer than
:data:`CHUNKING_FROM_SECONDS` needs a ``chunking_strategy``. Known speakers: at most
:data:`MAX_SPEAKERS` ``known_speaker_names[]`` (distinct, at most :data:`MAX_NAME_CHARS` characters)
with one ``known_speaker_references[]`` each, a base64 ``data:audio/...`` (or ``video/``) URL of at
most :data:`MAX_REFERENCE_BYTES` whose duration, when its container tells it (WAV, FLAC, MP3, Ogg,
ADTS), is within :data:`REFERENCE_SECONDS` (what OpenAI's server checks; its reference says 2 to 10
seconds). Other models take no known speakers (a 400).

``chunking_strategy`` is ``auto``, or a ``server_vad`` object (as JSON text or as the SDK's
``chunking_strategy[type]``... fields) of ``threshold`` 0-1 and ``prefix_padding_ms`` /
``silence_duration_ms`` up to :data:`MAX_VAD_MS`; it is checked for every model and changes nothing
else.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping

import orjson
from starlette.datastructures import FormData

from fakeai import _core
from fakeai.api.audio_stream import event, pieces
from fakeai.errors import ApiError, bad_request

#: The formats the diarize model answers.
FORMATS = ("json", "text", "diarized_json")
#: Most known speakers a request names (OpenAI's 4; the core's ``diarize::MAX_SPEAKERS``).
MAX_SPEAKERS = 4
MAX_NAME_CHARS = 64
#: Seconds a known speaker's reference lasts (OpenAI's server: 1.2 to 10).
REFERENCE_SECONDS = (1.2, 10.0)
#: Largest decoded reference: 10 s of 48 kHz stereo 32-bit WAV is 3.84 MB.
MAX_REFERENCE_BYTES = 4 * 1024 * 1024
#: Largest ``known_speaker_references[]`` form field: the base64 of the largest reference and its
#: ``data:`` prefix (other text fields stay within the multipart reader's 64 KiB).
REFERENCE_FIELD_BYTES = math.ceil(MAX_REFERENCE_BYTES / 3) * 4 + 256
FIELD_LIMITS = {
    "known_speaker_references[]": REFERENCE_FIELD_BYTES,
    "known_speaker_references": REFERENCE_FIELD_BYTES,
}
#: Audio longer than this needs a ``chunking_strategy`` with the diarize model.
CHUNKING_FROM_SECONDS = 30.0
MAX_VAD_MS = 10_000
_VAD_FIELDS = ("type", "threshold", "prefix_padding_ms", "silence_duration_ms")


def diarizes(model: str) -> bool:
    return "diarize" in model.lower()


def _list(form: FormData, name: str) -> list[str]:
    values = form.getlist(name + "[]") + form.getlist(name)
    if not all(isinstance(v, str) for v in values):
        raise bad_request(f"'{name}' must be text fields, not files.", param=name, code="invalid_value")
    return values  # type: ignore[return-value]


def check_format(model: str, fmt: str) -> None:
    """``diarized_json`` only from the diarize model, which answers only :data:`FORMATS`."""
    if fmt == "diarized_json" and not diarizes(model):
        raise bad_request(
            f"response_format 'diarized_json' is not compatible with model '{model}'; "
            "use gpt-4o-transcribe-diarize.",
            param="response_format",
            code="unsupported_value",
        )
    if diarizes(model) and fmt not in FORMATS:
        raise bad_request(
            f"response_format '{fmt}' is not compatible with model '{model}'; use json, text or diarized_json.",
            param="response_format",
            code="unsupported_value",
        )


def check_params(form: FormData, model: str, seconds: float) -> list[str]:
    """Check the diarization parameters (and ``chunking_strategy``) of a transcription of ``seconds``
    of audio by ``model``; the known speakers' names ([] when none)."""
    chunking = chunking_strategy(form)
    names = _list(form, "known_speaker_names")
    references = _list(form, "known_speaker_references")
    if not diarizes(model):
        if names or references:
            param = "known_speaker_names" if names else "known_speaker_references"
            raise bad_request(
                f"Known speakers are only supported with gpt-4o-transcribe-diarize, not '{model}'.",
                param=param,
                code="unsupported_value",
            )
        return []
    refused = {
        "prompt": bool(form.get("prompt")),
        "include": bool(_list(form, "include")),
        "timestamp_granularities": bool(_list(form, "timestamp_granularities")),
    }
    for param, sent in refused.items():
        if sent:
            raise bad_request(
                f"'{param}' is not supported for diarization models ('{model}').",
                param=param,
                code="unsupported_value",
            )
    if chunking is None and seconds > CHUNKING_FROM_SECONDS:
        raise bad_request(
            f"chunking_strategy is required for diarization models when the audio is longer than "
            f"{CHUNKING_FROM_SECONDS:g} seconds (this one lasts {seconds:.1f}); use 'auto'.",
            param="chunking_strategy",
            code="missing_required_parameter",
        )
    _check_speakers(names, references)
    return names


def _check_speakers(names: list[str], references: list[str]) -> None:
    for param, values in (("known_speaker_names", names), ("known_speaker_references", references)):
        if len(values) > MAX_SPEAKERS:
            raise bad_request(
                f"'{param}' has {len(values)} entries; at most {MAX_SPEAKERS} known speakers are supported.",
                param=param,
                code="invalid_value",
            )
    if len(names) != len(references):
        raise bad_request(
            f"Send one known_speaker_references[] per known_speaker_names[] "
            f"({len(names)} names, {len(references)} references).",
            param="known_speaker_references" if names else "known_speaker_names",
            code="invalid_value",
        )
    for name in names:
        if not name.strip() or len(name) > MAX_NAME_CHARS:
            raise bad_request(
                f"Each known speaker name must be 1 to {MAX_NAME_CHARS} characters.",
                param="known_speaker_names",
                code="invalid_value",
            )
    if len(set(names)) != len(names):
        raise bad_request(
            "known_speaker_names must be distinct.", param="known_speaker_names", code="invalid_value"
        )
    for i, reference in enumerate(references):
        _check_reference(reference, i)


def _bad_reference(message: str) -> ApiError:
    return bad_request(message, param="known_speaker_references", code="invalid_value")


def _check_reference(url: str, i: int) -> None:
    """A ``data:audio/...;base64,...`` URL of a short audio clip."""
    head, comma, data = url.partition(",")
    mime = head[5:].split(";", 1)[0].lower()
    if not head.startswith("data:") or not comma or not head.endswith(";base64"):
        raise _bad_reference(
            f"known_speaker_references[{i}] must be a base64 data URL (data:audio/...;base64,...)."
        )
    if not mime.startswith(("audio/", "video/")):
        raise _bad_reference(f"known_speaker_references[{i}] must be audio, not {mime or 'untyped data'}.")
    if len(data) > REFERENCE_FIELD_BYTES:
        raise _bad_reference(f"known_speaker_references[{i}] is larger than {MAX_REFERENCE_BYTES} bytes.")
    try:
        clip = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_reference(f"known_speaker_references[{i}] is not valid base64.") from None
    if not clip or len(clip) > MAX_REFERENCE_BYTES:
        raise _bad_reference(
            f"known_speaker_references[{i}] must hold 1 to {MAX_REFERENCE_BYTES} bytes of audio."
        )
    try:
        seconds, container = _core.probe_audio(clip)
    except _core.InvalidInput as exc:
        raise _bad_reference(f"known_speaker_references[{i}]: {exc.args[0]}") from None
    lo, hi = REFERENCE_SECONDS
    if container != "unknown" and not lo <= seconds <= hi:
        raise _bad_reference(
            f"Known speaker reference {i} lasts {seconds:.2f} seconds, but must be between {lo} and {hi} seconds."
        )


def chunking_strategy(form: FormData) -> object | None:
    """The ``chunking_strategy``: ``"auto"``, a ``server_vad`` dict, or None when absent."""
    raw = form.get("chunking_strategy") or None  # an empty field is no field, as elsewhere in a form
    fields = {
        k[18:-1]: v for k, v in form.multi_items() if k.startswith("chunking_strategy[") and k.endswith("]")
    }
    if raw is None and not fields:
        return None
    if not isinstance(raw, str | None) or any(not isinstance(v, str) for v in fields.values()):
        raise _bad_chunking("'chunking_strategy' must be text, not a file.")
    if raw == "auto" and not fields:
        return "auto"
    if raw is not None:
        if fields:
            raise _bad_chunking("Send 'chunking_strategy' once: 'auto', or a server_vad object.")
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _bad_chunking(
                f"Invalid chunking_strategy {raw[:40]!r}: use 'auto' or a server_vad object."
            ) from None
        if not isinstance(parsed, dict):
            raise _bad_chunking("chunking_strategy must be 'auto' or a server_vad object.")
        fields = parsed
    return _server_vad(fields)


def _bad_chunking(message: str) -> ApiError:
    return bad_request(message, param="chunking_strategy", code="invalid_value")


def _server_vad(fields: Mapping[str, object]) -> dict[str, object]:
    unknown = sorted(set(fields) - set(_VAD_FIELDS))
    if unknown:
        raise _bad_chunking(f"Unknown chunking_strategy field {unknown[0][:40]!r}.")
    if fields.get("type") != "server_vad":
        raise _bad_chunking("chunking_strategy.type must be 'server_vad' (or send chunking_strategy=auto).")
    out: dict[str, object] = {"type": "server_vad"}
    for name, hi, integer in (
        ("threshold", 1.0, False),
        ("prefix_padding_ms", MAX_VAD_MS, True),
        ("silence_duration_ms", MAX_VAD_MS, True),
    ):
        if name not in fields:
            continue
        value = _number(fields[name])
        if value is None or not 0 <= value <= hi or (integer and value != int(value)):
            kind = "an integer" if integer else "a number"
            raise _bad_chunking(f"chunking_strategy.{name} must be {kind} from 0 to {hi:g}.")
        out[name] = int(value) if integer else value
    return out


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and len(value) <= 32:
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


Segment = tuple[str, float, float, str]


def _segment(i: int, seg: Segment) -> dict[str, object]:
    speaker, start, end, text = seg
    return {
        "type": "transcript.text.segment",
        "id": f"seg_{i}",
        "start": start,
        "end": end,
        "text": text,
        "speaker": speaker,
    }


def body(segments: list[Segment], seconds: float, text: str, usage: dict[str, object]) -> bytes:
    """The ``diarized_json`` answer."""
    return orjson.dumps(
        {
            "task": "transcribe",
            "duration": seconds,
            "text": text,
            "segments": [_segment(i, s) for i, s in enumerate(segments)],
            "usage": usage,
        }
    )


def stream_steps(segments: list[Segment], text: str, usage: dict[str, object]) -> list[bytes]:
    """A streamed ``diarized_json``: per segment, a step per ``transcript.text.delta`` piece (naming
    the segment), its ``transcript.text.segment`` with its last piece; ``transcript.text.done`` last."""
    steps: list[bytes] = []
    for i, seg in enumerate(segments):
        sid = f"seg_{i}"
        steps += [
            event({"type": "transcript.text.delta", "delta": p, "segment_id": sid}) for p in pieces(seg[3])
        ]
        steps[-1] += event(_segment(i, seg))
    done = event({"type": "transcript.text.done", "text": text, "usage": usage})
    if steps:
        steps[-1] += done
    else:
        steps.append(done)
    return steps
