"""The scenario file: ``fakeai server --config fakeai.toml`` (or ``.yaml``).

Top-level keys are :class:`~fakeai.settings.Settings` fields by name (``ttft_ms = 0``,
``api_keys = ["sk-a"]``); four tables hold what a flag cannot say::

    [keys."sk-team-a"]          # a key with its own tier and limits (it is also accepted by auth)
    tier = "tier-1"
    rpm = 20

    [tiers.free]                # change a tier preset
    tpm = 10000

    [[errors]]                  # error injection for one route and/or model and/or key
    route = "/v1/chat/completions"
    model = "gpt-4o"
    rate = 0.5
    mix = "503"

    [[errors]]                  # deterministic retries: fail each x-request-id's first 2 attempts
    route = "/v1/completions"
    first = 2

    [[models]]                  # extra catalog entries
    id = "acme/llama-ft"
    context_length = 8192

Precedence: defaults < this file < ``FAKEAI_*`` environment < command-line flags. The file is read
and validated at start (errors name the bad key); each worker reads it again for the tables.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakeai.extras import require
from fakeai.settings import Settings, check_value, kind_of

TABLES = ("keys", "tiers", "errors", "models")
LIMIT_FIELDS = ("rpm", "tpm", "rpd", "tpd")
_KEY_FIELDS = frozenset({"tier", *LIMIT_FIELDS})
_RULE_FIELDS = frozenset({"route", "model", "key", "rate", "mix", "first"})
_MODEL_FIELDS = frozenset({"id", "context_length", "owned_by"})


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Scenario:
    settings: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    tiers: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: tuple[dict[str, Any], ...] = ()
    models: tuple[dict[str, Any], ...] = ()

    @classmethod
    def load(cls, path: str) -> Scenario:
        return parse(_read(Path(path)), path)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read the scenario file ({e.strerror})") from None
    is_yaml = path.suffix in (".yaml", ".yml")
    if is_yaml:
        yaml = require("yaml")

        parse_error: tuple[type[Exception], ...] = (yaml.YAMLError, ValueError)
    else:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        parse_error = (ValueError,)  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
    try:
        data = (yaml.safe_load(text) or {}) if is_yaml else tomllib.loads(text.decode())
    except parse_error as e:  # the parsers' own errors say where
        raise ScenarioError(f"{path}: not valid {'YAML' if is_yaml else 'TOML'}: {e}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a table of keys")
    return data


def _check(where: str, value: Any, kind: type) -> Any:
    try:
        return check_value(where, value, kind)
    except ValueError as e:
        raise ScenarioError(str(e)) from None


def _table(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where} must be a table")
    return value


def _fields(
    where: str, value: Any, allowed: frozenset[str], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    for k in _table(where, value):
        if k not in allowed:
            raise ScenarioError(f"{where}.{k}: unknown key (expected one of {', '.join(sorted(allowed))})")
    for k in required:
        if k not in value:
            raise ScenarioError(f"{where}: missing required key '{k}'")
    return value


def _limits(where: str, table: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in table.items():
        out[k] = _check(f"{where}.{k}", v, str if k == "tier" else int)
        if k != "tier" and v < 0:
            raise ScenarioError(f"{where}.{k} must be >= 0, got {v}")
    return out


def parse(data: dict[str, Any], source: str) -> Scenario:
    """Validate a loaded scenario; raises :class:`ScenarioError` naming ``source`` and the key."""
    knobs = {f.name: f for f in Settings.knobs() if f.name != "config"}
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if key in knobs:
            settings[key] = _check(f"{source}: {key}", value, kind_of(knobs[key]))
        elif key not in TABLES:
            raise ScenarioError(
                f"{source}: unknown key '{key}' (expected a settings field such as 'ttft_ms', or one of the "
                f"tables {', '.join(TABLES)})"
            )
    keys = {
        str(k): _limits(f"{source}: keys.{k}", _fields(f"{source}: keys.{k}", v, _KEY_FIELDS))
        for k, v in _table(f"{source}: keys", data.get("keys", {})).items()
    }
    tiers = {
        str(k): _limits(f"{source}: tiers.{k}", _fields(f"{source}: tiers.{k}", v, frozenset(LIMIT_FIELDS)))
        for k, v in _table(f"{source}: tiers", data.get("tiers", {})).items()
    }
    errors = []
    for i, rule in enumerate(_list(f"{source}: errors", data.get("errors", []))):
        where = f"{source}: errors[{i}]"
        rule = _fields(where, rule, _RULE_FIELDS)
        if "rate" not in rule and "first" not in rule:
            raise ScenarioError(f"{where}: missing required key 'rate' (or 'first')")
        kinds = {"rate": float, "first": int}
        errors.append({k: _check(f"{where}.{k}", v, kinds.get(k, str)) for k, v in rule.items()})
        if not 0 <= errors[-1].get("rate", 0) <= 1:
            raise ScenarioError(f"{where}.rate must be between 0 and 1, got {errors[-1]['rate']}")
        if not 0 <= errors[-1].get("first", 0) <= 100:
            raise ScenarioError(f"{where}.first must be between 0 and 100, got {errors[-1]['first']}")
    models = []
    for i, model in enumerate(_list(f"{source}: models", data.get("models", []))):
        where = f"{source}: models[{i}]"
        model = _fields(where, model, _MODEL_FIELDS, ("id",))
        models.append(
            {k: _check(f"{where}.{k}", v, int if k == "context_length" else str) for k, v in model.items()}
        )
    return Scenario(settings, keys, tiers, tuple(errors), tuple(models))


def _list(where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ScenarioError(f"{where} must be an array of tables ([[...]] in TOML, a list in YAML)")
    return value


def settings_with(scenario: Scenario, base: Settings) -> Settings:
    """``base`` with the scenario's settings applied."""
    try:
        return dataclasses.replace(base, **scenario.settings).validated()
    except ValueError as e:
        raise ScenarioError(f"{base.config}: {e}") from None
