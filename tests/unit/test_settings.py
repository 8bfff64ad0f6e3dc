from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakeai.settings import GROUPS, Settings, kind_of


def test_defaults():
    s = Settings()
    assert (s.host, s.port, s.workers, s.ttft_ms, s.itl_ms) == ("127.0.0.1", 8000, 1, None, None)


def test_env_overrides_defaults_and_replace_overrides_env():
    s = Settings.from_env({"FAKEAI_PORT": "9000", "FAKEAI_TTFT_MS": "0", "OTHER": "x"})
    assert s.port == 9000 and s.ttft_ms == 0.0
    assert s.replace(port=9100).port == 9100


def test_round_trip_through_env():
    s = Settings(port=1234, workers=3, itl_ms=7.5, log_level="debug")
    assert Settings.from_env(s.to_env()) == s


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"FAKEAI_PORT": "eighty"}, "FAKEAI_PORT"),
        ({"FAKEAI_WORKERS": "0"}, "FAKEAI_WORKERS"),
        ({"FAKEAI_ITL_MS": "-1"}, "FAKEAI_ITL_MS"),
        ({"FAKEAI_LOG_LEVEL": "loud"}, "FAKEAI_LOG_LEVEL"),
        ({"FAKEAI_PORT": "70000"}, "FAKEAI_PORT"),
        # Python reads these as floats, and nan passes every bound's comparison
        ({"FAKEAI_TTFT_MS": "nan"}, "FAKEAI_TTFT_MS must be a finite number"),
        ({"FAKEAI_ITL_MS": "inf"}, "FAKEAI_ITL_MS must be a finite number"),
        ({"FAKEAI_JITTER": "NaN"}, "FAKEAI_JITTER must be a finite number"),
        # counts that size processes, tables or the engine's shared region
        ({"FAKEAI_WORKERS": "1000"}, "FAKEAI_WORKERS must be <= 256"),
        ({"FAKEAI_MAX_NUM_SEQS": "100000"}, "FAKEAI_MAX_NUM_SEQS must be <= 65536"),
        ({"FAKEAI_MAX_WAITING_QUEUE_LENGTH": "1000000000"}, "FAKEAI_MAX_WAITING_QUEUE_LENGTH must be <="),
        ({"FAKEAI_MAX_NUM_BATCHED_TOKENS": "100000000000"}, "FAKEAI_MAX_NUM_BATCHED_TOKENS must be <="),
        ({"FAKEAI_GPU_COUNT": "1000000000"}, "FAKEAI_GPU_COUNT must be <= 1024"),
        ({"FAKEAI_METRICS_MAX_MODELS": "1000000000"}, "FAKEAI_METRICS_MAX_MODELS must be <="),
        ({"FAKEAI_MAX_LORAS": "1000000000"}, "FAKEAI_MAX_LORAS must be <="),
        ({"FAKEAI_KV_BATCH_SIZE": "100000000"}, "FAKEAI_KV_BATCH_SIZE must be <="),
        ({"FAKEAI_MODERATION_THRESHOLD": "5"}, "FAKEAI_MODERATION_THRESHOLD must be <= 1"),
    ],
)
def test_bad_values_name_their_variable(env, needle):
    with pytest.raises(ValueError, match=needle):
        Settings.from_env(env)


def test_deployment_knobs_round_trip_through_env():
    s = Settings(
        mode="echo",
        output_length_distribution="normal:100:10",
        self_signed_certs=True,
        lora_modules='a=/a {"name": "b", "path": "/b c"}',
        data_parallel_size=2,
        data_parallel_rank=1,
    )
    assert Settings.from_env(s.to_env()) == s
    assert Settings.from_env({"FAKEAI_SELF_SIGNED_CERTS": "yes"}).self_signed_certs is True
    assert Settings.from_env({"FAKEAI_SELF_SIGNED_CERTS": "0"}).self_signed_certs is False


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"FAKEAI_MODE": "parrot"}, "FAKEAI_MODE"),
        ({"FAKEAI_OUTPUT_LENGTH_DISTRIBUTION": "uniform:5"}, "uniform:LO:HI"),
        ({"FAKEAI_SELF_SIGNED_CERTS": "maybe"}, "FAKEAI_SELF_SIGNED_CERTS"),
        ({"FAKEAI_PORT": "65535", "FAKEAI_DATA_PARALLEL_SIZE": "2"}, "--data-parallel-size"),
        ({"FAKEAI_SSL_KEYFILE": "/k.pem"}, "--ssl-certfile"),
    ],
)
def test_bad_deployment_values_are_explained(env, needle):
    with pytest.raises(ValueError, match=needle):
        Settings.from_env(env)


