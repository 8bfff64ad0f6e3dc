"""What Anthropic's Messages API refuses that a request's types allow, checked as the request is decoded
(:class:`~fakeai.schemas.messages.MessagesRequest` and ``CountTokensRequest`` call :func:`check` from
``__post_init__``), each a 400 ``invalid_request_error`` in Anthropic's words.

Why at decoding: every reader of a Messages request decodes it with these schemas, so none can skip a
check: the Python route, ``count_tokens``, a Message Batch's requests, and the Rust hot path
(:mod:`fakeai.api.hot`), which decodes with the route's own decoder and hands any request whose
decoding raises to the Python chain, which then answers this 400. The checks cost a walk over the
messages' block lists (nothing for string contents) and, per base64 image, the decoding of its first
48 bytes.

1. **Cache breakpoints**: at most 4 ``cache_control`` marks in all, counting the tools, the system
   blocks, the messages' blocks, the blocks inside a ``tool_result``'s content, and the request's own
   top-level ``cache_control`` (automatic caching takes one of the four slots): "A maximum of 4
   blocks with cache_control may be provided. Found 5."
2. **Extended thinking** (``enabled`` or ``adaptive``) refuses a forcing ``tool_choice`` (``any``,
   ``tool``; ``count_tokens`` too, which takes both fields), a ``temperature`` other than 1, any
   ``top_k``, and a ``top_p`` under 0.95, with the messages Anthropic answers.
3. **Image blocks** (in a message, or in a ``tool_result``'s content): the ``source`` is checked as
   Anthropic's schema reads it (its ``type`` tag ``base64``, ``url`` or ``file``; ``media_type`` one of
   ``image/jpeg``, ``image/png``, ``image/gif``, ``image/webp``; ``data``, ``url`` or ``file_id``
   present and a string), in its pydantic words at the field's path
   (``messages.0.content.0.image.source.base64.media_type: Input should be ...``). A base64 image's
   first bytes are decoded: not base64 is "invalid base64 data", no known image signature is "Could
   not process image", and a signature other than the declared ``media_type`` is "The image was
   specified using the image/jpeg media type, but the image appears to be a image/png image" (at
   ``...image.source.base64``, where Anthropic reports it). The whole payload is checked as base64,
   and the image's size read, by the core when it counts the prompt
   (``fakeai_core::media::claude_media``).

4. **Tools**: each entry's ``type``, name and options (Anthropic-defined tools: ``bash_20250124``,
   ``web_search_20250305`` ...), as :mod:`fakeai.schemas.anthropic_tools` describes.

Order: the walk over the blocks first, then the tools (what Anthropic's schema refuses), then the number
of breakpoints, then thinking's rules.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from fakeai.errors import bad_request, shown
from fakeai.schemas import anthropic_tools

if TYPE_CHECKING:
    from fakeai.schemas.messages import Block, CountTokensRequest, MessagesRequest

#: The most ``cache_control`` breakpoints a request may carry.
MAX_BREAKPOINTS = 4
#: The media types of images Anthropic reads.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
#: Base64 characters of an image decoded to read its signature (48 bytes: WebP's takes 12).
HEAD_CHARS = 64
#: Where Anthropic's thinking errors send the reader.
THINKING_DOCS = (
    "Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/"
    "extended-thinking#important-considerations-when-using-extended-thinking"
)
#: ``tool_choice`` types that force a tool call.
FORCING = ("any", "tool")


def check(
    req: MessagesRequest | CountTokensRequest,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
) -> None:
    """Refuse ``req`` (with its sampling parameters, which only Messages requests have) as Anthropic
    would; see the module docs."""
    marks = 0 if req.cache_control is None else 1
    system = req.system
    if system is not None and not isinstance(system, str):
        marks += sum(b.cache_control is not None for b in system)
    for m, message in enumerate(req.messages):
        content = message.content
        if not isinstance(content, str):
            marks += _blocks(content, m)
    if req.tools:
        for i, tool in enumerate(req.tools):
            anthropic_tools.check(tool, i)
        marks += sum(t.cache_control is not None for t in req.tools)
    if marks > MAX_BREAKPOINTS:
        raise bad_request(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {marks}."
        )
    thinking = req.thinking
    if thinking is not None and thinking.type != "disabled":
        _thinking(req, temperature, top_p, top_k)


def _blocks(content: list[Block], m: int) -> int:
    """The breakpoints in message ``m``'s blocks (and in its tool results' content); its images checked."""
    marks = 0
    for p, block in enumerate(content):
        if block.cache_control is not None:
            marks += 1
        kind = block.type
        if kind == "image":
            _image(block.source, f"messages.{m}.content.{p}.image.source")
        elif kind == "tool_result" and isinstance(block.content, list):
            at = f"messages.{m}.content.{p}.tool_result.content"
            for q, inner in enumerate(block.content):
                if not isinstance(inner, dict):
                    continue
                if inner.get("cache_control") is not None:
                    marks += 1
                if inner.get("type") == "image":
                    _image(inner.get("source"), f"{at}.{q}.image.source")
    return marks


def _image(source: Any, at: str) -> None:
    """An image block's ``source`` at ``at`` (``messages.0.content.0.image.source``)."""
    if source is None:
        raise bad_request("Field required", param=at)
    if not isinstance(source, dict):
        raise bad_request("Input should be a valid dictionary or object to extract fields from", param=at)
    kind = source.get("type")
    if kind == "base64":
        _base64(source, f"{at}.base64")
    elif kind == "url":
        _text(source, "url", f"{at}.url")
    elif kind == "file":
        _text(source, "file_id", f"{at}.file")
    elif kind is None:
        raise bad_request("Unable to extract tag using discriminator 'type'", param=at)
    else:
        raise bad_request(
            f"Input tag {shown(kind)} found using 'type' does not match any of the expected tags: "
            "'base64', 'url', 'file'",
            param=at,
        )


