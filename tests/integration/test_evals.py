"""``/v1/evals`` (evals, runs, output items) and ``/v1/fine_tuning/alpha/graders``, driven with the
official ``openai`` SDK against a real server; every answer is also validated strictly against the
SDK's types (all but an ``error`` that is null, as OpenAI sends it when there is none)."""

from __future__ import annotations

import time
import warnings

import openai
import pytest
from openai.types import EvalCreateResponse, EvalRetrieveResponse
from openai.types.evals import RunRetrieveResponse
from openai.types.evals.runs import OutputItemRetrieveResponse
from openai.types.fine_tuning.alpha import GraderRunResponse

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
warnings.filterwarnings("ignore", category=DeprecationWarning)

SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["question", "answer"],
}
EXACT = {
    "type": "string_check",
    "name": "exact",
    "input": "{{sample.output_text}}",
    "reference": "{{item.answer}}",
    "operation": "eq",
}
CLOSE = {
    "type": "text_similarity",
    "name": "close",
    "input": "{{sample.output_text}}",
    "reference": "{{item.answer}}",
    "evaluation_metric": "fuzzy_match",
    "pass_threshold": 0.0,
}
LABEL = {
    "type": "label_model",
    "name": "label",
    "model": "gpt-4o-mini",
    "input": [{"role": "user", "content": "Is '{{sample.output_text}}' right for {{item.question}}?"}],
    "labels": ["yes", "no"],
    "passing_labels": ["yes"],
}
TEMPLATE = {"type": "template", "template": [{"role": "user", "content": "{{item.question}}"}]}


def rows(n: int) -> list[dict]:
    return [{"item": {"question": f"q{i}", "answer": "yes" if i % 2 else "no"}} for i in range(n)]


def strict(model: type, body: dict) -> None:
    """``body`` validates against the SDK type, a null ``error`` aside."""
    if body.get("error", 0) is None:
        body = {**body, "error": {"code": "", "message": ""}}
    if isinstance(body.get("sample"), dict) and body["sample"].get("error", 0) is None:
        body = {**body, "sample": {**body["sample"], "error": {"code": "", "message": ""}}}
    model.model_validate(body)


def new_eval(client: openai.OpenAI, criteria: list[dict] | None = None, **config: object) -> str:
    return client.evals.create(
        name="qa",
        data_source_config={"type": "custom", "item_schema": SCHEMA, "include_sample_schema": True, **config},
        testing_criteria=criteria or [EXACT, CLOSE],
    ).id


def finished(client: openai.OpenAI, eval_id: str, run_id: str, timeout: float = 20) -> RunRetrieveResponse:
    deadline = time.monotonic() + timeout
    while True:
        run = client.evals.runs.retrieve(run_id, eval_id=eval_id)
        if run.status in ("completed", "failed", "canceled") or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


def test_eval_crud_and_pages(client: openai.OpenAI, http) -> None:
    created = client.evals.create(
        name="crud",
        metadata={"team": "qa"},
        data_source_config={"type": "custom", "item_schema": SCHEMA},
        testing_criteria=[EXACT, LABEL],
    )
    assert created.id.startswith("eval_") and len(created.id) == 37 and created.object == "eval"
    raw = http.get(f"/v1/evals/{created.id}").json()
    strict(EvalRetrieveResponse, raw)
    strict(EvalCreateResponse, raw)
    assert raw["data_source_config"]["schema"]["properties"]["item"] == SCHEMA
    label = raw["testing_criteria"][1]
    assert label["id"].startswith("label-") and label["input"][0]["content"]["type"] == "input_text"
    updated = client.evals.update(created.id, name="renamed", metadata={"team": "ml"})
    assert (updated.name, updated.metadata) == ("renamed", {"team": "ml"})
    assert client.evals.retrieve(created.id).name == "renamed"

    ids = [new_eval(client) for _ in range(3)]
    page = client.evals.list(limit=2, order="desc")
    assert [e.id for e in page.data] == ids[::-1][:2] and page.has_more
    nxt = client.evals.list(limit=2, order="desc", after=page.data[-1].id)
    assert nxt.data[0].id == ids[0]
    body = http.get("/v1/evals", params={"limit": 1, "order_by": "updated_at", "order": "desc"}).json()
    assert body["object"] == "list" and body["first_id"] == body["last_id"] and body["has_more"]
    client.evals.update(ids[0], name="touched")
    assert client.evals.list(limit=1, order="desc", order_by="updated_at").data[0].id == ids[0]

    deleted = client.evals.delete(created.id)
    assert (deleted.deleted, deleted.eval_id, deleted.object) == (True, created.id, "eval.deleted")
    with pytest.raises(openai.NotFoundError):
        client.evals.retrieve(created.id)


