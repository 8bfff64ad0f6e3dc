"""``fakeai simulate``: the engine model on a virtual clock, run as the real command."""

from __future__ import annotations

import csv
import io
import json

import pytest

from fakeai.runtime.process import run_fakeai

pytestmark = pytest.mark.integration

BASE = (
    "simulate",
    "--model",
    "meta-llama/Meta-Llama-3-8B-Instruct",
    "--gpu",
    "H100",
    "--precision",
    "fp8",
    "--tp",
    "1",
    "--isl",
    "200",
    "--osl",
    "200",
)


def simulate(*args: str, env: dict[str, str] | None = None) -> list[dict]:
    r = run_fakeai(*BASE, *args, "--format", "json", env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_json_has_one_object_per_level_with_the_documented_fields():
    levels = simulate("--concurrency", "1", "10", "50", "100", "250")
    assert [lv["concurrency"] for lv in levels] == [1, 10, 50, 100, 250]
    for lv in levels:
        for stat in ("ttft_ms", "itl_ms", "e2e_ms"):
            assert set(lv[stat]) == {"mean", "p50", "p99"}
            assert 0 < lv[stat]["p50"] <= lv[stat]["p99"]
        assert lv["output_tokens_per_s"] > 0 and lv["requests_per_s"] > 0 and lv["preemptions"] >= 0


def test_latency_never_falls_as_concurrency_rises():
    for isl, osl in (("200", "200"), ("2000", "200"), ("200", "1000")):
        r = run_fakeai(
            *BASE,
            "--isl",
            isl,
            "--osl",
            osl,
            "--concurrency",
            "1",
            "2",
            "5",
            "10",
            "25",
            "50",
            "100",
            "200",
            "250",
            "--format",
            "json",
        )
        levels = json.loads(r.stdout)
        for a, b in zip(levels, levels[1:], strict=False):
            assert b["ttft_ms"]["mean"] >= a["ttft_ms"]["mean"], (isl, osl, a, b)
            assert b["itl_ms"]["mean"] >= a["itl_ms"]["mean"], (isl, osl, a, b)
        if (isl, osl) == ("200", "200"):  # Llama-3-8B fp8 on one H100: NIM measures 8.9 / 5.1 ms
            assert 3 < levels[0]["ttft_ms"]["mean"] < 20 and 3 < levels[0]["itl_ms"]["mean"] < 8


def test_rate_levels_and_csv_and_table():
    levels = simulate("--rate", "5", "20", "--requests", "300")
    assert [lv["rate"] for lv in levels] == [5, 20]
    assert levels[1]["requests_per_s"] > levels[0]["requests_per_s"]
    r = run_fakeai(*BASE, "--concurrency", "1", "4", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["concurrency"] for row in rows] == ["1", "4"] and "itl_ms_p99" in rows[0]
    r = run_fakeai(*BASE, "--concurrency", "1", "4")
    assert r.returncode == 0 and "ttft_mean" in r.stdout and "llama-3-8b" in r.stdout


def test_trace_replay_with_prefix_hits(tmp_path):
    lines = [
        {"timestamp": i * 50, "input_length": 2048, "output_length": 20, "hash_ids": [1, 2, 3, i + 10]}
        for i in range(40)
    ]
    trace = tmp_path / "trace.jsonl"
    trace.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    shared = simulate("--trace", str(trace))
    for x in lines:
        x["hash_ids"] = [100 + 4 * lines.index(x) + k for k in range(4)]
    trace.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    cold = simulate("--trace", str(trace))
    assert shared[0]["ttft_ms"]["mean"] < cold[0]["ttft_ms"]["mean"]


def test_knobs_from_environment_and_more_replicas_serve_more():
    one = simulate("--concurrency", "200")
    two = simulate("--concurrency", "200", env={"FAKEAI_REPLICAS": "2"})
    assert two[0]["output_tokens_per_s"] > 1.3 * one[0]["output_tokens_per_s"]


def test_measurement_in_genai_perf_time_windows():
    # Llama-3-70B on eight A100s, 2,000 in / 2,000 out: a request lasts ~55-110 s, longer than a
    # 12 s window, so GenAI-Perf's windows measure the first rounds and their start-up queue.
    args = ("--model", "meta-llama/Meta-Llama-3-70B-Instruct", "--gpu", "A100", "--precision", "bf16")
    args += ("--tp", "8", "--isl", "2000", "--osl", "2000", "--concurrency", "100")
    steady = simulate(*args)[0]
    windowed = simulate(*args, "--measurement-interval", "60000")[0]
    assert windowed["warmup_requests"] == 0 and steady["warmup_requests"] == 300
    assert windowed["ttft_ms"]["mean"] > 1.1 * steady["ttft_ms"]["mean"]
    # Ten windows of 72 s at most, and only requests that ended within them.
    assert windowed["measured_s"] <= 720 and 100 <= windowed["requests"] < 1000
    # Short requests: three agreeing windows, and the start-up round weighs little.
    short = simulate("--concurrency", "10", "--measurement-interval", "5000")[0]
    assert short["measured_s"] in (18.0, 24.0, 30.0, 36.0, 42.0, 48.0, 54.0, 60.0)
    plain = simulate("--concurrency", "10")[0]
    assert abs(short["ttft_ms"]["mean"] / plain["ttft_ms"]["mean"] - 1) < 0.15
    # perf_analyzer's own 10 % never stops earlier than GenAI-Perf's 999 %.
    strict = simulate("--concurrency", "10", "--measurement-interval", "5000", "--stability-percentage", "10")
    assert strict[0]["measured_s"] >= short["measured_s"]


def test_kv_pressure_preempts():
    levels = simulate(
        "--isl", "2000", "--osl", "2000", "--concurrency", "250", "--gpu-memory-utilization", "0.3"
    )
    assert levels[0]["preemptions"] > 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--gpu", "V100"), "unknown GPU 'V100' (choose from A100, H100, H200, B200, L40S)"),
        (("--tp", "3"), "tensor parallelism 3 does not divide"),
        (
            ("--model", "meta-llama/Llama-3.1-405B-Instruct", "--precision", "bf16", "--tp", "1"),
            "does not fit",
        ),
        (("--precision", "fp6"), "unknown precision 'fp6'"),
        (("--model", "gpt-4o"), "no architecture known for model 'gpt-4o'"),
        (("--concurrency", "0"), "--concurrency must be >= 1, got '0'"),
        (("--isl", "many"), "--isl must be an integer, got 'many'"),
        (("--measurement-interval", "0"), "--measurement-interval must be >= 1, got '0'"),
        (("--isl", "99999999999"), "--isl must be <= 1e+07, got '99999999999'"),
        (("--osl", "99999999999"), "--osl must be <= 1e+07, got '99999999999'"),
        (("--concurrency", "400000000"), "--concurrency must be <= 100000, got '400000000'"),
        (("--concurrency", "1", "--requests", "99999999999"), "--requests must be <= 1e+07"),
        (("--rate", "1e12"), "--rate must be <= 1e+06, got '1e12'"),
        (("--rate", "1", "--seed", "99999999999999999999999"), "--seed must be <= 1.84467e+19"),
        (
            ("--concurrency", "1", "--measurement-interval", "1e12"),
            "--measurement-interval must be <= 3.6e+06, got '1e12'",
        ),
        (("--measurement-interval", "soon"), "--measurement-interval must be a number, got 'soon'"),
        (("--rate", "inf"), "--rate must be a finite number, got 'inf'"),
        (("--rate", "nan"), "--rate must be a finite number, got 'nan'"),
        (("--isl", "9" * 400), "--isl must be <= 1e+07"),
        (
            ("--concurrency", "5", "--measurement-interval", "1000", "--stability-percentage", "-5"),
            "--stability-percentage must be >= 0, got '-5'",
        ),
        (
            ("--rate", "5", "--measurement-interval", "1000"),
            "--measurement-interval measures closed-loop levels (--concurrency) only",
        ),
        # too few requests to measure anything: printed 999999999.99 requests/s before
        (("--concurrency", "1", "5", "--requests", "14"), "--requests 14 is too few for 5 clients"),
        (
            ("--concurrency", "5", "--requests", "4", "--measurement-interval", "1000"),
            "give at least 5",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_value(args, needle):
    r = run_fakeai(*BASE, *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("fakeai simulate: error: ") and needle in r.stderr, r.stderr


@pytest.mark.parametrize(
    "second",
    [
        '{"timestamp": 5, "input_length": "x"}',
        '{"timestamp": NaN, "input_length": 10, "output_length": 5}',
        '{"timestamp": Infinity, "input_length": 10, "output_length": 5}',
        '{"timestamp": 1e13, "input_length": 10, "output_length": 5}',
        '{"timestamp": -1, "input_length": 10, "output_length": 5}',
    ],
)
def test_malformed_trace_line_is_named(tmp_path, second):
    trace = tmp_path / "bad.jsonl"
    trace.write_text('{"timestamp": 0, "input_length": 10, "output_length": 5}\n' + second + "\n")
    r = run_fakeai(*BASE, "--trace", str(trace))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "line 2" in r.stderr, r.stderr
