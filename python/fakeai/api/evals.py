"""``/v1/evals``: evals (create, list, retrieve, update, delete), their runs (create, list, retrieve,
cancel, delete) and the runs' output items (list, retrieve); and ``/v1/fine_tuning/alpha/graders``
(``run``, ``validate``) over the same graders (:mod:`fakeai.engine.graders`).

Shapes are OpenAI's API reference's: ids ``eval_``, ``evalrun_``, ``outputitem_`` and 32 hex digits;
a create answers 201 (as the reference documents); lists are cursor pages (``after``, ``limit`` 1-100,
``order`` ascending by default; evals also ``order_by`` ``created_at`` or ``updated_at``, the
latter sorting every eval in memory, runs a ``status`` filter, output items ``status``
``pass``/``fail``). A run is ``queued`` when created and
runs in the background (:mod:`fakeai.engine.evals`). Until it has counted anything its
``per_model_usage`` and ``per_testing_criteria_results`` are empty lists (OpenAI's examples show
null; the SDK's types declare lists); its ``error`` is null unless it failed, as OpenAI sends it. A
run without a model (``jsonl``) has ``model: ""``, and its name defaults to its model or
``jsonl``. Each testing criterion is echoed with the ``id`` (``name-uuid``) that names it in results,
as OpenAI's list example shows; a model grader's string content is echoed as an ``input_text`` part.

Checked when created (a 400 naming the parameter): the graders (:func:`fakeai.engine.graders.check`;
``multi`` is a grader of the alpha endpoints only, and ``label_model`` of evals and multi graders
only, as the SDK's unions have them; ``text_similarity`` criteria need ``pass_threshold``); a
``completions`` or ``responses`` run over rows needs ``model`` and ``input_messages``; a
``file_content`` row outside a ``custom`` eval's ``item_schema`` (:mod:`fakeai.engine.eval_data`);
a ``file_id`` that names no file. An unknown eval, run or output item id is a 404. An eval, a run
or an update that does not fit ``--max-storage-bytes`` is a 400 ``storage_quota_exceeded`` (a run
whose output items stop fitting fails with that code: :mod:`fakeai.engine.evals`).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import fetch, json_body, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.engine import eval_data, graders, templates
from fakeai.engine.evals import EVAL, OUTPUT_ITEM, RUN, RUNNABLE, TERMINAL
from fakeai.errors import bad_request, missing, not_found
from fakeai.schemas.evals import (
    CompletionsSource,
    CreateEval,
    CreateRun,
    CustomConfig,
    FileContent,
    FileId,
    LabelModel,
    LogsConfig,
    Multi,
    RunGrader,
    TemplateMessages,
    TextSimilarity,
    UpdateEval,
    ValidateGrader,
)
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import live_file

RUN_STATUSES = ("queued", "in_progress", "completed", "canceled", "failed")
CRITERIA_TYPES = "'label_model', 'string_check', 'text_similarity', 'python' or 'score_model'"
ALPHA_TYPES = "'string_check', 'text_similarity', 'python', 'score_model' or 'multi'"
#: The ``sample`` a ``custom`` eval with ``include_sample_schema`` describes.
SAMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "model": {"type": "string"},
        "choices": {"type": "array", "items": {"type": "object"}},
        "usage": {"type": "object"},
        "output_text": {"type": "string"},
        "output_json": {"type": "object"},
        "output_tools": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["model", "choices", "output_text"],
}
ERROR_FLAGS = (
    "formula_parse_error",
    "sample_parse_error",
    "truncated_observation_error",
    "unresponsive_reward_error",
    "invalid_variable_error",
    "other_error",
    "python_grader_server_error",
    "python_grader_runtime_error",
    "model_grader_server_error",
    "model_grader_refusal_error",
    "model_grader_parse_error",
)


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def present(obj: Obj) -> Obj:
    """A stored object without its private (``_``) fields."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _filtered(store: Store, kind: str, tag: str, request: Request, keep: Callable[[Obj], bool]) -> Response:
    """A cursor page of the ``kind`` objects with ``tag`` that ``keep`` keeps."""
    limit, order, after = page_params(request, default_order="asc")
    data: list[Obj] = []
    while True:
        page, more = store.page(kind, tag=tag, after=after, limit=100, order=order)
        for obj in page:
            if keep(obj):
                if len(data) == limit:
                    return list_response(data, True)
                data.append(present(obj))
        if not more or not page:
            return list_response(data, False)
        after = page[-1]["id"]


