"""``_core.pyi`` describes the compiled ``fakeai._core`` exactly: every registered name, every signature.

mypy's ``stubtest`` imports the extension and compares it with the stub, so a function added to (or
changed in) the Rust bindings without its stub fails here instead of drifting silently.
"""

from __future__ import annotations

import subprocess
import sys


def test_stub_matches_the_compiled_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "fakeai._core", "--concise"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"_core.pyi differs from fakeai._core:\n{result.stdout}{result.stderr}"
