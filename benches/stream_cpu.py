"""CPU per stream of fakeai's chat stream path in-process, beside the bare floor app, with no server.

    python benches/stream_cpu.py                        # fakeai and the floor, 1,000 streams in flight
    python benches/stream_cpu.py --ref DIR --rounds 4   # + another build (pip install --no-deps --target DIR)

``benches/stream_fidelity.py`` measures the real thing (granian, sockets, a load client), but on a shared
2-core machine its figures move by 10-20 % from one run to the next. This drives the ASGI app directly in
one process, on one asyncio loop: ``--streams`` streamed chat requests in flight (64 tokens, TTFT 50 ms,
ITL 10 ms, as there) until ``--total`` have run, each with a ``receive`` that hands over the body and a
``send`` that completes at once and counts the tokens: it reads every byte it is given, as a server's
copy of the body into its socket buffer does, so a chunk that went cold in memory costs here as it
would there. The figure is the process's CPU time per stream,
so what fakeai adds per stream (decoding, rendering, metering, the middleware, the pacer's writes)
shows up beside the floor (``benches/bare_stream.py``: prebuilt chunks, the same ticker) without
granian's and the kernel's share. Each kind runs in a fresh interpreter; with ``--rounds`` the kinds
alternate and the medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BODY = json.dumps(
    {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Tell me about inference servers."}],
        "max_tokens": 64,
        "ignore_eos": True,
        "stream": True,
    }
).encode()
CONTENT = b'{"content":"'


def scope() -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }


async def drive(app, streams: int, total: int) -> int:
    """Run ``total`` streams, ``streams`` at a time; returns the tokens received."""
    tokens = 0
    gate = asyncio.Semaphore(streams)

    async def one() -> None:
        nonlocal tokens
        sent = False
        never = asyncio.get_running_loop().create_future()

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": BODY, "more_body": False}
            return await never  # the client never leaves

        async def send(message: dict) -> None:
            nonlocal tokens
            if message["type"] == "http.response.body":
                tokens += message["body"].count(CONTENT)

        async with gate:
            await app(scope(), receive, send)

    await asyncio.gather(*(one() for _ in range(total)))
    return tokens


def child(kind: str, streams: int, total: int) -> None:
    """In a fresh interpreter: build the app, warm it up, print CPU us per stream."""
    with tempfile.TemporaryDirectory() as data:
        os.environ.update(
            {
                "FAKEAI_TTFT_MS": "50",
                "FAKEAI_ITL_MS": "10",
                "FAKEAI_JITTER": "0",
                "FAKEAI_KV_WORKERS": "1",
                "FAKEAI_KV_BATCH_SIZE": "0",
                "FAKEAI_KV_CACHE_BLOCKS": "0",
                "FAKEAI_DATA_DIR": data,
            }
        )
        sys.path.insert(0, str(HERE))
        from fakeai.runtime import heap

        if kind == "floor":
            import bare_stream

            app = bare_stream.app
        else:
            from fakeai.app import create_app
            from fakeai.settings import Settings

            app = create_app(Settings.from_env())
        loop = asyncio.new_event_loop()
        loop.run_until_complete(drive(app, 20, 100))
        heap.settle()  # as each server worker does once its app is built
        cpu = time.process_time()
        tokens = loop.run_until_complete(drive(app, streams, total))
        cpu = time.process_time() - cpu
        loop.close()
        if tokens != 64 * total:
            sys.exit(f"{kind}: {tokens} tokens, expected {64 * total}")
        print(cpu / total * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=1000, help="streams in flight")
    parser.add_argument("--total", type=int, default=6000, help="streams in all")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--ref", metavar="DIR", help="also measure the fakeai package in DIR, as 'ref'")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.streams, args.total)
        return
    kinds = {"fakeai": None, **({"ref": args.ref} if args.ref else {}), "floor": None}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind, path in kinds.items():
            env = {**os.environ, **({"PYTHONPATH": str(Path(path).resolve())} if path else {})}
            command = [sys.executable, __file__, "--child", "floor" if kind == "floor" else "fakeai"]
            command += ["--streams", str(args.streams), "--total", str(args.total)]
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
            cpu[kind].append(float(out))
            print(f"{kind:<7} {cpu[kind][-1]:7.1f} us CPU per stream", flush=True)
    medians = {kind: statistics.median(v) for kind, v in cpu.items()}
    floor = medians["floor"]
    print(
        f"{args.streams} streams in flight, median CPU per stream: "
        + ", ".join(f"{k} {m:.1f} us ({m - floor:+.1f} over the floor)" for k, m in medians.items())
    )


if __name__ == "__main__":
    main()
