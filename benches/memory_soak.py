"""Memory soak: the server's RSS stays flat across rounds of load, with a new model id per request too.

    python benches/memory_soak.py                         # 2 x 5 rounds of 3 s of wrk, --workers 2
    python benches/memory_soak.py --rounds 10 --seconds 5 --connections 64

Starts ``fakeai server --workers 2 --ttft 0 --itl 0`` and runs ``wrk`` (POST ``/v1/chat/completions``)
for ``--rounds`` rounds of ``--seconds`` each, first with one model id, then with a new model id per
request (``wrk``'s Lua counter). After each round it sums the RSS of the server's processes (Linux
``/proc``). One line per phase: requests/s, the RSS after each round, and the growth from the first
round (after warm-up) to the last. Pass: growth under 10% in both phases.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from fakeai.runtime.process import group_rss_mb, running_server

GROWTH_BUDGET = 0.10
SAME_MODEL = """
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"model":"gpt-4o","messages":[{"role":"user","content":"hello there"}],"max_tokens":16}'
"""
NEW_MODEL = """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"model":"soak-' .. counter .. '-' .. math.random(1e9) ..
    '","messages":[{"role":"user","content":"hello there"}],"max_tokens":16}'
  return wrk.format("POST", nil, {["content-type"] = "application/json"}, body)
end
"""


def server_group(port: int) -> int:
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = stat.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"server" in cmd and b"--port" in cmd and str(port).encode() in cmd:
            return os.getpgid(int(stat.parent.name))
    raise RuntimeError("server process not found")


def wrk(url: str, script: str, seconds: float, connections: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", f.name, url + "/v1/chat/completions"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(match.group(1)) if match else 0.0


def phase(name: str, url: str, group: int, script: str, args: argparse.Namespace) -> bool:
    rss, rates = [], []
    for _ in range(args.rounds):
        rates.append(wrk(url, script, args.seconds, args.connections))
        rss.append(group_rss_mb(group))
    growth = (rss[-1] - rss[1]) / rss[1] if len(rss) > 1 else 0.0  # round 1 is warm-up
    ok = growth < GROWTH_BUDGET
    print(
        f"memory soak ({name}): {sum(rates) / len(rates):.0f} req/s; RSS MB per round "
        f"{' '.join(f'{r:.0f}' for r in rss)}; growth after warm-up {growth * 100:+.1f}%; "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("memory soak: wrk is not installed")
    with running_server("--workers", str(args.workers), "--ttft", "0", "--itl", "0") as url:
        group = server_group(int(url.rsplit(":", 1)[1]))
        ok = phase("one model", url, group, SAME_MODEL, args)
        ok = phase("new model id per request", url, group, NEW_MODEL, args) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
