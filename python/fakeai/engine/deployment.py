"""The simulated deployment's options: one declaration per knob drives its flag, its ``FAKEAI_ENGINE_*``
variable and its key in a scenario file's ``[engine]`` table.

Precedence, as for the server's settings: defaults < scenario file < environment < flags. An unset
``gpu``, ``precision`` or ``tp`` takes the model's default deployment (one sensible H100 deployment
per model, see ``rust/fakeai_core/src/simulation/engine/models.rs``); the scheduler knobs carry
vLLM's names and defaults. The options become the ``dict`` the Rust engine takes
(:meth:`DeploymentOptions.spec`), which checks them and names a bad value in a one-line error.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GPUS = ("A100", "H100", "H200", "B200", "L40S")
PRECISIONS = ("fp16", "bf16", "fp8", "fp4")
KV_POLICIES = ("on-demand", "reserve")


def _knob(flag: str, help: str, choices: tuple[str, ...] | None = None) -> Any:
    return {"flag": flag, "help": help, "choices": choices}


@dataclass(frozen=True, slots=True)
class DeploymentOptions:
    model: str = field(
        default="meta-llama/Llama-3.1-8B-Instruct",
        metadata=_knob("--model", "Model id (catalog or Hugging Face id of a known architecture)."),
    )
    gpu: str | None = field(default=None, metadata=_knob("--gpu", "GPU of every rank.", GPUS))
    precision: str | None = field(
        default=None,
        metadata=_knob(
            "--precision",
            "Weight format (fp8/fp4 also mean an fp8 KV cache; on GPUs without fp8/fp4 tensor cores "
            "they run weight-only).",
            PRECISIONS,
        ),
    )
    tp: int | None = field(default=None, metadata=_knob("--tp", "Tensor-parallel GPUs per replica."))
    replicas: int = field(
        default=1, metadata=_knob("--replicas", "Replicas (data parallel), each its own engine.")
    )
    max_num_seqs: int = field(
        default=256, metadata=_knob("--max-num-seqs", "Sequences running at once per replica.")
    )
    max_num_batched_tokens: int = field(
        default=8192, metadata=_knob("--max-num-batched-tokens", "Token budget of one engine step.")
    )
    chunked_prefill: bool = field(
        default=True,
        metadata=_knob(
            "--enable-chunked-prefill", "Split long prompts over steps (else a prompt waits for room)."
        ),
    )
    block_size: int = field(default=16, metadata=_knob("--block-size", "Tokens per KV block."))
    gpu_memory_utilization: float = field(
        default=0.9, metadata=_knob("--gpu-memory-utilization", "Share of GPU memory the engine may use.")
    )
    kv_policy: str = field(
        default="on-demand",
        metadata=_knob(
            "--kv-policy",
            "on-demand: blocks as sequences grow, preempt when out (vLLM); reserve: admit only with "
            "blocks for the whole output (TensorRT-LLM's guaranteed-no-evict).",
            KV_POLICIES,
        ),
    )

    @staticmethod
    def env_name(name: str) -> str:
        return "FAKEAI_ENGINE_" + name.upper()

    @classmethod
    def knobs(cls) -> tuple[dataclasses.Field[Any], ...]:
        return dataclasses.fields(cls)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
        """One flag per knob (default ``None``: unset flags leave the environment's value)."""
        for f in cls.knobs():
            if f.name in skip:
                continue
            meta = f.metadata
            help = f"{meta['help']} [env {cls.env_name(f.name)}; default {f.default if f.default is not None else 'the model’s'}]"
            help = help.replace("%", "%%")
            if _kind(f) is bool:
                parser.add_argument(
                    meta["flag"], dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help
                )
            else:
                parser.add_argument(
                    meta["flag"], dest=f.name, type=str, default=None, help=help, metavar=f.name.upper()
                )

    @classmethod
    def load(
        cls,
        flags: Mapping[str, Any],
        environ: Mapping[str, str] = os.environ,
        scenario: Mapping[str, Any] | None = None,
    ) -> DeploymentOptions:
        """Defaults < ``scenario`` (a file's ``[engine]`` table) < ``FAKEAI_ENGINE_*`` < ``flags``.
        A value of the wrong type raises ``ValueError`` naming its source."""
        values: dict[str, Any] = {}
        names = {f.name: f for f in cls.knobs()}
        for key, value in (scenario or {}).items():
            f = names.get(key.replace("-", "_"))
            if f is None:
                raise ValueError(f"[engine] has no key {key!r} (known: {', '.join(names)})")
            values[f.name] = _convert(f, value, f"[engine] {key}")
        for f in cls.knobs():
            raw = environ.get(cls.env_name(f.name))
            if raw is not None and raw != "":
                values[f.name] = _convert(f, raw, cls.env_name(f.name))
        for name, value in flags.items():
            if name in names and value is not None:
                values[name] = _convert(names[name], value, names[name].metadata["flag"])
        return cls(**values)

    def spec(self) -> dict[str, Any]:
        """The deployment as the Rust engine takes it."""
        return {f.name: getattr(self, f.name) for f in self.knobs()}


def _kind(f: dataclasses.Field[Any]) -> type:
    name = f.type if isinstance(f.type, str) else f.type.__name__
    return {"str": str, "int": int, "float": float, "bool": bool}[name.removesuffix(" | None")]


def _convert(f: dataclasses.Field[Any], value: Any, source: str) -> Any:
    kind = _kind(f)
    choices = f.metadata["choices"]
    try:
        if kind is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                    raise ValueError
                return lowered in ("1", "true", "yes", "on")
            return bool(value)
        if kind is int and isinstance(value, float):
            raise ValueError
        converted = kind(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{source} must be {'true or false' if kind is bool else 'a ' + kind.__name__}, got {value!r}"
        ) from None
    if kind is int and converted < 1:
        raise ValueError(f"{source} must be >= 1, got {converted}")
    if choices is not None:
        match = next((c for c in choices if c.lower() == str(converted).lower()), None)
        if match is None:
            what = {"gpu": "GPU", "precision": "precision", "kv_policy": "KV policy"}[f.name]
            raise ValueError(f"unknown {what} {converted!r} (choose from {', '.join(choices)})")
        return match
    return converted
