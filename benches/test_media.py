"""Micro-benchmarks of the media work in the Rust core against pure-Python baselines.

    pytest benches/test_media.py --benchmark-enable --benchmark-group-by=group

The video benchmark has no baseline (there is no pure-Python H.264 writer to set beside it); it
records the file size in ``extra_info``. The PNG baseline draws the same kind of picture (gradient rows and flat spans) with bytes operations
and encodes it the way a pure-Python server would: ``zlib.compress`` at level 1 and ``zlib.crc32``
chunks. Every benchmark checks its result.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from fakeai import _core

SIZE = 1024


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def py_png(width: int, height: int, seed: int) -> bytes:
    """A pure-Python PNG of a gradient with a flat bar, filter type 0, zlib level 1."""
    top, bottom = (seed % 256, 40, 200), (220, seed * 7 % 256, 30)
    bar = bytes((255, 255, 255)) * (width // 4)
    rows = []
    for y in range(height):
        t = y * 255 // max(height - 1, 1)
        rgb = bytes((a * (255 - t) + b * t) // 255 for a, b in zip(top, bottom, strict=True))
        row = bytearray(rgb * width)
        if height // 3 <= y < height // 2:
            row[width * 3 // 4 : width * 3 // 4 + len(bar)] = bar
        rows.append(b"\x00" + bytes(row))
    raw = zlib.compress(b"".join(rows), 1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.benchmark(group="png_1024x1024")
def test_png_rust(benchmark):
    (png,) = benchmark(_core.png_images, "a lighthouse", SIZE, SIZE)
    assert png_size(png) == (SIZE, SIZE)


@pytest.mark.benchmark(group="png_1024x1024")
@pytest.mark.reference
def test_png_python(benchmark):
    png = benchmark(py_png, SIZE, SIZE, 7)
    assert png_size(png) == (SIZE, SIZE)
    assert len(zlib.decompress(png[41:-16])) == SIZE * (1 + 3 * SIZE)


@pytest.mark.benchmark(group="video_mp4")
@pytest.mark.parametrize("width, height, seconds", [(720, 1280, 4), (1792, 1024, 12)])
def test_video_mp4_rust(benchmark, width, height, seconds):
    """A ``/v1/videos`` download: the MP4 of ``seconds`` at 24 fps (the first frame sent whole, then
    only the macroblocks a disc crossed)."""
    mp4 = benchmark(_core.video_mp4, "a lighthouse", width, height, seconds, 24)
    assert _core.mp4_info(mp4) == (width, height, float(seconds))
    benchmark.extra_info["bytes"] = len(mp4)
