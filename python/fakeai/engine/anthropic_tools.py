"""What the model does with an Anthropic-defined tool it calls (which types exist, and their options:
:mod:`fakeai.schemas.anthropic_tools`), deterministic for the tool, the request's last user text and
the tool's options, as custom tools' inputs are.

**Client tools** answer a ``tool_use`` block (``stop_reason: "tool_use"``) whose ``input`` is one the
client's tool accepts (:func:`client_input`):

- bash: ``{"command": ...}``, a read-only command (``ls -la``, ``git status`` ...);
- text editor (every version): ``{"command": "view", "path": ...}``, the first path-like word of the
  last user text (``/repo/README.md`` when there is none);
- computer: ``{"action": "screenshot"}``, or ``{"action": "mouse_move", "coordinate": [x, y]}`` within
  ``display_width_px`` x ``display_height_px`` (valid for every version);
- memory: ``{"command": "view", "path": "/memories"}``, what Claude does first.

**Server tools** run within the turn (:func:`server_turn`): the message holds a ``server_tool_use``
block (``srvtoolu_...``), its result block, then the text answer, ``stop_reason: "end_turn"``:

- web_search: input ``{"query"}`` (the start of the last user text, as the Responses API's hosted
  search makes it: :func:`fakeai.engine.hosted_tools.query`); a ``web_search_tool_result`` of 3 to 5
  ``web_search_result``\\ s (``url``, ``title``, ``encrypted_content``, ``page_age``) on the tool's
  ``allowed_domains`` in turn, else on ``example.com``, ``example.org`` and ``example.net`` less the
  ``blocked_domains``; the text block cites the first two (``web_search_result_location``
  citations). ``usage.server_tool_use.web_search_requests`` is 1.
- web_fetch: input ``{"url"}``, the first URL of the last user text; a ``web_fetch_tool_result``
  whose ``web_fetch_result`` holds a plain-text ``document`` (``citations`` as the tool's) of at most
  ``max_content_tokens`` tokens, or a ``web_fetch_tool_result_error``: ``url_not_allowed`` when the
  URL's host is blocked or not allowed, ``url_not_in_prior_context`` when the text has no URL (the
  call then names the first allowed domain, else ``https://example.com/``), as Anthropic fetches
  only URLs the conversation holds. ``usage.server_tool_use.web_fetch_requests`` is 1.
- code_execution ``_20250522``: a ``code_execution`` call with Python ``{"code"}`` and a
  ``code_execution_tool_result``; later versions: a ``bash_code_execution`` call ``{"command"}`` and a
  ``bash_code_execution_tool_result``. The program multiplies two numbers and prints the product, so
  its ``stdout`` is right. The message carries a new ``container`` (``container_...``, expiring 30 days
  on, as Anthropic's code-execution containers do).
- tool_search (bm25, regex): input ``{"query"}``; a ``tool_search_tool_result`` referencing the
  deferred tools (``defer_loading: true``) whose names share a word with the query, else the first
  five deferred ones.

Tokens: the server tool's input counts as output (a few tokens more for its block), its result as
input, as Anthropic bills search results (``fakeai_core::py::messages``).
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import orjson

from fakeai import _core
from fakeai.engine.hosted_tools import EXAMPLE_DOMAINS, query

if TYPE_CHECKING:
    from fakeai.schemas.messages import Tool

#: Read-only commands a bash call runs.
COMMANDS = ("ls -la", "pwd", "git status", "cat README.md", "find . -name '*.py' | head -20", "df -h")
#: A path-like word: absolute, or relative with an extension.
_PATH = re.compile(r"(?:/[\w.-]+)+|[\w-]+(?:/[\w-]+)*\.\w{1,8}\b")
_URL = re.compile(r"https?://[^\s\"'<>)\]]+")
_WORD = re.compile(r"[A-Za-z0-9]+")
#: How long a code execution container lives.
CONTAINER_DAYS = 30
#: Words of a fetched page (fewer when ``max_content_tokens`` is smaller).
PAGE_TOKENS = 160


class ServerTurn(NamedTuple):
    """A server tool's part of the answer, as the core renders it (``fakeai_core::py::messages``)."""

    #: ``(id, name, input JSON, result block JSON)`` per call, in order.
    blocks: list[tuple[str, str, str, str]]
    #: The text block's citations, each a JSON object.
    citations: list[str]
    web_search_requests: int = 0
    web_fetch_requests: int = 0
    #: The ``container`` object (JSON), for code execution.
    container: str | None = None


