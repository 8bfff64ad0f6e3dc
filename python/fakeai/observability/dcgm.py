"""Simulated NVIDIA DCGM exporter telemetry for a configurable GPU model and count.

Names, types, units and labels are the DCGM exporter's (``etc/default-counters.csv`` and
``dcp-metrics-included.csv``): ``DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-...",pci_bus_id=...,
device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname=...,DCGM_FI_DRIVER_VERSION=...}``.
The exporter writes counters without a ``_total`` suffix, which prometheus-client's writer would add,
so this module writes the (line-oriented) text format itself.

The GPUs follow the load measured by the metrics: load = requests in flight per GPU (8 concurrent
requests saturate one) plus generated tokens per second per GPU (against a per-model peak), capped at 1.
Utilisation, tensor/engine activity, power, temperature, clocks and framebuffer use rise with it.
Counters (energy, PCIe, NVLink) derive from server-wide totals (uptime, busy time, tokens), so every
worker reports the same monotonic values.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass

from fakeai.observability.rate import Rate
from fakeai.observability.snapshot import Snapshot

DRIVER_VERSION = "550.90.07"
REQUESTS_PER_GPU = 8


@dataclass(frozen=True, slots=True)
class GpuModel:
    name: str
    memory_mib: int
    idle_watts: float
    max_watts: float
    sm_clock_idle: int
    sm_clock_max: int
    mem_clock: int
    tokens_per_second: float
    nvlink_bytes_per_token: int


GPUS = {
    "A100": GpuModel("NVIDIA A100-SXM4-80GB", 81920, 55.0, 400.0, 210, 1410, 1593, 2500.0, 16384),
    "H100": GpuModel("NVIDIA H100 80GB HBM3", 81559, 70.0, 700.0, 345, 1980, 2619, 5000.0, 16384),
    "H200": GpuModel("NVIDIA H200", 143771, 75.0, 700.0, 345, 1980, 3201, 6500.0, 16384),
    "B200": GpuModel("NVIDIA B200", 183359, 120.0, 1000.0, 495, 1965, 3996, 12000.0, 32768),
}

#: (name, type, help) of each field, in the exporter's order.
FIELDS = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    (
        "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
        "counter",
        "Total number of NVLink bandwidth counters for all lanes.",
    ),
    ("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status"),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_PROF_SM_ACTIVE", "gauge", "The ratio of cycles an SM has at least 1 warp assigned."),
    ("DCGM_FI_PROF_SM_OCCUPANCY", "gauge", "The ratio of number of warps resident on an SM."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles the device memory interface is active."),
    (
        "DCGM_FI_PROF_PCIE_TX_BYTES",
        "counter",
        "The number of bytes of active PCIe tx data (header and payload).",
    ),
    (
        "DCGM_FI_PROF_PCIE_RX_BYTES",
        "counter",
        "The number of bytes of active PCIe rx data (header and payload).",
    ),
)


class GpuTelemetry:
    """The simulated GPUs of this server. Each worker keeps its own previous reading only to turn the
    shared token total into a rate; everything else comes from the shared snapshot."""

    def __init__(self, model: str, count: int) -> None:
        self.gpu = GPUS[model]
        self.count = count
        self.hostname = socket.gethostname()
        self.uuids = [
            str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{self.hostname}/{model}/{i}")) for i in range(count)
        ]
        self.tokens = Rate()

    def read(self, snap: Snapshot, uptime: float) -> list[dict]:
        """Per GPU: its labels and each field's value."""
        gpu, n = self.gpu, self.count
        tokens = snap.prompt_tokens + snap.completion_tokens
        rate = self.tokens.per_second(snap.completion_tokens)
        base = snap.in_flight / (REQUESTS_PER_GPU * n) + rate / (gpu.tokens_per_second * n)
        busy = snap.latency().sum / (REQUESTS_PER_GPU * n)  # GPU-seconds of work, shared by all
        out = []
        for i in range(n):
            load = min(1.0, base * (1.0 - 0.04 * (i % 4)))  # the router favours low indices slightly
            temp = 32 + 48 * load + (i % 3)
            fb_used = int(gpu.memory_mib * (0.35 + 0.55 * load))
            values = {
                "DCGM_FI_DEV_SM_CLOCK": gpu.sm_clock_idle
                + round((gpu.sm_clock_max - gpu.sm_clock_idle) * min(1, 4 * load)),
                "DCGM_FI_DEV_MEM_CLOCK": gpu.mem_clock,
                "DCGM_FI_DEV_MEMORY_TEMP": round(temp + 4),
                "DCGM_FI_DEV_GPU_TEMP": round(temp),
                "DCGM_FI_DEV_POWER_USAGE": round(gpu.idle_watts + (gpu.max_watts - gpu.idle_watts) * load, 3),
                "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": int(
                    1000 * (gpu.idle_watts * uptime + (gpu.max_watts - gpu.idle_watts) * busy)
                ),
                "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": 0,
                "DCGM_FI_DEV_GPU_UTIL": round(100 * load),
                "DCGM_FI_DEV_MEM_COPY_UTIL": round(60 * load),
                "DCGM_FI_DEV_ENC_UTIL": 0,
                "DCGM_FI_DEV_DEC_UTIL": 0,
                "DCGM_FI_DEV_XID_ERRORS": 0,
                "DCGM_FI_DEV_FB_FREE": gpu.memory_mib - fb_used,
                "DCGM_FI_DEV_FB_USED": fb_used,
                "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL": tokens * gpu.nvlink_bytes_per_token // n,
                "DCGM_FI_DEV_VGPU_LICENSE_STATUS": 0,
                "DCGM_FI_PROF_GR_ENGINE_ACTIVE": round(load, 6),
                "DCGM_FI_PROF_SM_ACTIVE": round(0.9 * load, 6),
                "DCGM_FI_PROF_SM_OCCUPANCY": round(0.5 * load, 6),
                "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": round(0.65 * load, 6),
                "DCGM_FI_PROF_DRAM_ACTIVE": round(0.45 * load, 6),
                "DCGM_FI_PROF_PCIE_TX_BYTES": tokens * 64 // n,
                "DCGM_FI_PROF_PCIE_RX_BYTES": tokens * 96 // n,
            }
            out.append({"labels": self.labels(i), "values": values})
        return out

    def labels(self, i: int) -> dict[str, str]:
        return {
            "gpu": str(i),
            "UUID": f"GPU-{self.uuids[i]}",
            "pci_bus_id": f"00000000:{0x18 + 0x10 * i:02X}:00.0",
            "device": f"nvidia{i}",
            "modelName": self.gpu.name,
            "Hostname": self.hostname,
            "DCGM_FI_DRIVER_VERSION": DRIVER_VERSION,
        }


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def exposition(gpus: list[dict]) -> bytes:
    """The exporter's text format: each field's HELP and TYPE, then one line per GPU."""
    lines = []
    label_text = [",".join(f'{k}="{_escape(v)}"' for k, v in g["labels"].items()) for g in gpus]
    for name, kind, doc in FIELDS:
        lines.append(f"# HELP {name} {doc}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(
            f"{name}{{{labels}}} {g['values'][name]}" for labels, g in zip(label_text, gpus, strict=True)
        )
    return ("\n".join(lines) + "\n").encode()
