"""fakeai: a simulated inference server speaking the OpenAI API (plus NVIDIA NIM, AI-Dynamo and DCGM extras).

Start it with ``fakeai server``; build an app in-process with :func:`fakeai.app.create_app`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fakeai")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

#: Where the documentation lives (also the package's project URL).
DOCS_URL = "https://github.com/ajcasagrande/fakeai#readme"

__all__ = ["DOCS_URL", "__version__"]
