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
MODES = ("random", "echo")
TRUE = ("1", "true", "yes", "on")
#: Field annotations (strings under ``from __future__ import annotations``) to the types they name.
KINDS: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}
FALSE = ("0", "false", "no", "off", "")
GPU_MODELS = ("A100", "H100", "H200", "B200")


def _knob(
    flag: str,
    help: str,
    *,
    minimum: float | None = None,
    choices: tuple[str, ...] | None = None,
    many: bool = False,
) -> Any:
    """``many``: the flag takes several values (``--flag a b c``), kept as one space-separated string."""
    return {"flag": flag, "help": help, "minimum": minimum, "choices": choices, "many": many}


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
    mode: str = field(
        default="random",
        metadata=_knob(
            "--mode",
            "Response mode: random (seeded generated text) or echo (the reply is the last user message, "
            "or the prompt); a request may pick its own with the x-fakeai-mode header.",
            choices=MODES,
        ),
    )
    output_length_distribution: str = field(
        default="uniform:32:512",
        metadata=_knob(
            "--output-length-distribution",
            "Length of an answer the model ends by itself, before max_tokens caps it: uniform:LO:HI, "
            "normal:MEAN:STD, fixed:N or histogram:LO-HI=WEIGHT,...",
        ),
    )
    lora_modules: str = field(
        default="",
        metadata=_knob(
            "--lora-modules",
            "LoRA adapters served from the start, as vLLM takes them: name=path, or JSON "
            '{"name": ..., "path": ..., "base_model_name": ...}; several separated by spaces.',
            many=True,
        ),
    )
    max_loras: int = field(
        default=8, metadata=_knob("--max-loras", "Most LoRA adapters loaded at once.", minimum=1)
    )
    lora_base_model: str = field(
        default="meta-llama/Llama-3.1-8B-Instruct",
        metadata=_knob("--lora-base-model", "Parent model of a LoRA adapter that names no base_model_name."),
    )
    data_parallel_size: int = field(
        default=1,
        metadata=_knob(
            "--data-parallel-size",
            "Data-parallel ranks: rank k serves on port + k, each its own server.",
            minimum=1,
        ),
    )
    data_parallel_rank: int = field(
        default=0,
        metadata=_knob(
            "--data-parallel-rank", "This server's data-parallel rank (set for each rank).", minimum=0
        ),
    )
    ssl_certfile: str = field(
        default="", metadata=_knob("--ssl-certfile", "TLS certificate (PEM); serve HTTPS.")
    )
    ssl_keyfile: str = field(
        default="", metadata=_knob("--ssl-keyfile", "TLS private key (PEM) of --ssl-certfile.")
    )
    self_signed_certs: bool = field(
        default=False,
        metadata=_knob(
            "--self-signed-certs",
            "Serve HTTPS with a self-signed certificate generated at start (its path is logged).",
        ),
    )
    image_url_ttl: float = field(
        default=3600.0,
        metadata=_knob("--image-url-ttl", "Seconds a generated image stays available at its url.", minimum=0),
    )
    moderation_threshold: float = field(
        default=0.5,
        metadata=_knob("--moderation-threshold", "Score from which a moderation category is flagged.", minimum=0),
    )
    metrics: str = field(
        default="on",
        metadata=_knob("--metrics", "Record request metrics ('off' skips all recording on the request path).",
                       choices=("on", "off")),
    )
    slo_latency_ms: float = field(
        default=1000.0,
        metadata=_knob("--slo-latency-ms", "Latency objective: requests answered within it count as meeting "
                       "the SLO.", minimum=0),
    )
    metrics_max_models: int = field(
        default=100,
        metadata=_knob("--metrics-max-models", "Distinct model ids given their own metrics label; further ids "
                       "are counted as model 'other'.", minimum=1),
    )
    gpu_model: str = field(
        default="H100", metadata=_knob("--gpu-model", "Simulated GPU for /dcgm/metrics.", choices=GPU_MODELS)
    )
    gpu_count: int = field(
        default=8, metadata=_knob("--gpu-count", "Simulated GPUs for /dcgm/metrics.", minimum=1)
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
        self._check_deployment()
        return self

    def _check_deployment(self) -> None:
        """Cross-field checks of the response-mode, LoRA, data-parallel and TLS knobs."""
        from fakeai import _core
        from fakeai.engine.lora import parse_modules

        try:
            _core.LengthDistribution(self.output_length_distribution)
        except ValueError as exc:
            source = "--output-length-distribution / FAKEAI_OUTPUT_LENGTH_DISTRIBUTION"
            raise ValueError(f"{source}: {exc}") from None
        modules = parse_modules(self.lora_modules)
        if len(modules) > self.max_loras:
            raise ValueError(
                f"--lora-modules names {len(modules)} adapters, more than --max-loras {self.max_loras}"
            )
        if self.data_parallel_size > 1 and self.port == 0:
            raise ValueError("--data-parallel-size > 1 needs a fixed --port (rank k serves on port + k)")
        if self.port + self.data_parallel_size - 1 > 65535:
            raise ValueError(f"--port + --data-parallel-size - 1 must be <= 65535, got {self.port}")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ValueError("--ssl-certfile and --ssl-keyfile go together")
        if self.self_signed_certs and self.ssl_certfile:
            raise ValueError("--self-signed-certs and --ssl-certfile exclude each other")

    def to_env(self) -> dict[str, str]:
        """The ``FAKEAI_*`` variables that rebuild these settings in a worker process."""
        return {self.env_name(f.name): str(getattr(self, f.name)) for f in self.knobs()}


def _parse(f: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = f.type if isinstance(f.type, type) else KINDS[str(f.type)]
    if kind is bool:
        if raw.strip().lower() not in TRUE + FALSE:
            raise ValueError(f"{source} must be true or false, got {raw!r}")
        return raw.strip().lower() in TRUE
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{source} must be a {kind.__name__}, got {raw!r}") from None
