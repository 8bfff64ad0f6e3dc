"""The start-up summary: URLs to open, and every option not at its default, grouped, keys masked."""

from __future__ import annotations

from fakeai.runtime.summary import changed, lines
from fakeai.settings import Settings


def test_defaults_say_so_and_give_the_urls():
    out = lines(Settings(port=8123), "http")
    assert out[0].startswith("fakeai ") and out[0].endswith("serving on http://127.0.0.1:8123 (1 worker)")
    for path in ("/v1", "/dashboard", "/metrics/prometheus", "/health"):
        assert any(line.rstrip().endswith(f"http://127.0.0.1:8123{path}") for line in out), path
    assert "engine model for the architectures it knows" in "\n".join(out)  # --timing auto
    fixed = "\n".join(lines(Settings(timing="fixed"), "http"))
    assert "per-model TTFT and ITL profiles" in fixed and "engine model" not in fixed
    assert out[-1].strip().startswith("every other option at its default")
    assert changed(Settings()) == {}


def test_every_non_default_option_is_listed_in_its_group():
    s = Settings(
        api_keys=("sk-secret-0123456789",),
        rate_limit_tier="tier-1",
        error_rate=0.05,
        chaos_rate=0.1,
        mode="echo",
        ttft_ms=20.0,
        metrics=False,
        access_log=True,
        workers=2,
    )
    groups = changed(s)
    assert groups["gateway and faults"] == [
        "--api-key sk-*************6789 (1 key)",
        "--rate-limit-tier tier-1",
        "--error-rate 0.05",
        "--chaos-rate 0.1",
    ]
    assert groups["timing and engine"] == ["--ttft 20", "--mode echo"]
    assert "TTFT 20 ms, ITL per model" in "\n".join(lines(s, "http"))
    assert groups["observability"] == ["--no-metrics", "--access-log"]
    assert "server" not in groups  # host, port and workers are in the first line
    admin = changed(Settings(admin_key="adm-secret-key-42"))["gateway and faults"]
    assert admin == ["--admin-key adm**********y-42"]  # masked as API keys are
    text = "\n".join(lines(s, "https"))
    assert "sk-secret" not in text and "(2 workers)" in text and "https://127.0.0.1:8000/dashboard" in text
    assert "TTFT 20 ms, ITL per model for every model" in text


def test_a_scenario_file_is_named_with_its_tables_counted(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'error_rate = 0.2\n[keys."sk-user-1234567"]\nrpm = 5\n[[errors]]\nrate = 0.5\nmix = "503"\n'
    )
    text = "\n".join(lines(Settings(config=str(path), error_rate=0.2), "http"))
    assert f"--config {path} (1 key, 1 error rule)" in text and "--error-rate 0.2" in text


def test_a_wildcard_host_is_reached_on_the_loopback():
    assert lines(Settings(host="0.0.0.0", port=9000), "http")[1].endswith("http://127.0.0.1:9000/v1")
    assert lines(Settings(host="::1", port=9000), "http")[1].endswith("http://[::1]:9000/v1")


def test_a_data_parallel_rank_shows_the_kv_events_endpoint_it_binds():
    rank = Settings(kv_events="tcp://127.0.0.1:5557", data_parallel_rank=1)
    assert changed(rank)["observability"] == ["--kv-events tcp://127.0.0.1:5558"]
    assert changed(rank)["vLLM compatibility"] == ["--data-parallel-rank 1"]


def test_each_data_parallel_rank_names_the_size_and_its_rank():
    """A rank's own settings say --data-parallel-size 1; the size its supervisor was given is shown."""
    rank0 = lines(Settings(port=9000), "http", ranks=2)
    assert rank0[0].endswith("serving on http://127.0.0.1:9000 (1 worker, data-parallel rank 0 of 2)")
    assert "    vLLM compatibility   --data-parallel-size 2" in rank0
    assert not any("every other option at its default" in line for line in rank0)
    rank1 = changed(Settings(port=9001, data_parallel_rank=1), ranks=2)
    assert rank1["vLLM compatibility"] == ["--data-parallel-size 2", "--data-parallel-rank 1"]
    assert "data-parallel" not in lines(Settings(), "http")[0]  # one server: no rank to name