def test_completions_run_lifecycle(client: openai.OpenAI, http) -> None:
    eval_id = new_eval(client, [EXACT, CLOSE, LABEL])
    run = client.evals.runs.create(
        eval_id,
        name="mini",
        data_source={
            "type": "completions",
            "model": "gpt-4o-mini",
            "input_messages": TEMPLATE,
            "sampling_params": {"max_completion_tokens": 5, "seed": 7, "temperature": 0.5},
            "source": {"type": "file_content", "content": rows(40)},
        },
    )
    assert run.id.startswith("evalrun_") and run.status == "queued" and run.error is None
    assert run.result_counts.total == 0 and run.per_model_usage == []
    assert run.report_url.endswith(f"{eval_id}?run_id={run.id}")
    done = finished(client, eval_id, run.id)
    assert done.status == "completed"
    counts = done.result_counts
    assert counts.total == 40 and counts.passed + counts.failed + counts.errored == 40
    assert counts.passed == 0  # generated text never equals "yes"/"no" exactly: "exact" fails
    by_name = {r.testing_criteria.split("-")[0]: r for r in done.per_testing_criteria_results}
    assert by_name["exact"].failed == 40 and by_name["close"].passed == 40
    assert by_name["label"].passed + by_name["label"].failed == 40
    usage = {u.run_model_name: u for u in done.per_model_usage}
    assert usage["gpt-4o-mini"].invocation_count == 80  # 40 samples + 40 label grades
    strict(RunRetrieveResponse, http.get(f"/v1/evals/{eval_id}/runs/{run.id}").json())

    items = client.evals.runs.output_items.list(run.id, eval_id=eval_id, limit=100)
    assert [i.datasource_item_id for i in items.data] == list(range(40))
    first = items.data[0]
    assert first.id.startswith("outputitem_") and first.status == "fail"
    assert first.sample.max_completion_tokens == 5 and first.sample.seed == 7
    assert first.sample.usage.completion_tokens <= 5 and first.sample.output[0].role == "assistant"
    assert first.sample.input[0].content == "q0" and first.datasource_item["answer"] == "no"
    assert {r.name.split("-")[0] for r in first.results} == {"exact", "close", "label"}
    raw = http.get(f"/v1/evals/{eval_id}/runs/{run.id}/output_items/{first.id}").json()
    strict(OutputItemRetrieveResponse, raw)
    assert client.evals.runs.output_items.list(run.id, eval_id=eval_id, status="pass").data == []
    page = client.evals.runs.output_items.list(run.id, eval_id=eval_id, limit=5, order="desc")
    assert [i.datasource_item_id for i in page.data] == [39, 38, 37, 36, 35] and page.has_more

    assert [r.id for r in client.evals.runs.list(eval_id, status="completed").data] == [run.id]
    assert client.evals.runs.list(eval_id, status="queued").data == []
    gone = client.evals.runs.delete(run.id, eval_id=eval_id)
    assert (gone.deleted, gone.run_id, gone.object) == (True, run.id, "eval.run.deleted")
    with pytest.raises(openai.NotFoundError):
        client.evals.runs.output_items.retrieve(first.id, eval_id=eval_id, run_id=run.id)


def test_jsonl_runs_grade_given_samples(client: openai.OpenAI) -> None:
    eval_id = new_eval(client, [EXACT])
    content = [
        {"item": {"question": "a", "answer": "yes"}, "sample": {"output_text": "yes"}},
        {"item": {"question": "b", "answer": "yes"}, "sample": {"output_text": "no"}},
        {"item": {"question": "c", "answer": "yes"}},  # no sample: the template names nothing
    ]
    run = client.evals.runs.create(
        eval_id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": content}}
    )
    assert run.model == "" and run.name == "jsonl"
    done = finished(client, eval_id, run.id)
    assert (done.result_counts.passed, done.result_counts.failed, done.result_counts.errored) == (1, 1, 1)
    statuses = [i.status for i in client.evals.runs.output_items.list(run.id, eval_id=eval_id)]
    assert statuses == ["pass", "fail", "fail"]

    lines = b'{"item": {"question": "x", "answer": "yes"}, "sample": {"output_text": "yes"}}\n' * 3
    file = client.files.create(file=("rows.jsonl", lines), purpose="evals")
    run = client.evals.runs.create(
        eval_id, data_source={"type": "jsonl", "source": {"type": "file_id", "id": file.id}}
    )
    assert finished(client, eval_id, run.id).result_counts.passed == 3

    bad = client.files.create(file=("rows.jsonl", b'{"item": {"question": 1}}\n'), purpose="evals")
    run = client.evals.runs.create(
        eval_id, data_source={"type": "jsonl", "source": {"type": "file_id", "id": bad.id}}
    )
    failed = finished(client, eval_id, run.id)
    assert failed.status == "failed" and failed.error.code == "invalid_data_source"