def _rng(*parts: object) -> random.Random:
    return random.Random(hashlib.sha256(repr(parts).encode()).digest())


def _id(prefix: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(22))


def _opaque(rng: random.Random, n: int) -> str:
    """``n`` bytes of base64, as Anthropic's encrypted fields look."""
    return base64.b64encode(rng.randbytes(n)).decode()


def client_input(tool: Tool, family: str, said: str) -> str:
    """The ``input`` (JSON) of a call of the client tool ``tool`` of ``family`` (its type's prefix)."""
    rng = _rng(tool.type, said)
    if family == "bash":
        made: dict[str, Any] = {"command": rng.choice(COMMANDS)}
    elif family == "text_editor":
        found = _PATH.search(said)
        made = {"command": "view", "path": found.group() if found else "/repo/README.md"}
    elif family == "computer":
        width, height = tool.display_width_px or 1024, tool.display_height_px or 768
        if rng.random() < 0.5:
            made = {"action": "screenshot"}
        else:
            made = {"action": "mouse_move", "coordinate": [rng.randrange(width), rng.randrange(height)]}
    else:  # memory
        made = {"command": "view", "path": "/memories"}
    return orjson.dumps(made).decode()


def server_turn(tool: Tool, family: str, said: str, tools: list[Tool]) -> ServerTurn:
    """The server tool ``tool``'s calls and results for the last user text ``said``."""
    rng = _rng(tool.type, said, tool.allowed_domains, tool.blocked_domains)
    call_id = _id("srvtoolu_01")
    if family == "web_search":
        return _search(tool, said, rng, call_id)
    if family == "web_fetch":
        return _fetch(tool, said, rng, call_id)
    if family == "code_execution":
        return _code(tool, rng, call_id)
    return _tool_search(tool, said, call_id, tools)


def _block(kind: str, call_id: str, content: object) -> str:
    return orjson.dumps({"type": kind, "tool_use_id": call_id, "content": content}).decode()


def _domains(tool: Tool) -> list[str]:
    if tool.allowed_domains:
        return [d.lower().rstrip("/") for d in tool.allowed_domains]
    blocked = [d.lower() for d in tool.blocked_domains or ()]
    return [d for d in EXAMPLE_DOMAINS if not _within(d, blocked)] or ["example.edu"]


