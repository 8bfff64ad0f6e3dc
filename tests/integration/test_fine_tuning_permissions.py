"""Checkpoint permissions (:mod:`fakeai.api.fine_tuning_permissions`) through the official SDK: granted
on a fine-tuning job's checkpoints and on its model, listed in pages (and by the deprecated retrieve),
deleted; unknown checkpoints and permissions 404; bad input 400s."""

from __future__ import annotations

import json
import re
import time
import warnings

import httpx
import openai
import pytest
from openai.types.fine_tuning.checkpoints import (
    PermissionCreateResponse,
    PermissionDeleteResponse,
    PermissionListResponse,
    PermissionRetrieveResponse,
)

from .test_contract import conforms

pytestmark = pytest.mark.integration

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


@pytest.fixture(scope="module")
def trained(start_server):
    """A server whose fine-tuning job finished: (client, http, the model, its checkpoints' names)."""
    flags = ("--ttft", "0", "--itl", "0", "--fine-tune-duration", "0.5", "--workers", "2")
    with (
        start_server(*flags) as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=20) as client,
        httpx.Client(base_url=url, timeout=20) as http,
    ):
        data = ((json.dumps(CHAT) + "\n") * 20).encode()
        training = client.files.create(file=("t.jsonl", data), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            model="meta-llama/Llama-3.1-8B-Instruct",
            training_file=training.id,
            hyperparameters={"n_epochs": 2},
        )
        deadline = time.monotonic() + 30
        while (job := client.fine_tuning.jobs.retrieve(job.id)).status != "succeeded":
            assert job.status not in ("failed", "cancelled") and time.monotonic() < deadline, job
            time.sleep(0.05)
        names = [c.fine_tuned_model_checkpoint for c in client.fine_tuning.jobs.checkpoints.list(job.id)]
        yield client, http, job.fine_tuned_model, names


def test_permissions_are_created_listed_and_deleted(trained) -> None:
    client, http, model, checkpoints = trained
    checkpoint = checkpoints[-1]
    assert "/" in checkpoint and ":ckpt-step-" in checkpoint  # the path takes the name whole
    made = client.fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_a", "proj_b"])
    assert [p.project_id for p in made.data] == ["proj_a", "proj_b"]
    for p in made.data:
        assert re.fullmatch(r"cp_[A-Za-z0-9]{24}", p.id) and p.object == "checkpoint.permission"
    path = f"/v1/fine_tuning/checkpoints/{checkpoint}/permissions"
    raw = http.post(path, json={"project_ids": ["proj_c", "proj_a"]}).json()
    assert raw["object"] == "list" and raw["has_more"] is False
    for item in raw["data"]:
        conforms(PermissionCreateResponse, item)
        assert set(item) == set(PermissionCreateResponse.model_fields)
    assert raw["data"][1]["id"] == made.data[0].id  # proj_a kept its permission
    # every worker lists them; pages of one, newest first by default
    for _ in range(4):
        listed = http.get(path).json()
        assert [p["project_id"] for p in listed["data"]] == ["proj_c", "proj_b", "proj_a"]
    conforms(PermissionRetrieveResponse, listed)
    for item in listed["data"]:
        conforms(PermissionListResponse, item)
    assert [p.project_id for p in client.fine_tuning.checkpoints.permissions.list(checkpoint, limit=1)] == [
        "proj_c",
        "proj_b",
        "proj_a",
    ]
    ascending = client.fine_tuning.checkpoints.permissions.list(checkpoint, order="ascending")
    assert [p.project_id for p in ascending] == ["proj_a", "proj_b", "proj_c"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        only = client.fine_tuning.checkpoints.permissions.retrieve(checkpoint, project_id="proj_b")
    assert [p.project_id for p in only.data] == ["proj_b"] and only.object == "list"
    gone = client.fine_tuning.checkpoints.permissions.delete(
        made.data[1].id, fine_tuned_model_checkpoint=checkpoint
    )
    assert (gone.id, gone.deleted, gone.object) == (made.data[1].id, True, "checkpoint.permission")
    conforms(PermissionDeleteResponse, gone.model_dump())
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.checkpoints.permissions.delete(
            made.data[1].id, fine_tuned_model_checkpoint=checkpoint
        )
    # the fine-tuned model is a checkpoint too; a permission of another checkpoint is not its
    other = client.fine_tuning.checkpoints.permissions.create(model, project_ids=["proj_a"]).data[0]
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.checkpoints.permissions.delete(other.id, fine_tuned_model_checkpoint=checkpoint)
    assert [p.id for p in client.fine_tuning.checkpoints.permissions.list(model)] == [other.id]


def test_unknown_checkpoints_and_bad_input_are_envelopes(trained) -> None:
    client, http, _, checkpoints = trained
    with pytest.raises(openai.NotFoundError) as missing:
        client.fine_tuning.checkpoints.permissions.create(
            "ft:gpt-4o:nobody::x:ckpt-step-1", project_ids=["p"]
        )
    assert missing.value.body["message"] == (
        "No fine-tuned model checkpoint found with id 'ft:gpt-4o:nobody::x:ckpt-step-1'."
    )
    path = f"/v1/fine_tuning/checkpoints/{checkpoints[0]}/permissions"
    cases = [
        (http.get("/v1/fine_tuning/checkpoints/gpt-4o/permissions"), 404, None),
        (http.delete("/v1/fine_tuning/checkpoints/gpt-4o/permissions/cp_x"), 404, None),
        (http.delete(path + "/cp_unknown"), 404, None),
        (http.post(path, json={"project_ids": []}), 400, "project_ids"),
        (http.post(path, json={}), 400, "project_ids"),
        (http.post(path, json={"project_ids": [""]}), 400, "project_ids[0]"),
        (http.post(path, json={"project_ids": ["p"], "bogus": 1}), 400, "bogus"),
        (http.post(path, json={"project_ids": ["p"] * 101}), 400, "project_ids"),
        (http.get(path, params={"limit": 0}), 400, "limit"),
        (http.get(path, params={"limit": 101}), 400, "limit"),
        (http.get(path, params={"order": "desc"}), 400, "order"),
        (http.get(path, params={"after": "cp_nope"}), 400, "after"),
    ]
    for response, status, param in cases:
        assert response.status_code == status, (response.request.url, response.text)
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["param"] == param, error
