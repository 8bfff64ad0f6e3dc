"""A ``fakeai server`` as a child process: started on a free loopback port, awaited, stopped.

Used by the pytest plugin's fixtures, the test suite and the benchmarks, so that every one of them
starts and stops servers the same way (and the benchmarks measure their CPU the same way).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")

STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair() -> int:
    """A port P free on 127.0.0.1 with P + 1 free too (data-parallel rank 1 serves on P + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


def run_fakeai(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = STARTUP_SECONDS
) -> subprocess.CompletedProcess[str]:
    """Run ``fakeai ARGS`` to its end (a command, or a server expected to refuse to start), capturing
    its output as text; the exit status is the caller's to check."""
    return subprocess.run(
        [sys.executable, "-m", "fakeai", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


class ServerFailed(RuntimeError):
    """The server exited, or did not answer ``/health``, while starting."""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_healthy(proc: subprocess.Popen[bytes], url: str, log: IO[bytes] | None = None) -> None:
    """Wait until ``url`` (a server's ``/health``) answers 200: :class:`ServerFailed` if ``proc``
    exits first (with its output, when ``log`` holds it) or after :data:`STARTUP_SECONDS`."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _healthy(url):
        if proc.poll() is not None:
            said = "(see its output)"
            if log is not None:
                log.seek(0)
                said = log.read().decode(errors="replace")
            raise ServerFailed(f"fakeai server exited at start: {said}")
        if time.monotonic() > deadline:
            raise ServerFailed(f"fakeai server did not answer {url} within {STARTUP_SECONDS:.0f} s")
        time.sleep(0.05)


def server_cmd(port: int, *flags: str) -> list[str]:
    """The command of ``fakeai server FLAGS`` on 127.0.0.1:``port``, run by this interpreter."""
    return [sys.executable, "-m", "fakeai", "server", "--host", "127.0.0.1", "--port", str(port), *flags]


def wait_for(predicate: Callable[[], T], seconds: float = 20.0, step: float = 0.05) -> T:
    """``predicate()`` once it is truthy, polling every ``step`` seconds; after ``seconds``, whatever it
    returns then."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


@contextmanager
def running_server(
    *flags: str,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    health_url: str | None = None,
    output: IO[bytes] | None = None,
) -> Iterator[str]:
    """Start ``fakeai server FLAGS`` on 127.0.0.1 (a free port unless given), wait until ``/health``
    answers, yield the base URL, and stop the whole process group on exit. The server's output
    (stdout and stderr) goes to ``output`` when given (a file: read it after the block), else to a
    temporary file, never to a pipe nobody reads: a server whose output filled one would block on its
    next log line."""
    port = port or free_port()
    cmd = server_cmd(port, "--log-level", "warning", *flags)
    log = tempfile.TemporaryFile() if output is None else None
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=log or output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, health_url or base + "/health", log)
        yield base
    finally:
        stop(proc)
        if log is not None:
            log.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Interrupt ``proc``'s process group (granian stops its workers), killing it after 10 s."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_listening(port: int, timeout: float = STARTUP_SECONDS) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ServerFailed(f"nothing listened on port {port} within {timeout:.0f} s")


def spawn(
    cmd: Sequence[str], port: int, env: Mapping[str, str] | None = None, cwd: str | Path | None = None
) -> subprocess.Popen[bytes]:
    """Start any server command in its own process group (output discarded) and wait until it
    listens on ``port``; stop it with :func:`stop`."""
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port)
    except ServerFailed:
        stop(proc)
        raise
    return proc


def _stats() -> Iterator[tuple[int, list[str]]]:
    """``(pid, fields)`` of every live process (Linux ``/proc/PID/stat``, the fields after the command
    name: ``fields[0]`` is the state, ``[1]`` the parent, ``[2]`` the process group)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        yield int(stat.parent.name), fields


def group_cpu_seconds(group: int) -> float:
    """User + system CPU seconds of every live process in process group ``group``."""
    ticks = sum(int(f[11]) + int(f[12]) for _, f in _stats() if int(f[2]) == group)  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def group_rss_mb(group: int) -> float:
    """Resident memory of every live process in process group ``group``, in MB."""
    pages = sum(int(f[21]) for _, f in _stats() if int(f[2]) == group)
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def children(pid: int) -> set[int]:
    """The live child processes of ``pid``, e.g. a server's granian workers."""
    return {child for child, f in _stats() if int(f[1]) == pid and f[0] != "Z"}
