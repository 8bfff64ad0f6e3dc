"""LoRA adapters: the registry every worker process shares, and the per-adapter request counts.

Adapters come from ``--lora-modules`` (vLLM's syntax) at start and from ``POST /v1/load_lora_adapter``
/ ``/v1/unload_lora_adapter`` at run time. granian may route a load to one worker and the next request
to another, so the registry is not per process: it is a small JSON file in the server's shared directory
(:func:`fakeai.runtime.shared.current_dir`), replaced atomically (``os.replace``) under an ``flock`` by the
worker that changes it, which then bumps a version word in a shared table. A worker reads that word
(one relaxed atomic load) on every request and re-reads the file only when it moved.

Requests served by an adapter are counted in the same shared table, per adapter name:
``[started, finished, queued, dequeued]``, so ``running = started - finished`` and
``waiting = queued - dequeued`` whichever worker served them. :meth:`LoraRegistry.request_counts` and
:meth:`LoraRegistry.requests_info` read them for the metrics exposition (``vllm:lora_requests_info``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from fakeai import _core
from fakeai.errors import ApiError
from fakeai.runtime.file_lock import locked
from fakeai.settings import Settings

REGISTRY_FILE = "lora_adapters.json"
TABLE = "lora"
#: Distinct adapter names ever counted in one server (entries of the shared table are never freed).
TABLE_CAPACITY = 1024
VERSION_KEY = "version"
STARTED, FINISHED, QUEUED, DEQUEUED = range(4)


@dataclass(frozen=True, slots=True)
class LoraModule:
    """One adapter, as vLLM's ``LoRAModulePath``: its name, its path, and optionally its base model."""

    name: str
    path: str
    base_model_name: str | None = None
    created: int = 0

    def card(self, parent: str, parent_card: dict[str, Any] | None) -> dict[str, object]:
        """The ``model`` object vLLM lists for an adapter: ``root`` is its path, ``parent`` its base."""
        card: dict[str, object] = {
            "id": self.name,
            "object": "model",
            "created": self.created,
            "owned_by": parent_card["owned_by"] if parent_card else "fakeai",
            "root": self.path,
            "parent": parent,
        }
        if parent_card:
            for key in ("max_model_len", "context_length", "capabilities"):
                card[key] = parent_card[key]
        return card


def parse_modules(spec: str) -> list[LoraModule]:
    """``--lora-modules`` as vLLM takes it: space-separated ``name=path`` items or JSON objects
    ``{"name": ..., "path": ..., "base_model_name": ...}``. A bad item raises ``ValueError``."""
    decoder = json.JSONDecoder()
    modules: list[LoraModule] = []
    pos = 0
    while True:
        while pos < len(spec) and spec[pos].isspace():
            pos += 1
        if pos == len(spec):
            break
        if spec[pos] == "{":
            try:
                item, pos = decoder.raw_decode(spec, pos)
            except json.JSONDecodeError as exc:
                raise ValueError(f"--lora-modules: bad JSON ({exc.msg} at character {exc.pos})") from None
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                raise ValueError('--lora-modules: a JSON item needs "name" and "path" strings')
            if not isinstance(item.get("path"), str) or not item["path"]:
                raise ValueError('--lora-modules: a JSON item needs "name" and "path" strings')
            base = item.get("base_model_name")
            if base is not None and not isinstance(base, str):
                raise ValueError('--lora-modules: "base_model_name" must be a string')
            modules.append(LoraModule(item["name"], item["path"], base or None))
        else:
            end = pos
            while end < len(spec) and not spec[end].isspace():
                end += 1
            name, sep, path = spec[pos:end].partition("=")
            if not sep or not name or not path:
                raise ValueError(f"--lora-modules: expected name=path, got {spec[pos:end]!r}")
            modules.append(LoraModule(name, path))
            pos = end
    names = [m.name for m in modules]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ValueError(f"--lora-modules: adapter {duplicate!r} is named twice")
    return modules


def startup_modules(settings: Settings) -> list[LoraModule]:
    """The adapters of ``--lora-modules``, at most ``--max-loras`` of them; ValueError names what is wrong."""
    modules = parse_modules(settings.lora_modules)
    if len(modules) > settings.max_loras:
        raise ValueError(
            f"--lora-modules names {len(modules)} adapters, more than --max-loras {settings.max_loras}"
        )
    return modules


def _vllm_error(status: int, message: str) -> ApiError:
    """vLLM's error for the adapter endpoints: its envelope carries ``type`` and the numeric ``code``."""
    return ApiError(
        status, message, type="InvalidUserInput" if status == 400 else "NotFoundError", code=status
    )


class _Counting:
    """Counts one adapter request as started on entry and finished on exit (also on error)."""

    __slots__ = ("key", "table")

    def __init__(self, table: _core.SharedTable, key: str) -> None:
        self.table = table
        self.key = key

    async def __aenter__(self) -> None:
        self.table.add(self.key, STARTED, 1)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ):
        self.table.add(self.key, FINISHED, 1)


class _NotCounted:
    __slots__ = ()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ):
        return None


