"""Image, audio and video content parts: their prompt tokens, and 400s for models without the capability."""

from __future__ import annotations

import base64
import io
import struct
import wave
import zlib

import pytest

pytestmark = pytest.mark.integration

TEXT = {"type": "text", "text": "What is in this?"}


def png(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk (enough for any reader of the header), then IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = (
        b"\xff\xc0\x00\x11\x08"
        + struct.pack(">HH", height, width)
        + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def webp(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4 + (width - 1).to_bytes(3, "little")
    body += (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def image(url: str, detail: str | None = None) -> dict:
    part: dict = {"type": "image_url", "image_url": {"url": url}}
    if detail:
        part["image_url"]["detail"] = detail
    return part


def prompt_tokens(client, model: str, *parts: dict) -> int:
    r = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": [TEXT, *parts]}], max_tokens=1
    )
    return r.usage.prompt_tokens


@pytest.mark.parametrize(
    "data, mime, detail, tokens",
    [
        (png(1024, 1024), "image/png", "high", 765),  # 768x768: 4 tiles
        (png(2048, 4096), "image/png", "high", 1105),  # 1024x2048 -> 768x1536: 6 tiles
        (png(2048, 4096), "image/png", "low", 85),
        (jpeg(800, 600), "image/jpeg", "auto", 765),  # 800x600 fits: 2x2 tiles
        (gif(300, 200), "image/gif", "high", 255),
        (webp(4000, 1000), "image/webp", "high", 765),  # 2048x512: 4x1 tiles
    ],
)
def test_image_tokens_follow_openais_tiles(client, data, mime, detail, tokens):
    base = prompt_tokens(client, "gpt-4o")
    assert prompt_tokens(client, "gpt-4o", image(data_url(mime, data), detail)) - base == tokens


def test_http_images_count_as_the_default_size_and_add_up(client):
    base = prompt_tokens(client, "gpt-4o-mini")
    url = "https://example.com/cat.png"
    assert prompt_tokens(client, "gpt-4o-mini", image(url)) - base == 765  # 1024x1024 by default
    assert prompt_tokens(client, "gpt-4o-mini", image(url, "low"), image(url, "low")) - base == 170


def wav(seconds: float, rate: int = 16_000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


def test_audio_tokens_follow_the_duration(client):
    base = prompt_tokens(client, "gpt-4o")
    part = {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(wav(2.5)).decode(), "format": "wav"},
    }
    assert prompt_tokens(client, "gpt-4o", part) - base == 25  # 10 tokens a second
    mp3 = b"\xff\xfb\x90\x64" + b"\x00" * 31_996  # a 128 kbps stream (16,000 bytes a second): 2 s
    part = {"type": "input_audio", "input_audio": {"data": base64.b64encode(mp3).decode(), "format": "mp3"}}
    assert prompt_tokens(client, "gpt-4o", part) - base == 20


def mp4(width: int, height: int, seconds: int) -> bytes:
    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body) + 8) + kind + body

    mvhd = box(b"mvhd", b"\x00" * 12 + struct.pack(">II", 1000, seconds * 1000) + b"\x00" * 80)
    tkhd = box(b"tkhd", b"\x00" * 76 + struct.pack(">II", width << 16, height << 16))
    return box(b"ftyp", b"isom\x00\x00\x02\x00") + box(b"moov", mvhd + box(b"trak", tkhd))


def test_cosmos_video_tokens(client):
    model = "nvidia/cosmos-reason1-7b"
    base = prompt_tokens(client, model)
    video = {"type": "video_url", "video_url": {"url": data_url("video/mp4", mp4(320, 240, 5))}}
    # 5 s at 4 fps = 20 frames -> 10 temporal pairs; 320x240 -> 12 x 9 patches of 28 px.
    assert prompt_tokens(client, model, video) - base == 10 * 12 * 9
    remote = {"type": "video_url", "video_url": {"url": "https://example.com/clip.mp4"}}
    assert prompt_tokens(client, model, remote) - base == 20 * 23 * 13  # 10 s of 1280x720 by default


@pytest.mark.parametrize(
    "model, part, param, code",
    [
        (
            "gpt-3.5-turbo",
            image("https://example.com/a.png"),
            "messages[0].content[1]",
            "unsupported_content_type",
        ),
        (
            "gpt-4o-mini",
            {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}},
            "messages[0].content[1]",
            "unsupported_content_type",
        ),
        (
            "gpt-4o",
            {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
            "messages[0].content[1]",
            "unsupported_content_type",
        ),
        (
            "gpt-4o",
            image("data:image/png;base64,not-base64!"),
            "messages[0].content[1].image_url.url",
            "invalid_image_url",
        ),
        (
            "gpt-4o",
            image(data_url("image/png", b"just some text")),
            "messages[0].content[1].image_url.url",
            "invalid_image_url",
        ),
        (
            "gpt-4o",
            image("ftp://example.com/a.png"),
            "messages[0].content[1].image_url.url",
            "invalid_image_url",
        ),
        (
            "gpt-4o",
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "flac"}},
            "messages[0].content[1].input_audio",
            "invalid_audio",
        ),
        (
            "gpt-4o",
            {
                "type": "input_audio",
                "input_audio": {"data": base64.b64encode(b"RIFFxxxx").decode(), "format": "wav"},
            },
            "messages[0].content[1].input_audio",
            "invalid_audio",
        ),
        (
            "nvidia/cosmos-reason1-7b",
            {"type": "video_url", "video_url": {"url": data_url("video/mp4", b"x")}},
            "messages[0].content[1].video_url.url",
            "invalid_video_url",
        ),
    ],
)
def test_bad_or_unsupported_parts_are_400s(http, model, part, param, code):
    body = {"model": model, "messages": [{"role": "user", "content": [TEXT, part]}]}
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


def test_bad_image_detail_is_a_400(http):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": [image("https://x/y.png", "ultra")]}]}
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].content[0].image_url.detail"
