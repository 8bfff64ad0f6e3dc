"""``--max-realtime-sessions`` (:mod:`fakeai.runtime.ws_sessions`): one server-wide cap on the Realtime
and Responses WebSocket sessions open at once, whichever of two workers accepts each socket; a refused
one gets an ``error`` event ``session_limit_reached`` and close code 1013 (the official SDK included);
closing a session frees its slot, and a killed worker's sessions do not hold the cap."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.sync.client import ClientConnection, connect

from fakeai.runtime.process import children, free_port, server_cmd, spawn, stop, wait_for

pytestmark = pytest.mark.integration

CAP = 4


class Server:
    def __init__(self, cap: int) -> None:
        self.port = free_port()
        flags = ["--workers", "2", "--ttft", "0", "--itl", "0", "--max-realtime-sessions", str(cap)]
        self.proc = spawn(server_cmd(self.port, *flags), self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = wait_for(lambda: len(c := children(self.proc.pid)) == 2 and c)
        assert self.workers, "two workers did not start"

    def realtime(self) -> str:
        return self.url.replace("http://", "ws://") + "/v1/realtime?model=gpt-4o-realtime-preview"

    def responses(self) -> str:
        return self.url.replace("http://", "ws://") + "/v1/responses"

    def holder(self, ws: ClientConnection) -> int | None:
        """The worker process holding ``ws``'s server end (its socket's inode among its descriptors)."""
        client_port = ws.socket.getsockname()[1]
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                local, remote = int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16)
                if local == self.port and remote == client_port:
                    inodes.add(f"socket:[{cols[9]}]")
        for pid in children(self.proc.pid):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
                except OSError:
                    continue
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = Server(CAP)
    try:
        yield s
    finally:
        stop(s.proc)


def dial(url: str) -> ClientConnection:
    """A connection held open across steps (closed by the test, or by :func:`close_all`)."""
    return connect(url, max_size=None, legacy=True)


def open_session(server: Server) -> ClientConnection | None:
    """A Realtime session (its ``session.created`` read), or None when it was refused."""
    ws = dial(server.realtime())
    first = json.loads(ws.recv(timeout=10))
    if first["type"] == "session.created":
        return ws
    assert_refused(ws, first)
    return None


def assert_refused(ws: ClientConnection, first: dict, status: int | None = None) -> None:
    assert first["type"] == "error", first
    error = first["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "session_limit_reached"
    assert f"maximum of {CAP} concurrent WebSocket sessions" in error["message"]
    assert first.get("status") == status
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013


def session_when_free(server: Server, seconds: float = 10.0) -> ClientConnection:
    """A session, retried until a slot is free (a closed session is released when its handler ends)."""
    ws = wait_for(lambda: open_session(server), seconds)
    assert ws is not None, "no slot was freed"
    return ws


def fill_both_workers(server: Server) -> list[ClientConnection]:
    """CAP open sessions, held by both workers (a session on the busier worker is closed and another
    opened until the other worker holds one too)."""
    sessions = [session_when_free(server) for _ in range(CAP)]
    for _ in range(40):
        by_worker: dict[int | None, list[ClientConnection]] = {}
        for ws in sessions:
            by_worker.setdefault(server.holder(ws), []).append(ws)
        if len(by_worker) == 2 and None not in by_worker:
            return sessions
        victim = max(by_worker.values(), key=len)[0]
        victim.close()
        sessions.remove(victim)
        sessions.append(session_when_free(server))  # closing one frees its slot
    pytest.fail("the sessions never spread over both workers")


def close_all(sessions: list[ClientConnection]) -> None:
    for ws in sessions:
        ws.close()


def test_the_cap_is_one_for_the_whole_server_and_closing_frees_a_slot(server: Server) -> None:
    sessions = fill_both_workers(server)
    try:
        for _ in range(10):  # whichever worker accepts the socket refuses it
            ws = dial(server.realtime())
            assert_refused(ws, json.loads(ws.recv(timeout=10)))
        # the Responses WebSocket counts in the same pool, and is refused in its own event's form
        ws = dial(server.responses())
        assert_refused(ws, json.loads(ws.recv(timeout=10)), status=429)
        sessions.pop().close()
        ws = wait_for(lambda: (c := dial(server.responses())) and not _refused_at_once(c) and c)
        assert ws, "a Responses socket was not accepted once a slot was free"
        ws.send(
            json.dumps({"type": "response.create", "model": "gpt-4o-mini", "input": "Hi", "generate": False})
        )
        assert json.loads(ws.recv(timeout=10))["type"] == "response.created"
        assert open_session(server) is None  # the Responses socket holds the freed slot
        ws.close()
        sessions.append(session_when_free(server))
    finally:
        close_all(sessions)


def _refused_at_once(ws: ClientConnection) -> bool:
    """Whether a Responses socket (which sends nothing on its own) was refused."""
    try:
        first = json.loads(ws.recv(timeout=0.3))
    except TimeoutError:
        return False
    assert_refused(ws, first, status=429)
    return True


def test_the_sdk_user_sees_the_error_and_close_code(server: Server) -> None:
    sessions = [session_when_free(server) for _ in range(CAP)]
    try:
        with openai.OpenAI(base_url=server.url + "/v1", api_key="test-key", max_retries=0) as client:
            with client.realtime.connect(model="gpt-4o-realtime-preview") as conn:
                event = conn.recv()
                assert event.type == "error" and event.error.code == "session_limit_reached"
                assert "--max-realtime-sessions" in event.error.message
                with pytest.raises(ConnectionClosedError) as closed:
                    conn.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    finally:
        close_all(sessions)


def test_a_killed_workers_sessions_do_not_hold_the_cap() -> None:
    server = Server(CAP)
    sessions: list[ClientConnection] = []
    try:
        sessions = [session_when_free(server) for _ in range(CAP)]
        holders = [server.holder(ws) for ws in sessions]
        victim = holders[0]
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        survivors = [ws for ws, pid in zip(sessions, holders, strict=True) if pid != victim]
        lost = CAP - len(survivors)
        replaced = wait_for(lambda: len(c := children(server.proc.pid)) == 2 and victim not in c and c)
        assert replaced, "the killed worker was not replaced"
        for _ in range(lost):  # the dead worker's slots are free again
            sessions.append(session_when_free(server))
        assert open_session(server) is None  # and the cap still holds
    finally:
        close_all(sessions)
        stop(server.proc)
