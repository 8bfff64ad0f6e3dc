"""Running the app under granian, with one app factory per worker process."""

from __future__ import annotations

import logging
import os
import sys

from fakeai import store
from fakeai.runtime import shared, tls
from fakeai.runtime.control import open_control_table, start_clock
from fakeai.settings import Settings

log = logging.getLogger("fakeai")
#: Requests one worker process takes on at once (granian's ``backpressure``): far above any load test.
BACKPRESSURE = 65536
#: Seconds a worker gets to stop gracefully (finish its streams) before it is killed.
WORKERS_KILL_SECONDS = 5


def serve(settings: Settings) -> None:
    """Serve until interrupted. Workers rebuild ``settings`` from the ``FAKEAI_*`` environment and
    open the shared-memory files in the directory this process creates for them."""
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    logging.basicConfig(level=settings.log_level.upper(), format="[%(levelname)s] %(name)s: %(message)s")
    if settings.data_parallel_size > 1:
        from fakeai.runtime.data_parallel import serve_ranks

        sys.exit(serve_ranks(settings))
    os.environ.update(settings.to_env())
    shm_dir = shared.create_dir()
    os.environ[shared.ENV] = str(shm_dir)
    start_clock(open_control_table())  # --startup-duration counts from here
    certs = tls.files(settings, shm_dir)
    if certs and settings.self_signed_certs:
        log.info("self-signed certificate: %s", certs[0])
    temp_data_dir = None if settings.data_dir else store.create_temp_dir()
    if temp_data_dir is not None:
        os.environ[store.ENV] = str(temp_data_dir)
    log.info(
        "fakeai serving on %s://%s:%d with %d worker(s); TTFT %s ms, ITL %s ms",
        "https" if certs else "http",
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
        # granian caps the requests one worker runs at once at backlog / workers by default; the
        # simulated scheduler (--max-num-seqs, --kv-batch-size) is what should limit them here.
        backpressure=BACKPRESSURE,
        # a worker that hangs while stopping (granian can, when a signal lands during its start-up)
        # is killed after this long instead of keeping the server alive
        workers_kill_timeout=WORKERS_KILL_SECONDS,
        ssl_cert=certs[0] if certs else None,
        ssl_key=certs[1] if certs else None,
    )
    try:
        server.serve()
    finally:
        shared.remove_dir(shm_dir)
        if temp_data_dir is not None:
            store.remove_temp_dir(temp_data_dir)