def _within(host: str, domains: list[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (a domain's path is ignored)."""
    for d in domains:
        d = d.split("/")[0]
        if host == d or host.endswith("." + d):
            return True
    return False


def _search(tool: Tool, said: str, rng: random.Random, call_id: str) -> ServerTurn:
    q = query(said)
    words = [w.lower() for w in _WORD.findall(q)][:6] or ["search"]
    domains = _domains(tool)
    results = []
    for i in range(rng.randint(3, 5)):
        domain = domains[i % len(domains)]
        day = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
        results.append(
            {
                "type": "web_search_result",
                "url": f"https://{domain}/{'-'.join(words)}-{i + 1}",
                "title": f"{' '.join(words).capitalize()} ({i + 1}) | {domain.split('/')[0]}",
                "encrypted_content": _opaque(rng, 96),
                "page_age": f"{day:%B} {day.day}, {day.year}",
            }
        )
    citations = [
        orjson.dumps(
            {
                "type": "web_search_result_location",
                "url": r["url"],
                "title": r["title"],
                "encrypted_index": _opaque(rng, 48),
                "cited_text": _core.generate_text(24, rng.randrange(2**32))[:150],
            }
        ).decode()
        for r in results[:2]
    ]
    block = (
        call_id,
        "web_search",
        orjson.dumps({"query": q}).decode(),
        _block("web_search_tool_result", call_id, results),
    )
    return ServerTurn([block], citations, web_search_requests=1)


def _fetch(tool: Tool, said: str, rng: random.Random, call_id: str) -> ServerTurn:
    found = _URL.search(said)
    if found:
        url = found.group().rstrip(".,;:!?")
    else:
        url = f"https://{(tool.allowed_domains or ['example.com'])[0].rstrip('/')}/"
    host = (urlsplit(url).hostname or "").lower()
    allowed = [d.lower() for d in tool.allowed_domains or ()]
    blocked = [d.lower() for d in tool.blocked_domains or ()]
    content: dict[str, Any]
    if not found:
        content = {"type": "web_fetch_tool_result_error", "error_code": "url_not_in_prior_context"}
    elif _within(host, blocked) or (allowed and not _within(host, allowed)):
        content = {"type": "web_fetch_tool_result_error", "error_code": "url_not_allowed"}
    else:
        tokens = min(PAGE_TOKENS, tool.max_content_tokens or PAGE_TOKENS)
        document: dict[str, Any] = {
            "type": "document",
            "source": {
                "type": "text",
                "media_type": "text/plain",
                "data": _core.generate_text(tokens, rng.randrange(2**32)),
            },
            "title": f"{host or 'page'} | {urlsplit(url).path.strip('/') or 'home'}",
        }
        if tool.citations is not None and tool.citations.enabled:
            document["citations"] = {"enabled": True}
        content = {
            "type": "web_fetch_result",
            "url": url,
            "retrieved_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "content": document,
        }
    block = (
        call_id,
        "web_fetch",
        orjson.dumps({"url": url}).decode(),
        _block("web_fetch_tool_result", call_id, content),
    )
    return ServerTurn([block], [], web_fetch_requests=1)


def _code(tool: Tool, rng: random.Random, call_id: str) -> ServerTurn:
    a, b = rng.randint(12, 999), rng.randint(12, 999)
    out = {"stdout": f"{a * b}\n", "stderr": "", "return_code": 0, "content": []}
    if tool.type == "code_execution_20250522":
        name, made = "code_execution", {"code": f"print({a} * {b})"}
        result = _block("code_execution_tool_result", call_id, {"type": "code_execution_result", **out})
    else:
        name, made = "bash_code_execution", {"command": f"python3 -c 'print({a} * {b})'"}
        result = _block(
            "bash_code_execution_tool_result", call_id, {"type": "bash_code_execution_result", **out}
        )
    expires = datetime.now(UTC) + timedelta(days=CONTAINER_DAYS)
    container = {
        "id": _id("container_011C"),
        "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    block = (call_id, name, orjson.dumps(made).decode(), result)
    return ServerTurn([block], [], container=orjson.dumps(container).decode())


def _tool_search(tool: Tool, said: str, call_id: str, tools: list[Tool]) -> ServerTurn:
    q = query(said)
    words = {w.lower() for w in _WORD.findall(q)}
    deferred = [t.name for t in tools if t.defer_loading and t.name]
    matched = [n for n in deferred if words & {w.lower() for w in _WORD.findall(n.replace("_", " "))}]
    refs = [{"type": "tool_reference", "tool_name": n} for n in (matched or deferred)[:5]]
    content = {"type": "tool_search_tool_search_result", "tool_references": refs}
    name = "tool_search_tool_bm25" if "bm25" in (tool.type or "") else "tool_search_tool_regex"
    block = (
        call_id,
        name,
        orjson.dumps({"query": q}).decode(),
        _block("tool_search_tool_result", call_id, content),
    )
    return ServerTurn([block], [])
