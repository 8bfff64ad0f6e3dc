"""Run-time reconfiguration: the settings declared ``live`` (timing, engine-model prefill terms,
response mode and lengths, error and chaos rates and mixes, rate limits, fake metrics), changed
while the server runs by ``POST /admin/config`` and seen by every worker.

Shared state: ``live-config.json`` in the server's shared directory holds the changed fields
(``{field: value}``) over the start-up settings, word 0 of ``config`` in the ``control`` table
(:mod:`fakeai.runtime.control`) its version. A change is made under an exclusive ``flock`` of
``live-config.lock`` (so two changes answered by two workers never lose one) and the file is replaced
atomically (readers never see half of it); then the version and the control
table's change counter are bumped. Each worker notices the counter moved on its next request (one
atomic read: :meth:`fakeai.runtime.control.Control.poll`), re-reads the file once, and hands the new
:class:`~fakeai.settings.Settings` to its subscribers, which rebuild what depends on them (latencies,
the gateway's limits and fault rules, fake metrics). Nothing is read from disk while nothing changes.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from fakeai.runtime import shared
from fakeai.runtime.control import CHANGES, Control
from fakeai.settings import Settings, check_value, kind_of

log = logging.getLogger("fakeai")
FILE = "live-config.json"
#: Fields that may change at run time, in declaration order.
LIVE = tuple(f.name for f in Settings.knobs() if f.metadata["live"])


class ConfigError(ValueError):
    """A rejected change; ``key`` is the field at fault (None when the combination is)."""

    def __init__(self, message: str, key: str | None) -> None:
        super().__init__(message)
        self.key = key


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class LiveConfig:
    """This worker's run-time settings: ``base`` (its start-up settings) with the shared changes."""

    def __init__(self, base: Settings, control: Control, directory: Path | None = None) -> None:
        self.base = base
        self.settings = base
        self.control = control
        self.path = (directory or shared.current_dir()) / FILE
        self.version = 0
        self.subscribers: list[Callable[[Settings], None]] = []
        control.listeners.append(self.reload)
        self.reload()

    def subscribe(self, subscriber: Callable[[Settings], None]) -> None:
        self.subscribers.append(subscriber)

    def values(self) -> dict[str, Any]:
        """The live fields as ``GET /admin/config`` answers them."""
        return {name: _jsonable(getattr(self.settings, name)) for name in LIVE}

    def reload(self) -> None:
        """Apply the shared changes if their version moved (called when the control counter moved)."""
        version = self.control.table.load("config", 0)
        if version == self.version:
            return
        self.version = version
        try:
            changes = orjson.loads(self.path.read_bytes())
            settings = dataclasses.replace(self.base, **self._typed(changes)).validated()
        except (OSError, ValueError, TypeError) as e:  # written validated: only a broken file gets here
            log.error("run-time configuration not applied: %s", e)
            return
        self._apply(settings)

    def _apply(self, settings: Settings) -> None:
        self.settings = settings
        for subscriber in self.subscribers:
            subscriber(settings)

    @staticmethod
    def _typed(changes: dict[str, Any]) -> dict[str, Any]:
        """``changes`` as field values; a ConfigError names the first unknown or mistyped field."""
        fields = {f.name: f for f in Settings.knobs()}
        typed: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in LIVE:
                reason = "unknown setting" if key not in fields else "cannot change while the server runs"
                raise ConfigError(f"'{key}': {reason} (run-time settings: {', '.join(LIVE)}).", key)
            f = fields[key]
            if value is None and f.default is None:
                typed[key] = None  # back to the per-model profile
                continue
            try:
                typed[key] = check_value(f"'{key}'", value, kind_of(f))
            except ValueError as e:
                raise ConfigError(f"{e}.", key) from None
        return typed

    def update(self, changes: dict[str, Any], check: Callable[[Settings], None]) -> Settings:
        """Validate ``changes`` (each field alone, then together, with ``check`` for the knobs a
        subsystem interprets), store them for every worker, and return the new settings. A
        ConfigError names the field at fault; nothing is stored then."""
        typed = self._typed(changes)
        with open(self.path.with_suffix(".lock"), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            stored = orjson.loads(self.path.read_bytes()) if self.path.exists() else {}
            current = dataclasses.replace(self.base, **self._typed(stored))
            for key, value in typed.items():
                try:
                    check(current.replace(**{key: value}))
                except ValueError as e:
                    raise ConfigError(f"'{key}': {e}", key) from None
            try:
                check(current.replace(**typed))
            except ValueError as e:
                raise ConfigError(str(e), next(iter(typed), None)) from None
            merged = {**stored, **{k: _jsonable(v) for k, v in typed.items()}}
            staged = self.path.with_suffix(f".{os.getpid()}")
            staged.write_bytes(orjson.dumps(merged))
            os.replace(staged, self.path)  # readers never see a half-written file
            for key, value in typed.items():
                old = getattr(current, key)
                if old != value:
                    log.info("run-time config: %s changed from %r to %r", key, old, value)
            self.control.table.add("config", 0, 1)
            self.control.table.add(CHANGES, 0, 1)
        self.control.poll()
        return self.settings
