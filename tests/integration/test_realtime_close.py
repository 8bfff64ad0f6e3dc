"""``/v1/realtime`` closing: a session its client closes gets the server's close frame at once and
leaves no socket behind, however far its response had got.

Sessions closed right after ``response.create`` used to leave a few sockets in a thousand in
CLOSE-WAIT, their close unanswered: the handler returned while a response's send held granian's
transport, and granian, which only try-locks it then, never closed it. Many concurrent sessions on two
workers, with granian's info logging on (it logs each write to a closed socket from inside the send,
waiting for the GIL while it holds the transport), make that race show up in every run.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest
from websockets.asyncio.client import connect

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="counts sockets in /proc/net/tcp"),
]

SESSIONS = 300
ROUNDS = 4
#: The state column of /proc/net/tcp for CLOSE-WAIT: the peer closed, this side never did.
CLOSE_WAIT = "08"


def close_wait(port: int) -> int:
    """Sockets on local ``port`` in CLOSE-WAIT."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for row in rows:
                    local, state = row.split()[1:4:2]
                    count += state == CLOSE_WAIT and int(local.rsplit(":", 1)[1], 16) == port
        except FileNotFoundError:
            continue
    return count


async def create_and_close(url: str) -> bool:
    """Open a session, ask for a response and close at once: True if the server's close frame came."""
    ws = await connect(url, open_timeout=20, close_timeout=2)
    await asyncio.wait_for(ws.recv(), 20)  # session.created
    await ws.send(json.dumps({"type": "response.create"}))
    await ws.close()
    return ws.protocol.close_rcvd is not None


async def sessions(url: str) -> int:
    """Sessions, ``SESSIONS`` at once for ``ROUNDS`` rounds, whose close went unanswered."""
    unanswered = 0
    for _ in range(ROUNDS):
        closed = await asyncio.gather(*(create_and_close(url) for _ in range(SESSIONS)))
        unanswered += closed.count(False)
    return unanswered


def test_sessions_closed_during_their_response_all_close(start_server, tmp_path):
    log = tmp_path / "server.log"
    with (
        log.open("wb") as output,
        # 300 sessions at once, a round opened as the last one's closes end: no session cap
        start_server(
            "--workers", "2", "--log-level", "info", "--max-realtime-sessions", "0", output=output
        ) as url,
    ):
        port = int(url.rsplit(":", 1)[1])
        ws_url = url.replace("http://", "ws://") + "/v1/realtime?model=gpt-4o-realtime-preview"
        unanswered = asyncio.run(sessions(ws_url))
        deadline = time.monotonic() + 2  # the server's side of each close takes a moment
        while close_wait(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (unanswered, close_wait(port)) == (0, 0)
    assert "Traceback" not in log.read_text(errors="replace")
