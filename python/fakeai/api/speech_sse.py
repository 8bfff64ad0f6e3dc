"""``stream_format: "sse"`` of ``POST /v1/audio/speech``: the audio file as server-sent events.

As OpenAI streams it: ``speech.audio.delta`` events, each ``{"type", "audio"}`` with a base64 piece of
the file, the pieces joining into the very file ``stream_format: "audio"`` answers (the same bytes),
then one ``speech.audio.done`` with ``usage`` ``{input_tokens, output_tokens, total_tokens}``: the
input's and the instructions' tokens (fakeai's tokenizer) in, and the audio's tokens out, 20 a second
of speech rounded up (the rule of a chat completion's spoken answer, :func:`fakeai._core.speech_tokens`).

Each delta carries :data:`TOKENS_PER_DELTA` tokens' worth of the file (100 ms of speech, the audio
delta of the Realtime API): the encoded file is cut into that many equal byte ranges, so no Python
step runs per sample or per token. The deltas go out as a token stream's (:mod:`fakeai.api.audio_stream`):
the first at the model's TTFT, the next every :data:`TOKENS_PER_DELTA` x ITL, the done event with the
last delta.

OpenAI serves ``sse`` with ``gpt-4o-mini-tts`` and not with ``tts-1`` / ``tts-1-hd``
(:func:`check_model`: any model id starting ``tts-1`` is a 400 naming ``stream_format``).
"""

from __future__ import annotations

import base64
import math

from fakeai import _core
from fakeai.api.audio_stream import event
from fakeai.errors import bad_request

#: Audio tokens (of 50 ms, 20 a second) of speech each ``speech.audio.delta`` carries: 100 ms.
TOKENS_PER_DELTA = 2
#: Model ids OpenAI streams no events from (``tts-1``, ``tts-1-hd`` and their snapshots).
NO_SSE_PREFIX = "tts-1"


def check_model(model: str) -> None:
    if model.startswith(NO_SSE_PREFIX):
        raise bad_request(
            f"stream_format 'sse' is not supported for model '{model}'; use 'audio', or gpt-4o-mini-tts.",
            param="stream_format",
            code="unsupported_value",
        )


def usage(text: str, instructions: str | None, speed: float) -> dict[str, int]:
    """The ``usage`` of ``speech.audio.done``."""
    prompt = _core.count_tokens(text) + (_core.count_tokens(instructions) if instructions else 0)
    audio = _core.speech_tokens(text, speed)
    return {"input_tokens": prompt, "output_tokens": audio, "total_tokens": prompt + audio}


def steps(file: bytes, text: str, instructions: str | None, speed: float) -> list[bytes]:
    """The stream's steps: a ``speech.audio.delta`` each, the last one followed by ``speech.audio.done``."""
    used = usage(text, instructions, speed)
    pieces = max(1, math.ceil(used["output_tokens"] / TOKENS_PER_DELTA))
    size = max(1, math.ceil(len(file) / pieces))
    view = memoryview(file)
    out = [
        event({"type": "speech.audio.delta", "audio": base64.b64encode(view[i : i + size]).decode()})
        for i in range(0, len(file), size)
    ]
    out[-1] += event({"type": "speech.audio.done", "usage": used})
    return out