def _status_filter(request: Request, allowed: tuple[str, ...]) -> Callable[[Obj], bool]:
    status = request.query_params.get("status")
    if status is None:
        return lambda _: True
    if status not in allowed:
        raise bad_request(
            f"Invalid value for 'status': {status[:64]!r}; expected one of {', '.join(allowed)}.",
            param="status",
        )
    return lambda obj: obj["status"] == status


def _data_source_config(config: object) -> Obj:
    if isinstance(config, CustomConfig):
        properties: Obj = {"item": config.item_schema}
        if config.include_sample_schema:
            properties["sample"] = SAMPLE_SCHEMA
        required = ["item", "sample"] if config.include_sample_schema else ["item"]
        return {
            "type": "custom",
            "schema": {"type": "object", "properties": properties, "required": required},
        }
    kind = "logs" if isinstance(config, LogsConfig) else "stored_completions"
    schema = {
        "type": "object",
        "properties": {"item": {"type": "object"}, "sample": {"type": "object"}},
        "required": ["item", "sample"],
    }
    return {"type": kind, "metadata": getattr(config, "metadata", None), "schema": schema}


def _criteria(req: CreateEval) -> list[Obj]:
    shown = []
    for at, grader in enumerate(req.testing_criteria):
        param = f"testing_criteria[{at}]"
        if isinstance(grader, Multi):
            raise bad_request(
                f"Invalid value for '{param}.type': 'multi'; expected {CRITERIA_TYPES}.",
                param=f"{param}.type",
                code="invalid_value",
            )
        if isinstance(grader, TextSimilarity) and grader.pass_threshold is None:
            raise missing(f"{param}.pass_threshold")
        graders.check(grader, param)
        shown.append({**graders.present(grader), "id": f"{grader.name}-{uuid.uuid4()}"})
    return shown


def _check_run(store: Store, evaluation: Obj, req: CreateRun) -> Obj:
    """The run's data source as it is echoed, after the checks of the module docs."""
    source = req.data_source
    shown: Obj = msgspec.to_builtins(source)
    if isinstance(source, CompletionsSource) or source.__struct_config__.tag == "responses":
        sampling = isinstance(source.source, (FileContent, FileId))  # type: ignore[union-attr]
        given = source.input_messages  # type: ignore[union-attr]
        if sampling and given is None:
            raise missing("data_source.input_messages")
        if sampling and source.model is None:  # type: ignore[union-attr]
            raise missing("data_source.model")
        if isinstance(given, TemplateMessages):
            graders.check_messages(given.template, "data_source.input_messages.template")
            shown["input_messages"]["template"] = [graders.present_message(m) for m in given.template]
        elif given is not None and templates.check_path(given.item_reference):
            raise bad_request(
                f"Invalid 'item_reference': {templates.check_path(given.item_reference)}.",
                param="data_source.input_messages.item_reference",
            )
    rows = source.source
    if isinstance(rows, FileId) and live_file(store, rows.id) is None:
        raise bad_request(
            f"No file found with id '{rows.id}'.", param="data_source.source.id", code="invalid_file"
        )
    schema = evaluation["_item_schema"]
    if isinstance(rows, FileContent) and schema is not None:
        for at, row in enumerate(rows.content):
            problem = eval_data.schema_problem(schema, row.item)
            if problem:
                raise bad_request(
                    f"The data source does not match the eval's item_schema: {problem}.",
                    param=f"data_source.source.content[{at}].item",
                    code="invalid_data_source",
                )
    return shown


