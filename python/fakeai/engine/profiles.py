"""Latency profiles per model family: time to first token, inter-token latency, prefill speed, spread.

A profile describes one model served on a typical GPU deployment (H100-class, tensor-parallel for the
big dense models): ``ttft_ms`` is the fixed part of the time to first token (scheduling, the first
forward pass), ``prefill_us_per_token`` the extra time for each prompt token *not* found in the prefix
cache, ``itl_ms`` the time between output tokens, and ``jitter`` the relative spread of each delay.
Figures grow with the model's active parameters (dense size, or the active experts of a MoE).

A model id picks the first family whose pattern it contains (case-insensitively); an unknown id with a
size in its name (``...-13B-...``) gets a profile scaled from that size by :func:`scaled`, anything
else the 8B profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    family: str
    ttft_ms: float
    itl_ms: float
    prefill_us_per_token: float
    jitter: float = 0.1


#: ``(substring of the model id, profile)``, most specific first.
FAMILIES: tuple[tuple[str, Profile], ...] = (
    ("gpt-4o-mini", Profile("GPT-4o mini", 150, 7, 20)),
    ("gpt-4o", Profile("GPT-4o", 250, 12, 40)),
    ("gpt-4.1-mini", Profile("GPT-4.1 mini", 150, 7, 20)),
    ("gpt-4.1", Profile("GPT-4.1", 250, 11, 40)),
    ("gpt-4", Profile("GPT-4 Turbo", 300, 18, 50)),
    ("gpt-3.5", Profile("GPT-3.5 Turbo", 120, 6, 15)),
    ("gpt-oss-120b", Profile("gpt-oss-120b (MoE, 5.1B active)", 90, 6, 35)),
    ("gpt-oss-20b", Profile("gpt-oss-20b (MoE, 3.6B active)", 50, 4, 15)),
    ("o1", Profile("o1", 400, 14, 50)),
    ("o3-mini", Profile("o3-mini", 250, 8, 25)),
    ("o4-mini", Profile("o4-mini", 250, 8, 25)),
    ("o3", Profile("o3", 400, 14, 50)),
    ("405b", Profile("Llama 3.1 405B", 180, 35, 600)),
    ("nemotron-super-49b", Profile("Nemotron Super 49B", 80, 16, 180)),
    ("nemotron-70b", Profile("Nemotron 70B", 110, 20, 250)),
    ("70b", Profile("Llama 3.x 70B", 110, 20, 250)),
    ("deepseek-r1-distill-llama-8b", Profile("DeepSeek-R1 distill 8B", 35, 7, 50)),
    ("deepseek-v3", Profile("DeepSeek-V3 (MoE, 37B active)", 150, 25, 150)),
    ("deepseek-r1", Profile("DeepSeek-R1 (MoE, 37B active)", 150, 25, 150)),
    ("mixtral-8x22b", Profile("Mixtral 8x22B (MoE, 39B active)", 80, 18, 160)),
    ("mixtral-8x7b", Profile("Mixtral 8x7B (MoE, 13B active)", 45, 10, 70)),
    ("qwen3-235b", Profile("Qwen3 235B-A22B (MoE, 22B active)", 90, 16, 120)),
    ("qwen2.5-72b", Profile("Qwen2.5 72B", 110, 20, 250)),
    ("11b-vision", Profile("Llama 3.2 11B Vision", 45, 8, 60)),
    ("8b", Profile("Llama 3.x 8B", 35, 7, 50)),
    ("7b", Profile("7B class (Mistral, Qwen)", 30, 7, 45)),
)

_SIZE = re.compile(r"(\d+(?:\.\d+)?)b(?![a-z])", re.IGNORECASE)


def scaled(billions: float) -> Profile:
    """A dense model of ``billions`` parameters: costs grow linearly with size from an 8B baseline."""
    return Profile(
        f"{billions:g}B (scaled)",
        ttft_ms=round(25 + 1.2 * billions, 1),
        itl_ms=round(5 + 0.25 * billions, 1),
        prefill_us_per_token=round(6 * billions, 1),
    )


DEFAULT = FAMILIES[-2][1]


def lookup(model_id: str) -> Profile:
    """The profile of ``model_id`` (see the module docstring for the rules)."""
    lowered = model_id.lower()
    for needle, profile in FAMILIES:
        if needle in lowered:
            return profile
    sizes = _SIZE.findall(lowered)
    return scaled(float(sizes[-1])) if sizes else DEFAULT
