"""The Responses API's ``tools`` beyond functions and file search, checked, and which tools a response
uses (``tool_choice``).

Declarations (each a 400 naming the field, ``tools[2].format.definition``, when wrong; an option the
SDK's type for the tool does not have is a 400 ``unknown_parameter``):

- ``custom``: ``name`` (1-64 of ``[a-zA-Z0-9_-]``), ``description``, ``format``: ``{"type": "text"}`` or
  ``{"type": "grammar", "syntax": "regex" | "lark", "definition"}`` (at most 32 KiB; a regex is
  compiled by the structured-outputs pattern generator, so a bad one is refused here).
- ``web_search`` / ``web_search_preview`` (and their dated names): ``search_context_size``,
  ``user_location`` (strings of at most :data:`MAX_LOCATION_FIELD` characters, ``country`` two letters),
  ``filters.allowed_domains`` (at most :data:`MAX_DOMAINS` host names), ``external_web_access``,
  ``search_content_types``.
- ``image_generation``: ``size`` (``1024x1024``, ``1024x1536``, ``1536x1024``, ``auto``), ``quality``,
  ``background``, ``output_format`` (``png``: fakeai writes PNG, as its images endpoint),
  ``output_compression`` (0-100), ``partial_images`` (0-3), ``model`` (a ``gpt-image`` model), ``action``,
  ``moderation``, ``input_fidelity``.
- ``code_interpreter``: ``container``, a container id or ``{"type": "auto", "file_ids"?: at most
  :data:`MAX_FILE_IDS`, "memory_limit"?, "network_policy"?}``; a ``network_policy`` is ``{"type":
  "disabled"}`` or ``{"type": "allowlist", "allowed_domains": [host names], "domain_secrets"?: [{"domain",
  "name", "value"}]}`` (at most :data:`MAX_DOMAINS` of each), nothing else.
- The options the SDK gives some tool types (:data:`CALLER_OPTIONS`): ``allowed_callers`` (null or a
  list of ``direct`` / ``programmatic``), ``defer_loading`` and ``async`` (booleans), checked on
  ``function`` tools too (whose other fields fakeai reads as chat does, without refusing unknown ones).
  They are accepted and echoed; the simulated model calls a tool whatever they say.

At most :data:`MAX_TOOLS` tools in all.

Which tools a response uses (:func:`plan`), deterministically, as function tools always have been:
``tool_choice: "none"`` none; a named function or custom tool (``{"type": "function" | "custom",
"name"}``) that call only; a hosted tool type (``{"type": "web_search_preview"}``, ``image_generation``,
``code_interpreter``) that tool, then the message; ``"required"``, or ``"auto"`` when the conversation
ends with a user message, every declared hosted tool once (in declaration order), then a call of the
first function or custom tool when there is one (the response ends with that call, for the client to
answer), else the message. ``{"type": "allowed_tools", "mode", "tools"}`` does the same over the tools
it lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import orjson

from fakeai import _core
from fakeai.errors import bad_request, missing, rejected, shown
from fakeai.store import Obj

#: Most tools a request declares (OpenAI's limit on functions).
MAX_TOOLS = 128
#: Most ``filters.allowed_domains`` of a web search tool (OpenAI documents up to 100).
MAX_DOMAINS = 100
#: Longest ``user_location`` field and ``description`` of a tool.
MAX_LOCATION_FIELD = 128
MAX_DESCRIPTION = 4096
#: Most ``file_ids`` of an automatic code interpreter container.
MAX_FILE_IDS = 50

WEB_SEARCH = ("web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11")
#: The hosted tools fakeai simulates (file_search is searched by the responder itself).
HOSTED = (*WEB_SEARCH, "image_generation", "code_interpreter")
CALLABLE = ("function", "custom")
IMAGE_SIZES = ("1024x1024", "1024x1536", "1536x1024", "auto")

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_HOST = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
#: The tool types whose SDK type has each of ``allowed_callers``, ``defer_loading`` and ``async``.
CALLER_OPTIONS = {
    "function": ("allowed_callers", "defer_loading", "async"),
    "custom": ("allowed_callers", "defer_loading", "async"),
    "code_interpreter": ("allowed_callers",),
}
CALLERS = ("direct", "programmatic")
#: Each simulated tool's options (those of the SDK's type) with their allowed values (None: checked
#: by the tool's own function).
OPTIONS: dict[str, dict[str, tuple[object, ...] | None]] = {
    "custom": dict.fromkeys(("name", "description", "format", *CALLER_OPTIONS["custom"])),
    "web_search": {
        "search_context_size": ("low", "medium", "high"),
        "user_location": None,
        "filters": None,
        "external_web_access": (True, False),
    },
    "web_search_preview": {
        "search_context_size": ("low", "medium", "high"),
        "user_location": None,
        "search_content_types": None,
    },
    "image_generation": {
        "size": IMAGE_SIZES,
        "quality": ("low", "medium", "high", "auto"),
        "background": ("transparent", "opaque", "auto"),
        "output_format": ("png",),
        "output_compression": None,
        "partial_images": (0, 1, 2, 3),
        "model": None,
        "action": ("generate", "edit", "auto"),
        "moderation": ("auto", "low"),
        "input_fidelity": ("high", "low"),
        "input_image_mask": None,
    },
    "code_interpreter": {"container": None, **dict.fromkeys(CALLER_OPTIONS["code_interpreter"])},
}


def kind(tool: Obj) -> str:
    """A tool's kind: its ``type``, dated web search names folded (``web_search_preview_2025_03_11``
    -> ``web_search_preview``)."""
    t = str(tool.get("type"))
    return (
        "web_search_preview" if t.startswith("web_search_preview") else "web_search" if t in WEB_SEARCH else t
    )


def _family(tool: Obj) -> str:
    return "web_search" if str(tool.get("type")) in WEB_SEARCH else kind(tool)


def check(tools: list[Obj]) -> None:
    """A 400 for too many tools, or for a bad custom or hosted tool declaration (see the module docs)."""
    if len(tools) > MAX_TOOLS:
        raise bad_request(f"'tools' holds at most {MAX_TOOLS} tools, got {len(tools)}.", param="tools")
    for i, tool in enumerate(tools):
        k = kind(tool)
        at = f"tools[{i}]"
        _callers(tool, CALLER_OPTIONS.get(k, ()), at)
        if k not in OPTIONS:
            continue
        allowed = OPTIONS[k]
        for name, value in tool.items():
            if name == "type" or value is None:
                continue
            if name not in allowed:
                raise bad_request(
                    f"Unknown parameter: '{at}.{name}'.", param=f"{at}.{name}", code="unknown_parameter"
                )
            values = allowed[name]
            if values is not None and (value not in values or type(value) is not type(values[0])):
                raise bad_request(
                    f"Invalid value for '{at}.{name}': {shown(value)}. Supported values are: "
                    f"{', '.join(repr(v) for v in values)}.",
                    param=f"{at}.{name}",
                )
        {"custom": _custom, "image_generation": _image, "code_interpreter": _code}.get(k, _web_search)(
            tool, at
        )


def _callers(tool: Obj, options: tuple[str, ...], at: str) -> None:
    """The caller options (``allowed_callers``, ``defer_loading``, ``async``) among ``options`` that
    ``tool`` sets."""
    for name in options:
        value = tool.get(name)
        if value is None:
            continue
        where = f"{at}.{name}"
        if name != "allowed_callers":
            if not isinstance(value, bool):
                raise bad_request(
                    f"Invalid type for '{where}': expected a boolean, but got {shown(value)} instead.",
                    param=where,
                    code="invalid_type",
                )
        elif not isinstance(value, list):
            raise bad_request(
                f"Invalid type for '{where}': expected an array of 'direct' and 'programmatic'.",
                param=where,
                code="invalid_type",
            )
        else:
            for j, caller in enumerate(value):
                if not isinstance(caller, str) or caller not in CALLERS:
                    raise bad_request(
                        f"Invalid value for '{where}[{j}]': {shown(caller)}. Supported values are: "
                        "'direct' and 'programmatic'.",
                        param=f"{where}[{j}]",
                        code="invalid_value",
                    )


def _custom(tool: Obj, at: str) -> None:
    name = tool.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise bad_request(
            f"Invalid '{at}.name': expected a string of 1 to 64 characters matching '^[a-zA-Z0-9_-]+$'.",
            param=f"{at}.name",
        )
    _string(tool, "description", at, MAX_DESCRIPTION)
    fmt = tool.get("format")
    if fmt is not None and not isinstance(fmt, dict):
        raise bad_request(f"Invalid type for '{at}.format': expected an object.", param=f"{at}.format")
    custom_input(tool, at, "check")  # a bad grammar is a 400 naming it


def custom_input(tool: Obj, at: str, key: str) -> str:
    """The input of a call of the custom tool ``tool`` (declared at ``at``): prose, or a string matching
    its regex grammar (the Rust core's generator, as chat's custom tool calls)."""
    try:
        return _core.custom_tool_input(orjson.dumps(tool), at, key)
    except _core.InvalidInput as e:
        raise rejected(e, f"{at}.format") from None


def _string(tool: Obj, name: str, at: str, most: int) -> None:
    value = tool.get(name)
    if value is not None and not (isinstance(value, str) and len(value) <= most):
        raise bad_request(
            f"Invalid '{at}.{name}': expected a string of at most {most} characters.", param=f"{at}.{name}"
        )


def _web_search(tool: Obj, at: str) -> None:
    location = tool.get("user_location")
    if location is not None:
        where = f"{at}.user_location"
        if not isinstance(location, dict):
            raise bad_request(f"Invalid type for '{where}': expected an object.", param=where)
        for name, value in location.items():
            if name == "type":
                if value not in (None, "approximate"):
                    raise bad_request(
                        f"Invalid value for '{where}.type': {shown(value)}. Supported values are: 'approximate'.",
                        param=f"{where}.type",
                    )
            elif name in ("city", "region", "timezone"):
                _string(location, name, where, MAX_LOCATION_FIELD)
            elif name == "country":
                if value is not None and not (isinstance(value, str) and re.fullmatch("[A-Za-z]{2}", value)):
                    raise bad_request(
                        f"Invalid '{where}.country': expected a two-letter ISO country code.",
                        param=f"{where}.country",
                    )
            else:
                raise bad_request(
                    f"Unknown parameter: '{where}.{name}'.", param=f"{where}.{name}", code="unknown_parameter"
                )
    filters = tool.get("filters")
    if filters is not None:
        domains = filters.get("allowed_domains") if isinstance(filters, dict) else ()
        where = f"{at}.filters.allowed_domains"
        if not isinstance(filters, dict) or set(filters) - {"allowed_domains"}:
            raise bad_request(
                f"Invalid '{at}.filters': expected {{\"allowed_domains\": [...]}}.", param=f"{at}.filters"
            )
        if domains is not None and not _hosts(domains):
            raise bad_request(
                f"Invalid '{where}': expected a list of at most {MAX_DOMAINS} domain names.", param=where
            )
    types = tool.get("search_content_types")
    if types is not None and not (
        isinstance(types, list) and 0 < len(types) <= 2 and all(t in ("text", "image") for t in types)
    ):
        where = f"{at}.search_content_types"
        raise bad_request(f"Invalid '{where}': expected a list of 'text' and 'image'.", param=where)


def _image(tool: Obj, at: str) -> None:
    model = tool.get("model")
    if model is not None and not (
        isinstance(model, str) and model.startswith(("gpt-image", "chatgpt-image"))
    ):
        raise bad_request(
            f"Invalid value for '{at}.model': {shown(model)}. Expected a GPT image model.",
            param=f"{at}.model",
        )
    compression = tool.get("output_compression")
    if compression is not None and not (type(compression) is int and 0 <= compression <= 100):
        where = f"{at}.output_compression"
        raise bad_request(f"Invalid '{where}': expected an integer from 0 to 100.", param=where)
    mask = tool.get("input_image_mask")
    if mask is not None and not (isinstance(mask, dict) and set(mask) <= {"file_id", "image_url"}):
        where = f"{at}.input_image_mask"
        raise bad_request(f'Invalid \'{where}\': expected {{"file_id"?, "image_url"?}}.', param=where)


def _code(tool: Obj, at: str) -> None:
    container = tool.get("container")
    where = f"{at}.container"
    if isinstance(container, str):
        if not 0 < len(container) <= 128:
            raise bad_request(f"Invalid '{where}': expected a container id.", param=where)
        return
    if not isinstance(container, dict):
        raise bad_request(
            f'Missing required parameter: \'{where}\' (a container id or {{"type": "auto"}}).', param=where
        )
    for name, value in container.items():
        if name == "type":
            if value != "auto":
                raise bad_request(
                    f"Invalid value for '{where}.type': {shown(value)}. Supported values are: 'auto'.",
                    param=f"{where}.type",
                )
        elif name == "file_ids":
            if not (
                isinstance(value, list)
                and len(value) <= MAX_FILE_IDS
                and all(isinstance(f, str) and 0 < len(f) <= 128 for f in value)
            ):
                raise bad_request(
                    f"Invalid '{where}.file_ids': expected a list of at most {MAX_FILE_IDS} file ids.",
                    param=f"{where}.file_ids",
                )
        elif name == "memory_limit":
            if value not in (None, "1g", "4g", "16g", "64g"):
                raise bad_request(
                    f"Invalid value for '{where}.memory_limit': {shown(value)}.",
                    param=f"{where}.memory_limit",
                )
        elif name == "network_policy":
            if value is not None:
                network_policy(value, f"{where}.network_policy")
        else:
            raise bad_request(
                f"Unknown parameter: '{where}.{name}'.", param=f"{where}.{name}", code="unknown_parameter"
            )
    if "type" not in container:
        raise bad_request(f"Missing required parameter: '{where}.type'.", param=f"{where}.type")


def _fields(value: object, where: str, known: tuple[str, ...]) -> Obj:
    """``value`` as an object with none but the ``known`` fields, else a 400 naming the field."""
    if not isinstance(value, dict):
        raise bad_request(
            f"Invalid type for '{where}': expected an object.", param=where, code="invalid_type"
        )
    for name in value:
        if name not in known:
            raise bad_request(
                f"Unknown parameter: '{where}.{name}'.", param=f"{where}.{name}", code="unknown_parameter"
            )
    return value


def network_policy(value: object, where: str) -> None:
    """A code interpreter container's ``network_policy`` (see the module docs)."""
    disabled = isinstance(value, dict) and value.get("type") == "disabled"
    policy = _fields(value, where, ("type",) if disabled else ("type", "allowed_domains", "domain_secrets"))
    kind = policy.get("type")
    if kind is None:
        raise missing(f"{where}.type")
    if kind not in ("disabled", "allowlist"):
        raise bad_request(
            f"Invalid value for '{where}.type': {shown(kind)}. Supported values are: 'disabled' and "
            "'allowlist'.",
            param=f"{where}.type",
        )
    if disabled:
        return
    at = f"{where}.allowed_domains"
    if policy.get("allowed_domains") is None:
        raise missing(at)
    if not _hosts(policy["allowed_domains"]):
        raise bad_request(f"Invalid '{at}': expected a list of at most {MAX_DOMAINS} domain names.", param=at)
    secrets = policy.get("domain_secrets")
    if secrets is None:
        return
    at = f"{where}.domain_secrets"
    if not isinstance(secrets, list) or len(secrets) > MAX_DOMAINS:
        raise bad_request(
            f"Invalid '{at}': expected a list of at most {MAX_DOMAINS} objects.",
            param=at,
            code="invalid_type",
        )
    for j, secret in enumerate(secrets):
        entry = _fields(secret, f"{at}[{j}]", ("domain", "name", "value"))
        for name in ("domain", "name", "value"):
            got = entry.get(name)
            field_at = f"{at}[{j}].{name}"
            if got is None:
                raise missing(field_at)
            if not isinstance(got, str) or not got or (name == "domain" and not _hosts([got])):
                what = "a domain name" if name == "domain" else "a non-empty string"
                raise bad_request(f"Invalid '{field_at}': expected {what}.", param=field_at)


