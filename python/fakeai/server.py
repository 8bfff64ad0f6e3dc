"""Running the app under granian, with one app factory per worker process."""

from __future__ import annotations

import logging
import os

from fakeai import shared
from fakeai.settings import Settings

log = logging.getLogger("fakeai")


def serve(settings: Settings) -> None:
    """Serve until interrupted. Workers rebuild ``settings`` from the ``FAKEAI_*`` environment and
    open the shared-memory files in the directory this process creates for them."""
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    logging.basicConfig(level=settings.log_level.upper(), format="[%(levelname)s] %(name)s: %(message)s")
    os.environ.update(settings.to_env())
    shm_dir = shared.create_dir()
    os.environ[shared.ENV] = str(shm_dir)
    log.info(
        "fakeai serving on http://%s:%d with %d worker(s); TTFT %s ms, ITL %s ms",
        settings.host,
        settings.port,
        settings.workers,
        "per model" if settings.ttft_ms is None else settings.ttft_ms,
        "per model" if settings.itl_ms is None else settings.itl_ms,
    )
    server = Granian(
        "fakeai.app:app_from_env",
        factory=True,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        interface=Interfaces.ASGI,
        loop=Loops.auto,
        log_level=LogLevels(settings.log_level),
        backlog=4096,
    )
    try:
        server.serve()
    finally:
        shared.remove_dir(shm_dir)