def test_responses_run_and_item_reference(client: openai.OpenAI) -> None:
    eval_id = new_eval(client, [CLOSE], item_schema={"type": "object"})
    content = [
        {"item": {"answer": "x", "chat": [{"role": "user", "content": f"hello {i}"}]}} for i in range(3)
    ]
    run = client.evals.runs.create(
        eval_id,
        data_source={
            "type": "responses",
            "model": "gpt-4o",
            "input_messages": {"type": "item_reference", "item_reference": "item.chat"},
            "sampling_params": {"max_completion_tokens": 20},
            "source": {"type": "file_content", "content": content},
        },
    )
    done = finished(client, eval_id, run.id)
    assert done.status == "completed" and done.result_counts.passed == 3
    item = client.evals.runs.output_items.list(run.id, eval_id=eval_id).data[0]
    assert item.sample.input[0].content == "hello 0" and item.sample.output[0].content


def test_cancel(client: openai.OpenAI) -> None:
    eval_id = new_eval(client, [LABEL])
    source = {"type": "file_content", "content": rows(2000)}
    run = client.evals.runs.create(
        eval_id,
        data_source={"type": "completions", "model": "gpt-4o", "input_messages": TEMPLATE, "source": source},
    )
    canceled = client.evals.runs.cancel(run.id, eval_id=eval_id)
    assert canceled.status == "canceled"
    time.sleep(0.5)
    after = client.evals.runs.retrieve(run.id, eval_id=eval_id)
    assert after.status == "canceled" and after.result_counts.total < 2000
    with pytest.raises(openai.BadRequestError):
        client.evals.runs.cancel(run.id, eval_id=eval_id)


def test_alpha_graders(client: openai.OpenAI, http) -> None:
    multi = {
        "type": "multi",
        "name": "combo",
        "graders": {
            "exact": {
                "type": "string_check",
                "name": "exact",
                "input": "{{sample.output_text}}",
                "reference": "{{item.ref}}",
                "operation": "ilike",
            },
            "score": {
                "type": "score_model",
                "name": "score",
                "model": "gpt-4o",
                "input": [{"role": "user", "content": "Rate {{sample.output_text}}"}],
            },
        },
        "calculate_output": "exact * 10 + score",
    }
    result = client.fine_tuning.alpha.graders.run(
        grader=multi, model_sample="Hello World", item={"ref": "WORLD"}
    )
    assert result.sub_rewards["exact"] == 1.0 and 0 <= result.sub_rewards["score"] <= 1
    assert result.reward == pytest.approx(10 + result.sub_rewards["score"])
    assert result.metadata.type == "multi" and result.metadata.token_usage > 0
    assert "gpt-4o" in result.model_grader_token_usage_per_model
    raw = http.post(
        "/v1/fine_tuning/alpha/graders/run", json={"grader": multi, "model_sample": "x", "item": {}}
    ).json()
    GraderRunResponse.model_validate(raw)
    assert raw["reward"] == 0 and raw["metadata"]["errors"]["invalid_variable_error"] is True

    json_check = {
        "type": "string_check",
        "name": "j",
        "input": "{{sample.output_json.a}}",
        "reference": "1",
        "operation": "eq",
    }
    assert client.fine_tuning.alpha.graders.run(grader=json_check, model_sample='{"a": 1}').reward == 1.0
    sim = {
        "type": "text_similarity",
        "name": "s",
        "input": "{{sample.output_text}}",
        "reference": "sitting",
        "evaluation_metric": "fuzzy_match",
    }
    assert client.fine_tuning.alpha.graders.run(grader=sim, model_sample="kitten").reward == pytest.approx(
        8 / 13
    )
    valid = client.fine_tuning.alpha.graders.validate(grader=multi)
    assert valid.grader is not None and valid.grader.type == "multi"


