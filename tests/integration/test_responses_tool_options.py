"""``/v1/responses`` tool options the SDK gives some tool types: ``allowed_callers``, ``defer_loading``
and ``async`` (function and custom tools; code interpreter's ``allowed_callers``) and the code
interpreter container's ``network_policy``: the SDK's values are accepted and echoed, anything else is a
400 naming the field."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai.types.responses import Response

pytestmark = pytest.mark.integration

FN = {
    "type": "function",
    "name": "lookup",
    "parameters": {"type": "object", "properties": {}},
    "strict": False,
}
CUSTOM = {"type": "custom", "name": "notes"}
CODE = {"type": "code_interpreter", "container": {"type": "auto"}}
OPTIONS = {"allowed_callers": ["direct", "programmatic"], "defer_loading": False, "async": True}
ALLOWLIST = {
    "type": "allowlist",
    "allowed_domains": ["pypi.org", "files.pythonhosted.org"],
    "domain_secrets": [{"domain": "pypi.org", "name": "PYPI_TOKEN", "value": "s3cret"}],
}


def with_policy(policy: object) -> dict:
    return {**CODE, "container": {"type": "auto", "network_policy": policy}}


def test_the_sdk_options_are_accepted_and_echoed(client: openai.OpenAI, http: httpx.Client) -> None:
    tools = [
        {**FN, **OPTIONS},
        {**CUSTOM, **OPTIONS, "allowed_callers": None},
        {**with_policy(ALLOWLIST), "allowed_callers": ["direct"]},
        with_policy({"type": "disabled"}),
    ]
    r = http.post(
        "/v1/responses", json={"model": "gpt-4o", "input": "hi", "tools": tools, "tool_choice": "none"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    Response.model_validate(body)
    assert body["tools"][0]["async"] is True and body["tools"][0]["allowed_callers"] == [
        "direct",
        "programmatic",
    ]
    assert body["tools"][2]["container"]["network_policy"]["allowed_domains"] == ALLOWLIST["allowed_domains"]
    # through the SDK's typed parameters
    response = client.responses.create(
        model="gpt-4o",
        input="hi",
        tools=[
            {"type": "function", "name": "lookup", "parameters": None, "strict": None, "defer_loading": True}
        ],
    )
    assert response.output[0].type == "function_call"


@pytest.mark.parametrize(
    ("tool", "param", "code"),
    [
        ({**FN, "defer_loading": "yes"}, "tools[0].defer_loading", "invalid_type"),
        ({**FN, "async": 1}, "tools[0].async", "invalid_type"),
        ({**FN, "allowed_callers": "direct"}, "tools[0].allowed_callers", "invalid_type"),
        ({**FN, "allowed_callers": ["direct", "robot"]}, "tools[0].allowed_callers[1]", "invalid_value"),
        ({**CUSTOM, "defer_loading": {}}, "tools[0].defer_loading", "invalid_type"),
        ({**CUSTOM, "async": "true"}, "tools[0].async", "invalid_type"),
        ({**CUSTOM, "allowed_callers": [["direct"]]}, "tools[0].allowed_callers[0]", "invalid_value"),
        ({**CODE, "allowed_callers": ["nobody"]}, "tools[0].allowed_callers[0]", "invalid_value"),
        # options a tool type does not have, where fakeai refuses unknown options already
        ({**CODE, "defer_loading": True}, "tools[0].defer_loading", "unknown_parameter"),
        ({**CODE, "async": True}, "tools[0].async", "unknown_parameter"),
        (
            {"type": "web_search", "allowed_callers": ["direct"]},
            "tools[0].allowed_callers",
            "unknown_parameter",
        ),
        (with_policy("disabled"), "tools[0].container.network_policy", "invalid_type"),
        (with_policy({}), "tools[0].container.network_policy.type", "missing_required_parameter"),
        (with_policy({"type": "open"}), "tools[0].container.network_policy.type", None),
        (
            with_policy({"type": "disabled", "allowed_domains": ["a.com"]}),
            "tools[0].container.network_policy.allowed_domains",
            "unknown_parameter",
        ),
        (
            with_policy({"type": "allowlist"}),
            "tools[0].container.network_policy.allowed_domains",
            "missing_required_parameter",
        ),
        (
            with_policy({"type": "allowlist", "allowed_domains": ["not a host"]}),
            "tools[0].container.network_policy.allowed_domains",
            None,
        ),
        (
            with_policy({"type": "allowlist", "allowed_domains": ["a.com"] * 101}),
            "tools[0].container.network_policy.allowed_domains",
            None,
        ),
        (
            with_policy({**ALLOWLIST, "proxy": "x"}),
            "tools[0].container.network_policy.proxy",
            "unknown_parameter",
        ),
        (
            with_policy({**ALLOWLIST, "domain_secrets": {"pypi.org": "x"}}),
            "tools[0].container.network_policy.domain_secrets",
            "invalid_type",
        ),
        (
            with_policy({**ALLOWLIST, "domain_secrets": [{"domain": "pypi.org", "name": "T"}]}),
            "tools[0].container.network_policy.domain_secrets[0].value",
            "missing_required_parameter",
        ),
        (
            with_policy({**ALLOWLIST, "domain_secrets": [{"domain": "pypi.org", "name": "", "value": "v"}]}),
            "tools[0].container.network_policy.domain_secrets[0].name",
            None,
        ),
        (
            with_policy({**ALLOWLIST, "domain_secrets": [{"domain": "no such", "name": "T", "value": "v"}]}),
            "tools[0].container.network_policy.domain_secrets[0].domain",
            None,
        ),
        (
            with_policy(
                {**ALLOWLIST, "domain_secrets": [{"domain": "a.com", "name": "T", "value": "v", "x": 1}]}
            ),
            "tools[0].container.network_policy.domain_secrets[0].x",
            "unknown_parameter",
        ),
    ],
)
def test_bad_options_are_400s_naming_the_field(
    http: httpx.Client, tool: dict, param: str, code: str | None
) -> None:
    r = http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", "tools": [tool]})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    if code is not None:
        assert error["code"] == code, error
    # the second tool of a list is named by its own index
    r = http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", "tools": [FN, tool]})
    assert r.status_code == 400 and r.json()["error"]["param"] == param.replace("tools[0]", "tools[1]")


def test_function_tools_still_take_fields_fakeai_does_not_know(http: httpx.Client) -> None:
    """Function tools' unknown fields were never refused: that stays (only the SDK's options are
    checked)."""
    tool = {**FN, "output_schema": {"type": "object"}, "x_vendor": 1}
    r = http.post(
        "/v1/responses", json={"model": "gpt-4o", "input": "hi", "tools": [tool], "tool_choice": "none"}
    )
    assert r.status_code == 200, r.text


def test_allowed_tools_listing_an_undeclared_tool_is_a_400_as_in_chat(http: httpx.Client) -> None:
    """A function or custom tool that ``allowed_tools`` lists must be declared (it was ignored)."""
    for listed in ({"type": "function", "name": "nope"}, {"type": "custom", "name": "lookup"}):
        choice = {
            "type": "allowed_tools",
            "mode": "auto",
            "tools": [{"type": "function", "name": "lookup"}, listed],
        }
        r = http.post(
            "/v1/responses", json={"model": "gpt-4o", "input": "hi", "tools": [FN], "tool_choice": choice}
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == "tool_choice.tools[1]", r.text
    choice = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "lookup"}]}
    r = http.post(
        "/v1/responses", json={"model": "gpt-4o", "input": "hi", "tools": [FN], "tool_choice": choice}
    )
    assert r.status_code == 200, r.text
    assert [o["type"] for o in r.json()["output"]] == ["function_call"]
