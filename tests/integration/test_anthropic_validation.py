"""What Anthropic's ``/v1/messages`` and ``/v1/messages/count_tokens`` refuse beyond the types
(:mod:`fakeai.schemas.messages_checks`): more than 4 cache breakpoints, extended thinking with sampling
parameters or a forced tool, malformed or mislabelled images, and count_tokens' structured-output
checks, each a 400 ``invalid_request_error`` in Anthropic's words, while the valid neighbours of each
(exactly 4 breakpoints, thinking with temperature 1, ``tool_choice`` auto, real images, url sources)
are answered.

Every test runs against a server with the Rust hot path (the default) and one without: a refused
request must not be served by the hot path, and a valid one without tools still is.
"""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Iterator

import anthropic
import httpx
import pytest

from .test_hot_path import served

pytestmark = pytest.mark.integration

MODEL = "claude-sonnet-4-5"
VERSION = {"anthropic-version": "2023-06-01"}
USER = [{"role": "user", "content": "Hello there"}]
THINK = {"type": "enabled", "budget_tokens": 1024}
CC = {"type": "ephemeral"}
TOOL = {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
DOCS = (
    "Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/"
    "extended-thinking#important-considerations-when-using-extended-thinking"
)


class Server:
    def __init__(self, url: str, hot: bool) -> None:
        self.hot = hot
        self.http = httpx.Client(base_url=url, headers=VERSION, timeout=30)
        self.sdk = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0, timeout=30)

    def post(self, body: dict, path: str = "/v1/messages") -> httpx.Response:
        return self.http.post(path, json=body)

    def refused(self, body: dict, path: str = "/v1/messages") -> str:
        """The message of the 400 ``body`` gets, checked to be Anthropic's envelope and, on the hot
        server, not served by the Rust path."""
        before = served(self.http)
        r = self.post(body, path)
        assert r.status_code == 400, r.text
        got = r.json()
        assert got["type"] == "error" and got["error"]["type"] == "invalid_request_error", got
        assert set(got["error"]) == {"type", "message"}
        assert served(self.http) == before
        return got["error"]["message"]

    def answered(self, body: dict, path: str = "/v1/messages") -> httpx.Response:
        """A 200, served by the Rust path on the hot server when it carries no tools."""
        before = served(self.http)
        r = self.post(body, path)
        assert r.status_code == 200, r.text
        rust = self.hot and path == "/v1/messages" and not body.get("tools")
        assert served(self.http) == before + rust
        return r


@pytest.fixture(scope="module", params=[(), ("--no-hot-path",)], ids=["rust", "python"])
def server(request, start_server) -> Iterator[Server]:
    with start_server("--ttft", "0", "--itl", "0", "--batch-duration", "1", *request.param) as url:
        s = Server(url, hot=not request.param)
        with s.http, s.sdk:
            yield s


def message(**extra: object) -> dict:
    return {"model": MODEL, "max_tokens": 2000, "messages": USER, **extra}


def count(**extra: object) -> dict:
    return {"model": MODEL, "messages": USER, **extra}


def text(n: int, cache: bool = True) -> list[dict]:
    return [
        {"type": "text", "text": f"part {i}", **({"cache_control": CC} if cache else {})} for i in range(n)
    ]


# --- images: a header each, enough for the core to read the size ---


def png_bytes(width: int = 64, height: int = 32) -> bytes:
    return b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + struct.pack(">II", width, height) + bytes([8, 6, 0, 0, 0])


def jpeg_bytes(width: int = 64, height: int = 32) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, height, width) + b"\x03" + bytes(9)
    return b"\xff\xd8" + sof + b"\xff\xd9"


def gif_bytes(width: int = 64, height: int = 32) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + bytes(8)


def webp_bytes(width: int = 64, height: int = 32) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4)
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


IMAGES = {"image/png": png_bytes, "image/jpeg": jpeg_bytes, "image/gif": gif_bytes, "image/webp": webp_bytes}


def image(source: object) -> dict:
    return {"type": "image", "source": source}


def b64(media_type: object, data: bytes | str) -> dict:
    encoded = data if isinstance(data, str) else base64.b64encode(data).decode()
    return {"type": "base64", "media_type": media_type, "data": encoded}