def _hosts(domains: object) -> bool:
    """Whether ``domains`` is a list of at most :data:`MAX_DOMAINS` host names."""
    return (
        isinstance(domains, list)
        and len(domains) <= MAX_DOMAINS
        and all(isinstance(d, str) and _HOST.fullmatch(d.lower()) for d in domains)
    )


@dataclass
class Plan:
    """The tools one response uses: ``hosted`` ones run (in order) before its last item, which is a
    call of ``call`` (a function or custom tool) when set, else the message."""

    hosted: list[Obj] = field(default_factory=list)
    call: Obj | None = None


def plan(tools: list[Obj], choice: str | Obj, history: list[Obj]) -> Plan:
    """What a response with ``tools`` and ``tool_choice`` does after ``history`` (see the module docs);
    a choice naming a tool that is not declared is a 400."""
    if choice == "none":
        return Plan()
    if isinstance(choice, dict):
        ctype = choice.get("type")
        if ctype in CALLABLE:
            named = [t for t in tools if t.get("type") == ctype and t.get("name") == choice.get("name")]
            if not named:
                what = "function" if ctype == "function" else "custom tool"
                raise bad_request(
                    f"tool_choice names an unknown {what}: {shown(choice.get('name'))}.", param="tool_choice"
                )
            return Plan(call=named[0])
        if ctype in HOSTED:
            # {"type": "web_search_preview"} (the SDK's only web search choice) forces any web search
            named = [t for t in tools if _family(t) == _family(choice)]
            if not named:
                raise bad_request(
                    f"tool_choice names a tool not in 'tools': {shown(ctype)}.", param="tool_choice"
                )
            return Plan(hosted=named[:1])
        if ctype == "allowed_tools":
            return _allowed(tools, choice, history)
        if ctype == "file_search":
            return Plan()
        raise bad_request(f"Unsupported tool_choice type: {shown(ctype)}.", param="tool_choice.type")
    last = history[-1] if history else {}
    if choice != "required" and not (last.get("type", "message") == "message" and last.get("role") == "user"):
        return Plan()
    hosted: list[Obj] = []
    for t in tools:
        if kind(t) in HOSTED and all(kind(h) != kind(t) for h in hosted):
            hosted.append(t)
    return Plan(hosted=hosted, call=next((t for t in tools if t.get("type") in CALLABLE), None))


