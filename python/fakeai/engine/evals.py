"""Running an eval run in the background: ``queued -> in_progress -> completed`` (or ``failed``, or
``canceled`` by the client), through the Poller (:mod:`fakeai.engine.background`), so any worker
process may run it and every worker answers the same, the state being the store's.

Per row (``datasource_item_id`` is its index in the data source): the sample
(:mod:`fakeai.engine.eval_samples`) for ``completions`` and ``responses`` runs, or the row's own for
``jsonl``; then every testing criterion (:mod:`fakeai.engine.graders`); then one
``eval.run.output_item``, status ``pass`` when every criterion passed, else ``fail``. A row whose
sample has an ``error``, or that a grader could not score, counts as ``errored`` in
``result_counts`` (and ``fail`` in the list filter); failing rows as ``failed``; the rest as
``passed``. ``per_testing_criteria_results`` counts each criterion's passes and fails (an errored
grade is a fail); ``per_model_usage`` adds the sampled model's tokens and the model graders'.

The rows are answered as fast as the engine generates them (no simulated wall time); progress is
saved with a compare-and-set every :data:`STEP` rows (so a cancel or a delete stops the run there),
with the lease renewed. Output item ids are derived from the run id and the row index, so a worker
taking over a run whose worker died resumes from the saved row and does not write a row twice.

Output items count against ``--max-storage-bytes`` (a file of many rows makes as many items, each
with its sample): one that does not fit fails the run with the code ``storage_quota_exceeded``,
keeping the items written so far. The run's own progress is only counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.concurrency import run_in_threadpool

from fakeai.engine import eval_data, graders
from fakeai.engine.background import Job, Lease, LeaseLost
from fakeai.engine.eval_samples import Sampled, record, sample
from fakeai.schemas.evals import CompletionsSource, DataSource, FileContent, FileId, Grader, JsonlSource
from fakeai.store import Conflict, Obj, StorageFull, Store
from fakeai.store.objects import live_file

if TYPE_CHECKING:
    from fakeai.context import ServerContext

log = logging.getLogger("fakeai")

EVAL, RUN, OUTPUT_ITEM = "eval", "eval.run", "eval.run.output_item"
RUNNABLE = ("queued", "in_progress")
TERMINAL = ("completed", "failed", "canceled")
STEP = 16


def output_item_id(run_id: str, index: int) -> str:
    return "outputitem_" + hashlib.sha256(f"{run_id}:{index}".encode()).hexdigest()[:32]


def criteria(evaluation: Obj) -> list[tuple[str, Grader]]:
    """The eval's testing criteria: ``(id, grader)`` (the id is ``name-uuid``, as OpenAI names them)."""
    return [
        (c["id"], msgspec.convert({k: v for k, v in c.items() if k != "id"}, Grader))
        for c in evaluation["testing_criteria"]
    ]


def rows(store: Store, data_source: DataSource) -> list[eval_data.Row]:
    """The rows of a run's data source (raises :class:`eval_data.BadData`)."""
    source = data_source.source
    if isinstance(source, FileContent):
        return [(row.item, row.sample) for row in source.content]
    if isinstance(source, FileId):
        blob = store.open_blob(source.id) if live_file(store, source.id) is not None else None
        if blob is None:
            raise eval_data.BadData(f"the file '{source.id}' was deleted or has expired")
        return eval_data.read_file(blob)
    body = msgspec.to_builtins(source)
    if isinstance(data_source, CompletionsSource):
        return eval_data.stored_completions(store, body)
    return eval_data.stored_responses(store, body)


class Tally:
    """A run's counts as it goes (saved in the run's private ``_state``)."""

    def __init__(self, state: Obj | None, names: list[str]) -> None:
        state = state or {}
        self.next: int = state.get("next", 0)
        self.counts: Obj = state.get("counts") or {"total": 0, "errored": 0, "failed": 0, "passed": 0}
        self.criteria: Obj = state.get("criteria") or {name: [0, 0] for name in names}
        #: ``model -> [invocations, prompt, completion, cached]``
        self.usage: dict[str, list[int]] = state.get("usage") or {}

    def add_usage(self, model: str, calls: int, prompt: int, completion: int, cached: int = 0) -> None:
        held = self.usage.setdefault(model, [0, 0, 0, 0])
        for i, n in enumerate((calls, prompt, completion, cached)):
            held[i] += n

    def shown(self) -> Obj:
        """The run's public counters."""
        return {
            "result_counts": dict(self.counts),
            "per_model_usage": [
                {
                    "model_name": model,
                    "invocation_count": calls,
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "cached_tokens": cached,
                }
                for model, (calls, prompt, completion, cached) in self.usage.items()
            ],
            "per_testing_criteria_results": [
                {"testing_criteria": name, "passed": p, "failed": f} for name, (p, f) in self.criteria.items()
            ],
        }

    def state(self) -> Obj:
        return {"next": self.next, "counts": self.counts, "criteria": self.criteria, "usage": self.usage}


