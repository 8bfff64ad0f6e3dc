"""``/v1/images/*`` through the official openai SDK: real PNGs of the asked size, urls that expire."""

from __future__ import annotations

import base64
import glob
import os
import struct
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")]


def png_size(data: bytes) -> tuple[int, int]:
    """Check the signature, the IHDR chunk and its CRC; return (width, height)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    ihdr = data[16:29]
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(b"IHDR" + ihdr)
    width, height, depth, color = struct.unpack(">IIBB", ihdr[:10])
    assert (depth, color) == (8, 2)
    assert data.endswith(b"IEND\xaeB`\x82")
    return width, height


def pixels(data: bytes) -> bytes:
    """Inflate the IDAT stream (zlib checks its Adler-32) and return the filtered scanlines."""
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + chunk)
        if kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return zlib.decompress(idat)


def a_png(width: int = 64, height: int = 64) -> bytes:
    row = b"\x00" + b"\x80\x40\x20" * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "model, size",
    [
        ("dall-e-2", "256x256"),
        ("dall-e-2", "512x512"),
        ("dall-e-3", "1792x1024"),
        ("dall-e-3", "1024x1792"),
        ("gpt-image-1", "1536x1024"),
        ("gpt-image-1", "1024x1536"),
    ],
)
def test_b64_images_have_the_requested_size(client, model, size):
    r = client.images.generate(
        model=model,
        prompt="a lighthouse at dusk",
        size=size,
        **({} if model == "gpt-image-1" else {"response_format": "b64_json"}),
    )
    data = base64.b64decode(r.data[0].b64_json)
    width, height = png_size(data)
    assert f"{width}x{height}" == size
    assert len(pixels(data)) == height * (1 + 3 * width)


def test_gpt_image_reports_usage_and_auto_size(client):
    r = client.images.generate(model="gpt-image-1", prompt="a red bicycle leaning on a wall", quality="high")
    assert png_size(base64.b64decode(r.data[0].b64_json)) == (1024, 1024)
    assert r.usage.output_tokens == 4160 and r.usage.input_tokens_details.text_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.size == "1024x1024" and r.output_format == "png" and r.data[0].url is None


def test_dall_e_3_revises_the_prompt_and_n_images_differ(client):
    r = client.images.generate(
        model="dall-e-3", prompt="a fox in snow", style="natural", quality="hd", response_format="b64_json"
    )
    assert r.data[0].revised_prompt.startswith("a fox in snow") and "natural" in r.data[0].revised_prompt
    r = client.images.generate(
        model="dall-e-2", prompt="a fox in snow", n=3, size="256x256", response_format="b64_json"
    )
    assert len({d.b64_json for d in r.data}) == 3
    again = client.images.generate(
        model="dall-e-2", prompt="a fox in snow", n=3, size="256x256", response_format="b64_json"
    )
    assert [d.b64_json for d in again.data] == [d.b64_json for d in r.data]


def test_urls_serve_the_png_and_unknown_ids_404(client, http):
    r = client.images.generate(model="dall-e-2", prompt="a teapot", size="512x512")
    url = r.data[0].url
    assert url.startswith(str(http.base_url)) and url.endswith(".png")
    got = httpx.get(url)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert png_size(got.content) == (512, 512)
    for missing in ("/images/img-AAAAAAAAAAAAAAAAAAAAAA.png", "/images/../../etc/passwd", "/images/x.png"):
        r = http.get(missing)
        assert r.status_code == 404 and r.json()["error"]["code"] in ("image_not_found", "unknown_url")


def test_urls_expire(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--image-url-ttl", "0.5", "--workers", "2") as url:
        r = httpx.post(url + "/v1/images/generations", json={"prompt": "a clock", "size": "256x256"})
        image_url = r.json()["data"][0]["url"]
        assert all(httpx.get(image_url).status_code == 200 for _ in range(4))  # whichever worker answers
        time.sleep(0.8)
        gone = httpx.get(image_url)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "image_not_found"


def image_dir(image_url: str) -> Path:
    """The server's image directory, found by the file behind ``image_url`` (``fakeai.runtime.shared``
    puts it under /dev/shm, or the temporary directory when that is not writable)."""
    name = image_url.rsplit("/", 1)[1]
    found = [
        Path(p).parent
        for base in ("/dev/shm", tempfile.gettempdir())
        for p in glob.glob(f"{base}/fakeai-*/images/{name}")
    ]
    assert len(found) == 1, found
    return found[0]


def dir_bytes(directory: Path) -> int:
    total = 0
    for name in os.listdir(directory):  # one listing, then sizes: never counts a file twice
        try:
            total += (directory / name).stat().st_size
        except FileNotFoundError:
            pass  # evicted meanwhile
    return total


def test_stored_images_stay_within_max_image_bytes(start_server):
    bound = 200_000  # about 37 of these 256x256 PNGs
    flags = ("--ttft", "0", "--itl", "0", "--max-image-bytes", str(bound), "--workers", "2")
    with start_server(*flags) as url:

        def generate(i: int) -> list[str]:
            body = {"model": "dall-e-2", "prompt": f"cat {i}", "size": "256x256", "n": 10}
            r = httpx.post(url + "/v1/images/generations", json=body, timeout=30)  # a new connection:
            assert r.status_code == 200, r.text  # either worker
            return [d["url"] for d in r.json()["data"]]

        oldest = generate(0)
        directory = image_dir(oldest[0])
        seen: list[int] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                seen.append(dir_bytes(directory))
                time.sleep(0.001)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with ThreadPoolExecutor(2) as pool:
                assert len([u for urls in pool.map(generate, range(1, 31)) for u in urls]) == 300
        finally:
            done.set()
            watcher.join()
        newest = generate(31)
        assert seen and max(seen) <= bound, max(seen)
        assert bound * 3 // 4 - 10_000 <= dir_bytes(directory) <= bound
        for image in newest:  # from either worker
            assert all(httpx.get(image).status_code == 200 for _ in range(3))
        for image in oldest:  # evicted long ago
            gone = httpx.get(image)
            assert gone.status_code == 404 and gone.json()["error"]["code"] == "image_not_found"


def test_edits_and_variations_accept_a_png(client):
    r = client.images.edit(
        image=("in.png", a_png(), "image/png"), prompt="add a hat", size="256x256", response_format="b64_json"
    )
    assert png_size(base64.b64decode(r.data[0].b64_json)) == (256, 256)
    r = client.images.edit(
        model="gpt-image-1",
        image=[("a.png", a_png(32, 48), "image/png"), ("b.png", a_png(16, 16), "image/png")],
        prompt="make it blue",
        size="1024x1536",
    )
    assert png_size(base64.b64decode(r.data[0].b64_json)) == (1024, 1536)
    assert r.usage.input_tokens_details.image_tokens == 2 * 765
    r = client.images.create_variation(image=("in.png", a_png(), "image/png"), n=2, size="512x512")
    assert len(r.data) == 2 and all(d.url for d in r.data)


@pytest.mark.parametrize(
    "body, param",
    [
        ({"model": "dall-e-2", "prompt": "x", "size": "1792x1024"}, "size"),
        ({"model": "dall-e-3", "prompt": "x", "size": "256x256"}, "size"),
        ({"model": "gpt-image-1", "prompt": "x", "size": "512x512"}, "size"),
        ({"model": "dall-e-3", "prompt": "x", "n": 2}, "n"),
        ({"model": "dall-e-2", "prompt": "x", "n": 11}, "n"),
        ({"model": "dall-e-2", "prompt": "x", "n": 0}, "n"),
        ({"model": "dall-e-2"}, "prompt"),
        ({"model": "dall-e-2", "prompt": "  "}, "prompt"),
        ({"model": "dall-e-2", "prompt": "x" * 1001}, "prompt"),
        ({"model": "dall-e-3", "prompt": "x", "quality": "ultra"}, "quality"),
        ({"model": "dall-e-2", "prompt": "x", "style": "vivid"}, "style"),
        ({"model": "dall-e-2", "prompt": "x", "response_format": "gif"}, "response_format"),
        ({"model": "gpt-image-1", "prompt": "x", "response_format": "url"}, "response_format"),
        ({"model": "gpt-image-1", "prompt": "x", "output_format": "jpeg"}, "output_format"),
        ({"prompt": 5}, "prompt"),
    ],
)
def test_bad_generation_requests(http, body, param):
    r = http.post("/v1/images/generations", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_bad_uploads(http, client):
    with pytest.raises(openai.BadRequestError) as err:
        client.images.edit(image=("in.png", b"GIF89a not a png at all", "image/png"), prompt="x")
    assert err.value.body["param"] == "image"
    with pytest.raises(openai.BadRequestError) as err:
        client.images.create_variation(image=("in.png", a_png(64, 32), "image/png"))
    assert err.value.body["code"] == "invalid_image_format"
    with pytest.raises(openai.BadRequestError) as err:
        client.images.edit(
            image=("in.png", a_png(), "image/png"), mask=("m.png", a_png(32, 32), "image/png"), prompt="x"
        )
    assert err.value.body["param"] == "mask"
    r = http.post("/v1/images/edits", files={"image": ("in.png", a_png(), "image/png")})
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    r = http.post("/v1/images/edits", data={"prompt": "x"}, files={"other": ("a", b"b")})
    assert r.status_code == 400 and r.json()["error"]["param"] == "image"
    r = http.post("/v1/images/edits", json={"prompt": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_content_type"
    r = http.post(
        "/v1/images/variations", data={"n": "many"}, files={"image": ("in.png", a_png(), "image/png")}
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "n"
    r = http.post("/v1/images/variations", data={"model": "dall-e-3"}, files={"image": ("i.png", a_png())})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"
    r = http.post(
        "/v1/images/edits",
        data={"prompt": "x", "model": "gpt-image-1"},
        files=[("image[]", ("a.png", a_png())), ("image[]", ("b.png", b"not a png"))],
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_image_format"
    r = http.post("/v1/images/edits", data={"prompt": "x", "image": "text"}, files={"other": ("o", b"o")})
    assert r.status_code == 400 and r.json()["error"]["param"] == "image"
    r = http.post(
        "/v1/images/edits", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data"}
    )
    assert r.status_code == 400


def test_image_urls_never_take_the_host_header(start_server):
    import httpx

    body = {"model": "dall-e-2", "prompt": "a cat", "size": "256x256", "response_format": "url"}
    with start_server("--ttft", "0", "--itl", "0") as url:
        r = httpx.post(url + "/v1/images/generations", json=body, headers={"host": "evil.example"})
        image = r.json()["data"][0]["url"]
        assert image.startswith(url + "/images/"), image
        assert httpx.get(image).headers["content-type"] == "image/png"
    with start_server("--ttft", "0", "--itl", "0", "--public-url", "https://ai.example.com/") as url:
        r = httpx.post(url + "/v1/images/generations", json=body, headers={"host": "evil.example"})
        assert r.json()["data"][0]["url"].startswith("https://ai.example.com/images/")
