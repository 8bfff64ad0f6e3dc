"""Durability under a worker crash: uploads acknowledged before, during and after a kill -9 survive it.

    python benches/durability.py                       # 200 concurrent uploads, --workers 2
    python benches/durability.py --uploads 400 --kb 256

Starts ``fakeai server --workers 2 --data-dir <tmp>``, posts ``--uploads`` files of ``--kb`` KiB (each
distinct) to ``/v1/files`` at once, kills one worker with SIGKILL while they run, and polls ``/health``
on fresh connections the whole time. Then it stops the server, starts it again on the same data
directory and reads every acknowledged file back. One line: uploads acknowledged, acknowledged files
present and byte-identical after the restart (must be all), ``/health`` answers during the kill, and
whether the dead worker was replaced. Uploads in flight on the killed worker fail (their connection
is reset); they were never acknowledged, so nothing is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import sys
import tempfile
import time

import httpx

from fakeai.runtime.process import children, free_port, spawn, stop

TIME_BOX_S = 120


def start(port: int, data_dir: str, workers: int):
    cmd = [sys.executable, "-m", "fakeai", "server", "--host", "127.0.0.1", "--port", str(port)]
    return spawn([*cmd, "--workers", str(workers), "--data-dir", data_dir, "--log-level", "warning"], port)


async def run(base: str, server_pid: int, uploads: int, kb: int) -> tuple[dict[str, str], list[bool], bool]:
    payloads = [os.urandom(kb * 1024) for _ in range(uploads)]
    acked: dict[str, str] = {}
    health: list[bool] = []
    stop_polling = asyncio.Event()

    async def upload(client: httpx.AsyncClient, i: int) -> None:
        try:
            r = await client.post(
                base + "/v1/files",
                files={"file": (f"f{i}.bin", payloads[i])},
                data={"purpose": "user_data"},
            )
        except httpx.HTTPError:
            return
        if r.status_code == 200:
            acked[r.json()["id"]] = hashlib.sha256(payloads[i]).hexdigest()

    async def poll() -> None:
        while not stop_polling.is_set():
            try:
                async with httpx.AsyncClient(timeout=2) as fresh:
                    health.append((await fresh.get(base + "/health")).status_code == 200)
            except httpx.HTTPError:
                health.append(False)
            await asyncio.sleep(0.02)

    workers = children(server_pid)
    victim = min(workers)
    limits = httpx.Limits(max_connections=uploads)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        poller = asyncio.create_task(poll())
        tasks = [asyncio.create_task(upload(client, i)) for i in range(uploads)]
        await asyncio.sleep(0.2)  # uploads in flight
        os.kill(victim, signal.SIGKILL)
        await asyncio.gather(*tasks)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = children(server_pid)
            if len(now) == len(workers) and victim not in now:
                break
            await asyncio.sleep(0.1)
        replaced = len(now) == len(workers) and victim not in now
        stop_polling.set()
        await poller
    return acked, health, replaced


def check(base: str, acked: dict[str, str]) -> tuple[int, int]:
    present = identical = 0
    with httpx.Client(base_url=base, timeout=30) as http:
        for file_id, digest in acked.items():
            r = http.get(f"/v1/files/{file_id}/content")
            if r.status_code == 200:
                present += 1
                identical += hashlib.sha256(r.content).hexdigest() == digest
    return present, identical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--kb", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fakeai-durability-") as data_dir:
        port = free_port()
        proc = start(port, data_dir, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            acked, health, replaced = asyncio.run(
                asyncio.wait_for(run(base, proc.pid, args.uploads, args.kb), TIME_BOX_S)
            )
        finally:
            stop(proc)
        proc = start(port, data_dir, args.workers)
        try:
            present, identical = check(base, acked)
        finally:
            stop(proc)
    ok = present == identical == len(acked) and replaced
    print(
        f"durability: {len(acked)}/{args.uploads} uploads acknowledged; after restart {present} present, "
        f"{identical} byte-identical; /health during the kill {sum(health)}/{len(health)} ok; "
        f"worker replaced: {'yes' if replaced else 'NO'}; {'PASS' if ok else 'FAIL'} "
        f"({time.monotonic() - started:.1f} s)"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