class EvalRunner:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.store: Store = ctx.store
        self.decoder = msgspec.json.Decoder(DataSource)

    def job(self) -> Job:
        return Job(RUN, RUNNABLE, self.run)

    async def run(self, run: Obj, lease: Lease) -> None:
        try:
            await self._run(run, lease)
        except LeaseLost:
            raise
        except StorageFull as exc:
            message = f"The run's output items do not fit the storage quota (--max-storage-bytes): {exc}."
            self._fail(self.store.get(RUN, run["id"]) or run, "storage_quota_exceeded", message)
        except Exception:
            log.exception("eval run %s failed", run["id"])
            self._fail(run, "server_error", "The run failed unexpectedly.")

    def _fail(self, run: Obj, code: str, message: str) -> None:
        failed = {**run, "status": "failed", "error": {"code": code, "message": message}}
        self.store.update(RUN, failed, expect=RUNNABLE)

    def _save(self, run: Obj, tally: Tally, status: str) -> bool:
        run.update(tally.shown(), status=status, _state=tally.state())
        if self.store.update(RUN, run, expect=("in_progress",)):
            return True
        if self.store.get(RUN, run["id"]) is None:  # deleted meanwhile: drop what it wrote since
            self.store.delete_all(OUTPUT_ITEM, tag=run["id"])
        return False

    async def _run(self, run: Obj, lease: Lease) -> None:
        evaluation = self.store.get(EVAL, run["eval_id"])
        if evaluation is None:
            self._fail(run, "eval_not_found", f"The eval '{run['eval_id']}' was deleted.")
            return
        tested = criteria(evaluation)
        data_source = self.decoder.decode(msgspec.json.encode(run["data_source"]))
        try:
            found = await run_in_threadpool(rows, self.store, data_source)
            schema = evaluation["data_source_config"]
            if evaluation["_item_schema"] is not None:
                for at, (item, _) in enumerate(found):
                    problem = eval_data.schema_problem(evaluation["_item_schema"], item)
                    if problem:
                        raise eval_data.BadData(f"row {at}: {problem} (the eval's {schema['type']} schema)")
        except eval_data.BadData as exc:
            self._fail(run, "invalid_data_source", f"The run's data source is invalid: {exc}.")
            return
        tally = Tally(run.get("_state"), [name for name, _ in tested])
        if run["status"] == "queued":
            run = {**run, "status": "in_progress"}
            if not self.store.update(RUN, run, expect=("queued",)):
                return
        while tally.next < len(found):
            end = min(len(found), tally.next + STEP)
            for index in range(tally.next, end):
                self._row(run, data_source, tested, index, *found[index], tally)
                await asyncio.sleep(0)
            tally.next = end
            lease.renew()
            if not self._save(run, tally, "in_progress"):
                return
        self._save(run, tally, "completed")

    def _row(
        self,
        run: Obj,
        data_source: DataSource,
        tested: list[tuple[str, Grader]],
        index: int,
        item: Obj,
        own: Obj | None,
        tally: Tally,
    ) -> None:
        if isinstance(data_source, JsonlSource) or not isinstance(data_source.source, (FileContent, FileId)):
            sampled = _given(own, data_source)
        else:
            sampled = sample(self.ctx, data_source, item)
            if sampled.record["error"] is None:
                model = sampled.record["model"] or "unknown"
                tally.add_usage(
                    model, 1, sampled.prompt_tokens, sampled.completion_tokens, sampled.cached_tokens
                )
        results: list[Obj] = []
        errored = sampled.record["error"] is not None
        if not errored:
            namespace = {"item": item, "sample": sampled.namespace}
            for name, grader in tested:
                result: Obj = {"name": name, "type": grader.__struct_config__.tag, "sample": None}
                try:
                    grade = graders.grade(grader, namespace)
                except graders.GraderError as exc:
                    errored = True
                    result.update(score=0.0, passed=False, error={"code": exc.kind, "message": str(exc)})
                else:
                    result.update(
                        score=grade.score, passed=graders.passed(grader, grade.score), sample=grade.sample
                    )
                    for model, (prompt, completion, calls) in grade.usage.items():
                        tally.add_usage(model, calls, prompt, completion)
                tally.criteria[name][0 if result["passed"] else 1] += 1
                results.append(result)
        ok = not errored and all(r["passed"] for r in results)
        tally.counts["total"] += 1
        tally.counts["errored" if errored else "passed" if ok else "failed"] += 1
        output_item = {
            "object": "eval.run.output_item",
            "id": output_item_id(run["id"], index),
            "created_at": int(time.time()),
            "run_id": run["id"],
            "eval_id": run["eval_id"],
            "status": "pass" if ok else "fail",
            "datasource_item_id": index,
            "datasource_item": item,
            "results": results,
            "sample": sampled.record,
        }
        try:
            self.store.insert(
                OUTPUT_ITEM, output_item, tag=run["id"], quota=self.ctx.settings.max_storage_bytes
            )
        except Conflict:
            pass  # written by a worker that ran this row before it died: the same row, the same item


def _given(own: Obj | None, data_source: Any) -> Sampled:
    """The sample a row brings (a ``jsonl`` line's, or a stored completion's or response's)."""
    params = (1.0, 1.0, 0, 42)
    if own is None:
        return Sampled(record([], None, "", "", (0, 0, 0), params), None)
    text = own.get("output_text")
    model = own.get("model")
    body = record(
        [],
        text if isinstance(text, str) else None,
        "stop",
        model if isinstance(model, str) else "",
        (0, 0, 0),
        params,
    )
    return Sampled(body, own)
