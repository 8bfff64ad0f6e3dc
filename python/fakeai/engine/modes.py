"""Response modes: ``random`` (seeded generated text) or ``echo`` (the reply is the request's own text).

The server's mode is ``--mode``; a request may choose its own with the ``x-fakeai-mode: echo|random``
header. What echo returns is decided in the Rust core (``rust/fakeai_core/src/echo.rs``).
"""

from __future__ import annotations

from fakeai.asgi import Scope
from fakeai.errors import bad_request

HEADER = b"x-fakeai-mode"
_ECHO = {b"echo": True, b"random": False}


class ResponseMode:
    __slots__ = ("default_echo",)

    def __init__(self, mode: str) -> None:
        self.default_echo = mode == "echo"

    def echo(self, scope: Scope) -> bool:
        """Whether this request is answered in echo mode; a bad header value is a 400."""
        for name, value in scope["headers"]:
            if name == HEADER:
                echo = _ECHO.get(value.strip().lower())
                if echo is None:
                    shown = value.decode(errors="replace")
                    message = f"Invalid x-fakeai-mode header {shown!r}: use 'echo' or 'random'."
                    raise bad_request(message, code="invalid_header")
                return echo
        return self.default_echo