def looking_at(*blocks: dict) -> list[dict]:
    return [{"role": "user", "content": [*blocks, {"type": "text", "text": "What is this?"}]}]


# --- cache breakpoints ---


def test_four_cache_breakpoints_are_fine_everywhere_they_may_be(server: Server) -> None:
    server.answered(message(messages=[{"role": "user", "content": text(4)}]))
    server.answered(
        message(system=text(2), messages=[{"role": "user", "content": text(1)}], cache_control=CC)
    )
    tool = {**TOOL, "cache_control": CC}
    server.answered(message(tools=[tool], system=text(1), messages=[{"role": "user", "content": text(2)}]))
    server.answered(count(system=text(3), cache_control=CC), "/v1/messages/count_tokens")
    # blocks without a mark do not count
    server.answered(message(messages=[{"role": "user", "content": text(4) + text(6, cache=False)}]))


def test_a_fifth_cache_breakpoint_is_refused_wherever_it_is(server: Server) -> None:
    found5 = "A maximum of 4 blocks with cache_control may be provided. Found 5."
    five_blocks = [{"role": "user", "content": text(5)}]
    assert server.refused(message(messages=five_blocks)) == found5
    assert server.refused(count(messages=five_blocks), "/v1/messages/count_tokens") == found5
    # the request's own cache_control (automatic caching) takes one of the four slots
    four_blocks = [{"role": "user", "content": text(4)}]
    assert server.refused(message(messages=four_blocks, cache_control=CC)) == found5
    # tools, system blocks and messages (over several turns) count together
    turns = [
        {"role": "user", "content": text(1)},
        {"role": "assistant", "content": text(1)},
        {"role": "user", "content": text(1)},
    ]
    tool = {**TOOL, "cache_control": CC}
    assert server.refused(message(tools=[tool], system=text(1), messages=turns)) == found5
    assert server.refused(message(system=text(6), messages=turns, cache_control=CC)) == (
        "A maximum of 4 blocks with cache_control may be provided. Found 10."
    )
    # a block inside a tool result's content is a block with cache_control too
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": text(2), "cache_control": CC}
    used = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}
    history = [
        {"role": "user", "content": "look it up"},
        {"role": "assistant", "content": [used]},
        {"role": "user", "content": [result, *text(2)]},
    ]
    assert server.refused(message(messages=history)) == found5


def test_the_sdk_sees_a_bad_request_error(server: Server) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        server.sdk.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[{"role": "user", "content": text(5)}],
        )
    assert bad.value.status_code == 400
    assert bad.value.body["error"]["message"].endswith("Found 5.")


# --- extended thinking ---


@pytest.mark.parametrize("thinking", [THINK, {"type": "adaptive"}], ids=["enabled", "adaptive"])
def test_thinking_refuses_sampling_parameters_anthropic_refuses(server: Server, thinking: dict) -> None:
    for temperature in (0, 0.5, 0.99):
        assert server.refused(message(thinking=thinking, temperature=temperature)) == (
            f"`temperature` may only be set to 1 when thinking is enabled. {DOCS}"
        )
    assert server.refused(message(thinking=thinking, top_k=5)) == (
        f"`top_k` must be unset when thinking is enabled. {DOCS}"
    )
    assert server.refused(message(thinking=thinking, top_p=0.9)) == (
        f"`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. {DOCS}"
    )
    # what Anthropic allows with thinking
    server.answered(message(thinking=thinking))
    server.answered(message(thinking=thinking, temperature=1))
    server.answered(message(thinking=thinking, top_p=0.95, temperature=1.0))
    server.answered(message(thinking=thinking, top_p=1))


