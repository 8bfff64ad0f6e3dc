"""The one configuration object: defaults < ``FAKEAI_*`` environment variables < command-line flags.

Each field declares its flag, its environment variable and its help text once; the CLI, the
environment reader and the README's options table all come from this declaration. Settings travel to
granian's worker processes as ``FAKEAI_*`` variables (see :meth:`Settings.to_env`), so every worker
builds the identical object.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _knob(
    flag: str,
    help: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A field's CLI flag, help text and bounds. A ``bool`` field gets ``--flag``/``--no-flag``; a
    ``tuple[str, ...]`` field is a repeatable flag and a comma-separated environment variable."""
    return {"flag": flag, "help": help, "minimum": minimum, "maximum": maximum, "choices": choices}


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata=_knob("--host", "Address to bind."))
    port: int = field(default=8000, metadata=_knob("--port", "TCP port to listen on.", minimum=0))
    workers: int = field(default=1, metadata=_knob("--workers", "Worker processes.", minimum=1))
    ttft_ms: float = field(
        default=20.0, metadata=_knob("--ttft", "Simulated time to first token, ms (0 turns it off).", minimum=0)
    )
    itl_ms: float = field(
        default=5.0, metadata=_knob("--itl", "Simulated inter-token latency, ms (0 turns it off).", minimum=0)
    )
    jitter: float = field(
        default=0.1, metadata=_knob("--jitter", "Relative spread of every simulated delay (0.1 = +-10%).", minimum=0)
    )
    max_body_bytes: int = field(
        default=32 * 1024 * 1024,
        metadata=_knob("--max-body-bytes", "Largest request body accepted; larger gets 413.", minimum=1),
    )
    log_level: str = field(default="info", metadata=_knob("--log-level", "Log verbosity.", choices=LOG_LEVELS))
    # Gateway-testing controls (fakeai.gateway): keys, rate limits, error and chaos injection, CORS.
    config: str = field(
        default="", metadata=_knob("--config", "Scenario file (TOML or YAML) holding any of these knobs and more.")
    )
    api_keys: tuple[str, ...] = field(
        default=(),
        metadata=_knob(
            "--api-key", "Accepted API key (repeatable; env comma-separated); 'sha256:<hex>' gives its hash."
        ),
    )
    auth_open_paths: tuple[str, ...] = field(
        default=("/health", "/metrics"),
        metadata=_knob("--auth-open-path", "Path prefix served without a key (repeatable; '' protects all)."),
    )
    rate_limit_tier: str = field(
        default="",
        metadata=_knob(
            "--rate-limit-tier",
            "OpenAI usage tier whose limits apply per key ('' = none).",
            choices=("", "free", "tier-1", "tier-2", "tier-3", "tier-4", "tier-5"),
        ),
    )
    rpm: int = field(default=0, metadata=_knob("--rpm", "Requests/minute per key (0: tier's).", minimum=0))
    tpm: int = field(default=0, metadata=_knob("--tpm", "Tokens/minute per key (0: tier's).", minimum=0))
    rpd: int = field(default=0, metadata=_knob("--rpd", "Requests/day per key (0: tier's).", minimum=0))
    tpd: int = field(default=0, metadata=_knob("--tpd", "Tokens/day per key (0: tier's).", minimum=0))
    error_rate: float = field(
        default=0.0,
        metadata=_knob("--error-rate", "Fraction of API requests answered by an injected error.", minimum=0,
                       maximum=1),
    )
    error_mix: str = field(
        default="500,502,503,504",
        metadata=_knob("--error-mix", "Injected error kinds with weights: '500=2,503,429,400' (see README)."),
    )
    fault_seed: int = field(
        default=0, metadata=_knob("--fault-seed", "Seed of error and chaos draws (same seed, same faults).")
    )
    chaos_rate: float = field(
        default=0.0,
        metadata=_knob("--chaos-rate", "Fraction of API requests given chaos.", minimum=0, maximum=1),
    )
    chaos_mix: str = field(
        default="disconnect,stall,malformed,slow-first-byte",
        metadata=_knob("--chaos-mix", "Chaos behaviours with weights: 'disconnect=2,stall' (README)."),
    )
    chaos_after: int = field(
        default=3,
        metadata=_knob("--chaos-after", "Chunks sent before a drawn cut, stall or bad chunk.", minimum=0),
    )
    chaos_delay_ms: float = field(
        default=2000.0,
        metadata=_knob("--chaos-delay-ms", "Length of a drawn stall or first-byte delay, ms.", minimum=0),
    )
    request_overrides: bool = field(
        default=True,
        metadata=_knob("--request-overrides", "Honour x-fakeai-* headers (off for untrusted clients)."),
    )
    cors_origins: tuple[str, ...] = field(
        default=(), metadata=_knob("--cors-origin", "Allowed CORS origin (repeatable; '*' for any).")
    )

    @staticmethod
    def env_name(name: str) -> str:
        return "FAKEAI_" + name.upper()

    @classmethod
    def knobs(cls) -> tuple[dataclasses.Field[Any], ...]:
        return dataclasses.fields(cls)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, base: Settings | None = None) -> Settings:
        """``base`` (the defaults) overridden by any ``FAKEAI_*`` variables present."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in cls.knobs():
            raw = environ.get(cls.env_name(f.name))
            if raw is not None:
                values[f.name] = parse(f, raw, cls.env_name(f.name))
        return dataclasses.replace(base or cls(), **values).validated()

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes).validated()

    def validated(self) -> Settings:
        for f in self.knobs():
            value = getattr(self, f.name)
            minimum, maximum, choices = f.metadata["minimum"], f.metadata["maximum"], f.metadata["choices"]
            if minimum is not None and value < minimum:
                raise ValueError(f"{f.metadata['flag']} / {self.env_name(f.name)} must be >= {minimum}, got {value}")
            if maximum is not None and value > maximum:
                name = f"{f.metadata['flag']} / {self.env_name(f.name)}"
                raise ValueError(f"{name} must be <= {maximum}, got {value}")
            if choices is not None and value not in choices:
                raise ValueError(f"{f.metadata['flag']} / {self.env_name(f.name)} must be one of {', '.join(choices)}")
        if self.port > 65535:
            raise ValueError(f"--port / FAKEAI_PORT must be <= 65535, got {self.port}")
        return self

    def to_env(self) -> dict[str, str]:
        """The ``FAKEAI_*`` variables that rebuild these settings in a worker process."""
        return {self.env_name(f.name): _unparse(getattr(self, f.name)) for f in self.knobs()}


_KINDS: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool, "tuple[str, ...]": tuple}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def kind_of(f: dataclasses.Field[Any]) -> type:
    """The field's value type: ``int``, ``float``, ``str``, ``bool`` or ``tuple`` (of strings)."""
    return _KINDS[f.type if isinstance(f.type, str) else f.type.__name__]


def parse(f: dataclasses.Field[Any], raw: str, source: str) -> Any:
    """A field's value from its text form (environment variable): lists are comma-separated."""
    kind = kind_of(f)
    if kind is tuple:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if kind is bool:
        if raw.strip().lower() in _TRUE + _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError(f"{source} must be true or false, got {raw!r}")
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{source} must be a {kind.__name__}, got {raw!r}") from None


def _unparse(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