def _alpha_grader(grader: object) -> None:
    if isinstance(grader, LabelModel):
        raise bad_request(
            f"Invalid value for 'grader.type': 'label_model'; expected {ALPHA_TYPES}.",
            param="grader.type",
            code="invalid_value",
        )


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    limit = ctx.settings.max_body_bytes
    create_eval = msgspec.json.Decoder(CreateEval)
    update_eval = msgspec.json.Decoder(UpdateEval)
    create_run = msgspec.json.Decoder(CreateRun)
    run_grader = msgspec.json.Decoder(RunGrader)
    validate_grader = msgspec.json.Decoder(ValidateGrader)

    def eval_of(request: Request) -> Obj:
        return fetch(store, EVAL, request.path_params["eval_id"], "eval")

    def run_of(request: Request) -> Obj:
        run = store.get(RUN, request.path_params["run_id"])
        if run is None or run["eval_id"] != request.path_params["eval_id"]:
            raise not_found("eval run", request.path_params["run_id"])
        return run

    async def create(request: Request) -> Response:
        req = await json_body(request, create_eval, limit)
        now = int(time.time())
        config = req.data_source_config
        evaluation = {
            "object": "eval",
            "id": _id("eval_"),
            "name": req.name or "",
            "data_source_config": _data_source_config(config),
            "testing_criteria": _criteria(req),
            "created_at": now,
            "metadata": req.metadata or {},
            "_updated_at": time.time(),
            "_item_schema": config.item_schema if isinstance(config, CustomConfig) else None,
        }
        try:
            store.insert(EVAL, evaluation, quota=ctx.settings.max_storage_bytes)
        except StorageFull as exc:
            raise quota_exceeded(exc, None) from None
        return json_response(present(evaluation), 201)

    async def list_evals(request: Request) -> Response:
        order_by = request.query_params.get("order_by", "created_at")
        if order_by not in ("created_at", "updated_at"):
            raise bad_request(
                f"Invalid value for 'order_by': {order_by[:64]!r}; expected 'created_at' or 'updated_at'.",
                param="order_by",
            )
        if order_by == "created_at":
            return _filtered(store, EVAL, "", request, lambda _: True)
        size, order, after = page_params(request, default_order="asc")
        every = sorted(store.all(EVAL, tag=""), key=lambda e: e["_updated_at"], reverse=order == "desc")
        start = next((i + 1 for i, e in enumerate(every) if e["id"] == after), 0) if after else 0
        chosen = every[start : start + size]
        return list_response([present(e) for e in chosen], start + size < len(every))

    async def retrieve(request: Request) -> Response:
        return json_response(present(eval_of(request)))

    async def update(request: Request) -> Response:
        req = await json_body(request, update_eval, limit)
        evaluation = eval_of(request)
        if req.name is not None:
            evaluation["name"] = req.name
        if req.metadata is not None:
            evaluation["metadata"] = req.metadata
        evaluation["_updated_at"] = time.time()
        try:
            if not store.update(EVAL, evaluation, quota=ctx.settings.max_storage_bytes):
                raise not_found("eval", evaluation["id"])
        except StorageFull as exc:
            raise quota_exceeded(exc, "metadata" if req.metadata is not None else "name") from None
        return json_response(present(evaluation))

    async def delete(request: Request) -> Response:
        eval_id = request.path_params["eval_id"]
        if store.delete(EVAL, eval_id) is None:
            raise not_found("eval", eval_id)
        for run in store.all(RUN, tag=eval_id):
            store.delete(RUN, run["id"])
            store.delete_all(OUTPUT_ITEM, tag=run["id"])
        return json_response({"object": "eval.deleted", "deleted": True, "eval_id": eval_id})

    async def create_run_(request: Request) -> Response:
        evaluation = eval_of(request)
        req = await json_body(request, create_run, limit)
        data_source = _check_run(store, evaluation, req)
        model = getattr(req.data_source, "model", None) or ""
        run_id = _id("evalrun_")
        run = {
            "object": "eval.run",
            "id": run_id,
            "eval_id": evaluation["id"],
            "report_url": f"https://platform.openai.com/evaluations/{evaluation['id']}?run_id={run_id}",
            "status": "queued",
            "model": model,
            "name": req.name or model or "jsonl",
            "created_at": int(time.time()),
            "result_counts": {"total": 0, "errored": 0, "failed": 0, "passed": 0},
            "per_model_usage": [],
            "per_testing_criteria_results": [],
            "data_source": data_source,
            "error": None,
            "metadata": req.metadata or {},
        }
        try:
            store.insert(RUN, run, tag=evaluation["id"], quota=ctx.settings.max_storage_bytes)
        except StorageFull as exc:
            raise quota_exceeded(exc, None) from None
        return json_response(run, 201)

    async def list_runs(request: Request) -> Response:
        evaluation = eval_of(request)
        return _filtered(store, RUN, evaluation["id"], request, _status_filter(request, RUN_STATUSES))

    async def retrieve_run(request: Request) -> Response:
        return json_response(present(run_of(request)))

    async def cancel_run(request: Request) -> Response:
        while True:
            run = run_of(request)
            if run["status"] in TERMINAL:
                raise bad_request(
                    f"Cannot cancel a run with status '{run['status']}'.", code="invalid_run_state"
                )
            canceled = {**run, "status": "canceled"}
            if store.update(RUN, canceled, expect=RUNNABLE):
                return json_response(present(canceled))

    async def delete_run(request: Request) -> Response:
        run = run_of(request)
        store.delete(RUN, run["id"])
        store.delete_all(OUTPUT_ITEM, tag=run["id"])
        return json_response({"object": "eval.run.deleted", "deleted": True, "run_id": run["id"]})

    async def list_items(request: Request) -> Response:
        run = run_of(request)
        return _filtered(store, OUTPUT_ITEM, run["id"], request, _status_filter(request, ("pass", "fail")))

    async def retrieve_item(request: Request) -> Response:
        run = run_of(request)
        item = store.get(OUTPUT_ITEM, request.path_params["output_item_id"])
        if item is None or item["run_id"] != run["id"]:
            raise not_found("eval run output item", request.path_params["output_item_id"])
        return json_response(item)

    async def validate(request: Request) -> Response:
        req = await json_body(request, validate_grader, limit)
        _alpha_grader(req.grader)
        graders.check(req.grader, "grader")
        return json_response({"grader": graders.present(req.grader)})

    async def run_(request: Request) -> Response:
        req = await json_body(request, run_grader, limit)
        _alpha_grader(req.grader)
        graders.check(req.grader, "grader")
        return json_response(_run_grader(req))

    base, run_base = "/v1/evals/{eval_id}", "/v1/evals/{eval_id}/runs/{run_id}"
    return [
        Route("/v1/evals", create, methods=["POST"]),
        Route("/v1/evals", list_evals, methods=["GET"]),
        Route(base, retrieve, methods=["GET"]),
        Route(base, update, methods=["POST"]),
        Route(base, delete, methods=["DELETE"]),
        Route(base + "/runs", create_run_, methods=["POST"]),
        Route(base + "/runs", list_runs, methods=["GET"]),
        Route(run_base, retrieve_run, methods=["GET"]),
        Route(run_base, delete_run, methods=["DELETE"]),
        Route(run_base + "/cancel", cancel_run, methods=["POST"]),
        Route(run_base + "/output_items", list_items, methods=["GET"]),
        Route(run_base + "/output_items/{output_item_id}", retrieve_item, methods=["GET"]),
        Route("/v1/fine_tuning/alpha/graders/run", run_, methods=["POST"]),
        Route("/v1/fine_tuning/alpha/graders/validate", validate, methods=["POST"]),
    ]


