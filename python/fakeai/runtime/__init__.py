"""How a server runs as processes: granian and its worker processes (``server``), data-parallel ranks
each serving on its own port (``data_parallel``), TLS certificate files (``tls``), the shared-memory
directory every worker of one server opens (``shared``), what a command and a server do when the reader
of their output goes away (``output``), and a server as a child process for tests and benchmarks
(``process``).

``shared`` sits at the bottom, beside ``_core`` and ``settings``: the engine, gateway, observability and
store open their cross-worker tables through it. The other modules sit at the top, beside ``cli``."""
