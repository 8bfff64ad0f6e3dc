"""What the gateway middleware decides with: keys, rate limits, fault rules and chaos mix, built once
per worker from the settings and the scenario file (:meth:`GatewayState.check` validates the same
inputs without building anything, so ``fakeai server`` can refuse bad values before workers start)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from fakeai import _core
from fakeai.engine.catalog import Catalog, ModelInfo
from fakeai.gateway import chaos, faults
from fakeai.gateway.keys import KeyRing
from fakeai.gateway.limits import TIERS, RateLimits, resolve
from fakeai.gateway.retries import Attempts
from fakeai.gateway.scenario import Scenario
from fakeai.runtime import shared
from fakeai.settings import Settings


@dataclass(slots=True)
class GatewayState:
    """Everything the middleware decides with, built once per worker from settings and scenario."""

    settings: Settings
    scenario: Scenario
    keys: KeyRing
    limits: RateLimits
    injector: faults.Injector | None
    chaos_mix: faults.Mix | None
    #: Shared draw counters, so that one seed gives one sequence of faults across workers.
    counter: _core.SharedTable
    #: Attempts per request id, for ``x-fakeai-fail-attempts`` and ``first`` rules.
    attempts: Attempts

    @classmethod
    def build(cls, settings: Settings, catalog: Catalog) -> GatewayState:
        scenario, keys, rules, mix = cls.check(settings)
        limits = RateLimits(settings, scenario)
        for key in scenario.keys:
            limits.add_key(keys.label_of_configured(key), key)
        counter = shared.open_table("faults", 64, 1)
        attempts = Attempts()
        for m in scenario.models:
            owner = m.get("owned_by") or (m["id"].split("/", 1)[0] if "/" in m["id"] else "fakeai")
            catalog.models[m["id"]] = ModelInfo(m["id"], owner, m.get("context_length", 131_072))
        return cls(
            settings,
            scenario,
            keys,
            limits,
            faults.Injector(rules, settings.fault_seed, counter, attempts) if rules else None,
            mix if settings.chaos_rate > 0 else None,
            counter,
            attempts,
        )

    def decides(self) -> bool:
        """Whether any request needs a decision of the gateway's (API keys, rate limits, injected
        faults, chaos) even without ``x-fakeai-*`` headers."""
        return bool(self.keys or self.limits.active or self.injector or self.chaos_mix)

    def reconfigure(self, settings: Settings, catalog: Catalog) -> None:
        """Rebuild from changed run-time settings (:mod:`fakeai.runtime.live_config`), in place: the
        middleware holds this object."""
        fresh = GatewayState.build(settings, catalog)
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(fresh, f.name))

    @staticmethod
    def check(settings: Settings) -> tuple[Scenario, KeyRing, list[faults.Rule], faults.Mix]:
        """Read the scenario and every knob the gateway interprets; ValueError names what is wrong.
        ``fakeai server`` calls this before starting workers, so bad values stop it at once."""
        scenario = Scenario.load(settings.config) if settings.config else Scenario()
        keys = KeyRing((*settings.api_keys, *scenario.keys))
        for name in scenario.tiers:
            if name not in TIERS:
                raise ValueError(
                    f"{settings.config}: tiers.{name}: unknown tier (expected one of {', '.join(TIERS)})"
                )
        for key in (None, *scenario.keys):
            resolve(settings, scenario, key)
        rules = [
            faults.Rule(
                r.get("rate", 0.0),
                faults.Mix(
                    r.get("mix", "503" if r.get("first") else settings.error_mix),
                    faults.kind,
                    f"errors[{i}].mix",
                ),
                r.get("route", ""),
                r.get("model", ""),
                r.get("key", ""),
                r.get("first", 0),
            )
            for i, r in enumerate(scenario.errors)
        ]
        global_mix = faults.Mix(settings.error_mix, faults.kind, "--error-mix")
        if settings.error_rate > 0:
            rules.append(faults.Rule(settings.error_rate, global_mix))
        return scenario, keys, rules, faults.Mix(settings.chaos_mix, chaos.behaviour, "--chaos-mix")
