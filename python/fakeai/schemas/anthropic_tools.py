"""Anthropic-defined tools in a Messages request's ``tools``: which versioned ``type``\\ s exist, the
name each requires, the options each takes, and what Anthropic refuses of them (:func:`check`, run by
:func:`fakeai.schemas.messages_checks.check` as a request is decoded, so on every path, the Rust hot
path's handover included).

The types are those the ``anthropic`` SDK's ``ToolUnionParam`` and ``BetaToolUnionParam`` list (2.17):

=================  ======================================================================  ===========
family             types                                                                   name
=================  ======================================================================  ===========
bash               ``bash_20241022``, ``bash_20250124``                                    bash
text_editor        ``text_editor_20241022``, ``text_editor_20250124``                      str_replace_editor
text_editor        ``text_editor_20250429``, ``text_editor_20250728``                      str_replace_based_edit_tool
computer           ``computer_20241022``, ``computer_20250124``, ``computer_20251124``     computer
memory             ``memory_20250818``                                                     memory
web_search         ``web_search_20250305``, ``web_search_20260209``, ``web_search_20260318``  web_search
web_fetch          ``web_fetch_20250910``, ``_20260209``, ``_20260309``, ``_20260318``       web_fetch
code_execution     ``code_execution_20250522``, ``_20250825``, ``_20260120``, ``_20260521``  code_execution
tool_search        ``tool_search_tool_{bm25,regex}_20251119`` (and the undated aliases)     tool_search_tool_{bm25,regex}
toolset            ``computer_toolset_20260801``, ``browser_toolset_20260801``             (none)
=================  ======================================================================  ===========

bash, text_editor, computer and memory are *client* tools (the model answers a ``tool_use`` the
client runs); web_search, web_fetch, code_execution and tool_search are *server* tools (run by the
API within the turn: :mod:`fakeai.engine.anthropic_tools`). Toolsets (``computer_toolset``,
``browser_toolset``) are accepted and counted, and never called: their members' ``tool_use`` blocks
carry a ``toolset_name`` fakeai does not simulate. Beta-only ``mcp_toolset`` (which needs
``mcp_servers``) and ``advisor_20260301`` (which consults another model) are not simulated: their
tag is refused as any unknown one is.

Refused, each a 400 ``invalid_request_error`` at the option's path, in pydantic's words as Anthropic's
API words them (``tools.0.web_search_20250305.max_uses: Input should be greater than or equal to 1``):

1. a ``type`` no family has: "Input tag 'bash_20990101' found using 'type' does not match any of the
   expected tags: 'custom', 'bash_20241022', ...";
2. a name other than the one the type requires ("Input should be 'bash'"), or none (a toolset takes
   none); a custom tool (``type`` absent or ``custom``) without ``name`` or ``input_schema``;
3. an option the type does not take ("Extra inputs are not permitted"), a required one missing
   (a computer tool's ``display_width_px`` / ``display_height_px``);
4. ranges: ``max_uses``, ``max_characters``, ``max_content_tokens`` and the display sizes at least 1,
   ``display_number`` at least 0; a domain list empty ("Empty list of domains is ambiguous. Provide at
   least one domain or null."), a domain with a scheme, or both ``allowed_domains`` and
   ``blocked_domains`` ("Cannot specify both allowed_domains and blocked_domains in the same
   request"). The options' types are msgspec's (:class:`fakeai.schemas.messages.Tool`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from fakeai.errors import bad_request, shown

if TYPE_CHECKING:
    from fakeai.schemas.messages import Tool


class Kind(NamedTuple):
    """One family of Anthropic-defined tools: its role, the name it requires, the options it takes."""

    #: ``bash``, ``text_editor``, ``computer``, ``memory``, ``web_search``, ``web_fetch``,
    #: ``code_execution``, ``tool_search`` or ``toolset``.
    family: str
    #: ``client``, ``server`` or ``toolset``.
    role: str
    name: str | None
    options: frozenset[str]


#: What every tool entry may carry.
COMMON = frozenset({"cache_control", "defer_loading", "allowed_callers", "strict"})
#: A client tool's extras.
EXAMPLES = frozenset({"input_examples"})
DISPLAY = frozenset({"display_width_px", "display_height_px", "display_number"})
SEARCH = frozenset({"max_uses", "allowed_domains", "blocked_domains", "user_location"})
FETCH = frozenset({"max_uses", "allowed_domains", "blocked_domains", "citations", "max_content_tokens"})
#: The options a custom tool takes besides its name.
CUSTOM = COMMON | EXAMPLES | {"description", "input_schema"}

_BASH = Kind("bash", "client", "bash", COMMON | EXAMPLES)
_EDITOR = Kind("text_editor", "client", "str_replace_editor", COMMON | EXAMPLES)
_EDITOR_4 = Kind("text_editor", "client", "str_replace_based_edit_tool", COMMON | EXAMPLES)
_COMPUTER = Kind("computer", "client", "computer", COMMON | EXAMPLES | DISPLAY)
_CODE = Kind("code_execution", "server", "code_execution", COMMON)

#: Every Anthropic-defined tool type, in the SDK's order.
TYPES: dict[str, Kind] = {
    "bash_20241022": _BASH,
    "bash_20250124": _BASH,
    "code_execution_20250522": _CODE,
    "code_execution_20250825": _CODE,
    "code_execution_20260120": _CODE,
    "code_execution_20260521": _CODE,
    "browser_toolset_20260801": Kind("toolset", "toolset", None, frozenset({"cache_control", "configs"})),
    "computer_20241022": _COMPUTER,
    "memory_20250818": Kind("memory", "client", "memory", COMMON | EXAMPLES),
    "computer_20250124": _COMPUTER,
    "text_editor_20241022": _EDITOR,
    "computer_20251124": Kind("computer", "client", "computer", _COMPUTER.options | {"enable_zoom"}),
    "computer_toolset_20260801": Kind("toolset", "toolset", None, frozenset({"cache_control", "configs"})),
    "text_editor_20250124": _EDITOR,
    "text_editor_20250429": _EDITOR_4,
    "text_editor_20250728": Kind(
        "text_editor", "client", "str_replace_based_edit_tool", _EDITOR_4.options | {"max_characters"}
    ),
    "web_search_20250305": Kind("web_search", "server", "web_search", COMMON | SEARCH),
    "web_fetch_20250910": Kind("web_fetch", "server", "web_fetch", COMMON | FETCH),
    "web_search_20260209": Kind("web_search", "server", "web_search", COMMON | SEARCH),
    "web_fetch_20260209": Kind("web_fetch", "server", "web_fetch", COMMON | FETCH | {"url_sources"}),
    "web_fetch_20260309": Kind(
        "web_fetch", "server", "web_fetch", COMMON | FETCH | {"url_sources", "use_cache"}
    ),
    "web_search_20260318": Kind(
        "web_search", "server", "web_search", COMMON | SEARCH | {"response_inclusion"}
    ),
    "web_fetch_20260318": Kind(
        "web_fetch",
        "server",
        "web_fetch",
        COMMON | FETCH | {"url_sources", "use_cache", "response_inclusion"},
    ),
    "tool_search_tool_bm25_20251119": Kind("tool_search", "server", "tool_search_tool_bm25", COMMON),
    "tool_search_tool_bm25": Kind("tool_search", "server", "tool_search_tool_bm25", COMMON),
    "tool_search_tool_regex_20251119": Kind("tool_search", "server", "tool_search_tool_regex", COMMON),
    "tool_search_tool_regex": Kind("tool_search", "server", "tool_search_tool_regex", COMMON),
}

#: The options :class:`~fakeai.schemas.messages.Tool` declares for versioned tools (checked per type).
OPTIONS = (
    "description",
    "input_schema",
    "input_examples",
    "max_uses",
    "allowed_domains",
    "blocked_domains",
    "user_location",
    "citations",
    "max_content_tokens",
    "url_sources",
    "use_cache",
    "response_inclusion",
    "display_width_px",
    "display_height_px",
    "display_number",
    "enable_zoom",
    "max_characters",
    "configs",
)
#: Options that must be at least 1 (``display_number``: at least 0).
POSITIVE = ("max_uses", "max_characters", "max_content_tokens", "display_width_px", "display_height_px")
EXPECTED = ", ".join(shown(t) for t in ("custom", *TYPES))


def kind(tool: Tool) -> Kind | None:
    """The family of ``tool`` (None: a custom tool)."""
    return None if tool.type in (None, "custom") else TYPES.get(tool.type)


def check(tool: Tool, i: int) -> None:
    """Refuse ``tool`` (``tools[i]``) as Anthropic would; see the module docs."""
    tag = tool.type or "custom"
    at = f"tools.{i}"
    if tag == "custom":
        for name in ("name", "input_schema"):
            if getattr(tool, name) is None:
                raise bad_request("Field required", param=f"{at}.custom.{name}")
        _extra(tool, CUSTOM, f"{at}.custom")
        return
    found = TYPES.get(tag)
    if found is None:
        raise bad_request(
            f"Input tag {shown(tag)} found using 'type' does not match any of the expected tags: {EXPECTED}",
            param=at,
        )
    at = f"{at}.{tag}"
    if found.name is None:
        if tool.name is not None:
            raise bad_request("Extra inputs are not permitted", param=f"{at}.name")
    elif tool.name is None:
        raise bad_request("Field required", param=f"{at}.name")
    elif tool.name != found.name:
        raise bad_request(f"Input should be {shown(found.name)}", param=f"{at}.name")
    _extra(tool, found.options, at)
    if "display_width_px" in found.options:
        for name in ("display_width_px", "display_height_px"):
            if getattr(tool, name) is None:
                raise bad_request("Field required", param=f"{at}.{name}")
    for name in POSITIVE:
        value = getattr(tool, name)
        if value is not None and value < 1:
            raise bad_request("Input should be greater than or equal to 1", param=f"{at}.{name}")
    if tool.display_number is not None and tool.display_number < 0:
        raise bad_request("Input should be greater than or equal to 0", param=f"{at}.display_number")
    for name in ("allowed_domains", "blocked_domains"):
        domains = getattr(tool, name)
        if domains is None:
            continue
        if not domains:
            raise bad_request(
                "Empty list of domains is ambiguous. Provide at least one domain or null.",
                param=f"{at}.{name}",
            )
        for k, domain in enumerate(domains):
            if not domain or "://" in domain:
                raise bad_request(
                    f"Invalid domain {shown(domain)}: give a domain without its scheme (example.com, not "
                    "https://example.com)",
                    param=f"{at}.{name}.{k}",
                )
    if tool.allowed_domains is not None and tool.blocked_domains is not None:
        raise bad_request(
            "Cannot specify both allowed_domains and blocked_domains in the same request", param=at
        )


def _extra(tool: Tool, allowed: frozenset[str], at: str) -> None:
    """The first option ``tool`` sets that its type does not take: "Extra inputs are not permitted"."""
    for name in OPTIONS:
        if name not in allowed and getattr(tool, name) is not None:
            raise bad_request("Extra inputs are not permitted", param=f"{at}.{name}")
