"""``POST /v1/audio/transcriptions`` and ``/v1/audio/translations`` (multipart uploads).

The duration comes from the uploaded file's container (WAV, FLAC, MP3, Ogg, AAC in ADTS); other
containers (m4a, mp4, webm...) are estimated from their size at 128 kbit/s, and the
``x-fakeai-duration-source`` header says which (``wav``, ``flac``, ``mp3``, ``ogg``, ``aac`` or
``estimate``). A header that claims more audio than the file's bytes can hold, or longer than ~9.7 h
(25 MB at Opus's lowest 6 kbit/s), is a 400 ``invalid_request_error`` naming ``file``. The transcript
is fakeai's
generated text, about 150 words a minute, the same for the same file.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai import _core
from fakeai.context import ServerContext
from fakeai.errors import ApiError, bad_request, rejected
from fakeai.http import multipart

#: File extensions OpenAI accepts for audio uploads.
EXTENSIONS = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm")
FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
MAX_FILE_BYTES = 25 * 1024 * 1024
#: Models that answer only ``json`` (and ``text``), as OpenAI's gpt-4o transcribe models do.
JSON_ONLY_PREFIX = "gpt-4o"
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


def routes(ctx: ServerContext) -> list[Route]:
    limit = ctx.settings.max_body_bytes

    async def handle(request: Request, task: str) -> Response:
        form = await multipart.read_small_form(request, limit)
        model = multipart.text(form, "model", required=True)
        data, seconds, source = await _upload(form)
        fmt = multipart.choice(form, "response_format", "json", FORMATS)
        if model.startswith(JSON_ONLY_PREFIX) and fmt not in ("json", "text"):
            raise bad_request(
                f"response_format '{fmt}' is not compatible with {model}; use json or text.",
                param="response_format",
                code="unsupported_value",
            )
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
        body = _core.transcription(data, seconds, fmt, task, language, temperature, "word" in granularities)
        ctx.usage.record("audio_transcriptions", model, round(seconds))  # usage counts seconds
        return Response(body, media_type=MEDIA_TYPES[fmt], headers={"x-fakeai-duration-source": source})

    async def transcriptions(request: Request) -> Response:
        return await handle(request, "transcribe")

    async def translations(request: Request) -> Response:
        return await handle(request, "translate")

    return [
        Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
        Route("/v1/audio/translations", translations, methods=["POST"]),
    ]
