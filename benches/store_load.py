"""Store load benchmark: upload throughput and batch throughput of a real ``fakeai server``.

    python benches/store_load.py                                  # 10 MB files x 4 clients, 2000-request batch
    python benches/store_load.py --file-mb 10 --clients 8 --files 32 --batch 5000 --workers 2

Uploads: ``--files`` files of ``--file-mb`` MB each are posted to ``/v1/files`` by ``--clients``
concurrent clients; printed is the MB/s of the whole run, beside the floor measured in the same run
(the same bytes written with ``open().write`` + ``fsync`` into the same data directory, one stream
per client), and a byte-for-byte check of one file read back. Batch: a ``--batch``-request chat batch
is created with ``--batch-duration 0``; printed is requests/s from creation to ``completed`` (the
batch's own validating/in_progress/finalizing path, through the same engine as the live endpoint).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fakeai.runtime.process import free_port, spawn, stop


def start(port: int, data_dir: str, workers: int) -> subprocess.Popen[bytes]:
    flags = ["--ttft", "0", "--itl", "0", "--batch-duration", "0", "--workers", str(workers)]
    cmd = [sys.executable, "-m", "fakeai", "server", "--port", str(port), "--data-dir", data_dir, *flags]
    return spawn([*cmd, "--log-level", "warning"], port)


def floor_mb_s(directory: Path, data: bytes, files: int, clients: int) -> float:
    def write(i: int) -> None:
        path = directory / f"floor-{i}"
        with path.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        path.unlink()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(write, range(files)))
    return files * len(data) / 1e6 / (time.perf_counter() - start)


def upload_mb_s(base: str, data: bytes, files: int, clients: int) -> tuple[float, bool]:
    def upload(i: int) -> str:
        with httpx.Client(timeout=120) as http:
            r = http.post(
                base + "/v1/files", files={"file": (f"f{i}.bin", data)}, data={"purpose": "user_data"}
            )
            r.raise_for_status()
            return r.json()["id"]

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        ids = list(pool.map(upload, range(files)))
    elapsed = time.perf_counter() - start
    same = httpx.get(f"{base}/v1/files/{ids[0]}/content", timeout=60).content == data
    for file_id in ids:
        httpx.delete(f"{base}/v1/files/{file_id}")
    return files * len(data) / 1e6 / elapsed, same


def batch_rps(base: str, requests: int) -> tuple[float, int]:
    lines = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": f"question {i}"}],
                "max_tokens": 16,
            },
        }
        for i in range(requests)
    ]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    file_id = httpx.post(
        base + "/v1/files", files={"file": ("b.jsonl", body)}, data={"purpose": "batch"}, timeout=60
    ).json()["id"]
    start = time.perf_counter()
    spec = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch = httpx.post(base + "/v1/batches", json=spec).json()
    while batch["status"] not in ("completed", "failed", "cancelled", "expired"):
        time.sleep(0.02)
        batch = httpx.get(f"{base}/v1/batches/{batch['id']}").json()
    elapsed = time.perf_counter() - start
    return requests / elapsed, batch["request_counts"]["completed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file-mb", type=float, default=10)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    data = os.urandom(int(args.file_mb * 1e6))
    with tempfile.TemporaryDirectory(prefix="fakeai-bench-") as data_dir:
        port = free_port()
        proc = start(port, data_dir, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            floor = floor_mb_s(Path(data_dir), data, args.files, args.clients)
            mb_s, same = upload_mb_s(base, data, args.files, args.clients)
            rps, completed = batch_rps(base, args.batch)
        finally:
            stop(proc)
    print(f"uploads: {args.files} x {args.file_mb:g} MB, {args.clients} clients, {args.workers} worker(s)")
    print(f"  fakeai /v1/files   {mb_s:8.1f} MB/s   (read back byte-identical: {same})")
    print(f"  write+fsync floor  {floor:8.1f} MB/s   ratio {mb_s / floor:.2f}")
    print(
        f"batch: {args.batch} chat requests -> {completed} completed, {rps:8.0f} requests/s (create to completed)"
    )


if __name__ == "__main__":
    main()
