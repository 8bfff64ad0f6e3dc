"""A Realtime session's input audio: its buffer, its transcription, and (in transcription sessions)
server voice activity detection.

A transcription session (``/v1/realtime?intent=transcription``, or a client secret minted with
``session.type: "transcription"`` / by the beta ``POST /v1/realtime/transcription_sessions``) never
answers: the client appends audio and commits it (or server VAD commits it, see
:mod:`fakeai.api.realtime_vad`), and each committed buffer becomes a user item
(``input_audio_buffer.committed``, ``conversation.item.added``/``done``, beta
``conversation.item.created``) whose transcript follows as ``conversation.item.input_audio_transcription.delta``
events and one ``.completed``. A conversation session whose ``audio.input.transcription`` (beta
``input_audio_transcription``) names a model transcribes its committed audio the same way, and its
responses then read the transcript.

The transcript is ``/v1/audio/transcriptions``' generated text (:func:`fakeai._core.transcription`)
for the audio's duration (PCM16 at 24 kHz, or G.711 at 8 kHz), the same for the same audio (it is
drawn from a digest of the committed bytes, which are not kept). Its deltas are the pieces the HTTP
stream sends (a word with its leading space, or a punctuation mark; ``whisper-1`` sends the whole text
in one delta, as OpenAI's does), at the transcription model's TTFT + i x ITL from the commit; they join
into the ``completed`` event's ``transcript``. ``usage`` is as the HTTP endpoint bills: tokens (audio
tokens at 10 a second, the prompt's text tokens, the transcript's output tokens), or the duration for
Whisper models. With ``include: ["item.input_audio_transcription.logprobs"]`` each delta carries its
logprob and the completed event all of them.

Transcriptions run concurrently with the session (and with its responses), at most
:data:`MAX_PENDING` at a time: a commit past that gets ``conversation.item.input_audio_transcription.failed``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocketDisconnect

from fakeai import _core
from fakeai.api import audio_stream, transcriptions
from fakeai.api.realtime_vad import Vad
from fakeai.engine.catalog import Catalog
from fakeai.errors import bad_request
from fakeai.schemas import realtime_transcription

if TYPE_CHECKING:
    from fakeai.api.realtime import Session

#: Transcriptions one session runs at once.
MAX_PENDING = 64
#: Bytes a second of each input format, and its codec.
FORMATS = {
    "pcm16": (48000, "pcm16"),
    "audio/pcm": (48000, "pcm16"),
    "g711_ulaw": (8000, "ulaw"),
    "audio/pcmu": (8000, "ulaw"),
    "g711_alaw": (8000, "alaw"),
    "audio/pcma": (8000, "alaw"),
}
LANGUAGES = transcriptions.LANGUAGES


def models(catalog: Catalog) -> frozenset[str]:
    """The transcription models a session may name: OpenAI's, and those the catalog lists as such."""
    listed = {m.id for m in catalog.all() if "transcription" in m.capabilities}
    return realtime_transcription.MODELS | listed


def check_update(session: Session, changes: dict[str, Any], answer: str) -> None:
    """Raise the error of an update (``session.update``, or beta's ``transcription_session.update``
    when ``answer`` is ``transcription_session.updated``) the session refuses."""
    beta_transcription = session.transcription and session.beta
    if (answer == "transcription_session.updated") != beta_transcription:
        raise bad_request(
            "This is a transcription session: update it with 'transcription_session.update'."
            if beta_transcription
            else "'transcription_session.update' updates a beta transcription session (opened with "
            "'?intent=transcription'); this session takes 'session.update'.",
            param="type",
            code="invalid_value",
        )
    current = session.session.get("turn_detection") if session.beta else None  # beta: top level
    vad = current.get("type") if isinstance(current, dict) else None
    if session.transcription:
        realtime_transcription.check_session(
            changes, session.beta, "session.", session.models, LANGUAGES, vad
        )
    else:
        session.params.check_session(changes, current_vad=vad)


def _settings(session: dict[str, Any], beta: bool) -> tuple[dict[str, Any] | None, Any, Any, list[Any]]:
    """A session's transcription configuration, input format, turn detection and ``include``."""
    if beta:
        return (
            session.get("input_audio_transcription"),
            session.get("input_audio_format"),
            session.get("turn_detection"),
            session.get("include") or [],
        )
    audio = session.get("audio")
    inputs = audio.get("input") if isinstance(audio, dict) else None
    inputs = inputs if isinstance(inputs, dict) else {}
    fmt = inputs.get("format")
    fmt = fmt.get("type", "audio/pcm") if isinstance(fmt, dict) else fmt
    return inputs.get("transcription"), fmt, inputs.get("turn_detection"), session.get("include") or []


