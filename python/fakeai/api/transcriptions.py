"""``POST /v1/audio/transcriptions`` and ``/v1/audio/translations`` (multipart uploads).

The duration comes from the uploaded file's container (WAV, FLAC, MP3, Ogg, AAC in ADTS); other
containers (m4a, mp4, webm...) are estimated from their size at 128 kbit/s, and the
``x-fakeai-duration-source`` header says which (``wav``, ``flac``, ``mp3``, ``ogg``, ``aac`` or
``estimate``). A header that claims more audio than the file's bytes can hold, or longer than ~9.7 h
(25 MB at Opus's lowest 6 kbit/s), is a 400 ``invalid_request_error`` naming ``file``. The transcript
is fakeai's
generated text, about 150 words a minute, the same for the same file.

Whisper models (any id with ``whisper`` in it) bill the audio's duration: ``usage`` is
``{"type": "duration", "seconds": N}``. Every other model (``gpt-4o-transcribe``,
``gpt-4o-mini-transcribe``...) bills tokens, as OpenAI's gpt-4o transcribe models do: its ``json``
answer's ``usage`` is ``{"type": "tokens", "input_tokens", "output_tokens", "total_tokens",
"input_token_details": {"text_tokens", "audio_tokens"}}``, with :data:`AUDIO_TOKENS_PER_SECOND` audio
tokens per second of audio (rounded up; the same rate as a chat's ``input_audio``), the ``prompt``'s
tokens as text tokens, and the transcript's tokens (fakeai's tokenizer) as output tokens.
``verbose_json`` (Whisper's format) keeps the duration. ``include[]=logprobs`` (json or a stream, not
Whisper) adds one ``{token, logprob, bytes}`` per piece of the transcript.

``stream=true`` (a form field: ``true`` or ``false``) streams the transcript as OpenAI does, whatever
``response_format``: ``transcript.text.delta`` events, one per piece (a word with its leading space,
or a punctuation mark), then one ``transcript.text.done`` with the whole text and the token usage. The
deltas join into the text that the same file gives without streaming. They go out at the model's
TTFT + i x ITL (``--ttft``/``--itl``, ``x-fakeai-ttft-ms``/``x-fakeai-itl-ms``), all in one write when
the ITL is zero. Whisper models and translations do not stream: there ``stream=true`` is ignored,
as OpenAI documents (a value other than true/false is still a 400 naming ``stream``).

``gpt-4o-transcribe-diarize`` and its ``diarized_json`` (speakers, known speakers, streamed segments),
and ``chunking_strategy``: :mod:`fakeai.api.transcription_diarize`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai import _core
from fakeai.api import transcription_diarize as diarize
from fakeai.api.audio_stream import event, pieces, send_steps
from fakeai.context import ServerContext
from fakeai.errors import ApiError, bad_request, rejected
from fakeai.gateway import overrides
from fakeai.http import multipart
from fakeai.http.asgi import Endpoint, Receive, Scope, Send

#: File extensions OpenAI accepts for audio uploads.
EXTENSIONS = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm")
TRANSLATION_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
FORMATS = (*TRANSLATION_FORMATS, "diarized_json")
MAX_FILE_BYTES = 25 * 1024 * 1024
#: Models that answer only ``json`` (and ``text``), as OpenAI's gpt-4o transcribe models do.
JSON_ONLY_PREFIX = "gpt-4o"
#: Audio input tokens a token-billed model counts per second of audio (rounded up): one per 100 ms.
AUDIO_TOKENS_PER_SECOND = 10
#: Audio longer than this (10 minutes, ~1,800 pieces) has its token-billed answer rendered on a thread.
THREAD_FROM_SECONDS = 600.0

T = TypeVar("T")
LANGUAGES = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "ja": "japanese",
    "zh": "chinese",
    "ko": "korean",
    "ar": "arabic",
    "hi": "hindi",
    "pl": "polish",
    "tr": "turkish",
    "sv": "swedish",
    "uk": "ukrainian",
}
MEDIA_TYPES = {
    "json": "application/json",
    "verbose_json": "application/json",
    "diarized_json": "application/json",
    "text": "text/plain",
    "srt": "text/plain",
    "vtt": "text/vtt",
}


async def _upload(form: FormData) -> tuple[bytes, float, str]:
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise bad_request(
            "Missing required parameter: 'file' (an uploaded audio file).",
            param="file",
            code="missing_required_parameter",
        )
    name = (upload.filename or "").lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext not in EXTENSIONS:
        raise bad_request(
            f"Invalid file format. Supported formats: {EXTENSIONS!r}", param="file", code="invalid_value"
        )
    data = await upload.read()
    if not data:
        raise bad_request("The audio file is empty.", param="file", code="invalid_value")
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(
            413,
            f"Maximum content size limit ({MAX_FILE_BYTES}) exceeded ({len(data)} bytes read)",
            param="file",
            code="file_too_large",
        )
    try:
        seconds, container = _core.probe_audio(data)
    except _core.InvalidInput as exc:  # a header claiming more audio than the file can hold
        raise rejected(exc, "file") from None
    return data, seconds, "estimate" if container == "unknown" else container


def _whisper(model: str) -> bool:
    """Whisper models bill the audio's duration and do not stream; every other model bills tokens."""
    return "whisper" in model.lower()


