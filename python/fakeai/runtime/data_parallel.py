"""Data-parallel ranks: ``fakeai server --data-parallel-size N`` runs N servers, rank k on port + k.

Each rank is a whole ``fakeai server`` process tree (its own granian workers, its own process group and
its own shared-memory directory, so its simulated engine and its metrics are its own), started with the
same settings plus ``--data-parallel-rank k``. This process only supervises: Ctrl-C or SIGTERM stops
every rank (SIGINT to each process group, SIGKILL after a grace period), and so does any rank exiting
on its own, after which the command exits with that rank's status; a rank whose supervisor is killed
outright gets SIGTERM from the kernel (Linux). With ``--self-signed-certs`` one certificate is
generated here and shared by all ranks.

A rank's own settings say ``--data-parallel-size 1`` (it serves one port and starts no ranks), so the
supervisor also tells it how many ranks there are (:data:`RANKS_ENV`): each rank's start-up summary
names ``--data-parallel-size N`` and its rank among the options (:mod:`fakeai.runtime.summary`).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from fakeai.runtime import shared, tls
from fakeai.settings import Settings

log = logging.getLogger("fakeai")
#: How long a rank gets to stop after SIGINT before its process group is killed: well under the 10 s
#: that ``fakeai.runtime.process.stop`` (tests, benchmarks) gives this supervisor, so that a rank that missed
#: its SIGINT (one still starting up) is killed by the supervisor, not left behind.
GRACE_SECONDS = 4.0
PR_SET_PDEATHSIG = 1
#: The number of ranks, in each rank's environment (for its start-up summary only).
RANKS_ENV = "FAKEAI_DATA_PARALLEL_RANKS"


def rank_settings(settings: Settings, rank: int) -> Settings:
    return settings.replace(port=settings.port + rank, data_parallel_size=1, data_parallel_rank=rank)


def serve_ranks(settings: Settings) -> int:
    """Run every rank until interrupted or until one exits; returns the exit status."""
    directory = shared.create_dir()
    try:
        certs = tls.files(settings, directory)
        if certs and settings.self_signed_certs:
            log.info("self-signed certificate for all ranks: %s", certs[0])
            settings = settings.replace(
                self_signed_certs=False, ssl_certfile=str(certs[0]), ssl_keyfile=str(certs[1])
            )
        return _supervise(settings)
    finally:
        shared.remove_dir(directory)


def _supervise(settings: Settings) -> int:
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    base_env = {k: v for k, v in os.environ.items() if k != shared.ENV}
    ranks: list[subprocess.Popen[bytes]] = []
    status = 0
    try:
        for rank in range(settings.data_parallel_size):
            env = {
                **base_env,
                **rank_settings(settings, rank).to_env(),
                RANKS_ENV: str(settings.data_parallel_size),
            }
            cmd = [sys.executable, "-m", "fakeai", "server"]
            # preexec_fn is safe here: the supervisor runs no other thread
            rank_proc = subprocess.Popen(
                cmd,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
            ranks.append(rank_proc)
        log.info(
            "%d data-parallel ranks on ports %d-%d",
            len(ranks),
            settings.port,
            settings.port + len(ranks) - 1,
        )
        while not stop.wait(0.2):
            exited = next((p for p in ranks if p.poll() is not None), None)
            if exited is not None:
                status = exited.returncode
                log.warning("rank %d exited with status %d; stopping the others", ranks.index(exited), status)
                break
    finally:
        _stop_all(ranks)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _die_with_parent() -> None:
    """In a rank, before exec: get SIGTERM if this supervisor dies without stopping it (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop_all(ranks: list[subprocess.Popen[bytes]]) -> None:
    for proc in ranks:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + GRACE_SECONDS
    for proc in ranks:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