def test_without_thinking_sampling_parameters_are_free(server: Server) -> None:
    server.answered(message(temperature=0, top_k=5, top_p=0.1, max_tokens=5))
    server.answered(message(thinking={"type": "disabled"}, temperature=0.2, top_k=1, max_tokens=5))


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "lookup"}], ids=["any", "tool"])
def test_thinking_refuses_a_forced_tool(server: Server, choice: dict) -> None:
    forced = "Thinking may not be enabled when tool_choice forces tool use."
    assert server.refused(message(thinking=THINK, tools=[TOOL], tool_choice=choice)) == forced
    assert server.refused(message(thinking={"type": "adaptive"}, tools=[TOOL], tool_choice=choice)) == forced
    counted = count(thinking=THINK, tools=[TOOL], tool_choice=choice)
    assert server.refused(counted, "/v1/messages/count_tokens") == forced
    with pytest.raises(anthropic.BadRequestError, match="forces tool use"):
        server.sdk.messages.create(
            model=MODEL,
            max_tokens=2000,
            messages=USER,
            thinking=THINK,
            tools=[TOOL],
            tool_choice=choice,
        )
    # forced without thinking: a tool call
    r = server.answered(message(tools=[TOOL], tool_choice=choice, max_tokens=100))
    assert r.json()["content"][-1]["type"] == "tool_use"


@pytest.mark.parametrize("choice", [{"type": "auto"}, {"type": "none"}], ids=["auto", "none"])
def test_thinking_takes_an_unforced_tool_choice(server: Server, choice: dict) -> None:
    r = server.answered(message(thinking=THINK, tools=[TOOL], tool_choice=choice))
    assert r.json()["content"][0]["type"] == "thinking"
    server.answered(count(thinking=THINK, tools=[TOOL], tool_choice=choice), "/v1/messages/count_tokens")


# --- images ---


@pytest.mark.parametrize("media_type", list(IMAGES))
def test_real_images_of_each_type_are_read(server: Server, media_type: str) -> None:
    messages = looking_at(image(b64(media_type, IMAGES[media_type]())))
    r = server.answered(message(messages=messages, max_tokens=5))
    tokens = r.json()["usage"]["input_tokens"]
    assert tokens == server.sdk.messages.count_tokens(model=MODEL, messages=messages).input_tokens
    plain = server.sdk.messages.count_tokens(model=MODEL, messages=looking_at()).input_tokens
    assert tokens - plain == 3  # 64 x 32 pixels / 750, rounded up: the header was read


def test_url_and_file_sources_are_not_fetched_and_fine(server: Server) -> None:
    server.answered(message(messages=looking_at(image({"type": "url", "url": "https://example.com/a.png"}))))
    server.answered(message(messages=looking_at(image({"type": "file", "file_id": "file_011"}))))


AT = "messages.0.content.0.image.source"
MALFORMED = {
    "no source": ({"type": "image"}, f"{AT}: Field required"),
    "source not an object": (
        image("https://example.com/a.png"),
        f"{AT}: Input should be a valid dictionary or object to extract fields from",
    ),
    "no source type": (
        image({"media_type": "image/png", "data": "aGk="}),
        f"{AT}: Unable to extract tag using discriminator 'type'",
    ),
    "unknown source type": (
        image({"type": "bytes", "data": "aGk="}),
        f"{AT}: Input tag 'bytes' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'",
    ),
    "no media_type": (image({"type": "base64", "data": "aGk="}), f"{AT}.base64.media_type: Field required"),
    "unknown media_type": (
        image(b64("image/bmp", png_bytes())),
        f"{AT}.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
    ),
    "pdf media_type": (
        image(b64("application/pdf", png_bytes())),
        f"{AT}.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
    ),
    "no data": (image({"type": "base64", "media_type": "image/png"}), f"{AT}.base64.data: Field required"),
    "data not a string": (
        image({"type": "base64", "media_type": "image/png", "data": 7}),
        f"{AT}.base64.data: Input should be a valid string",
    ),
    "empty data": (image(b64("image/png", "")), f"{AT}.base64: image cannot be empty"),
    "not base64": (image(b64("image/png", "!!!not base64!!!")), f"{AT}.base64: invalid base64 data"),
    "not base64 past the head": (
        image(b64("image/png", base64.b64encode(png_bytes() * 4).decode() + "!!!!")),
        f"{AT}.base64: invalid base64 data",
    ),
    "not an image": (image(b64("image/png", b"just some text, not pixels")), "Could not process image"),
    "png said jpeg": (
        image(b64("image/jpeg", png_bytes())),
        f"{AT}.base64: The image was specified using the image/jpeg media type, but the image appears to be a image/png image",
    ),
    "jpeg said png": (
        image(b64("image/png", jpeg_bytes())),
        f"{AT}.base64: The image was specified using the image/png media type, but the image appears to be a image/jpeg image",
    ),
    "gif said webp": (
        image(b64("image/webp", gif_bytes())),
        f"{AT}.base64: The image was specified using the image/webp media type, but the image appears to be a image/gif image",
    ),
    "webp said gif": (
        image(b64("image/gif", webp_bytes())),
        f"{AT}.base64: The image was specified using the image/gif media type, but the image appears to be a image/webp image",
    ),
    "url source without url": (image({"type": "url"}), f"{AT}.url.url: Field required"),
    "url not a string": (
        image({"type": "url", "url": ["https://example.com"]}),
        f"{AT}.url.url: Input should be a valid string",
    ),
    "file source without file_id": (image({"type": "file"}), f"{AT}.file.file_id: Field required"),
}