class InputAudio:
    """The input audio buffer of one session (:class:`fakeai.api.realtime.Session`)."""

    def __init__(self, session: Session, transcription_session: bool) -> None:
        self.session = session
        #: A transcription session (VAD, no responses), or a conversation one.
        self.transcription_session = transcription_session
        #: Bytes in the buffer, and a digest of them (the samples themselves are not kept).
        self.bytes = 0
        self.digest = hashlib.blake2b(digest_size=16)
        #: Bytes appended since the session began (VAD positions), and a partial VAD frame.
        self.total = 0
        self.carry = b""
        self.vad: Vad | None = None
        self.vad_config: Any = None
        #: The id the item of the speech under way will have (announced by ``speech_started``).
        self.speech_item: str | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def rate(self) -> tuple[int, str]:
        """Bytes a second of the input format, and its codec."""
        fmt = _settings(self.session.session, self.session.beta)[1]
        return FORMATS.get(fmt if isinstance(fmt, str) else "pcm16", FORMATS["pcm16"])

    def ms(self, nbytes: int) -> int:
        return nbytes * 1000 // self.rate()[0]

    def seconds(self) -> float:
        return self.bytes / self.rate()[0]

    def _take(self, chunk: bytes) -> None:
        self.bytes += len(chunk)
        self.digest.update(chunk)

    def clear(self) -> None:
        self.bytes = 0
        self.digest = hashlib.blake2b(digest_size=16)

    def _detector(self) -> Vad | None:
        """The session's VAD (a transcription session's, when its turn detection is on), rebuilt when
        the settings changed."""
        if not self.transcription_session:
            return None
        config = _settings(self.session.session, self.session.beta)[2]
        if config != self.vad_config:
            self.vad_config = config
            per_second, codec = self.rate()
            self.vad = Vad(config, codec, per_second) if isinstance(config, dict) else None
            self.carry, self.speech_item = b"", None
        return self.vad

    async def append(self, chunk: bytes) -> None:
        """Add ``chunk`` to the buffer; with VAD on, announce speech and commit it when it ends."""
        vad = self._detector()
        if vad is None:
            self._take(chunk)
            self.total += len(chunk)
            return
        data = self.carry + chunk
        size = vad.frame_bytes
        done = len(self.carry)  # bytes of ``data`` already in the buffer
        whole = len(data) // size * size
        for start in range(0, whole, size):
            end = start + size
            self._take(data[done:end])
            self.total += end - done
            done = end
            heard = vad.frame(data[start:end], self.ms(self.total))
            if heard == "started":
                self.speech_item = self.session.new_item_id()
                await self.session.send(
                    "input_audio_buffer.speech_started",
                    audio_start_ms=vad.start_ms(self.ms(self.total)),
                    item_id=self.speech_item,
                )
            elif heard == "stopped":
                item_id, self.speech_item = self.speech_item, None
                await self.session.send(
                    "input_audio_buffer.speech_stopped", audio_end_ms=self.ms(self.total), item_id=item_id
                )
                await self.session.commit(item_id)
        self._take(data[done:])
        self.total += len(data) - done
        self.carry = data[whole:]

    def committed(self, item: dict[str, Any]) -> None:
        """Transcribe the buffer just committed as ``item``, if the session says how; then empty it."""
        digest, seconds = self.digest.digest(), self.seconds()
        self.clear()
        config, _, _, include = _settings(self.session.session, self.session.beta)
        if not isinstance(config, dict) or not config.get("model"):
            return
        logprobs = realtime_transcription.LOGPROBS in include
        if len(self.tasks) >= MAX_PENDING:
            task = asyncio.create_task(self._failed(item))
        else:
            task = asyncio.create_task(self._transcribe(item, digest, seconds, dict(config), logprobs))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        """Cancel the transcriptions under way and wait for them to end."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _failed(self, item: dict[str, Any]) -> None:
        error = {
            "type": "server_error",
            "code": "too_many_transcriptions",
            "message": f"More than {MAX_PENDING} transcriptions are under way in this session.",
            "param": None,
        }
        try:
            await self.session.send(
                "conversation.item.input_audio_transcription.failed",
                item_id=item["id"],
                content_index=0,
                error=error,
            )
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client went away

    async def _transcribe(
        self, item: dict[str, Any], digest: bytes, seconds: float, config: dict[str, Any], logprobs: bool
    ) -> None:
        try:
            await self._run(item, digest, seconds, config, logprobs)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client went away mid-transcription

    async def _run(
        self, item: dict[str, Any], digest: bytes, seconds: float, config: dict[str, Any], logprobs: bool
    ) -> None:
        start = time.monotonic()
        ctx, model = self.session.ctx, config["model"]
        language = LANGUAGES.get(config.get("language") or "en", "english")
        text = _core.transcription(digest, seconds, "text", "transcribe", language).decode()[:-1]
        whisper = "whisper" in model.lower()
        usage: dict[str, object] = (
            {"type": "duration", "seconds": round(seconds, 3)}
            if whisper
            else transcriptions.token_usage(seconds, config.get("prompt"), text)
        )
        ctx.usage.record("audio_transcriptions", model, round(seconds))
        pieces = [text] if model.startswith("whisper") else audio_stream.pieces(text)
        probs: list[Any] | None = None
        if logprobs and not whisper:  # the HTTP endpoint's logprobs, one per piece
            probs = orjson.loads(transcriptions.json_body(text, usage, True))["logprobs"]
        lat = ctx.latencies.for_model(model)
        ids = {"item_id": item["id"], "content_index": 0}
        for i, piece in enumerate(pieces):
            await ctx.ticker.until(start + lat.ttft + i * lat.itl)
            extra = {"logprobs": [probs[i]]} if probs is not None and i < len(probs) else {}
            await self.session.send(
                "conversation.item.input_audio_transcription.delta", delta=piece, **ids, **extra
            )
        done: dict[str, Any] = {"transcript": text, "usage": usage}
        if probs is not None:
            done["logprobs"] = probs
        await self.session.send("conversation.item.input_audio_transcription.completed", **ids, **done)
        content = item.get("content")
        if isinstance(content, list) and content and isinstance(content[0], dict):
            content[0]["transcript"] = text
            self.session.conversation.changed(item)