def _allowed(tools: list[Obj], choice: Obj, history: list[Obj]) -> Plan:
    """``{"type": "allowed_tools", "mode": "auto" | "required", "tools": [{"type", "name"?}, ...]}``:
    the plan over the declared tools it lists."""
    listed = choice.get("tools")
    mode = choice.get("mode", "auto")
    if mode not in ("auto", "required") or not isinstance(listed, list) or len(listed) > MAX_TOOLS:
        raise bad_request(
            "'tool_choice' of type 'allowed_tools' needs a 'mode' ('auto' or 'required') and a list of 'tools'.",
            param="tool_choice",
        )

    for i, a in enumerate(listed):  # as chat: a listed function or custom tool must be declared
        if isinstance(a, dict) and a.get("type") in CALLABLE and a.get("name") is not None:
            if not any(t.get("type") == a["type"] and t.get("name") == a["name"] for t in tools):
                what = "function" if a["type"] == "function" else "custom tool"
                raise bad_request(
                    f"The {what} {shown(a['name'])} is not declared in 'tools'.",
                    param=f"tool_choice.tools[{i}]",
                )

    def allowed(t: Obj) -> bool:
        return any(
            isinstance(a, dict) and kind(a) == kind(t) and a.get("name") in (None, t.get("name"))
            for a in listed
        )

    return plan([t for t in tools if allowed(t)], mode, history)
