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


def _knob(flag: str, help: str, *, minimum: float | None = None, choices: tuple[str, ...] | None = None) -> Any:
    return {"flag": flag, "help": help, "minimum": minimum, "choices": choices}


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata=_knob("--host", "Address to bind."))
    port: int = field(default=8000, metadata=_knob("--port", "TCP port to listen on.", minimum=0))
    workers: int = field(default=1, metadata=_knob("--workers", "Worker processes.", minimum=1))
    ttft_ms: float | None = field(
        default=None,
        metadata=_knob(
            "--ttft", "Time to first token of every model, ms (0 = off; unset: per-model profile).", minimum=0
        ),
    )
    itl_ms: float | None = field(
        default=None,
        metadata=_knob(
            "--itl", "Inter-token latency of every model, ms (0 = off; unset: per-model profile).", minimum=0
        ),
    )
    jitter: float | None = field(
        default=None,
        metadata=_knob(
            "--jitter", "Relative spread of simulated delays (0.1 = +-10%; unset: per-model).", minimum=0
        ),
    )
    max_body_bytes: int = field(
        default=32 * 1024 * 1024,
        metadata=_knob("--max-body-bytes", "Largest request body accepted; larger gets 413.", minimum=1),
    )
    log_level: str = field(default="info", metadata=_knob("--log-level", "Log verbosity.", choices=LOG_LEVELS))
    kv_workers: int = field(
        default=4, metadata=_knob("--kv-workers", "Simulated workers behind the KV router.", minimum=1)
    )
    kv_block_size: int = field(
        default=16, metadata=_knob("--kv-block-size", "Tokens per KV block.", minimum=1)
    )
    kv_cache_blocks: int = field(
        default=16384,
        metadata=_knob("--kv-cache-blocks", "Prefix-cache blocks per simulated worker (0 = off).", minimum=0),
    )
    kv_batch_size: int = field(
        default=256,
        metadata=_knob(
            "--kv-batch-size", "Requests a simulated worker runs at once (0 = unlimited).", minimum=0
        ),
    )
    kv_overlap_weight: float = field(
        default=1.0, metadata=_knob("--kv-overlap-weight", "Router weight of blocks to prefill.", minimum=0)
    )
    kv_load_weight: float = field(
        default=1.0, metadata=_knob("--kv-load-weight", "Router weight of active blocks.", minimum=0)
    )
    kv_prefill_workers: int = field(
        default=0,
        metadata=_knob(
            "--kv-prefill-workers", "Disaggregated prefill workers (0 = aggregated workers).", minimum=0
        ),
    )

    @staticmethod
    def env_name(name: str) -> str:
        return "FAKEAI_" + name.upper()

    @classmethod
    def knobs(cls) -> tuple[dataclasses.Field[Any], ...]:
        return dataclasses.fields(cls)

    @classmethod
    def knob(cls, name: str) -> dataclasses.Field[Any]:
        return next(f for f in cls.knobs() if f.name == name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults overridden by any ``FAKEAI_*`` variables present."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in cls.knobs():
            raw = environ.get(cls.env_name(f.name))
            if raw is not None:
                values[f.name] = _parse(f, raw, cls.env_name(f.name))
        return cls(**values).validated()

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes).validated()

    def validated(self) -> Settings:
        for f in self.knobs():
            value = getattr(self, f.name)
            if value is None:
                continue
            minimum, choices = f.metadata["minimum"], f.metadata["choices"]
            if minimum is not None and value < minimum:
                raise ValueError(f"{f.metadata['flag']} / {self.env_name(f.name)} must be >= {minimum}, got {value}")
            if choices is not None and value not in choices:
                raise ValueError(f"{f.metadata['flag']} / {self.env_name(f.name)} must be one of {', '.join(choices)}")
        for name in ("kv_workers", "kv_prefill_workers"):
            if getattr(self, name) > 1024:
                flag = self.knob(name).metadata["flag"]
                raise ValueError(f"{flag} / {self.env_name(name)} must be <= 1024, got {getattr(self, name)}")
        if self.port > 65535:
            raise ValueError(f"--port / FAKEAI_PORT must be <= 65535, got {self.port}")
        return self

    def to_env(self) -> dict[str, str]:
        """The ``FAKEAI_*`` variables that rebuild these settings in a worker process."""
        values = ((f.name, getattr(self, f.name)) for f in self.knobs())
        return {self.env_name(name): str(v) for name, v in values if v is not None}


def knob_type(f: dataclasses.Field[Any]) -> type:
    """The value type of a knob (``float | None`` -> ``float``: unset knobs are ``None``)."""
    if isinstance(f.type, type):
        return f.type
    return {"int": int, "float": float, "str": str}[str(f.type).removesuffix(" | None")]


def _parse(f: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = knob_type(f)
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{source} must be a {kind.__name__}, got {raw!r}") from None