def _text(source: dict[str, Any], name: str, at: str) -> str:
    """``source[name]``, a string (Anthropic's "Field required" when absent)."""
    if name not in source:
        raise bad_request("Field required", param=f"{at}.{name}")
    value = source[name]
    if not isinstance(value, str):
        raise bad_request("Input should be a valid string", param=f"{at}.{name}")
    return value


def _base64(source: dict[str, Any], at: str) -> None:
    """A ``base64`` image source at ``at``: its declared type, and its data's signature against it."""
    if "media_type" not in source:
        raise bad_request("Field required", param=f"{at}.media_type")
    declared = source["media_type"]
    if declared not in IMAGE_TYPES:
        raise bad_request(
            "Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", param=f"{at}.media_type"
        )
    data = _text(source, "data", at)
    if not data:
        raise bad_request("image cannot be empty", param=at)
    try:
        head = base64.b64decode(data[:HEAD_CHARS], validate=True)
    except ValueError:  # binascii.Error, or characters that are not ASCII
        raise bad_request("invalid base64 data", param=at) from None
    found = image_type(head)
    if found is None:
        raise bad_request("Could not process image")
    if found != declared:
        raise bad_request(
            f"The image was specified using the {declared} media type, but the image appears to be a "
            f"{found} image",
            param=at,
        )


def image_type(head: bytes) -> str | None:
    """The media type whose signature ``head`` (an image's first bytes) starts with, if any."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _thinking(
    req: MessagesRequest | CountTokensRequest,
    temperature: float | None,
    top_p: float | None,
    top_k: int | None,
) -> None:
    """Extended thinking's rules (it is on: ``enabled`` or ``adaptive``)."""
    choice = req.tool_choice
    if choice is not None and choice.type in FORCING:
        raise bad_request("Thinking may not be enabled when tool_choice forces tool use.")
    if temperature is not None and temperature != 1:
        raise bad_request(f"`temperature` may only be set to 1 when thinking is enabled. {THINKING_DOCS}")
    if top_p is not None and top_p < 0.95:
        raise bad_request(
            f"`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. {THINKING_DOCS}"
        )
    if top_k is not None:
        raise bad_request(f"`top_k` must be unset when thinking is enabled. {THINKING_DOCS}")
