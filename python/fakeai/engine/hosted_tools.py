"""The hosted tools a Responses request may let the model use, simulated: each makes an output item
before the message (:func:`run`), deterministic for the request's ``seed``, the conversation and the
tool's options.

- ``web_search`` / ``web_search_preview``: a ``web_search_call`` (``ws_...``) whose ``action`` is
  ``{"type": "search", "query"}``, the query being the start of the last user message; the message
  text that follows carries one ``url_citation`` annotation per source, each spanning one of its
  sentences (:func:`cite`). The sources are fake but well-formed ``https`` URLs: on the tool's
  ``filters.allowed_domains`` when given (in turn), else on ``example.com``, ``example.org`` and
  ``example.net``; their path starts with the ``user_location``'s country and city when given, then
  the query's words. ``search_context_size`` sets how many (``low`` 2, ``medium`` 3, ``high`` 5);
  ``include: ["web_search_call.action.sources"]`` lists them in ``action.sources``.
- ``image_generation``: an ``image_generation_call`` (``ig_...``) whose ``result`` is a base64 PNG of
  the tool's ``size`` (``auto``: 1024x1024), drawn by the images endpoint's generator from the last
  user message, with a ``revised_prompt`` and the tool's ``quality``, ``background`` and
  ``output_format`` echoed (``auto`` resolved: ``medium``, ``opaque``). ``partial_images`` (0-3) are
  streamed before it, each a PNG of the same size (:func:`partial_images`).
- ``code_interpreter``: a ``code_interpreter_call`` (``ci_...``) with a short Python program that
  computes a statistic of a few numbers and prints it, in the tool's container
  (:mod:`fakeai.engine.containers`, what ``/v1/containers`` shows): a ``container`` id must name a
  stored container (404 naming ``tools[i].container`` when it does not, 400 ``Container is expired.``
  when it has expired), whose ``last_active_at`` the call refreshes; ``{"type": "auto"}`` reuses the
  container of the conversation's last ``code_interpreter_call`` when it is still stored (400 when it
  has expired, as OpenAI answers), else makes a new one named ``auto`` with the tool's
  ``memory_limit``, ``network_policy`` and a copy of each of its ``file_ids`` (404 naming
  ``tools[i].container.file_ids`` for a file that is not stored). OpenAI's guide says only that
  ``auto`` reuses an active container of the model's context, not what becomes of the new call's
  options; fakeai copies into the reused container each of the call's ``file_ids`` it holds no copy
  of yet (so a client repeating its tools every turn adds nothing; a 404 as above adds nothing
  either), and keeps its ``memory_limit`` and ``network_policy``: a live container's cannot change.
  Nothing is checked or made when the model does not call the tool.
  ``include: ["code_interpreter_call.outputs"]`` adds its ``logs`` output, the line the program prints.

The text the model writes for a tool (the query, the revised prompt, the code) counts as output
tokens (:func:`written_tokens`). Each call takes simulated time before the message starts
(:data:`SECONDS`: a search 0.3 s, an image 2 s, running code 0.5 s), none when the model's latency is
off (``--ttft 0 --itl 0``).
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fakeai import _core
from fakeai.engine.containers import AUTO_NAME, KIND, Containers, last_container
from fakeai.engine.response_tools import kind
from fakeai.store import Obj

if TYPE_CHECKING:
    from fakeai.context import ServerContext

#: Simulated seconds one call of each hosted tool takes.
SECONDS = {"web_search_call": 0.3, "image_generation_call": 2.0, "code_interpreter_call": 0.5}
#: How many sources a search finds, by ``search_context_size``.
SOURCES = {"low": 2, "medium": 3, "high": 5}
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
#: Words of the last user message a search query keeps.
QUERY_WORDS = 12
_WORD = re.compile(r"[A-Za-z0-9]+")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def _rng(*parts: object) -> random.Random:
    return random.Random(hashlib.sha256(repr(parts).encode()).digest())


def run(
    tool: Obj,
    asked: str,
    include: list[str],
    seed: int | None,
    *,
    ctx: ServerContext,
    history: Sequence[Obj],
    tools: Sequence[Obj],
) -> Obj:
    """The output item of one call of the hosted ``tool`` (one of the request's ``tools``) for the
    last user message ``asked`` of the conversation ``history``."""
    k = kind(tool)
    if k == "image_generation":
        return _image(tool, asked, seed)
    if k == "code_interpreter":
        at = next((f"tools[{i}]" for i, t in enumerate(tools) if t is tool), "tools")
        return _code(tool, asked, include, seed, _container(tool, ctx, history, at))
    return _search(tool, asked, include)


def query(asked: str) -> str:
    return " ".join(asked.split()[:QUERY_WORDS]) or "search"


def sources(tool: Obj, q: str) -> list[Obj]:
    """The ``(url, title)`` of each source a search of ``q`` finds (see the module docs)."""
    domains = (tool.get("filters") or {}).get("allowed_domains") or EXAMPLE_DOMAINS
    location = tool.get("user_location") or {}
    where = [str(location[k]).lower() for k in ("country", "city") if location.get(k)]
    words = [w.lower() for w in _WORD.findall(q)][:6] or ["search"]
    slug = "-".join(words)
    out = []
    for i in range(SOURCES[tool.get("search_context_size") or "medium"]):
        domain = str(domains[i % len(domains)]).lower()
        path = "/".join(
            [*(re.sub(r"[^a-z0-9]+", "-", w).strip("-") or "x" for w in where), f"{slug}-{i + 1}"]
        )
        title = f"{' '.join(words).capitalize()} ({i + 1}) | {domain}"
        out.append({"url": f"https://{domain}/{path}", "title": title})
    return out


def _search(tool: Obj, asked: str, include: list[str]) -> Obj:
    q = query(asked)
    action: Obj = {"type": "search", "query": q, "queries": [q]}
    found = sources(tool, q)
    if "web_search_call.action.sources" in include:
        action["sources"] = [{"type": "url", "url": s["url"]} for s in found]
    return {"id": _id("ws"), "type": "web_search_call", "status": "completed", "action": action}


def cite(text: str, calls: list[tuple[Obj, Obj]]) -> list[Obj]:
    """The ``url_citation`` annotations of a message ``text`` written after the hosted tool ``calls``
    (``(tool, item)`` pairs): one per source its searches found, in order, each spanning one sentence
    of the text (none past its last sentence)."""
    found = [
        s
        for tool, item in calls
        if item["type"] == "web_search_call"
        for s in sources(tool, item["action"]["query"])
    ]
    if not found:  # no search (most requests): no sentence to find
        return []
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]
    out = []
    for (start, end), source in zip(spans, found, strict=False):
        start += len(text[start:end]) - len(text[start:end].lstrip())
        out.append({"type": "url_citation", "start_index": start, "end_index": end, **source})
    return out


def _size(tool: Obj) -> tuple[int, int]:
    size = tool.get("size") or "auto"
    width, height = (1024, 1024) if size == "auto" else map(int, size.split("x"))
    return width, height


def _image(tool: Obj, asked: str, seed: int | None) -> Obj:
    prompt = " ".join(asked.split()) or "An image"
    width, height = _size(tool)
    result = _core.png_images(f"image_generation\x00{prompt}", width, height, 1, seed or 0, True)[0]
    quality = tool.get("quality") or "auto"
    background = tool.get("background") or "auto"
    return {
        "id": _id("ig"),
        "type": "image_generation_call",
        "status": "completed",
        "result": result.decode(),
        "revised_prompt": f"{prompt.rstrip('.')}. Clear composition, soft even lighting, fine detail.",
        "action": "generate",
        "size": f"{width}x{height}",
        "quality": "medium" if quality == "auto" else quality,
        "background": "opaque" if background == "auto" else background,
        "output_format": tool.get("output_format") or "png",
    }


def partial_images(tool: Obj, item: Obj) -> list[str]:
    """The base64 PNGs streamed before the image of ``item`` is done: its ``tool``'s
    ``partial_images`` of them (0-3), of the image's size."""
    width, height = map(int, str(item.get("size") or "1024x1024").split("x"))
    count = min(int(tool.get("partial_images") or 0), 3)
    return [
        _core.png_images(f"partial\x00{item['id']}\x00{i}", width, height, 1, 0, True)[0].decode()
        for i in range(count)
    ]


_STATS: dict[str, Any] = {
    "mean": statistics.fmean,
    "median": statistics.median,
    "total": sum,
    "maximum": max,
}


def _container(tool: Obj, ctx: ServerContext, history: Sequence[Obj], at: str) -> str:
    """The id of the container a code interpreter call runs in (see the module docs)."""
    box = Containers(ctx.store, ctx.settings)
    box.sweep_soon()
    spec = tool["container"]
    where = f"{at}.container"
    if isinstance(spec, str):
        return str(box.use(spec, where)["id"])
    previous = last_container(history)
    if previous is not None and ctx.store.get(KIND, previous) is not None:
        container = box.use(previous, where)
        box.add_files(container, spec.get("file_ids") or (), f"{where}.file_ids")
        return str(container["id"])
    created = box.create(
        AUTO_NAME,
        memory_limit=spec.get("memory_limit"),
        policy=spec.get("network_policy"),
        file_ids=spec.get("file_ids") or (),
        param=f"{where}.file_ids",
    )
    return str(created["id"])


def _code(tool: Obj, asked: str, include: list[str], seed: int | None, container: str) -> Obj:
    rng = _rng(asked, seed)
    values = [rng.randint(1, 99) for _ in range(rng.randint(4, 8))]
    name = rng.choice(sorted(_STATS))
    result = _STATS[name](values)
    shown = f"{result:.2f}" if isinstance(result, float) else str(result)
    func = {"mean": "statistics.fmean", "median": "statistics.median", "total": "sum", "maximum": "max"}[name]
    code = ("import statistics\n\n" if func.startswith("statistics") else "") + (
        f"values = {values}\n"
        f"{name} = {func}(values)\n"
        f'print(f"{name} = {{{name}{":.2f" if isinstance(result, float) else ""}}}")\n'
    )
    item: Obj = {
        "id": _id("ci"),
        "type": "code_interpreter_call",
        "status": "completed",
        "code": code,
        "container_id": container,
        "outputs": None,
    }
    if "code_interpreter_call.outputs" in include:
        item["outputs"] = [{"type": "logs", "logs": f"{name} = {shown}\n"}]
    return item


def written_tokens(item: Obj) -> int:
    """Output tokens of the text the model wrote for a hosted tool call (its query, revised prompt or
    code)."""
    if item["type"] == "web_search_call":
        return _core.count_tokens(item["action"]["query"])
    if item["type"] == "image_generation_call":
        return _core.count_tokens(item.get("revised_prompt") or "")
    if item["type"] == "code_interpreter_call":
        return _core.count_tokens(item.get("code") or "")
    return 0


def seconds(items: list[Obj], latency_on: bool) -> float:
    """Simulated time the hosted tool calls among ``items`` take (see :data:`SECONDS`)."""
    return sum(SECONDS.get(i["type"], 0.0) for i in items) if latency_on else 0.0
