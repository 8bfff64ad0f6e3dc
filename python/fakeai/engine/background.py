"""Background work that outlives the request that asked for it, shared by every worker process.

Each worker runs one poller (started by the app's lifespan). Work items are store objects in a
"runnable" status; a poller *claims* one with a lease in the store, runs it while renewing the lease,
and releases it. Whichever worker is idle picks work up, and work whose worker died or stalled is
taken over by another once its lease expires, so nothing depends on the worker that created it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from fakeai.store import Obj, Store

log = logging.getLogger("fakeai")

POLL_S = 0.1
LEASE_S = 10.0
#: Work items one worker runs at once, per kind.
CONCURRENCY = 4


class LeaseLost(Exception):
    """Another worker took this work over (our lease expired): stop without writing anything."""


@dataclass(slots=True)
class Lease:
    store: Store
    kind: str
    id: str
    owner: str

    def renew(self) -> None:
        if not self.store.renew(self.kind, self.id, self.owner, LEASE_S):
            raise LeaseLost(self.id)


@dataclass(frozen=True, slots=True)
class Job:
    """A kind of background work: objects of ``kind`` in ``statuses`` are run by ``run(obj, lease)``."""

    kind: str
    statuses: tuple[str, ...]
    run: Callable[[Obj, Lease], Awaitable[None]]


class Poller:
    def __init__(self, store: Store, jobs: list[Job]) -> None:
        self.store = store
        self.jobs = jobs
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.running: dict[str, set[asyncio.Task[None]]] = {job.kind: set() for job in jobs}

    async def loop(self) -> None:
        while True:
            for job in self.jobs:
                tasks = self.running[job.kind]
                while len(tasks) < CONCURRENCY:
                    obj = self.store.claim(job.kind, job.statuses, self.owner, LEASE_S)
                    if obj is None:
                        break
                    task = asyncio.create_task(self._run(job, obj), name=obj["id"])
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            await asyncio.sleep(POLL_S)

    async def _run(self, job: Job, obj: Obj) -> None:
        lease = Lease(self.store, job.kind, obj["id"], self.owner)
        try:
            await job.run(obj, lease)
        except LeaseLost:
            log.info("%s %s was taken over by another worker", job.kind, obj["id"])
        except Exception:
            log.exception("%s %s failed", job.kind, obj["id"])
        finally:
            self.store.release(job.kind, obj["id"], self.owner)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object) -> AsyncIterator[None]:
        task = asyncio.create_task(self.loop())
        try:
            yield
        finally:
            task.cancel()
            for tasks in self.running.values():
                for t in tasks:
                    t.cancel()