@pytest.mark.parametrize("block,expected", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_images_are_refused_in_anthropics_words(server: Server, block: dict, expected: str) -> None:
    # Past the first bytes, the core checks the payload: its message adds where the base64 breaks.
    for path, body in (("/v1/messages", message), ("/v1/messages/count_tokens", count)):
        said = server.refused(body(messages=looking_at(block)), path)
        assert said == expected or (said.startswith(f"{expected} (") and expected.endswith("base64 data"))


def test_an_image_in_a_tool_result_is_checked_at_its_path(server: Server) -> None:
    used = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}
    shot = image(b64("image/jpeg", png_bytes()))
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": [{"type": "text", "text": "here"}, shot],
    }
    history = [
        {"role": "user", "content": "take a screenshot"},
        {"role": "assistant", "content": [used]},
        {"role": "user", "content": [result]},
    ]
    assert server.refused(message(messages=history)) == (
        "messages.2.content.0.tool_result.content.1.image.source.base64: The image was specified using the "
        "image/jpeg media type, but the image appears to be a image/png image"
    )
    result["content"][1] = image(b64("image/png", png_bytes()))
    server.answered(message(messages=history, max_tokens=5))


def test_a_refused_request_in_a_batch_is_that_requests_error(server: Server) -> None:
    # a Message Batch's requests are read with the same schema: the bad one errors, the other succeeds
    bad = message(messages=looking_at(image(b64("image/jpeg", png_bytes()))), max_tokens=5)
    batch = server.sdk.messages.batches.create(
        requests=[{"custom_id": "bad", "params": bad}, {"custom_id": "ok", "params": message(max_tokens=5)}]
    )
    deadline = time.monotonic() + 30
    while server.sdk.messages.batches.retrieve(batch.id).processing_status != "ended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    results = {r.custom_id: r.result for r in server.sdk.messages.batches.results(batch.id)}
    assert results["ok"].type == "succeeded"
    assert results["bad"].type == "errored"
    assert results["bad"].error.error.message == (
        f"{AT}.base64: The image was specified using the image/jpeg media type, but the image appears "
        "to be a image/png image"
    )


# --- count_tokens checks what /v1/messages checks ---


SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def test_count_tokens_checks_structured_outputs_as_messages_does(server: Server) -> None:
    fmt = {"type": "json_schema", "schema": SCHEMA}
    both = {"output_format": fmt, "output_config": {"format": fmt}}
    said = server.refused(message(**both))
    assert server.refused(count(**both), "/v1/messages/count_tokens") == said
    assert "output_config.format" in said
    for field, where in (
        ("output_config", "output_config.format.schema"),
        ("output_format", "output_format.schema"),
    ):
        bad = {"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "bogus"}}}}
        value = {"format": bad} if field == "output_config" else bad
        said = server.refused(message(**{field: value}))
        assert said.startswith(where)
        assert server.refused(count(**{field: value}), "/v1/messages/count_tokens") == said
        not_object = {"type": "json_schema", "schema": [1, 2]}
        value = {"format": not_object} if field == "output_config" else not_object
        assert server.refused(count(**{field: value}), "/v1/messages/count_tokens") == (
            f"{where}: Input should be a valid dictionary"
        )
    # a good schema counts
    server.answered(count(output_config={"format": fmt}), "/v1/messages/count_tokens")
    server.answered(count(output_format=fmt), "/v1/messages/count_tokens")
