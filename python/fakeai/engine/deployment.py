"""The simulated deployment: which :class:`~fakeai.settings.Settings` options describe it, the ``dict``
the Rust engine takes, and the server's engines.

The deployment knobs are ordinary settings (group "timing and engine", plus vLLM's ``--max-num-seqs``
and ``--max-waiting-queue-length``): flags, ``FAKEAI_*`` variables and scenario keys, read by ``fakeai
server`` and ``fakeai simulate`` alike (:data:`OPTIONS`). An unset ``gpu``, ``precision`` or ``tp`` takes
the model's default deployment (one sensible H100 deployment per model, see
``rust/fakeai_core/src/simulation/engine/models.rs``); the scheduler knobs carry vLLM's names and
defaults. :func:`spec` turns them into what the engine takes, which checks them and names a bad value in
a one-line error.

The live server (:class:`Engines`) keeps one engine per model architecture it is asked to serve, in a
shared-memory region every granian worker opens (``_core.SharedEngine``), so that ``--workers 1`` and
``--workers 4`` simulate the same GPUs. Which requests it times: see :meth:`Engines.for_request`.

Beside each region, ``<region>.prefix`` holds the replicas' prefix caches (``rust/.../shm/prefix.rs``):
the core call looks a request's prompt up there, and the KV router (``--kv-overlap-weight`` against
``--kv-load-weight``, as for the fixed-timing cluster) sends it to the replica where its cost, the blocks
to prefill plus the KV blocks already held, is least, usually the one with the longest prefix hit.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from fakeai import _core
from fakeai.runtime import shared
from fakeai.settings import Settings

if TYPE_CHECKING:
    from fakeai.gateway.overrides import Overrides

#: Settings that describe the deployment (besides the model), in ``fakeai simulate --help`` order.
OPTIONS = (
    "gpu",
    "precision",
    "tp",
    "replicas",
    "max_num_seqs",
    "max_num_batched_tokens",
    "enable_chunked_prefill",
    "kv_block_size",
    "gpu_memory_utilization",
    "kv_policy",
    "max_waiting_queue_length",
)
#: vLLM's default ``--max-num-seqs``, used when the setting is 0.
DEFAULT_MAX_NUM_SEQS = 256
#: Queued requests per replica when ``--max-waiting-queue-length`` is unset (the region is fixed-size).
DEFAULT_WAITING = 4096
#: Most request slots of one architecture's shared region over its replicas (~80 bytes each: ~1.3 GB).
MAX_REGION_SLOTS = 1 << 24
#: Set in the tickets of requests the engine times (``Answer.ticket``).
ENGINE_TICKET = 1 << 63

log = logging.getLogger("fakeai")


def spec(settings: Settings, model: str) -> dict[str, Any]:
    """The deployment of ``model`` as the Rust engine takes it."""
    return {
        "model": model,
        "gpu": settings.gpu,
        "precision": settings.precision,
        "tp": settings.tp,
        "replicas": settings.replicas,
        "max_num_seqs": settings.max_num_seqs or DEFAULT_MAX_NUM_SEQS,
        "max_num_batched_tokens": settings.max_num_batched_tokens,
        "chunked_prefill": settings.enable_chunked_prefill,
        "block_size": settings.kv_block_size,
        "gpu_memory_utilization": settings.gpu_memory_utilization,
        "kv_policy": settings.kv_policy,
    }


def waiting_capacity(settings: Settings) -> int:
    limit = settings.max_waiting_queue_length
    return DEFAULT_WAITING if limit is None else limit


def check(settings: Settings) -> None:
    """Raise ValueError naming a bad GPU, precision or KV policy, or a shared region too large for its
    slots (checked on the default model; what depends on the model, such as TP against its heads, is
    checked per model when first served)."""
    if settings.timing == "fixed":
        return
    seqs = settings.max_num_seqs or DEFAULT_MAX_NUM_SEQS
    slots = settings.replicas * (seqs + waiting_capacity(settings))
    if slots > MAX_REGION_SLOTS:
        raise ValueError(
            f"--replicas x (--max-num-seqs + --max-waiting-queue-length) must be <= {MAX_REGION_SLOTS} "
            f"(the shared engine holds a slot per request), got {slots}"
        )
    try:
        _core.deployment_info(spec(settings, "meta-llama/Llama-3.1-8B-Instruct"))
    except _core.InvalidInput as exc:
        if exc.args[1] not in ("tp", "model"):
            raise ValueError(f"--{exc.args[1].replace('_', '-')}: {exc.args[0]}") from None


class Engines:
    """This worker process's handles on the server's engines, one per architecture, opened on first use.

    Fixed timing applies (no engine) with ``--timing fixed``; with ``--timing auto`` when a fixed-timing
    option is set (``Settings.fixed_timing_options``); for a request that sends ``x-fakeai-ttft-ms`` or
    ``x-fakeai-itl-ms``; and for models whose architecture the engine does not know (``gpt-4o``), or
    whose deployment is impossible with the settings (a ``--tp`` that does not divide its heads, a model
    that does not fit: logged once)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = settings.timing == "engine" or (
            settings.timing == "auto" and not settings.fixed_timing_options()
        )
        self.waiting = waiting_capacity(settings)
        #: Model id -> engine (None: fixed timing); engines by architecture, in opening order (the
        #: index is in their tickets).
        self.by_model: dict[str, _core.SharedEngine | None] = {}
        self.by_architecture: dict[str, _core.SharedEngine] = {}
        self.ordered: list[_core.SharedEngine] = []

    def for_request(self, model: str, over: Overrides | None) -> _core.SharedEngine | None:
        if over is not None and (over.ttft_ms is not None or over.itl_ms is not None):
            return None
        return self.for_model(model)

    def for_model(self, model: str) -> _core.SharedEngine | None:
        try:
            return self.by_model[model]
        except KeyError:
            pass
        engine = self._open(model) if self.enabled else None
        if len(self.by_model) < 10_000:
            self.by_model[model] = engine
        return engine

    def _open(self, model: str) -> _core.SharedEngine | None:
        deployment = spec(self.settings, model)
        try:
            info = _core.deployment_info(deployment)
        except _core.InvalidInput as exc:
            if exc.args[1] != "model" or "no architecture" not in exc.args[0]:
                log.warning("fakeai: %s runs with fixed timing: %s", model, exc.args[0])
            return None
        arch = info["architecture"]
        engine = self.by_architecture.get(arch)
        if engine is None and len(self.ordered) < 128:
            path = shared.current_dir() / f"engine-{arch.replace('/', '_')}.region"
            engine = _core.SharedEngine(
                str(path),
                deployment,
                self.waiting,
                len(self.ordered),
                overlap_weight=self.settings.kv_overlap_weight,
                load_weight=self.settings.kv_load_weight,
            )
            self.by_architecture[arch] = engine
            self.ordered.append(engine)
        return engine

    def opened(self) -> dict[str, _core.SharedEngine]:
        """Every engine the server has opened, by any worker process, by architecture (found by their
        region files, so the same from every worker)."""
        if self.enabled:
            for path in sorted(shared.current_dir().glob("engine-*.region")):
                arch = path.name.removeprefix("engine-").removesuffix(".region")
                if arch not in self.by_architecture:
                    self.for_model(arch)
        return self.by_architecture

    def for_ticket(self, ticket: int) -> _core.SharedEngine | None:
        """The engine that gave an engine ticket."""
        index = (ticket >> 56) & 0x7F
        return self.ordered[index] if index < len(self.ordered) else None

    def cancel(self, ticket: int) -> None:
        """End the request of an engine ticket (its client left)."""
        engine = self.for_ticket(ticket)
        if engine is not None:
            engine.cancel(ticket, time.monotonic())

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Each opened engine's status now, by architecture."""
        now = time.monotonic()
        return {arch: engine.status(now) for arch, engine in self.by_architecture.items()}