def _stream(form: FormData, model: str, task: str) -> bool:
    """The ``stream`` form field: ``true`` or ``false`` (any case), a 400 naming it otherwise. As
    OpenAI documents, Whisper models and translations do not stream: there it is ignored."""
    raw = multipart.text(form, "stream", "false")
    value = raw.lower()
    if value not in ("true", "false"):
        raise bad_request(
            f"Invalid value for 'stream': expected a boolean (true or false), got {raw!r}.",
            param="stream",
            code="invalid_value",
        )
    return value == "true" and task == "transcribe" and not _whisper(model)


def _logprobs(form: FormData, model: str, fmt: str, stream: bool) -> bool:
    """Whether ``include[]`` asks for ``logprobs`` (the only value it takes): json or a stream, and not
    from a Whisper model (a 400 naming ``include`` otherwise)."""
    include = form.getlist("include[]") + form.getlist("include")
    if any(value != "logprobs" for value in include):
        raise bad_request("include must be 'logprobs'.", param="include", code="invalid_value")
    if not include:
        return False
    if _whisper(model):
        raise bad_request(
            f"logprobs is not supported with the {model} model.", param="include", code="unsupported_value"
        )
    if fmt != "json" and not stream:
        raise bad_request(
            "logprobs requires response_format 'json'.", param="include", code="unsupported_value"
        )
    return True


def token_usage(seconds: float, prompt: str | None, text: str) -> dict[str, object]:
    """The token usage of a transcript ``text`` of ``seconds`` of audio (see the module docstring)."""
    audio = math.ceil(round(seconds * AUDIO_TOKENS_PER_SECOND, 6))
    prompt_tokens = _core.count_tokens(prompt) if prompt else 0
    output = _core.count_tokens(text)
    return {
        "type": "tokens",
        "input_tokens": audio + prompt_tokens,
        "input_token_details": {"text_tokens": prompt_tokens, "audio_tokens": audio},
        "output_tokens": output,
        "total_tokens": audio + prompt_tokens + output,
    }


def _piece_logprobs(pieces: list[str]) -> list[dict[str, object]]:
    """One ``{token, logprob, bytes}`` per piece, the same for the same pieces: confident, mostly near 0."""
    rng = random.Random("".join(pieces))
    return [
        {"token": p, "logprob": -round(rng.expovariate(20.0), 6), "bytes": list(p.encode())} for p in pieces
    ]


def json_body(text: str, usage: dict[str, object], logprobs: bool) -> bytes:
    """The ``json`` answer of a token-billed model."""
    if logprobs:
        return orjson.dumps({"text": text, "logprobs": _piece_logprobs(pieces(text)), "usage": usage})
    return orjson.dumps({"text": text, "usage": usage})


def stream_steps(text: str, usage: dict[str, object], logprobs: bool) -> list[bytes]:
    """The steps of a streamed transcript: a ``transcript.text.delta`` per piece of ``text`` (they join
    into ``text``), ``transcript.text.done`` with the last."""
    parts = pieces(text)
    done: dict[str, object] = {"type": "transcript.text.done", "text": text, "usage": usage}
    deltas: list[dict[str, object]]
    if logprobs:
        probs = _piece_logprobs(parts)
        deltas = [
            {"type": "transcript.text.delta", "delta": p, "logprobs": [lp]}
            for p, lp in zip(parts, probs, strict=True)
        ]
        done["logprobs"] = probs
    else:
        deltas = [{"type": "transcript.text.delta", "delta": p} for p in parts]
    steps = [event(delta) for delta in deltas]
    steps[-1] += event(done)
    return steps


