"""Background jobs whose file is deleted while they pick it up, on a server of two workers.

Each job's file is deleted through the API at staggered moments around the workers' pickup (before
they look it up, between the lookup and the open, after the open). Whichever way each race goes, the
job ends as the API says it does: a batch ``failed`` with ``invalid_file`` or ``completed``, a
fine-tuning job ``failed`` with ``invalid_training_file`` or validated, a vector store file ``failed``
with ``invalid_file`` or ``completed``; the errors name the file, and the server logs no traceback.
The window between the lookup and the open is microseconds wide, so this run rarely lands in it:
``tests/unit/test_stored_file_races.py`` puts the delete there every time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

pytestmark = pytest.mark.integration

ROUNDS = 12
#: Seconds between creating a job and deleting its file, spread over the pollers' 0.1 s period.
DELAYS = [i * 0.15 / ROUNDS for i in range(ROUNDS)]
CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
LINE = {"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"model": "m", "input": "x"}}


def settle(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not done(current := read()):
        assert time.monotonic() < deadline, current
        time.sleep(0.05)
    return current


def test_jobs_whose_file_is_deleted_meanwhile_end_with_their_error(start_server, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    flags = ("--ttft", "0", "--itl", "0", "--workers", "2", "--batch-duration", "0")
    with (
        log.open("wb") as output,
        start_server(*flags, "--fine-tune-duration", "60", output=output) as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=20) as client,
    ):

        def batch(delay: float) -> str:
            file = client.files.create(file=("in.jsonl", json.dumps(LINE).encode() + b"\n"), purpose="batch")
            created = client.batches.create(
                input_file_id=file.id, endpoint="/v1/embeddings", completion_window="24h"
            )
            time.sleep(delay)
            client.files.delete(file.id)
            ended = settle(
                lambda: client.batches.retrieve(created.id), lambda b: b.status in ("completed", "failed")
            )
            if ended.status == "failed":
                assert [(e.code, e.message) for e in ended.errors.data] == [
                    ("invalid_file", f"The input file '{file.id}' was deleted or has expired.")
                ]
            return ended.status

        def fine_tune(delay: float) -> str:
            file = client.files.create(
                file=("t.jsonl", (json.dumps(CHAT) + "\n").encode() * 12), purpose="fine-tune"
            )
            created = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file.id)
            time.sleep(delay)
            client.files.delete(file.id)
            job = settle(
                lambda: client.fine_tuning.jobs.retrieve(created.id), lambda j: j.status != "validating_files"
            )
            if job.status == "failed":
                assert job.error is not None and (job.error.code, job.error.param) == (
                    "invalid_training_file",
                    "training_file",
                )
                assert (
                    job.error.message
                    == f"File '{file.id}' does not exist or does not have purpose 'fine-tune'."
                )
                return "failed"
            client.fine_tuning.jobs.cancel(created.id)  # validated before the delete: training
            return "validated"

        def vector_store_file(delay: float) -> str:
            file = client.files.create(file=("a.txt", b"alpha beta gamma " * 500), purpose="assistants")
            vs = client.vector_stores.create(name="race")
            client.vector_stores.files.create(vector_store_id=vs.id, file_id=file.id)
            time.sleep(delay)
            client.files.delete(file.id)
            vsf = settle(
                lambda: client.vector_stores.files.retrieve(file.id, vector_store_id=vs.id),
                lambda f: f.status != "in_progress",
            )
            if vsf.status == "failed":
                assert vsf.last_error is not None and (vsf.last_error.code, vsf.last_error.message) == (
                    "invalid_file",
                    f"The file '{file.id}' was deleted or has expired.",
                )
            else:
                assert vsf.status == "completed"
            client.vector_stores.delete(vs.id)
            return vsf.status

        with ThreadPoolExecutor(6) as pool:
            outcomes = {
                name: list(pool.map(run, DELAYS))
                for name, run in (
                    ("batch", batch),
                    ("fine_tune", fine_tune),
                    ("vector_store_file", vector_store_file),
                )
            }
    said = log.read_text(errors="replace")
    assert "Traceback" not in said and "ERROR" not in said, said[-3000:]
    # the file deleted before the job got to it, at least at the shortest delays
    assert all("failed" in statuses for statuses in outcomes.values()), outcomes
