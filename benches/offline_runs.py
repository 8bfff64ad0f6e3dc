"""The offline side of ``benches/live_vs_simulate.py``: ``fakeai simulate``'s engine on its virtual
clock, run against a live level.

- :func:`closed_loop`: its closed loop (``_core.simulate_closed_loop``), with the fitted client gap
  or with the live clients' turnaround; :func:`by_rounds`: the same loop's TTFT by ranges of rounds
  (how long the start-up convoy lasts);
- :func:`replay`: the live requests' own arrivals through the server's front end
  (:func:`fakeai._core.frontend_arrivals`) into :class:`fakeai._core.EngineModel`, measured as the
  live level is (:func:`live_levels.measured`).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from fakeai import _core
from live_clients import OSL
from live_levels import Sent, measured, stats


def closed_loop(
    deployment: dict, isl: int, clients: int, requests: int, turnaround: tuple[float, float] | None = None
) -> dict:
    """``fakeai simulate``'s closed loop of ``clients`` clients sending ``requests`` requests. Its
    clients turn around with its fitted client gap (GenAI-Perf's against NIM), or with
    ``turnaround`` = (mean, coefficient of variation): lognormal, sigma from the coefficient."""
    if turnaround is not None:
        gap, cv = turnaround
        sigma = math.sqrt(math.log1p(cv * cv))
        deployment = {**deployment, "coefficients": {"client_gap": gap, "client_sigma": sigma}}
    return _core.simulate_closed_loop(deployment, isl, OSL, clients, requests)


def by_rounds(deployment: dict, isl: int, c: int) -> list[tuple[int, int, float]]:
    """``fakeai simulate``'s closed loop of ``c`` clients: the mean TTFT (ms) of the requests sent
    in rounds a to b, from runs of growing length (each measures rounds 3 to its next-to-last: the
    difference of two runs is the rounds one has beyond the other; the runs are the same until the
    shorter one stops sending)."""
    out = []
    before = (3, 0.0, 0)
    for rounds in (10, 20, 40, 80, 160, 320):
        r = closed_loop(deployment, isl, c, rounds * c)
        total, n = r["ttft_ms"]["mean"] * r["requests"], r["requests"]
        out.append((before[0], rounds - 1, (total - before[1]) / (n - before[2])))
        before = (rounds - 1, total, n)
    return out


def replay(
    deployment: dict, isl: int, sent: list[Sent], warmup: int, since: float, save: Path | None
) -> dict[str, float]:
    """The offline engine (``fakeai simulate``'s, :class:`fakeai._core.EngineModel`) given the
    arrivals the live clients produced: each request enters the server's front end when its client
    wrote it (:func:`fakeai._core.frontend_arrivals`, the same lanes and draws as the live server)
    and the engine when that is done with it; TTFT from that write (the client's own delay before
    it is in the floor, which ``corr`` leaves out), measured as the live requests are. With
    ``save``, the engine arrivals are written there as a Mooncake JSONL trace (``fakeai simulate
    --trace`` replays them, without the front end). ``srv``: the mean TTFT of the requests whose
    first token came after ``since``, as the server's own figure counts them."""
    order = sorted(range(len(sent)), key=lambda k: sent[k].wrote)
    arrivals = _core.frontend_arrivals(deployment, [sent[k].wrote for k in order])
    engine = _core.EngineModel(deployment)
    ids = [0] * len(sent)
    for k, at in zip(order, arrivals, strict=True):
        engine.run_until(at)
        ids[k] = engine.submit(at, isl, OSL)
    engine.run_until(math.inf)
    ttft, itl, srv = [], [], []
    for r, i, keep in zip(sent, ids, measured(sent, warmup), strict=True):
        times = engine.token_times(i)
        if r.first >= since:
            srv.append(times[0] - r.wrote)
        if keep:
            ttft.append(times[0] - r.wrote)
            itl.append((times[-1] - times[0]) / (len(times) - 1))
    if save is not None:
        t0 = arrivals[0]
        rows = [
            {"timestamp": round((at - t0) * 1e3, 3), "input_length": isl, "output_length": OSL}
            for at in arrivals
        ]
        save.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return {**stats(ttft, itl), "srv": statistics.mean(srv) if srv else math.nan}
