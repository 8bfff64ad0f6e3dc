from __future__ import annotations

import pytest

from fakeai.gateway.scenario import Scenario, ScenarioError, parse, settings_with
from fakeai.settings import Settings


def test_yaml_and_toml_load_the_same(tmp_path):
    toml = tmp_path / "a.toml"
    toml.write_text('ttft_ms = 5\napi_keys = ["k"]\n[[models]]\nid = "x/y"\n')
    yaml = tmp_path / "a.yml"
    yaml.write_text("ttft_ms: 5\napi_keys: [k]\nmodels:\n  - id: x/y\n")
    assert Scenario.load(str(toml)) == Scenario.load(str(yaml))
    s = settings_with(Scenario.load(str(toml)), Settings())
    assert s.ttft_ms == 5.0 and s.api_keys == ("k",)


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"nope": 1}, "unknown key 'nope'"),
        ({"workers": True}, "workers must be an integer"),
        ({"api_keys": [1]}, "api_keys must be a list of strings"),
        ({"keys": {"k": {"rpm": "x"}}}, "keys.k.rpm must be an integer"),
        ({"errors": {"rate": 1}}, "errors must be an array"),
        ({"models": [{"context_length": 5}]}, "models[0]: missing required key 'id'"),
        ({"errors": [{"route": "/v1/"}]}, "errors[0]: missing required key 'rate' (or 'first')"),
        ({"errors": [{"first": 101}]}, "errors[0].first must be between 0 and 100"),
        ({"errors": [{"first": "2"}]}, "errors[0].first must be an integer"),
    ],
)
def test_errors_name_the_key(data, needle):
    with pytest.raises(ScenarioError) as exc:
        parse(data, "f.toml")
    assert needle in str(exc.value) and str(exc.value).startswith("f.toml")


def test_values_are_validated_like_flags():
    with pytest.raises(ScenarioError, match="--workers"):
        settings_with(parse({"workers": 0}, "f.toml"), Settings(config="f.toml"))


def test_first_rules_need_no_rate():
    scenario = parse({"errors": [{"route": "/v1/chat/completions", "key": "sk-a", "first": 2}]}, "f.toml")
    assert scenario.errors == ({"route": "/v1/chat/completions", "key": "sk-a", "first": 2},)
