"""The start-up summary ``fakeai server`` logs before it serves: where it listens, the URLs a person opens
first, and every option that is not at its default, so that what is switched on (a scenario file, API
keys, a rate-limit tier, error or chaos injection, echo mode, a fixed timing ...) is on screen.

Example (``fakeai server --api-key sk-test --error-rate 0.05 --mode echo``)::

    fakeai 0.4.0 serving on http://127.0.0.1:8000 (1 worker)
      OpenAI base URL  http://127.0.0.1:8000/v1
      dashboard        http://127.0.0.1:8000/dashboard
      Prometheus       http://127.0.0.1:8000/metrics/prometheus
      health           http://127.0.0.1:8000/health
      timing           engine model for the architectures it knows, per-model profiles for others (--timing)
      non-default options:
        gateway and faults   --api-key sk-****************test (1 key)
                             --error-rate 0.05
        timing and engine    --mode echo

API keys and the admin key are shown masked, as OpenAI's errors show keys; the tables of a scenario file that are not
options (per-key limits, error rules, extra models) are counted. Each data-parallel rank (``--data-parallel-size
N``: N servers, see :mod:`fakeai.runtime.data_parallel`) logs its own summary, for its own port: its first line
says ``(1 worker, data-parallel rank k of N)``, and ``--data-parallel-size N`` is among its options, though
the rank's own settings say 1.
"""

from __future__ import annotations

from typing import Any

from fakeai import __version__
from fakeai.engine.kv_events import endpoint_of
from fakeai.gateway.keys import HASH_PREFIX, mask
from fakeai.settings import GROUPS, Settings, kind_of

#: Options shown in the first line instead of among the non-default ones.
_IN_HEADLINE = ("host", "port", "workers")
_UNSPECIFIED = ("0.0.0.0", "::", "")


def base_url(settings: Settings, scheme: str) -> str:
    """The URL a client on this machine reaches the server at (the loopback for a wildcard host)."""
    host = "127.0.0.1" if settings.host in _UNSPECIFIED else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{settings.port}"


def shown(name: str, value: Any) -> str:
    """An option's value as the summary writes it: lists comma-separated, keys masked."""
    if name == "api_keys":
        keys = [k if k.startswith(HASH_PREFIX) else mask(k) for k in value]
        return f"{','.join(keys)} ({len(keys)} key{'s' if len(keys) != 1 else ''})"
    if name == "admin_key":
        return mask(value)
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(value) or "''"
    return str(value)


def changed(settings: Settings, ranks: int = 1) -> dict[str, list[str]]:
    """Per option group, ``--flag value`` of every option not at its default; ``ranks``: the
    ``--data-parallel-size`` of the command that started this server as one of its ranks."""
    defaults = Settings()
    groups: dict[str, list[str]] = {group: [] for group in GROUPS}
    for f in Settings.knobs():
        value = getattr(settings, f.name)
        if f.name == "data_parallel_size" and ranks > 1:  # a rank's own settings say 1
            value = ranks
        if f.name in _IN_HEADLINE or value == getattr(defaults, f.name):
            continue
        flag = f.metadata["flag"]
        if kind_of(f) is bool:
            groups[f.metadata["group"]].append(flag if value else "--no-" + flag[2:])
        else:
            if f.name == "kv_events":  # a data-parallel rank binds the port + its rank
                value = endpoint_of(settings)
            groups[f.metadata["group"]].append(f"{flag} {shown(f.name, value)}")
    return {group: items for group, items in groups.items() if items}


def _scenario_tables(path: str) -> str:
    from fakeai.gateway.scenario import Scenario

    scenario = Scenario.load(path)
    counts = [
        (len(scenario.keys), "key"),
        (len(scenario.tiers), "tier change"),
        (len(scenario.errors), "error rule"),
        (len(scenario.models), "extra model"),
    ]
    listed = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n]
    return f" ({', '.join(listed)})" if listed else ""


def _timing(settings: Settings) -> str:
    if settings.timing == "engine" or (settings.timing == "auto" and not settings.fixed_timing_options()):
        return "engine model for the architectures it knows, per-model profiles for others (--timing)"
    if settings.ttft_ms is None and settings.itl_ms is None:
        return "per-model TTFT and ITL profiles (--ttft/--itl fix them)"
    ttft = "per model" if settings.ttft_ms is None else f"{settings.ttft_ms:g} ms"
    itl = "per model" if settings.itl_ms is None else f"{settings.itl_ms:g} ms"
    return f"TTFT {ttft}, ITL {itl} for every model"


def lines(settings: Settings, scheme: str, ranks: int = 1) -> list[str]:
    """The summary, one log line per item; ``ranks`` as for :func:`changed`."""
    url = base_url(settings, scheme)
    workers = f"{settings.workers} worker{'s' if settings.workers != 1 else ''}"
    if ranks > 1:
        workers += f", data-parallel rank {settings.data_parallel_rank} of {ranks}"
    out = [
        f"fakeai {__version__} serving on {url} ({workers})",
        f"  OpenAI base URL  {url}/v1",
        f"  dashboard        {url}/dashboard",
        f"  Prometheus       {url}/metrics/prometheus",
        f"  health           {url}/health",
        f"  timing           {_timing(settings)}",
    ]
    groups = changed(settings, ranks)
    if not groups:
        out.append("  every other option at its default (fakeai server --help lists them)")
        return out
    out.append("  non-default options:")
    width = max(len(group) for group in groups) + 2
    for group, items in groups.items():
        for i, item in enumerate(items):
            if item.startswith("--config "):
                item += _scenario_tables(settings.config)
            out.append(f"    {(group if i == 0 else ''):<{width}} {item}")
    return out
