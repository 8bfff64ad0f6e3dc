"""The listening side of a server, settled before granian starts.

1. **The port is checked first.** granian's workers bind with ``SO_REUSEPORT`` (Linux), so a second
   server on a busy port would start without a word and take half of the first one's connections. So
   ``fakeai server`` first binds each port it will serve with a plain socket (``SO_REUSEADDR`` only, so
   that connections of an earlier server still in ``TIME_WAIT`` do not count), and refuses to start with
   one line when that fails: ``port 8000 is in use; pass --port``, ``cannot assign requested address
   10.0.0.9 (not an address of this machine); pass --host``. The test socket is closed again at once; the
   window between it and granian's own bind is a few milliseconds.
   ``--port 0`` (any free port) is checked the same way, on the host given (an address this machine
   does not have is the same one line), and the port the test socket got is the one served: the
   server runs as if ``--port`` had named it, so its workers (granian's, each binding for itself
   with ``SO_REUSEPORT``) share that one port, and the URLs it logs are the ones to use. The kernel
   hands out that port from its ephemeral range; the window before granian binds it is the same few
   milliseconds as for a port given.
2. **Descriptors.** Each connection is a descriptor of the worker that accepted it: the soft
   ``RLIMIT_NOFILE`` is raised to the hard limit, so that a worker runs out of descriptors (and stops
   accepting, ``/health`` included) only at the limit the administrator set.
3. **Slow and idle clients** are granian's: ``--header-read-timeout`` closes a connection that has not
   sent a whole request head in time (slowloris), and hyper applies the same timer to a kept-alive
   connection waiting for its next request, so it is also the idle keep-alive timeout. A body that
   stops arriving is the app's (``--body-read-timeout``, :mod:`fakeai.http.body_timeout`), and
   ``--max-connections`` bounds what one worker holds at once (see :mod:`fakeai.runtime.connections`).
"""

from __future__ import annotations

import errno
import socket

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]


class BindError(Exception):
    """The address cannot be served; the message is the one line to print."""


def check_free(host: str, port: int) -> tuple[str, int]:
    """Raise :class:`BindError` unless a listening socket could bind ``host:port`` now; returns the
    address and port it bound: ``host`` as an IP address (granian takes no host name: ``localhost``
    is served as ``127.0.0.1``) and for ``port`` 0 the free port the kernel chose."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise BindError(f"cannot resolve --host {host!r}: {e.strerror}; pass --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            raise BindError(_message(e, host, port)) from None
        return str(address[0]), int(s.getsockname()[1])


def _message(e: OSError, host: str, port: int) -> str:
    if e.errno == errno.EADDRINUSE:
        return f"port {port} is in use; pass --port"
    if e.errno == errno.EADDRNOTAVAIL:
        return f"cannot assign requested address {host} (not an address of this machine); pass --host"
    if e.errno == errno.EACCES:
        return f"permission denied to bind port {port} (ports below 1024 need privileges); pass --port"
    return f"cannot listen on {host}:{port}: {e.strerror}"


def raise_descriptor_limit() -> int:
    """Raise the soft limit on open descriptors to the hard one; returns the limit now in force."""
    if resource is None:  # pragma: no cover
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft
