"""Peak memory of one long stream: the server's peak RSS growth for a 100k-token chat stream vs a short one.

    python benches/stream_memory.py                           # this build
    python benches/stream_memory.py --base-site DIR           # + another build side by side
    python benches/stream_memory.py --tokens 50000

A long stream's steps are rendered window by window as they go out (``fakeai._core.Steps``), not all
up front, so its memory is its tokens rather than its rendered chunks. Starts ``fakeai server
--workers 1 --ttft 0 --itl 0`` (with ``PYTHONPATH=DIR`` for ``--base-site``: a build installed with
``pip install --no-deps --target DIR <checkout>``), streams a short answer, then one of ``--tokens``
tokens (``ignore_eos``), reading it as it comes, and prints the growth of the server's peak RSS
(``VmHWM`` of its processes, Linux ``/proc``) after each.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import httpx

from fakeai.runtime.process import running_server


def peak_rss_mb(port: int) -> float:
    """The sum of VmHWM over the processes of the server listening on ``port``."""
    group = None
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"server" in cmd and b"--port" in cmd and str(port).encode() in cmd:
            group = os.getpgid(int(cmdline.parent.name))
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if os.getpgid(int(status.parent.name)) != group:
                continue
            text = status.read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def stream(client: httpx.Client, tokens: int) -> int:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "tell me everything"}],
        "max_tokens": tokens,
        "ignore_eos": True,
        "stream": True,
        "seed": 1,
    }
    size = 0
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes():
            size += len(chunk)
    return size


def measure(name: str, env: dict[str, str] | None, tokens: int) -> None:
    with running_server("--workers", "1", "--ttft", "0", "--itl", "0", env=env) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with httpx.Client(base_url=url, timeout=300) as client:
            stream(client, 16)
            before = peak_rss_mb(port)
            stream(client, 16)
            small = peak_rss_mb(port)
            size = stream(client, tokens)
            large = peak_rss_mb(port)
    print(
        f"{name:<12} short stream: peak RSS +{small - before:6.1f} MB   "
        f"{tokens}-token stream ({size / 1e6:.1f} MB sent): peak RSS +{large - small:6.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--base-site", help="another build's site directory, measured first")
    args = parser.parse_args()
    if args.base_site:
        measure("base", {"PYTHONPATH": os.path.abspath(args.base_site)}, args.tokens)
    measure("this build", None, args.tokens)


if __name__ == "__main__":
    main()