def test_list_and_switch_knobs_from_the_environment():
    s = Settings.from_env({"FAKEAI_API_KEYS": "sk-a, sk-b,,", "FAKEAI_REQUEST_OVERRIDES": "off"})
    assert s.api_keys == ("sk-a", "sk-b") and s.request_overrides is False
    assert Settings.from_env(s.to_env()) == s
    with pytest.raises(ValueError, match="FAKEAI_REQUEST_OVERRIDES must be true or false"):
        Settings.from_env({"FAKEAI_REQUEST_OVERRIDES": "maybe"})
    with pytest.raises(ValueError, match="FAKEAI_ERROR_RATE must be <= 1"):
        Settings.from_env({"FAKEAI_ERROR_RATE": "1.5"})


def test_cli_repeats_list_flags_and_negates_switches():
    from fakeai.cli import _parser

    args = _parser().parse_args(["server", "--api-key", "a", "--api-key", "b", "--no-request-overrides"])
    assert args.api_keys == ["a", "b"] and args.request_overrides is False


def test_cluster_knobs_are_bounded():
    with pytest.raises(ValueError, match="FAKEAI_KV_WORKERS"):
        Settings.from_env({"FAKEAI_KV_WORKERS": "5000"})
    with pytest.raises(ValueError, match="FAKEAI_KV_BATCH_SIZE"):
        Settings.from_env({"FAKEAI_KV_BATCH_SIZE": "-1"})
    s = Settings.from_env({"FAKEAI_KV_PREFILL_WORKERS": "2", "FAKEAI_TTFT_MS": "5"})
    assert (s.kv_prefill_workers, s.ttft_ms, s.itl_ms) == (2, 5.0, None)


README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_option_groups() -> dict[str, set[str]]:
    """The flags of each ``### <group> options`` table of the README's Options section."""
    text = README.read_text()
    section = text[text.index("\n## Options\n") : text.index("\n## ", text.index("\n## Options\n") + 1)]
    groups: dict[str, set[str]] = {}
    current = None
    for line in section.splitlines():
        heading = re.fullmatch(r"### (.+) options", line)
        if heading:
            current = groups.setdefault(heading[1], set())
        elif current is not None and line.startswith("| `--"):
            first_cell = line.split(" | ")[0]
            current.update(
                f for f in re.findall(r"`(--[a-z0-9-]+)`", first_cell) if not f.startswith("--no-")
            )
    return groups


def test_readme_documents_every_flag_in_its_group():
    documented = _readme_option_groups()
    assert list(documented) == list(GROUPS)  # the README's sections, in --help's order
    for group in GROUPS:
        flags = {f.metadata["flag"] for f in Settings.knobs() if f.metadata["group"] == group}
        assert documented[group] == flags, group


def test_readme_names_every_environment_variable():
    text = README.read_text()
    missing = [Settings.env_name(f.name) for f in Settings.knobs() if Settings.env_name(f.name) not in text]
    assert not missing


def test_switches_are_on_off_flags_and_read_on_off_from_the_environment():
    assert kind_of(Settings.knob("metrics")) is bool and Settings().metrics is True
    assert Settings.from_env({"FAKEAI_METRICS": "off"}).metrics is False
    assert Settings.from_env({"FAKEAI_ACCESS_LOG": "on"}).access_log is True
    choices = [f.metadata["choices"] for f in Settings.knobs() if f.metadata["choices"]]
    assert all(set(c) != {"on", "off"} for c in choices)


def test_type_errors_name_the_type_in_english():
    with pytest.raises(ValueError, match="FAKEAI_PORT must be an integer, got 'x'"):
        Settings.from_env({"FAKEAI_PORT": "x"})
    with pytest.raises(ValueError, match="FAKEAI_ERROR_RATE must be a number, got 'lots'"):
        Settings.from_env({"FAKEAI_ERROR_RATE": "lots"})


def test_help_groups_options_like_the_readme_with_one_default_style():
    from fakeai.cli import _parser

    server = _parser().server
    titles = [g.title for g in server._action_groups if g.title and g.title.endswith(" options")]
    assert titles == [f"{group} options" for group in GROUPS]
    text = server.format_help()
    assert "None" not in text and "{," not in text and "{on,off}" not in text
    assert "--metrics, --no-metrics" in text and "--access-log, --no-access-log" in text
    assert "(default: per model; env FAKEAI_TTFT_MS)" in text
    assert "{free,tier-1,tier-2,tier-3,tier-4,tier-5}" in text