async def _render(seconds: float, render: Callable[..., T], *args: Any) -> T:
    """``render(*args)``, on a thread for more than :data:`THREAD_FROM_SECONDS` of audio: the pieces
    of a long transcript (up to ~100,000 for the longest audio accepted) take a Python step each, so
    the event loop keeps serving other requests meanwhile."""
    if seconds > THREAD_FROM_SECONDS:
        return await asyncio.to_thread(render, *args)
    return render(*args)


async def _diarized(data: bytes, seconds: float, names: list[str], stream: bool) -> bytes | list[bytes]:
    """The ``diarized_json`` answer (or stream steps) of the file ``data`` of ``seconds`` of audio."""
    segments = _core.diarization(data, seconds, names)
    text = "".join(segment[3] for segment in segments)
    usage = token_usage(seconds, None, text)  # the diarize model takes no prompt
    if stream:
        return await _render(seconds, diarize.stream_steps, segments, text, usage)
    return await _render(seconds, diarize.body, segments, seconds, text, usage)


class Transcribe(Endpoint):
    """``POST /v1/audio/transcriptions`` (``task`` "transcribe") or ``/translations`` ("translate")."""

    def __init__(self, ctx: ServerContext, task: str) -> None:
        self.ctx, self.task = ctx, task
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        ctx, task = self.ctx, self.task
        request = Request(scope, receive)
        form = await multipart.read_small_form(request, self.limit, diarize.FIELD_LIMITS)
        model = multipart.text(form, "model", required=True)
        data, seconds, source = await _upload(form)
        formats = FORMATS if task == "transcribe" else TRANSLATION_FORMATS
        fmt = multipart.choice(form, "response_format", "json", formats)
        diarize.check_format(model, fmt)
        if model.startswith(JSON_ONLY_PREFIX) and fmt not in diarize.FORMATS:
            raise bad_request(
                f"response_format '{fmt}' is not compatible with {model}; use json or text.",
                param="response_format",
                code="unsupported_value",
            )
        stream = _stream(form, model, task)
        names = diarize.check_params(form, model, seconds) if task == "transcribe" else []
        logprobs = task == "transcribe" and _logprobs(form, model, fmt, stream)
        temperature = multipart.number(form, "temperature", 0.0, 0.0, 1.0)
        granularities = set(
            form.getlist("timestamp_granularities[]") + form.getlist("timestamp_granularities")
        )
        if not granularities <= {"word", "segment"}:
            raise bad_request(
                "timestamp_granularities must be 'word' and/or 'segment'.",
                param="timestamp_granularities",
                code="invalid_value",
            )
        if granularities and fmt != "verbose_json":
            raise bad_request(
                "timestamp_granularities requires response_format 'verbose_json'.",
                param="timestamp_granularities",
                code="invalid_value",
            )
        language = "english"
        if task == "transcribe":
            code = multipart.text(form, "language")
            if code is not None:
                if code not in LANGUAGES:
                    raise bad_request(
                        f"Invalid language {code!r}: use an ISO-639-1 code such as 'en'.",
                        param="language",
                        code="invalid_value",
                    )
                language = LANGUAGES[code]
        tokens = task == "transcribe" and not _whisper(model) and (stream or fmt == "json")
        ctx.usage.record("audio_transcriptions", model, round(seconds))  # usage counts seconds
        answer: bytes | list[bytes]
        if fmt == "diarized_json":
            answer = await _diarized(data, seconds, names, stream)
        else:
            out_fmt = "text" if tokens else fmt  # a token-billed json answer is rendered here
            answer = _core.transcription(
                data, seconds, out_fmt, task, language, temperature, "word" in granularities
            )
            if tokens:
                text = answer.decode()[:-1]  # the "text" format ends with a newline
                usage = token_usage(seconds, multipart.text(form, "prompt"), text)
                render = stream_steps if stream else json_body
                answer = await _render(seconds, render, text, usage, logprobs)
        if isinstance(answer, list):  # a stream
            lat = ctx.latencies.for_request(model, overrides.from_scope(scope))
            extra = [(b"x-fakeai-duration-source", source.encode())]
            await send_steps(ctx, scope, receive, send, answer, lat, start, extra)
            return
        headers = {"x-fakeai-duration-source": source}
        await Response(answer, media_type=MEDIA_TYPES[fmt], headers=headers)(scope, receive, send)


def routes(ctx: ServerContext) -> list[Route]:
    return [
        Route("/v1/audio/transcriptions", Transcribe(ctx, "transcribe"), methods=["POST"]),
        Route("/v1/audio/translations", Transcribe(ctx, "translate"), methods=["POST"]),
    ]