BAD_CRITERIA = [
    ({**EXACT, "type": "regex"}, "testing_criteria[0].type"),
    ({**EXACT, "operation": "contains"}, "testing_criteria[0].operation"),
    ({k: v for k, v in EXACT.items() if k != "reference"}, "testing_criteria[0].reference"),
    ({k: v for k, v in CLOSE.items() if k != "pass_threshold"}, "testing_criteria[0].pass_threshold"),
    ({**CLOSE, "evaluation_metric": "rouge_9"}, "testing_criteria[0].evaluation_metric"),
    ({**LABEL, "passing_labels": ["maybe"]}, "testing_criteria[0].passing_labels"),
    ({**EXACT, "input": "{{result.text}}"}, "testing_criteria[0].input"),
    ({"type": "python", "name": "p", "source": "def grade(:"}, "testing_criteria[0].source"),
    (
        {"type": "multi", "name": "m", "graders": {"a": EXACT}, "calculate_output": "a"},
        "testing_criteria[0].type",
    ),
    ({**EXACT, "extra": 1}, "testing_criteria[0].extra"),
]


@pytest.mark.parametrize(("criterion", "param"), BAD_CRITERIA)
def test_bad_criteria(http, criterion: dict, param: str) -> None:
    body = {"data_source_config": {"type": "custom", "item_schema": SCHEMA}, "testing_criteria": [criterion]}
    response = http.post("/v1/evals", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]


def test_bad_runs_and_ids(client: openai.OpenAI, http) -> None:
    eval_id = new_eval(client)
    runs = f"/v1/evals/{eval_id}/runs"

    def refused(body: dict, param: str, status: int = 400) -> None:
        response = http.post(runs, json=body)
        assert response.status_code == status, response.text
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        assert response.json()["error"]["param"] == param

    rows_source = {"type": "file_content", "content": rows(2)}
    refused({"data_source": {"type": "csv", "source": rows_source}}, "data_source.type")
    refused(
        {"data_source": {"type": "completions", "source": rows_source, "input_messages": TEMPLATE}},
        "data_source.model",
    )
    refused(
        {"data_source": {"type": "completions", "source": rows_source, "model": "gpt-4o"}},
        "data_source.input_messages",
    )
    mismatch = {"type": "file_content", "content": [{"item": {"question": 1, "answer": "x"}}]}
    refused({"data_source": {"type": "jsonl", "source": mismatch}}, "data_source.source.content[0].item")
    refused(
        {"data_source": {"type": "jsonl", "source": {"type": "file_id", "id": "file-nope"}}},
        "data_source.source.id",
    )
    too_many = {"type": "file_content", "content": [{"item": {"question": "q", "answer": "a"}}] * 2001}
    refused({"data_source": {"type": "jsonl", "source": too_many}}, "data_source.source.content")
    refused({}, "data_source")

    for path in (
        "/v1/evals/eval_nope",
        "/v1/evals/eval_nope/runs",
        f"{runs}/evalrun_nope",
        f"{runs}/evalrun_nope/output_items",
        f"{runs}/evalrun_nope/output_items/outputitem_nope",
    ):
        response = http.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", path
    assert http.delete("/v1/evals/eval_nope").status_code == 404
    assert http.get("/v1/evals", params={"order_by": "name"}).status_code == 400
    assert http.get(runs, params={"status": "done"}).json()["error"]["param"] == "status"
    assert http.get("/v1/evals", params={"limit": 0}).status_code == 400

    label_at_top = http.post("/v1/fine_tuning/alpha/graders/validate", json={"grader": LABEL})
    assert label_at_top.status_code == 400 and label_at_top.json()["error"]["param"] == "grader.type"
    formula = {
        "type": "multi",
        "name": "m",
        "graders": {"a": EXACT},
        "calculate_output": "a + __import__('os')",
    }
    response = http.post("/v1/fine_tuning/alpha/graders/run", json={"grader": formula, "model_sample": "x"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "grader.calculate_output"
    missing = http.post("/v1/fine_tuning/alpha/graders/run", json={"grader": EXACT})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "model_sample"


def test_runs_are_shared_by_workers(start_server) -> None:
    """A run created on one worker is run in the background and read the same from every worker."""
    with start_server("--workers", "2", "--ttft", "0", "--itl", "0") as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            eval_id = new_eval(client, [CLOSE])
            run = client.evals.runs.create(
                eval_id,
                data_source={"type": "jsonl", "source": {"type": "file_content", "content": rows(50)}},
            )
            done = finished(client, eval_id, run.id)
            assert done.status == "completed"
            seen = {
                client.evals.runs.retrieve(run.id, eval_id=eval_id).result_counts.errored for _ in range(10)
            }
            assert seen == {50}  # no sample in these rows: every one errored, on every worker