NOT_AN_ADAPTER = _NotCounted()


class LoraRegistry:
    """The adapters this server holds, shared by its worker processes (see the module docs)."""

    def __init__(
        self, directory: Path, table: _core.SharedTable, initial: list[LoraModule], max_loras: int
    ) -> None:
        self.path = directory / REGISTRY_FILE
        self.lock_path = directory / (REGISTRY_FILE + ".lock")
        self.table = table
        self.max_loras = max_loras
        self._version = -1
        self._adapters: dict[str, LoraModule] = {}
        with locked(self.lock_path):
            if not self.path.exists():
                now = int(time.time())
                self._write([LoraModule(m.name, m.path, m.base_model_name, now) for m in initial])

    # -- reading (every request) ---------------------------------------------------------------

    def _word(self, key: str, index: int) -> int:
        """One counter, read by adding 0: a hash probe (``SharedTable.get`` scans the whole table)."""
        return self.table.add(key, index, 0)

    def _fresh(self) -> dict[str, LoraModule]:
        current = self._word(VERSION_KEY, 0)
        if current != self._version:
            self._version = current
            self._adapters = {m.name: m for m in self._read()}
        return self._adapters

    def find(self, name: str) -> LoraModule | None:
        """The loaded adapter called ``name``, or None (a base model)."""
        return self._fresh().get(name)

    def all(self) -> list[LoraModule]:
        return list(self._fresh().values())

    def serving(self, adapter: LoraModule | None) -> _Counting | _NotCounted:
        """``async with registry.serving(adapter):`` around the time a request is being served."""
        if adapter is None:
            return NOT_AN_ADAPTER
        return _Counting(self.table, "adapter|" + adapter.name)

    @contextmanager
    def waiting(self, adapter: LoraModule) -> Iterator[None]:
        """Around the time an adapter request waits in a scheduler queue (counted as waiting)."""
        key = "adapter|" + adapter.name
        self.table.add(key, QUEUED, 1)
        try:
            yield
        finally:
            self.table.add(key, DEQUEUED, 1)

    def request_counts(self) -> dict[str, tuple[int, int]]:
        """``{adapter name: (running, waiting)}`` for every loaded adapter, summed over all workers."""
        counts = {}
        for name in self._fresh():
            key = "adapter|" + name
            # Finished before started (and dequeued before queued), so a request never counts negative.
            finished, dequeued = self._word(key, FINISHED), self._word(key, DEQUEUED)
            running = self._word(key, STARTED) - finished
            counts[name] = (running, self._word(key, QUEUED) - dequeued)
        return counts

    def requests_info(self) -> dict[str, str]:
        """The labels of vLLM's ``vllm:lora_requests_info`` gauge (its value is the scrape time):
        ``max_lora`` and the comma-separated names of adapters with running / waiting requests."""
        counts = self.request_counts()
        return {
            "max_lora": str(self.max_loras),
            "running_lora_adapters": ",".join(n for n, (running, _) in counts.items() if running > 0),
            "waiting_lora_adapters": ",".join(n for n, (_, waiting) in counts.items() if waiting > 0),
        }

    # -- changing (load / unload endpoints) ----------------------------------------------------

    def load(self, module: LoraModule, *, replace: bool = False) -> None:
        """Add ``module``; a duplicate name (unless ``replace``) or one over ``--max-loras`` is a 400."""
        if not module.name or not module.path:
            raise _vllm_error(400, "Both 'lora_name' and 'lora_path' must be provided.")
        with locked(self.lock_path):
            adapters = {m.name: m for m in self._read()}
            if module.name in adapters and not replace:
                raise _vllm_error(400, f"The lora adapter '{module.name}' has already been loaded.")
            if module.name not in adapters and len(adapters) >= self.max_loras:
                raise _vllm_error(
                    400,
                    f"Cannot load the lora adapter '{module.name}': {len(adapters)} adapters are loaded, "
                    f"the most this server holds (--max-loras {self.max_loras}). Unload one first.",
                )
            adapters[module.name] = LoraModule(
                module.name, module.path, module.base_model_name, int(time.time())
            )
            self._write(list(adapters.values()))

    def unload(self, name: str) -> None:
        """Remove the adapter ``name``; an unknown one is a 404."""
        if not name:
            raise _vllm_error(400, "'lora_name' needs to be provided to unload a LoRA adapter.")
        with locked(self.lock_path):
            adapters = self._read()
            kept = [m for m in adapters if m.name != name]
            if len(kept) == len(adapters):
                raise _vllm_error(404, f"The lora adapter '{name}' cannot be found.")
            self._write(kept)

    # -- the file ------------------------------------------------------------------------------

    def _read(self) -> list[LoraModule]:
        try:
            items = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            items = []
        return [LoraModule(**item) for item in items]

    def _write(self, modules: list[LoraModule]) -> None:
        """Replace the file atomically, then publish the change (callers hold the lock)."""
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(json.dumps([asdict(m) for m in modules]).encode())
        os.replace(tmp, self.path)
        self.table.add(VERSION_KEY, 0, 1)
