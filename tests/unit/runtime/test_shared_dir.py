"""An app built in-process gets a shared-memory directory of its own, removed when its process exits
(it was left behind by every test process, some 200 directories in /dev/shm after a day's runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os
from fakeai.app import create_app
from fakeai.settings import Settings
create_app(Settings())
print(os.environ["FAKEAI_SHM_DIR"], flush=True)
if os.fork() == 0:  # a forked child exits normally (its atexit handlers run): the directory stays
    raise SystemExit(0)
os.wait()
print(os.path.isdir(os.environ["FAKEAI_SHM_DIR"]), flush=True)
"""


def test_the_directory_of_an_in_process_app_is_removed_at_exit() -> None:
    env = {k: v for k, v in os.environ.items() if k != "FAKEAI_SHM_DIR"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    directory, alive_after_child = out.stdout.split()
    assert alive_after_child == "True"  # the child's exit did not remove it
    assert not Path(directory).exists()  # the creator's did


def test_a_server_given_a_directory_keeps_it(tmp_path: Path) -> None:
    env = {**os.environ, "FAKEAI_SHM_DIR": str(tmp_path)}
    code = "from fakeai.app import create_app\nfrom fakeai.settings import Settings\ncreate_app(Settings())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert tmp_path.is_dir() and any(tmp_path.iterdir())