def _run_grader(req: RunGrader) -> Obj:
    """``POST /v1/fine_tuning/alpha/graders/run``'s answer: the reward, or 0 with the flag of what
    kept the grader from scoring set in ``metadata.errors``."""
    grader = req.grader
    namespace = {
        "item": req.item if req.item is not None else {},
        "sample": templates.sample_namespace(req.model_sample),
    }
    errors: Obj = dict.fromkeys(ERROR_FLAGS, False)
    errors.update(
        python_grader_server_error_type=None,
        python_grader_runtime_error_details=None,
        model_grader_server_error_details=None,
    )
    start = time.perf_counter()
    try:
        result = graders.grade(grader, namespace)
    except graders.GraderError as exc:
        errors[exc.kind] = True
        result = graders.Grade(0.0)
    per_model = {
        model: {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c, "cached_tokens": 0}
        for model, (p, c, _) in result.usage.items()
    }
    tokens = sum(u["total_tokens"] for u in per_model.values())
    return {
        "reward": result.score,
        "metadata": {
            "name": grader.name,
            "type": grader.__struct_config__.tag,
            "errors": errors,
            "execution_time": time.perf_counter() - start,
            "scores": dict(result.sub_rewards),
            "token_usage": tokens if per_model else None,
            "sampled_model_name": next(iter(per_model), None),
        },
        "sub_rewards": dict(result.sub_rewards),
        "model_grader_token_usage_per_model": per_model,
    }
