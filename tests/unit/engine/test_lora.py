"""The LoRA registry: vLLM's ``--lora-modules`` syntax, and one registry seen by every worker."""

from __future__ import annotations

import asyncio

import pytest

from fakeai import _core
from fakeai.engine.lora import TABLE_CAPACITY, LoraModule, LoraRegistry, parse_modules, startup_modules
from fakeai.errors import ApiError
from fakeai.settings import Settings


def test_parse_modules_takes_both_vllm_forms():
    spec = 'sql=/loras/sql {"name": "chat", "path": "/l/c d", "base_model_name": "Qwen/Qwen3-8B"}  x=/y=z'
    assert parse_modules(spec) == [
        LoraModule("sql", "/loras/sql"),
        LoraModule("chat", "/l/c d", "Qwen/Qwen3-8B"),
        LoraModule("x", "/y=z"),
    ]
    assert parse_modules("") == [] and parse_modules("   ") == []


@pytest.mark.parametrize(
    "spec, needle",
    [
        ("noequals", "name=path"),
        ("=path", "name=path"),
        ("name=", "name=path"),
        ('{"name": "a"', "bad JSON"),
        ('{"name": "a"}', '"path"'),
        ('{"name": "a", "path": "p", "base_model_name": 3}', "base_model_name"),
        ("a=/1 a=/2", "named twice"),
    ],
)
def test_bad_modules_say_why(spec, needle):
    with pytest.raises(ValueError, match=needle):
        parse_modules(spec)


def test_more_startup_adapters_than_max_loras_are_explained():
    settings = Settings.from_env({"FAKEAI_LORA_MODULES": "a=/a b=/b", "FAKEAI_MAX_LORAS": "1"})
    with pytest.raises(ValueError, match="--max-loras"):
        startup_modules(settings)


def _worker(directory, initial=(), max_loras=4) -> LoraRegistry:
    """A registry as one worker process opens it (same directory, same shared table file)."""
    table = _core.SharedTable(str(directory / "lora.table"), TABLE_CAPACITY, 4)
    return LoraRegistry(directory, table, list(initial), max_loras)


def test_every_worker_sees_loads_and_unloads(tmp_path):
    one = _worker(tmp_path, [LoraModule("a", "/a")])
    two = _worker(tmp_path, [LoraModule("a", "/a")])
    assert [m.name for m in two.all()] == ["a"]
    one.load(LoraModule("b", "/b", "Qwen/Qwen3-8B"))
    assert two.find("b").base_model_name == "Qwen/Qwen3-8B"
    two.unload("a")
    assert one.find("a") is None and [m.name for m in one.all()] == ["b"]
    # A worker starting later does not re-seed the registry with the start-up adapters.
    assert [m.name for m in _worker(tmp_path, [LoraModule("a", "/a")]).all()] == ["b"]


def test_bad_loads_and_unloads_are_vllm_errors(tmp_path):
    reg = _worker(tmp_path, [LoraModule("a", "/a")], max_loras=2)
    with pytest.raises(ApiError) as err:
        reg.load(LoraModule("a", "/other"))
    assert (err.value.status, err.value.type, err.value.code) == (400, "InvalidUserInput", 400)
    reg.load(LoraModule("a", "/other"), replace=True)
    assert reg.find("a").path == "/other"
    reg.load(LoraModule("b", "/b"))
    with pytest.raises(ApiError, match="max-loras 2"):
        reg.load(LoraModule("c", "/c"))
    with pytest.raises(ApiError) as err:
        reg.unload("zzz")
    assert (err.value.status, err.value.type) == (404, "NotFoundError")
    with pytest.raises(ApiError, match="must be provided"):
        reg.load(LoraModule("", "/c"))


def test_running_and_waiting_counts_are_shared(tmp_path):
    one = _worker(tmp_path, [LoraModule("a", "/a"), LoraModule("b", "/b")])
    two = _worker(tmp_path)
    adapter = one.find("a")

    async def serve() -> None:
        async with one.serving(adapter), two.serving(two.find("a")):
            assert two.request_counts() == {"a": (2, 0), "b": (0, 0)}
        async with one.serving(None):
            pass

    asyncio.run(serve())
    with two.waiting(two.find("b")):
        assert one.request_counts() == {"a": (0, 0), "b": (0, 1)}
        assert one.requests_info() == {
            "max_lora": "4",
            "running_lora_adapters": "",
            "waiting_lora_adapters": "b",
        }
    assert one.request_counts() == {"a": (0, 0), "b": (0, 0)}
