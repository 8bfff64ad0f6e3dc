"""Server voice activity detection for Realtime transcription sessions: where speech starts and stops
in the appended audio, from its loudness.

The audio is read in frames of :data:`FRAME_MS` ms. A frame is speech when its loudest sample exceeds
``threshold`` x :data:`LEVEL_SCALE` of full scale (OpenAI's default threshold 0.5: 5 % of full scale,
some -26 dBFS, well above a microphone's silence and below speech); G.711 audio is judged by the
magnitude its codes decode to. Speech starts at its first loud frame (``audio_start_ms`` backed off by
``prefix_padding_ms``, default 300) and stops once ``silence_duration_ms`` (default 500) of quiet
frames follow it; ``semantic_vad`` waits by its ``eagerness`` instead (``low`` 1000 ms, ``medium`` and
``auto`` 500, ``high`` 250), at the default threshold and padding (it takes none of server VAD's
settings: :func:`fakeai.schemas.realtime_transcription.check_turn_detection` refuses them). Positions are milliseconds of audio since the session began, as OpenAI
counts them. Silence, zeros or a tone below the threshold, never starts speech.
"""

from __future__ import annotations

import sys
from array import array
from typing import Any

FRAME_MS = 20
#: Full scale times this is the loudness ``threshold`` 1.0 stands for.
LEVEL_SCALE = 0.1
SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 500, "auto": 500, "high": 250}


def _g711_magnitudes(alaw: bool) -> bytes:
    """Per G.711 code byte, the magnitude it decodes to, divided by 256 (a ``bytes.translate`` table)."""
    table = bytearray(256)
    for code in range(256):
        if alaw:
            value = code ^ 0x55
            exponent, mantissa = (value >> 4) & 7, value & 15
            linear = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
        else:
            value = ~code & 0xFF
            exponent, mantissa = (value >> 4) & 7, value & 15
            linear = (((mantissa << 3) + 0x84) << exponent) - 0x84
        table[code] = min(255, linear >> 8)
    return bytes(table)


ULAW = _g711_magnitudes(alaw=False)
ALAW = _g711_magnitudes(alaw=True)


class Vad:
    """One session's detector: feed it the appended audio frame by frame (:meth:`frame`)."""

    def __init__(self, config: dict[str, Any], codec: str, bytes_per_second: int) -> None:
        self.codec = codec
        self.frame_bytes = bytes_per_second * FRAME_MS // 1000
        threshold = config.get("threshold")
        level = (0.5 if threshold is None else threshold) * LEVEL_SCALE * 32768
        self.level = max(1, int(level))
        if config.get("type") == "semantic_vad":
            self.silence_ms = SEMANTIC_SILENCE_MS[config.get("eagerness") or "auto"]
        else:
            silence = config.get("silence_duration_ms")
            self.silence_ms = 500 if silence is None else silence
        padding = config.get("prefix_padding_ms")
        self.padding_ms = 300 if padding is None else padding
        self.speaking = False
        self.quiet_ms = 0

    def loud(self, frame: bytes) -> bool:
        if self.codec == "pcm16":
            samples = array("h", frame[: len(frame) // 2 * 2])
            if sys.byteorder == "big":
                samples.byteswap()
            return bool(samples) and max(max(samples), -min(samples)) >= self.level
        table = ULAW if self.codec == "ulaw" else ALAW
        return max(frame.translate(table)) * 256 >= self.level

    def frame(self, frame: bytes, end_ms: int) -> str | None:
        """Judge one frame ending ``end_ms`` into the session's audio: ``"started"`` when speech
        starts with it, ``"stopped"`` when it ends the speech, else None."""
        if self.loud(frame):
            self.quiet_ms = 0
            if not self.speaking:
                self.speaking = True
                return "started"
            return None
        if self.speaking:
            self.quiet_ms += FRAME_MS
            if self.quiet_ms >= self.silence_ms:
                self.speaking, self.quiet_ms = False, 0
                return "stopped"
        return None

    def start_ms(self, end_ms: int) -> int:
        """Where the speech whose first frame ends at ``end_ms`` starts, with its padding."""
        return max(0, end_ms - FRAME_MS - self.padding_ms)
