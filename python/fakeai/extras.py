"""Optional dependencies: each serves one feature and comes with one extra of the ``fakeai`` package.

A plain ``pip install fakeai`` serves every endpoint. The packages below are needed only by the feature
named, and are imported only when it is used; without them that feature stops with one line saying
what to install (``fakeai[all]`` installs every extra):

- ``--self-signed-certs``: extra ``tls`` (cryptography);
- ``--kv-events``: extra ``kv-events`` (pyzmq);
- a YAML ``--config`` file: extra ``yaml`` (pyyaml; TOML files need nothing);
- the pytest plugin's ``fakeai_client`` fixture and the README's examples: extra ``client`` (openai).
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Importable module -> (pip extra, what needs it).
EXTRAS = {
    "cryptography": ("tls", "--self-signed-certs"),
    "zmq": ("kv-events", "--kv-events"),
    "yaml": ("yaml", "a YAML scenario file"),
    "openai": ("client", "the fakeai_client fixture"),
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message is the one-line hint to install it."""


def hint(module: str) -> str:
    """The one line that says what needs ``module`` and how to install it."""
    extra, feature = EXTRAS[module]
    return f"{feature} needs the {module} package: pip install 'fakeai[{extra}]'"


def require(module: str) -> ModuleType:
    """Import ``module`` (a key of :data:`EXTRAS`), or raise :class:`MissingExtra` with its hint."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(hint(module)) from None
