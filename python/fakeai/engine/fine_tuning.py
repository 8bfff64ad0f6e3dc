"""Running a fine-tuning job in the background: validate, queue, train (simulated), publish a model.

``validating_files``: the training (and validation) file must exist, have purpose ``fine-tune`` and
hold at least 10 examples of the method's format (chat or prompt/completion for ``supervised``,
preference pairs for ``dpo``); otherwise the job fails with ``error`` (``invalid_training_file``, its
message naming the file; a file another worker deletes before the job has opened it is missing too:
each file is opened once and read from that descriptor). ``queued -> running``: the
steps (``n_epochs`` x examples / ``batch_size``) are spread over ``--fine-tune-duration`` seconds, with
a ``metrics`` event for each of at most 50 of them (a training loss decaying from the seed), and a
checkpoint at the end of each epoch. ``succeeded``: a result CSV file, ``trained_tokens``, and the
``ft:`` model, stored as a ``model`` object so ``/v1/models`` on every worker lists it. Progress is
saved with each step, so a paused job resumes where it stopped and a job whose worker died continues
on another.

What a job writes as it runs counts against ``--max-storage-bytes``: its metrics events, checkpoints
and results file are checked (past the quota the job ends ``failed``, error code
``storage_quota_exceeded``, keeping what it wrote so far); its status, progress, closing events and
``model`` record are only counted (a few hundred bytes, written once it has succeeded).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import BinaryIO

import msgspec
from starlette.concurrency import run_in_threadpool

from fakeai import _core
from fakeai.engine.background import Job, Lease
from fakeai.schemas.files import ChatExample, DpoExample, PromptExample
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import file_object, live_file, new_id

KIND = "fine_tuning.job"
RUNNABLE = ("validating_files", "queued", "running")
MIN_EXAMPLES = 10
MAX_METRIC_EVENTS = 50
DECODERS = {
    "supervised": (msgspec.json.Decoder(ChatExample), msgspec.json.Decoder(PromptExample)),
    "dpo": (msgspec.json.Decoder(DpoExample),),
}


def add_event(
    store: Store,
    job_id: str,
    message: str,
    *,
    kind: str = "message",
    data: Obj | None = None,
    level: str = "info",
    quota: int | None = None,
) -> None:
    event = {
        "id": new_id("ftevent-"),
        "object": "fine_tuning.job.event",
        "created_at": int(time.time()),
        "level": level,
        "message": message,
        "type": kind,
        "data": data or {},
    }
    store.insert("fine_tuning.event", event, tag=job_id, quota=quota)


def count_examples(f: BinaryIO, method: str) -> tuple[int, int, str | None]:
    """``(examples, tokens, problem)`` of a training file (open, closed here) for ``method``."""
    examples = tokens = 0
    with f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            problems = []
            for decoder in DECODERS[method]:
                try:
                    decoder.decode(line)
                    break
                except msgspec.DecodeError as exc:
                    problems.append(str(exc))
            else:
                return examples, tokens, f"line {number} is not a {method} example ({problems[0]})"
            examples += 1
            tokens += _core.count_tokens(line.decode("utf-8", "replace"))
    if examples < MIN_EXAMPLES:
        return (
            examples,
            tokens,
            f"the file has {examples} examples; fine-tuning needs at least {MIN_EXAMPLES}",
        )
    return examples, tokens, None


def hyperparameter(job: Obj, name: str, auto: float) -> float:
    method = job["method"]
    value = method[method["type"]]["hyperparameters"].get(name, "auto")
    return auto if value == "auto" else value


class FineTuningRunner:
    def __init__(self, store: Store, duration: float, quota: int | None = None) -> None:
        self.store = store
        self.duration = duration
        self.quota = quota

    def job(self) -> Job:
        return Job(KIND, RUNNABLE, self.run)

    def _save(self, job: Obj, expect: tuple[str, ...]) -> bool:
        return self.store.update(KIND, job, expect=expect)

    async def run(self, job: Obj, lease: Lease) -> None:
        if job["status"] == "validating_files":
            validated = await self._validate(job)
            if validated is None:
                return
            job = validated
        if job["status"] == "queued":
            job = {**job, "status": "running"}
            if not self._save(job, ("queued",)):
                return
            add_event(self.store, job["id"], "Fine-tuning job started")
        try:
            await self._train(job, lease)
        except StorageFull as exc:
            current = self.store.get(KIND, job["id"]) or job
            message = f"The job's output does not fit the storage quota (--max-storage-bytes): {exc}."
            error = {"code": "storage_quota_exceeded", "message": message, "param": None}
            failed = {**current, "status": "failed", "error": error, "finished_at": int(time.time())}
            if self._save(failed, ("running",)):
                add_event(self.store, job["id"], message, level="error")

    async def _validate(self, job: Obj) -> Obj | None:
        store = self.store  # the creation and validation events were recorded when the job was created
        problem = None
        examples = tokens = 0
        for field in ("training_file", "validation_file"):
            file_id = job[field]
            if file_id is None:
                continue
            file = live_file(store, file_id)
            # opened once: gone by then (deleted by another worker since the lookup) is gone before
            blob = store.open_blob(file_id) if file is not None and file["purpose"] == "fine-tune" else None
            if blob is None:
                problem = f"File '{file_id}' does not exist or does not have purpose 'fine-tune'."
            else:
                n, t, issue = await run_in_threadpool(count_examples, blob, job["method"]["type"])
                problem = problem or (issue and f"Invalid {field.replace('_', ' ')}: {issue}.")
                if field == "training_file":
                    examples, tokens = n, t
            if problem:
                error = {"code": "invalid_training_file", "message": problem, "param": field}
                failed = {**job, "status": "failed", "error": error, "finished_at": int(time.time())}
                if self._save(failed, ("validating_files",)):
                    add_event(store, job["id"], problem, level="error")
                return None
        batch_size = int(hyperparameter(job, "batch_size", max(1, min(32, examples // 10))))
        n_epochs = int(hyperparameter(job, "n_epochs", 3))
        state = {
            "examples": examples,
            "tokens": tokens,
            "step": 0,
            "total_steps": n_epochs * math.ceil(examples / batch_size),
        }
        method = job["method"]
        params = {**method[method["type"]]["hyperparameters"]}
        params.update(batch_size=batch_size, n_epochs=n_epochs)
        params.setdefault("learning_rate_multiplier", 1.8)
        if params["learning_rate_multiplier"] == "auto":
            params["learning_rate_multiplier"] = 1.8
        if method["type"] == "dpo" and params.get("beta", "auto") == "auto":
            params["beta"] = 0.1
        queued = {
            **job,
            "status": "queued",
            "hyperparameters": {k: params[k] for k in ("batch_size", "learning_rate_multiplier", "n_epochs")},
            "method": {**method, method["type"]: {"hyperparameters": params}},
            "_state": state,
        }
        if not self._save(queued, ("validating_files",)):
            return None
        add_event(store, job["id"], "Files validated, moving job to queued state")
        return queued

    async def _train(self, job: Obj, lease: Lease) -> None:
        store = self.store
        state = job["_state"]
        total = max(1, state["total_steps"])
        epochs = job["hyperparameters"]["n_epochs"]
        per_epoch = max(1, total // epochs)
        every = max(1, math.ceil(total / MAX_METRIC_EVENTS))
        rng = random.Random(job["seed"])
        start = time.monotonic() - self.duration * state["step"] / total
        while state["step"] < total:
            state["step"] += 1
            step = state["step"]
            loss = 2.0 * math.exp(-3.0 * step / total) + 0.05 + rng.random() * 0.05
            accuracy = min(1.0, 0.4 + 0.55 * step / total + rng.random() * 0.02)
            metrics = {
                "step": step,
                "train_loss": round(loss, 4),
                "train_mean_token_accuracy": round(accuracy, 4),
                "total_steps": total,
            }
            if step % every == 0 or step == total:
                add_event(
                    store,
                    job["id"],
                    f"Step {step}/{total}: training loss={loss:.4f}",
                    kind="metrics",
                    data=metrics,
                    quota=self.quota,
                )
            if step % per_epoch == 0 or step == total:
                self._checkpoint(job, step, metrics)
            lease.renew()
            if not self._save(job, ("running",)):
                return  # cancelled or paused: progress so far is saved by the pause
            delay = start + self.duration * step / total - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await self._finish(job)

    def _model_name(self, job: Obj, checkpoint: int | None = None) -> str:
        suffix = job["user_provided_suffix"] or ""
        name = f"ft:{job['model']}:fakeai:{suffix}:{job['id'][-8:]}"
        return name if checkpoint is None else f"{name}:ckpt-step-{checkpoint}"

    def _checkpoint(self, job: Obj, step: int, metrics: Obj) -> None:
        checkpoint = {
            "id": new_id("ftckpt_"),
            "object": "fine_tuning.job.checkpoint",
            "created_at": int(time.time()),
            "fine_tuned_model_checkpoint": self._model_name(job, step),
            "fine_tuning_job_id": job["id"],
            "step_number": step,
            "metrics": {
                **{k: v for k, v in metrics.items() if k != "total_steps"},
                "valid_loss": metrics["train_loss"] * 1.05,
                "valid_mean_token_accuracy": metrics["train_mean_token_accuracy"] * 0.98,
                "full_valid_loss": metrics["train_loss"] * 1.08,
                "full_valid_mean_token_accuracy": metrics["train_mean_token_accuracy"] * 0.97,
            },
        }
        self.store.insert("fine_tuning.checkpoint", checkpoint, tag=job["id"], quota=self.quota)

    async def _finish(self, job: Obj) -> None:
        store = self.store
        state = job["_state"]
        rows = ["step,train_loss,train_accuracy"] + [
            f"{e['data']['step']},{e['data']['train_loss']},{e['data']['train_mean_token_accuracy']}"
            for e in store.all("fine_tuning.event", tag=job["id"])
            if e["type"] == "metrics"
        ]
        csv = ("\n".join(rows) + "\n").encode()
        writer = store.blob_writer()
        writer.write(csv)
        result_id = new_id("file-")
        await run_in_threadpool(store.commit_blob, writer, result_id)
        try:
            store.insert(
                "file",
                file_object(result_id, "step_metrics.csv", len(csv), "fine-tune-results"),
                tag="fine-tune-results",
                size=len(csv),
                quota=self.quota,
            )
        except StorageFull:
            store.delete_blob(result_id)
            raise
        name = self._model_name(job)
        done = {
            **job,
            "status": "succeeded",
            "fine_tuned_model": name,
            "finished_at": int(time.time()),
            "trained_tokens": state["tokens"] * job["hyperparameters"]["n_epochs"],
            "result_files": [result_id],
        }
        if not self._save(done, ("running",)):
            return
        model = {
            "id": name,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "user-fakeai",
            "root": job["model"],
            "parent": job["model"],
        }
        store.insert("model", model)
        add_event(store, job["id"], f"New fine-tuned model created: {name}")
        add_event(store, job["id"], "The job has successfully completed")
