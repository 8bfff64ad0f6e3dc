"""The one configuration object: defaults < ``FAKEAI_*`` environment variables < command-line flags.

Each field declares its flag, its environment variable and its help text once; the CLI, the
environment reader and the README's options table all come from this declaration. Settings travel to
granian's worker processes as ``FAKEAI_*`` variables (see :meth:`Settings.to_env`), so every worker
builds the identical object.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
MODES = ("random", "echo")
GPU_MODELS = ("A100", "H100", "H200", "B200")
TIMINGS = ("auto", "engine", "fixed")
METRICS_FLAVORS = ("vllm", "sglang", "trtllm", "all")


#: The option groups of ``fakeai server --help`` and of the README's options table, in that order.
SERVER = "server"
TIMING = "timing and engine"
GATEWAY = "gateway and faults"
STORAGE = "storage"
OBSERVABILITY = "observability"
VLLM = "vLLM compatibility"
GROUPS = (SERVER, TIMING, GATEWAY, STORAGE, OBSERVABILITY, VLLM)


def _knob(
    flag: str,
    help: str,
    *,
    group: str,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    many: bool = False,
    unset: str = "none",
    live: bool = False,
) -> Any:
    """A field's CLI flag, help text, ``group`` (its section of ``--help`` and of the README's options
    tables, one of :data:`GROUPS`) and bounds. A ``bool`` field gets ``--flag``/``--no-flag``; a
    ``tuple[str, ...]`` field is a repeatable flag and a comma-separated environment variable; a ``str``
    field with ``many`` takes several values after one flag (``--flag a b``), kept space-separated.
    ``unset`` is how ``--help`` shows an empty or None default (what the option does when not given). A
    ``live`` field may be changed while the server runs (``POST /admin/config``,
    :mod:`fakeai.runtime.live_config`)."""
    assert group in GROUPS, group
    return {
        "unset": unset,
        "flag": flag,
        "help": help,
        "group": group,
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
        "many": many,
        "live": live,
    }


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata=_knob("--host", "Address to bind.", group=SERVER))
    port: int = field(
        default=8000,
        metadata=_knob("--port", "TCP port to listen on.", minimum=0, maximum=65535, group=SERVER),
    )
    workers: int = field(
        default=1, metadata=_knob("--workers", "Worker processes.", minimum=1, maximum=256, group=SERVER)
    )
    ttft_ms: float | None = field(
        default=None,
        metadata=_knob(
            "--ttft",
            "Time to first token of every model, ms (0 = off).",
            minimum=0,
            maximum=3_600_000,
            live=True,
            group=TIMING,
            unset="per model",
        ),
    )
    itl_ms: float | None = field(
        default=None,
        metadata=_knob(
            "--itl",
            "Inter-token latency of every model, ms (0 = off).",
            minimum=0,
            maximum=3_600_000,
            live=True,
            group=TIMING,
            unset="per model",
        ),
    )
    jitter: float | None = field(
        default=None,
        metadata=_knob(
            "--jitter",
            "Relative spread of simulated delays (0.1 = +-10%).",
            minimum=0,
            maximum=1,
            live=True,
            group=TIMING,
            unset="per model",
        ),
    )
    max_body_bytes: int = field(
        default=32 * 1024 * 1024,
        metadata=_knob(
            "--max-body-bytes", "Largest request body accepted; larger gets 413.", minimum=1, group=SERVER
        ),
    )
    header_read_timeout_s: float = field(
        default=30.0,
        metadata=_knob(
            "--header-read-timeout",
            "Seconds a connection gets to send a request head, and an idle kept-alive one to send its "
            "next request, before it is closed.",
            minimum=0.001,
            maximum=60,
            group=SERVER,
        ),
    )
    body_read_timeout_s: float = field(
        default=30.0,
        metadata=_knob(
            "--body-read-timeout",
            "Seconds a request body may stop arriving (no byte between two of its pieces) before the "
            "request is answered 408 and its connection closed.",
            minimum=0.001,
            maximum=3600,
            group=SERVER,
        ),
    )
    idle_timeout_s: float = field(
        default=60.0,
        metadata=_knob(
            "--idle-timeout",
            "Seconds a connection that has sent no byte since it opened may stay open before it is "
            "closed (0 = never; one idle between kept-alive requests is --header-read-timeout's).",
            minimum=0,
            group=SERVER,
        ),
    )
    max_connections: int = field(
        default=8192,
        metadata=_knob(
            "--max-connections",
            "Connections one worker process holds before the oldest that have not sent a request head "
            "(nor been answered anything) are closed (0 = no limit).",
            minimum=0,
            group=SERVER,
        ),
    )
    max_realtime_sessions: int = field(
        default=256,
        metadata=_knob(
            "--max-realtime-sessions",
            "WebSocket sessions (Realtime, and the Responses API's WebSocket mode) open at once, "
            "server-wide; one more gets an error event (session_limit_reached) and close code 1013 "
            "(0 = no limit).",
            minimum=0,
            maximum=1_000_000,
            group=SERVER,
        ),
    )
    max_generated_tokens: int = field(
        default=131_072,
        metadata=_knob(
            "--max-generated-tokens",
            "Most tokens one request generates over all its choices (n x length, x-fakeai-output-tokens "
            "included); asking for more is a 400, natural lengths stop there.",
            minimum=1,
            maximum=2**31 - 1,
            group=SERVER,
        ),
    )
    public_url: str = field(
        default="",
        metadata=_knob(
            "--public-url",
            "Base URL clients reach this server at (behind a proxy, or bound to 0.0.0.0), used in "
            "generated image URLs; unset: the address the connection reached.",
            group=SERVER,
        ),
    )
    log_level: str = field(
        default="info", metadata=_knob("--log-level", "Log verbosity.", choices=LOG_LEVELS, group=SERVER)
    )
    # Gateway-testing controls (fakeai.gateway): keys, rate limits, error and chaos injection, CORS.
    config: str = field(
        default="",
        metadata=_knob(
            "--config", "Scenario file (TOML or YAML) holding any of these options and more.", group=SERVER
        ),
    )
    api_keys: tuple[str, ...] = field(
        default=(),
        metadata=_knob(
            "--api-key",
            "Accepted API key (repeatable; env comma-separated); 'sha256:<hex>' gives its hash.",
            group=GATEWAY,
            unset="none (auth off)",
        ),
    )
    auth_open_paths: tuple[str, ...] = field(
        default=("/health", "/metrics", "/prometheus/metrics", "/dashboard"),
        metadata=_knob(
            "--auth-open-path",
            "Path prefix served without a key (repeatable, replaces the default list; '' protects all).",
            group=GATEWAY,
        ),
    )
    rate_limit_tier: str = field(
        default="",
        metadata=_knob(
            "--rate-limit-tier",
            "OpenAI usage tier whose limits apply per key.",
            choices=("", "free", "tier-1", "tier-2", "tier-3", "tier-4", "tier-5"),
            live=True,
            group=GATEWAY,
        ),
    )
    rpm: int = field(
        default=0,
        metadata=_knob(
            "--rpm",
            "Requests/minute per key (0: tier's).",
            minimum=0,
            maximum=10**12,
            live=True,
            group=GATEWAY,
        ),
    )
    tpm: int = field(
        default=0,
        metadata=_knob(
            "--tpm", "Tokens/minute per key (0: tier's).", minimum=0, maximum=10**12, live=True, group=GATEWAY
        ),
    )
    rpd: int = field(
        default=0,
        metadata=_knob(
            "--rpd", "Requests/day per key (0: tier's).", minimum=0, maximum=10**12, live=True, group=GATEWAY
        ),
    )
    tpd: int = field(
        default=0,
        metadata=_knob(
            "--tpd", "Tokens/day per key (0: tier's).", minimum=0, maximum=10**12, live=True, group=GATEWAY
        ),
    )
    error_rate: float = field(
        default=0.0,
        metadata=_knob(
            "--error-rate",
            "Fraction of API requests answered by an injected error.",
            minimum=0,
            maximum=1,
            live=True,
            group=GATEWAY,
        ),
    )
    error_mix: str = field(
        default="500,502,503,504",
        metadata=_knob(
            "--error-mix",
            "Injected error kinds with weights: '500=2,503,rate_limit_exceeded,400' (see README).",
            live=True,
            group=GATEWAY,
        ),
    )
    video_failure_rate: float = field(
        default=0.0,
        metadata=_knob(
            "--video-failure-rate",
            "Fraction of /v1/videos jobs that end 'failed' instead of 'completed'.",
            minimum=0,
            maximum=1,
            group=GATEWAY,
        ),
    )
    fault_seed: int = field(
        default=0,
        metadata=_knob(
            "--fault-seed",
            "Seed of error and chaos draws (same seed, same faults).",
            minimum=0,
            maximum=2**64 - 1,
            live=True,
            group=GATEWAY,
        ),
    )
    chaos_rate: float = field(
        default=0.0,
        metadata=_knob(
            "--chaos-rate",
            "Fraction of API requests given chaos.",
            minimum=0,
            maximum=1,
            live=True,
            group=GATEWAY,
        ),
    )
    chaos_mix: str = field(
        default="disconnect,stall,malformed,slow-first-byte",
        metadata=_knob(
            "--chaos-mix",
            "Chaos behaviours with weights: 'disconnect=2,stall' (README).",
            live=True,
            group=GATEWAY,
        ),
    )
    chaos_after: int = field(
        default=3,
        metadata=_knob(
            "--chaos-after",
            "Chunks sent before a drawn cut, stall or bad chunk.",
            minimum=0,
            maximum=1_000_000_000,
            live=True,
            group=GATEWAY,
        ),
    )
    chaos_delay_ms: float = field(
        default=2000.0,
        metadata=_knob(
            "--chaos-delay-ms",
            "Length of a drawn stall or first-byte delay, ms.",
            minimum=0,
            maximum=3_600_000,
            live=True,
            group=GATEWAY,
        ),
    )
    request_overrides: bool = field(
        default=True,
        metadata=_knob(
            "--request-overrides",
            "Honour x-fakeai-* headers (off for untrusted clients).",
            live=True,
            group=GATEWAY,
        ),
    )
    admin_api: bool = field(
        default=True,
        metadata=_knob(
            "--admin-api", "Serve GET/POST /admin/config (run-time reconfiguration).", group=GATEWAY
        ),
    )
    admin_key: str = field(
        default="",
        metadata=_knob(
            "--admin-key",
            "Key /admin/config, /sleep and /wake_up require ('' = the API keys, when auth is on).",
            group=GATEWAY,
        ),
    )
    cors_origins: tuple[str, ...] = field(
        default=(),
        metadata=_knob(
            "--cors-origin",
            "Allowed CORS origin (repeatable; '*' for any).",
            group=GATEWAY,
            unset="none (CORS off)",
        ),
    )
    timing: str = field(
        default="auto",
        metadata=_knob(
            "--timing",
            "How requests are timed: engine (the calibrated engine model, for models whose architecture it "
            "knows), fixed (per-model profiles, --ttft/--itl), auto (engine unless a fixed-timing option is "
            "set: --ttft, --itl, --prefill-overhead-ms, --prefill-time-per-token-us, "
            "--time-factor-under-load).",
            choices=TIMINGS,
            group=TIMING,
        ),
    )
    gpu: str | None = field(
        default=None,
        metadata=_knob(
            "--gpu",
            "Engine model: GPU of every rank (A100, H100, H200, B200, L40S; unset: the model's default).",
            group=TIMING,
        ),
    )
    precision: str | None = field(
        default=None,
        metadata=_knob(
            "--precision",
            "Engine model: weight format, fp16, bf16, fp8 or fp4 (fp8/fp4 also mean an fp8 KV cache; on GPUs "
            "without fp8/fp4 tensor cores they run weight-only; unset: the model's default).",
            group=TIMING,
        ),
    )
    tp: int | None = field(
        default=None,
        metadata=_knob(
            "--tp",
            "Engine model: tensor-parallel GPUs per replica (unset: the model's default).",
            minimum=1,
            maximum=64,
            group=TIMING,
        ),
    )
    replicas: int = field(
        default=1,
        metadata=_knob(
            "--replicas",
            "Engine model: replicas (data parallel), each its own engine; requests go to the least loaded.",
            minimum=1,
            maximum=256,
            group=TIMING,
        ),
    )
    max_num_batched_tokens: int = field(
        default=8192,
        metadata=_knob(
            "--max-num-batched-tokens",
            "Engine model: token budget of one engine step.",
            minimum=1,
            maximum=1 << 20,
            group=TIMING,
        ),
    )
    enable_chunked_prefill: bool = field(
        default=True,
        metadata=_knob(
            "--enable-chunked-prefill",
            "Engine model: split long prompts over steps (else a prompt waits for room).",
            group=TIMING,
        ),
    )
    gpu_memory_utilization: float = field(
        default=0.9,
        metadata=_knob(
            "--gpu-memory-utilization",
            "Engine model: share of GPU memory the engine may use (the KV cache gets what the weights leave).",
            minimum=0.01,
            maximum=1,
            group=TIMING,
        ),
    )
    kv_policy: str = field(
        default="on-demand",
        metadata=_knob(
            "--kv-policy",
            "Engine model: on-demand (KV blocks as sequences grow, recompute preemption when out: vLLM) or "
            "reserve (admit only with blocks for the whole output: TensorRT-LLM's guaranteed-no-evict).",
            group=TIMING,
        ),
    )
    mode: str = field(
        default="random",
        metadata=_knob(
            "--mode",
            "Response mode: random (seeded generated text) or echo (the reply is the last user message, "
            "or the prompt); a request may pick its own with the x-fakeai-mode header.",
            choices=MODES,
            live=True,
            group=TIMING,
        ),
    )
    output_length_distribution: str = field(
        default="uniform:32:512",
        metadata=_knob(
            "--output-length-distribution",
            "Length of an answer the model ends by itself, before max_tokens caps it: uniform:LO:HI, "
            "normal:MEAN:STD, fixed:N or histogram:LO-HI=WEIGHT,...",
            live=True,
            group=TIMING,
        ),
    )
    lora_modules: str = field(
        default="",
        metadata=_knob(
            "--lora-modules",
            "LoRA adapters served from the start, as vLLM takes them: name=path, or JSON "
            '{"name": ..., "path": ..., "base_model_name": ...}; several separated by spaces.',
            many=True,
            group=VLLM,
        ),
    )
    max_auto_models: int = field(
        default=1024,
        metadata=_knob(
            "--max-auto-models",
            "Unknown model ids registered server-wide on first use; further new ids are answered but "
            "not listed in /v1/models.",
            minimum=0,
            maximum=65_536,
            group=SERVER,
        ),
    )
    max_loras: int = field(
        default=8,
        metadata=_knob(
            "--max-loras", "Most LoRA adapters loaded at once.", minimum=1, maximum=10_000, group=VLLM
        ),
    )
    lora_base_model: str = field(
        default="meta-llama/Llama-3.1-8B-Instruct",
        metadata=_knob(
            "--lora-base-model", "Parent model of a LoRA adapter that names no base_model_name.", group=VLLM
        ),
    )
    data_parallel_size: int = field(
        default=1,
        metadata=_knob(
            "--data-parallel-size",
            "Data-parallel ranks: rank k serves on port + k, each its own server.",
            minimum=1,
            group=VLLM,
        ),
    )
    data_parallel_rank: int = field(
        default=0,
        metadata=_knob(
            "--data-parallel-rank",
            "This server's data-parallel rank (set for each rank).",
            minimum=0,
            group=VLLM,
        ),
    )
    ssl_certfile: str = field(
        default="", metadata=_knob("--ssl-certfile", "TLS certificate (PEM); serve HTTPS.", group=SERVER)
    )
    ssl_keyfile: str = field(
        default="", metadata=_knob("--ssl-keyfile", "TLS private key (PEM) of --ssl-certfile.", group=SERVER)
    )
    self_signed_certs: bool = field(
        default=False,
        metadata=_knob(
            "--self-signed-certs",
            "Serve HTTPS with a self-signed certificate generated at start (its path is logged; needs "
            "fakeai[tls]).",
            group=SERVER,
        ),
    )
    image_url_ttl: float = field(
        default=3600.0,
        metadata=_knob(
            "--image-url-ttl",
            "Seconds a generated image stays available at its url.",
            minimum=0,
            group=STORAGE,
        ),
    )
    max_image_bytes: int = field(
        default=1024**3,
        metadata=_knob(
            "--max-image-bytes",
            "Total bytes of generated images kept for their urls (all workers together); beyond it "
            "the oldest are deleted.",
            minimum=1,
            group=STORAGE,
        ),
    )
    moderation_threshold: float = field(
        default=0.5,
        metadata=_knob(
            "--moderation-threshold",
            "Score from which a moderation category is flagged (0-1; 1 flags nothing).",
            minimum=0,
            maximum=1,
            group=TIMING,
        ),
    )
    metrics: bool = field(
        default=True,
        metadata=_knob(
            "--metrics",
            "Record request metrics (--no-metrics skips all recording on the request path).",
            group=OBSERVABILITY,
        ),
    )
    hot_path: bool = field(
        default=True,
        metadata=_knob(
            "--hot-path",
            "Serve plain chat, completions, embeddings and Anthropic messages requests from Rust; "
            "off: every request walks the Python chain.",
            group=SERVER,
        ),
    )
    access_log: bool = field(
        default=False,
        metadata=_knob(
            "--access-log",
            "Log one line per HTTP request: client, method, path, status, duration, model.",
            group=OBSERVABILITY,
        ),
    )
    slo_latency_ms: float = field(
        default=1000.0,
        metadata=_knob(
            "--slo-latency-ms",
            "Latency objective: requests answered within it count as meeting the SLO.",
            minimum=0,
            group=OBSERVABILITY,
        ),
    )
    metrics_max_models: int = field(
        default=100,
        metadata=_knob(
            "--metrics-max-models",
            "Distinct model ids given their own metrics label; further ids are counted as model 'other'.",
            minimum=1,
            maximum=100_000,
            group=OBSERVABILITY,
        ),
    )
    fake_metrics: str = field(
        default="",
        metadata=_knob(
            "--fake-metrics",
            "Fixed vLLM metric figures as JSON, e.g. "
            '\'{"running-requests": 10, "kv-cache-usage": 0.4}\' (README: Observability).',
            live=True,
            group=OBSERVABILITY,
        ),
    )
    gpu_model: str = field(
        default="H100",
        metadata=_knob(
            "--gpu-model", "Simulated GPU for /dcgm/metrics.", choices=GPU_MODELS, group=OBSERVABILITY
        ),
    )
    gpu_count: int = field(
        default=8,
        metadata=_knob(
            "--gpu-count", "Simulated GPUs for /dcgm/metrics.", minimum=1, maximum=1024, group=OBSERVABILITY
        ),
    )
    data_dir: str = field(
        default="",
        metadata=_knob(
            "--data-dir",
            "Directory of stored files and batches, kept across restarts.",
            group=STORAGE,
            unset="a temporary directory",
        ),
    )
    max_file_bytes: int = field(
        default=512 * 1024 * 1024,
        metadata=_knob(
            "--max-file-bytes",
            "Largest file (or upload) accepted; larger gets 413.",
            minimum=1,
            group=STORAGE,
        ),
    )
    max_storage_bytes: int = field(
        default=10 * 1024**3,
        metadata=_knob(
            "--max-storage-bytes",
            "Total bytes clients store (files, and every record's JSON but the expiring ones'); beyond "
            "it creating more gets 400.",
            minimum=1,
            group=STORAGE,
        ),
    )
    max_expiring_bytes: int = field(
        default=2 * 1024**3,
        metadata=_knob(
            "--max-expiring-bytes",
            "Total bytes of stored responses, chat completions, conversations, Realtime client secrets, "
            "video jobs and containers; beyond it the oldest are dropped.",
            minimum=1,
            group=STORAGE,
        ),
    )
    batch_duration_s: float = field(
        default=5.0,
        metadata=_knob(
            "--batch-duration",
            "Simulated seconds a batch takes from in_progress to done.",
            minimum=0,
            group=STORAGE,
        ),
    )
    fine_tune_duration_s: float = field(
        default=10.0,
        metadata=_knob(
            "--fine-tune-duration",
            "Simulated seconds a fine-tuning job spends running.",
            minimum=0,
            group=STORAGE,
        ),
    )
    video_duration_s: float = field(
        default=5.0,
        metadata=_knob(
            "--video-duration",
            "Simulated seconds a /v1/videos lane takes to generate 4 s of 720p video on sora-2 (scaled by "
            "the clip's seconds and pixels, doubled on sora-2-pro).",
            minimum=0,
            maximum=86400,
            group=TIMING,
        ),
    )
    video_lanes: int = field(
        default=4,
        metadata=_knob(
            "--video-lanes",
            "Videos generated at once, server-wide; more wait as 'queued'.",
            minimum=1,
            maximum=4096,
            group=TIMING,
        ),
    )
    kv_workers: int = field(
        default=4,
        metadata=_knob(
            "--kv-workers", "Simulated workers behind the KV router.", minimum=1, maximum=1024, group=TIMING
        ),
    )
    kv_block_size: int = field(
        default=16,
        metadata=_knob(
            "--kv-block-size",
            "Tokens per KV block (prefix cache and engine model).",
            minimum=1,
            maximum=4096,
            group=TIMING,
        ),
    )
    kv_cache_blocks: int = field(
        default=16384,
        metadata=_knob(
            "--kv-cache-blocks",
            "Prefix-cache blocks per simulated worker (0 = off).",
            minimum=0,
            group=TIMING,
        ),
    )
    kv_batch_size: int = field(
        default=256,
        metadata=_knob(
            "--kv-batch-size",
            "Requests a simulated worker runs at once (0 = unlimited).",
            minimum=0,
            maximum=65_536,
            group=TIMING,
        ),
    )
    kv_overlap_weight: float = field(
        default=1.0,
        metadata=_knob("--kv-overlap-weight", "Router weight of blocks to prefill.", minimum=0, group=TIMING),
    )
    kv_load_weight: float = field(
        default=1.0,
        metadata=_knob("--kv-load-weight", "Router weight of active blocks.", minimum=0, group=TIMING),
    )
    kv_prefill_workers: int = field(
        default=0,
        metadata=_knob(
            "--kv-prefill-workers",
            "Disaggregated prefill workers (0 = aggregated workers).",
            minimum=0,
            maximum=1024,
            group=TIMING,
        ),
    )
    kv_events: str = field(
        default="",
        metadata=_knob(
            "--kv-events",
            "Publish the prefix cache's KV events (vLLM format) on this ZMQ endpoint, e.g. tcp://*:5557 "
            "(needs fakeai[kv-events]).",
            group=OBSERVABILITY,
            unset="off",
        ),
    )
    prefill_overhead_ms: float | None = field(
        default=None,
        metadata=_knob(
            "--prefill-overhead-ms",
            "Fixed part of the time to first token (overrides the model profile; ignored with --ttft).",
            minimum=0,
            maximum=3_600_000,
            live=True,
            group=VLLM,
            unset="per model",
        ),
    )
    prefill_time_per_token_us: float | None = field(
        default=None,
        metadata=_knob(
            "--prefill-time-per-token-us",
            "Prefill time per uncached prompt token (overrides the model profile; ignored with --ttft).",
            minimum=0,
            maximum=1_000_000,
            live=True,
            group=VLLM,
            unset="per model",
        ),
    )
    max_num_seqs: int = field(
        default=0,
        metadata=_knob(
            "--max-num-seqs",
            "Requests running at once: per engine-model replica (0 = vLLM's 256), or in fixed timing on this "
            "rank over all simulated workers (0 = only --kv-batch-size).",
            minimum=0,
            maximum=65_536,
            group=VLLM,
        ),
    )
    max_waiting_queue_length: int | None = field(
        default=None,
        metadata=_knob(
            "--max-waiting-queue-length",
            "Requests allowed to wait for a slot; more are refused with 503.",
            minimum=0,
            maximum=1_000_000,
            group=VLLM,
            unset="4096 per engine-model replica, no limit in fixed timing",
        ),
    )
    time_factor_under_load: float = field(
        default=1.0,
        metadata=_knob(
            "--time-factor-under-load",
            "TTFT/ITL multiplier at a full batch of --max-num-seqs, growing linearly with running requests.",
            minimum=1,
            maximum=1000,
            group=VLLM,
        ),
    )

    startup_duration_s: float = field(
        default=0.0,
        metadata=_knob(
            "--startup-duration",
            "Seconds of simulated model loading: /health/ready and inference answer 503 until they pass.",
            minimum=0,
            maximum=86400,
            group=VLLM,
        ),
    )
    enable_sleep_mode: bool = field(
        default=False,
        metadata=_knob(
            "--enable-sleep-mode", "Serve vLLM's POST /sleep, POST /wake_up and GET /is_sleeping.", group=VLLM
        ),
    )
    wake_up_duration_s: float = field(
        default=0.0,
        metadata=_knob(
            "--wake-up-duration",
            "Seconds POST /wake_up takes (inference answers 503 until the engine is awake).",
            minimum=0,
            maximum=3600,
            group=VLLM,
        ),
    )
    metrics_flavor: str = field(
        default="vllm",
        metadata=_knob(
            "--metrics-flavor",
            "Engine metric names /metrics/prometheus exposes beside fakeai_*: vllm, sglang, trtllm or all.",
            choices=METRICS_FLAVORS,
            group=OBSERVABILITY,
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
            if value is None:
                continue
            minimum, maximum, choices = f.metadata["minimum"], f.metadata["maximum"], f.metadata["choices"]
            name = f"{f.metadata['flag']} / {self.env_name(f.name)}"
            if isinstance(value, float) and not math.isfinite(value):  # nan passes every comparison
                raise ValueError(f"{name} must be a finite number, got {value}")
            if minimum is not None and value < minimum:
                raise ValueError(f"{name} must be >= {minimum}, got {value}")
            if maximum is not None and value > maximum:
                raise ValueError(f"{name} must be <= {maximum}, got {value}")
            if choices is not None and value not in choices:
                named = ", ".join(c for c in choices if c) + (" (or '' for none)" if "" in choices else "")
                raise ValueError(f"{name} must be one of {named}")
        self._check_deployment()
        return self

    def _check_deployment(self) -> None:
        """Cross-field checks of the response-mode, data-parallel, TLS and scheduler knobs. The knobs a
        subsystem interprets (``--lora-modules``, ``--kv-events``, ``--fake-metrics``, the gateway's) are
        checked by that subsystem: :meth:`fakeai.context.ServerContext.check`."""
        from fakeai import _core

        try:
            _core.LengthDistribution(self.output_length_distribution)
        except ValueError as exc:
            source = "--output-length-distribution / FAKEAI_OUTPUT_LENGTH_DISTRIBUTION"
            raise ValueError(f"{source}: {exc}") from None
        if self.data_parallel_size > 1 and self.port == 0:
            raise ValueError("--data-parallel-size > 1 needs a fixed --port (rank k serves on port + k)")
        if self.port + self.data_parallel_size - 1 > 65535:
            raise ValueError(f"--port + --data-parallel-size - 1 must be <= 65535, got {self.port}")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ValueError("--ssl-certfile and --ssl-keyfile go together")
        if self.self_signed_certs and self.ssl_certfile:
            raise ValueError("--self-signed-certs and --ssl-certfile exclude each other")
        if self.time_factor_under_load > 1 and not self.max_num_seqs:
            raise ValueError("--time-factor-under-load needs --max-num-seqs (the batch it is relative to)")
        if self.timing == "engine" and self.fixed_timing_options():
            raise ValueError(
                f"--timing engine excludes {', '.join(self.fixed_timing_options())} (fixed timing)"
            )

    def fixed_timing_options(self) -> list[str]:
        """The fixed-timing options that are set (they put ``--timing auto`` in fixed timing)."""
        named = ("ttft_ms", "itl_ms", "prefill_overhead_ms", "prefill_time_per_token_us")
        flags = [self.knob(n).metadata["flag"] for n in named if getattr(self, n) is not None]
        if self.time_factor_under_load > 1:
            flags.append("--time-factor-under-load")
        return flags

    def to_env(self) -> dict[str, str]:
        """The ``FAKEAI_*`` variables that rebuild these settings in a worker process."""
        values = ((f.name, getattr(self, f.name)) for f in self.knobs())
        return {self.env_name(name): _unparse(v) for name, v in values if v is not None}


_KINDS: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool, "tuple[str, ...]": tuple}
#: How an error message names a value type ("must be an integer").
KIND_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", tuple: "a list"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def kind_of(f: dataclasses.Field[Any]) -> type:
    """The field's value type: ``int``, ``float``, ``str``, ``bool`` or ``tuple`` (of strings); a
    ``float | None`` knob is unset (None) unless given."""
    name = f.type if isinstance(f.type, str) else f.type.__name__
    return _KINDS[name.removesuffix(" | None")]


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
        raise ValueError(f"{source} must be {KIND_NAMES[kind]}, got {raw!r}") from None


def check_value(where: str, value: Any, kind: type) -> Any:
    """A field's value from a document (scenario file, ``POST /admin/config``) checked against its
    kind (:func:`kind_of`): an int is a float where a float is wanted, a string a one-item list where
    a list is; ValueError names ``where`` otherwise."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where} must be a list of strings")
        return tuple(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where} must be {KIND_NAMES[kind]}, got {value!r}")
    return value


def _unparse(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
