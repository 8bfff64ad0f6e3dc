"""``/v1/fine_tuning/jobs`` through the official SDK: jobs run, publish an ``ft:`` model that answers."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}]}
DPO = {
    "input": {"messages": [{"role": "user", "content": "hi"}]},
    "preferred_output": [{"role": "assistant", "content": "hello"}],
    "non_preferred_output": [{"role": "assistant", "content": "go away"}],
}


def jsonl(row: dict, n: int) -> bytes:
    return (json.dumps(row) + "\n").encode() * n


def wait(client: openai.OpenAI, job_id: str, statuses: tuple[str, ...], timeout: float = 30):
    deadline = time.monotonic() + timeout
    while (job := client.fine_tuning.jobs.retrieve(job_id)).status not in statuses:
        assert time.monotonic() < deadline, job.status
        time.sleep(0.05)
    return job


@pytest.fixture(scope="module")
def fast(start_server):
    flags = ("--ttft", "0", "--itl", "0", "--fine-tune-duration", "1", "--workers", "2")
    with (
        start_server(*flags) as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=20) as c,
    ):
        yield c


def test_supervised_job_publishes_a_model_that_answers(fast: openai.OpenAI) -> None:
    training = fast.files.create(file=("t.jsonl", jsonl(CHAT, 40)), purpose="fine-tune")
    job = fast.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=training.id,
        suffix="mine",
        seed=7,
        hyperparameters={"n_epochs": 2, "batch_size": 4},
    )
    assert job.status == "validating_files" and job.object == "fine_tuning.job" and job.seed == 7
    assert job.method.type == "supervised"
    seen = set()
    deadline = time.monotonic() + 30
    while (current := fast.fine_tuning.jobs.retrieve(job.id)).status not in ("succeeded", "failed"):
        seen.add(current.status)
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert current.status == "succeeded", current.error
    assert "running" in seen
    assert current.fine_tuned_model.startswith("ft:gpt-4o-mini:fakeai:mine:")
    assert current.hyperparameters.n_epochs == 2 and current.hyperparameters.batch_size == 4
    assert current.trained_tokens > 0 and current.finished_at and len(current.result_files) == 1
    csv = fast.files.content(current.result_files[0]).read().decode()
    assert csv.startswith("step,train_loss") and len(csv.splitlines()) == 21  # 2 epochs x 10 steps
    checkpoints = fast.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in checkpoints] == [20, 10]
    assert checkpoints[0].metrics.train_loss < checkpoints[1].metrics.train_loss
    assert checkpoints[0].fine_tuned_model_checkpoint.endswith(":ckpt-step-20")
    events = fast.fine_tuning.jobs.list_events(job.id, limit=100).data
    assert events[0].message == "The job has successfully completed"
    assert any(e.type == "metrics" and e.data["step"] == 20 for e in events)
    # The model is listed by every worker (fresh connections) and answers chat requests.
    for _ in range(6):
        ids = [m["id"] for m in httpx.get(str(fast.base_url) + "models").json()["data"]]
        assert current.fine_tuned_model in ids
    assert fast.models.retrieve(current.fine_tuned_model).owned_by == "user-fakeai"
    reply = fast.chat.completions.create(
        model=current.fine_tuned_model, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.model == current.fine_tuned_model and reply.choices[0].message.content
    assert fast.models.delete(current.fine_tuned_model).deleted


def test_dpo_and_event_stream(fast: openai.OpenAI) -> None:
    training = fast.files.create(file=("d.jsonl", jsonl(DPO, 12)), purpose="fine-tune")
    job = fast.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=training.id,
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2, "n_epochs": 1}}},
    )
    with httpx.stream(
        "GET", f"{fast.base_url}fine_tuning/jobs/{job.id}/events", params={"stream": "true"}, timeout=30
    ) as r:
        data = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    messages = [json.loads(d)["message"] for d in data[:-1]]
    assert (
        messages[:2] == [f"Created fine-tuning job: {job.id}", f"Validating training file: {training.id}"]
        and messages[-1] == "The job has successfully completed"
    )
    done = fast.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded" and done.method.dpo.hyperparameters.beta == 0.2


def test_a_new_job_has_its_creation_events_at_once(client: openai.OpenAI) -> None:
    # OpenAI records the creation and the validation start when the job is created, so a client
    # listing right away sees them, as its two oldest events, even when a background worker (of any
    # process) picks the job up at once and adds its own (this short file fails validation).
    training = client.files.create(file=("t.jsonl", jsonl(CHAT, 1)), purpose="fine-tune")
    for _ in range(5):
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training.id)
        creation = client.fine_tuning.jobs.list_events(job.id, limit=100).data[-2:]
        assert [e.message for e in creation] == [
            f"Validating training file: {training.id}",
            f"Created fine-tuning job: {job.id}",
        ]
        assert all(e.object == "fine_tuning.job.event" and e.level == "info" for e in creation)
        assert isinstance(creation[-1].created_at, int) and creation[-1].created_at >= job.created_at


def test_cancel_pause_resume(fast: openai.OpenAI, client: openai.OpenAI) -> None:
    training = client.files.create(file=("t.jsonl", jsonl(CHAT, 20)), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini", training_file=training.id
    )  # 10 s on this server
    wait(client, job.id, ("running",))
    paused = client.fine_tuning.jobs.pause(job.id)
    assert paused.status == "paused"
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.pause(job.id)
    assert client.fine_tuning.jobs.resume(job.id).status == "running"
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    time.sleep(0.5)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="cancelled"):
        client.fine_tuning.jobs.cancel(job.id)
    assert job.id in [j.id for j in client.fine_tuning.jobs.list(limit=50)]


def test_bad_training_files_and_inputs(fast: openai.OpenAI) -> None:
    few = fast.files.create(file=("t.jsonl", jsonl(CHAT, 3)), purpose="fine-tune")
    job = fast.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=few.id)
    failed = wait(fast, job.id, ("failed", "succeeded"))
    assert (
        failed.status == "failed"
        and failed.error.param == "training_file"
        and "at least 10" in failed.error.message
    )
    chat_file = fast.files.create(file=("t.jsonl", jsonl(CHAT, 12)), purpose="fine-tune")
    dpo_job = fast.fine_tuning.jobs.create(
        model="gpt-4o-mini", training_file=chat_file.id, method={"type": "dpo"}
    )
    assert wait(fast, dpo_job.id, ("failed", "succeeded")).status == "failed"
    other = fast.files.create(file=("x.txt", b"x"), purpose="user_data")
    with pytest.raises(openai.BadRequestError) as exc:
        fast.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=other.id)
    assert exc.value.body["param"] == "training_file"
    with pytest.raises(openai.BadRequestError) as exc:
        fast.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=chat_file.id, hyperparameters={"n_epochs": 0}
        )
    assert exc.value.body["param"] == "method.supervised.hyperparameters.n_epochs"
    with pytest.raises(openai.BadRequestError) as exc:
        fast.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=chat_file.id, method={"type": "magic"}
        )
    assert exc.value.body["param"] == "method.type"
    with pytest.raises(openai.NotFoundError):
        fast.fine_tuning.jobs.retrieve("ftjob-nope")
    with pytest.raises(openai.NotFoundError):
        fast.fine_tuning.jobs.list_events("ftjob-nope")
    with pytest.raises(openai.NotFoundError):
        fast.models.delete("ft:nope")


def test_stored_fields_are_bounded(fast: openai.OpenAI) -> None:
    """A 1 MB ``model`` and integrations of any size and shape were stored with the job: each is
    checked, a 400 naming it."""
    training = fast.files.create(file=("t.jsonl", jsonl(CHAT, 10)), purpose="fine-tune")
    jobs = str(fast.base_url) + "fine_tuning/jobs"

    def param(**fields: object) -> str:
        r = httpx.post(jobs, json={"model": "gpt-4o-mini", "training_file": training.id, **fields})
        assert r.status_code == 400, r.text
        return r.json()["error"]["param"]

    assert param(model="m" * 513) == "model"
    assert param(model="") == "model"
    assert param(suffix="s" * 65) == "suffix"
    assert param(integrations=[{"type": "zapier", "wandb": {"project": "p"}}]) == "integrations[0].type"
    assert (
        param(integrations=[{"type": "wandb", "wandb": {"project": "p" * 129}}])
        == "integrations[0].wandb.project"
    )
    assert param(integrations=[{"type": "wandb", "wandb": {}}]) == "integrations[0].wandb.project"
    wandb = {"type": "wandb", "wandb": {"project": "p", "tags": ["t"], "junk": "x" * 10_000}}
    assert param(integrations=[wandb] * 6) == "integrations"
    job = fast.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=training.id,
        integrations=[wandb],  # type: ignore[list-item]
    )
    assert [i.model_dump(exclude_none=True) for i in job.integrations or ()] == [
        {"type": "wandb", "wandb": {"project": "p", "tags": ["t"]}}
    ]
