"""Running the app under granian, with one app factory per worker process."""

from __future__ import annotations

import copy
import logging
import os
import sys
from pathlib import Path
from typing import Any

from fakeai import store
from fakeai.runtime import data_parallel, listen, output, shared, summary, tls
from fakeai.runtime.control import open_control_table, start_clock
from fakeai.settings import Settings

log = logging.getLogger("fakeai")
#: Requests one worker process takes on at once (granian's ``backpressure``): far above any load test.
BACKPRESSURE = 65536
#: Seconds a worker gets to stop gracefully (finish its streams) before it is killed.
WORKERS_KILL_SECONDS = 5


def log_config(settings: Settings) -> dict[str, Any]:
    """granian's logging configuration (applied in the main process and in every worker) plus
    fakeai's loggers: ``fakeai`` at ``--log-level`` and, with ``--access-log``, ``fakeai.access`` at
    info whatever the level, both on standard output beside granian's own lines. Every handler drops
    its lines quietly once the reader of its stream is gone (:class:`fakeai.runtime.output.LogHandler`)."""
    from granian.log import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    for handler in config["handlers"].values():
        handler["class"] = f"{output.__name__}.{output.LogHandler.__name__}"
    config["loggers"]["fakeai"] = {
        "handlers": ["console"],
        "level": settings.log_level.upper(),
        "propagate": False,
    }
    config["loggers"]["fakeai.access"] = {
        "handlers": ["access"],
        "level": "INFO" if settings.access_log else "WARNING",
        "propagate": False,
    }
    # The form parser warns of every malformed multipart body, which is already answered with a 400.
    config["loggers"]["python_multipart"] = {"handlers": ["console"], "level": "ERROR", "propagate": False}
    return config


def serve(settings: Settings) -> None:
    """Serve until interrupted. Workers rebuild ``settings`` from the ``FAKEAI_*`` environment and
    open the shared-memory files in the directory this process creates for them."""
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.http import HTTP1Settings, HTTP2Settings
    from granian.log import LogLevels

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="[%(levelname)s] %(name)s: %(message)s",
        handlers=[output.LogHandler(sys.stderr)],
    )
    try:
        host, port = listen.check_free(settings.host, settings.port)
        for rank in range(1, settings.data_parallel_size):  # --port 0 has one rank (Settings checks)
            listen.check_free(settings.host, settings.port + rank)
    except listen.BindError as e:
        sys.exit(f"fakeai: {e}")
    # --port 0: the free port found; a host name: its address (granian binds IP addresses only)
    settings = settings.replace(host=host, port=port)
    listen.raise_descriptor_limit()
    if settings.data_parallel_size > 1:
        sys.exit(data_parallel.serve_ranks(settings))
    os.environ.update(settings.to_env())
    shm_dir = shared.create_dir()
    os.environ[shared.ENV] = str(shm_dir)
    start_clock(open_control_table())  # --startup-duration counts from here
    certs = tls.files(settings, shm_dir)
    temp_data_dir = None if settings.data_dir else store.create_temp_dir()
    if temp_data_dir is not None:
        os.environ[store.ENV] = str(temp_data_dir)
    # no worker runs yet: every temp file is a crash's, and the database is made before they race to
    store.prepare(temp_data_dir or Path(settings.data_dir))
    server = Granian(
        "fakeai.app:app_from_env",
        factory=True,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        interface=Interfaces.ASGI,
        loop=Loops.auto,
        log_level=LogLevels(settings.log_level),
        log_dictconfig=log_config(settings),
        backlog=4096,
        # granian caps the requests one worker runs at once at backlog / workers by default; the
        # simulated scheduler (--max-num-seqs, --kv-batch-size) is what should limit them here.
        backpressure=BACKPRESSURE,
        # a worker that hangs while stopping (granian can, when a signal lands during its start-up)
        # is killed after this long instead of keeping the server alive
        workers_kill_timeout=WORKERS_KILL_SECONDS,
        # a worker that dies (kill -9, out of memory) is replaced while the others keep serving;
        # granian still stops the server when a replacement dies again within seconds (crash loop)
        respawn_failed_workers=True,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, round(settings.header_read_timeout_s * 1000))
        ),
        # HTTP/2 (ALPN over TLS, prior knowledge in clear): a request's headers are held to what one
        # HTTP/1.1 head may hold (granian's default is 16 MiB, times 200 streams a connection)
        http2_settings=HTTP2Settings(max_headers_size=HTTP1Settings().max_buffer_size),
        ssl_cert=certs[0] if certs else None,
        ssl_key=certs[1] if certs else None,
    )

    @server.on_startup
    def serving() -> None:  # once granian has bound the address, before the workers start
        ranks = int(os.environ.get(data_parallel.RANKS_ENV) or 1)
        for line in summary.lines(settings, "https" if certs else "http", ranks):
            log.info("%s", line)
        if certs and settings.self_signed_certs:
            log.info("self-signed certificate: %s", certs[0])

    try:
        server.serve()
    finally:
        shared.remove_dir(shm_dir)
        if temp_data_dir is not None:
            store.remove_temp_dir(temp_data_dir)
