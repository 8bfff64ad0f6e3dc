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
    data_dir: str = field(
        default="",
        metadata=_knob("--data-dir", "Directory of stored files and batches, kept across restarts (default: temporary)."),
    )
    max_file_bytes: int = field(
        default=512 * 1024 * 1024,
        metadata=_knob("--max-file-bytes", "Largest file (or upload) accepted; larger gets 413.", minimum=1),
    )
    max_storage_bytes: int = field(
        default=10 * 1024**3,
        metadata=_knob("--max-storage-bytes", "Total bytes of stored files; beyond it uploads get 400.", minimum=1),
    )
    batch_duration_s: float = field(
        default=5.0,
        metadata=_knob("--batch-duration", "Simulated seconds a batch takes from in_progress to done.", minimum=0),
    )
    fine_tune_duration_s: float = field(
        default=10.0,
        metadata=_knob("--fine-tune-duration", "Simulated seconds a fine-tuning job spends running.", minimum=0),
    )

    @staticmethod
    def env_name(name: str) -> str:
        return "FAKEAI_" + name.upper()

    @classmethod
    def knobs(cls) -> tuple[dataclasses.Field[Any], ...]:
        return dataclasses.fields(cls)

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
            minimum, choices = f.metadata["minimum"], f.metadata["choices"]
            if minimum is not None and value < minimum:
                raise ValueError(f"{f.metadata['flag']} / {self.env_name(f.name)} must be >= {minimum}, got {value}")
            if choices is not None and value not in choices:
                raise ValueError(f"{f.metadata['flag']} / {self.env_name(f.name)} must be one of {', '.join(choices)}")
        if self.port > 65535:
            raise ValueError(f"--port / FAKEAI_PORT must be <= 65535, got {self.port}")
        return self

    def to_env(self) -> dict[str, str]:
        """The ``FAKEAI_*`` variables that rebuild these settings in a worker process."""
        return {self.env_name(f.name): str(getattr(self, f.name)) for f in self.knobs()}


def _parse(f: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = f.type if isinstance(f.type, type) else {"int": int, "float": float, "str": str}[str(f.type)]
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{source} must be a {kind.__name__}, got {raw!r}") from None
