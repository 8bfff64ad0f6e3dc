"""Graders and what they are built from: templates, the similarity metrics, the formula evaluator."""

from __future__ import annotations

import random

import msgspec
import pytest

from fakeai.engine import formula, graders, similarity, templates
from fakeai.errors import ApiError
from fakeai.schemas.evals import Grader


def make(body: dict) -> Grader:
    return msgspec.convert(body, Grader)


def ns(output: str, **item: object) -> dict:
    return {"item": item, "sample": templates.sample_namespace(output)}


# -- templates


def test_render_item_sample_and_json_paths() -> None:
    space = ns('{"answer": 42, "tags": ["a", "b"]}', name="Ada", turns=[{"content": "hi"}])
    missing: list[str] = []
    text = (
        "{{item.name}}/{{ item.turns[0].content }}/{{sample.output_json.answer}}/{{sample.output_json.tags}}"
    )
    assert templates.render(text, space, missing) == 'Ada/hi/42/["a","b"]'
    assert missing == []


def test_render_reports_missing_variables() -> None:
    missing: list[str] = []
    assert templates.render("[{{item.nope}}][{{other.x}}]", ns("x"), missing) == "[][]"
    assert missing == ["item.nope", "other.x"]


def test_render_is_bounded() -> None:
    space = ns("x", big="y" * 1000)
    with pytest.raises(templates.TooLarge):
        templates.render("{{item.big}}" * 2000, space, [])


def test_check_path() -> None:
    assert templates.check_path("item.a[0].b") is None
    assert templates.check_path("sample.output_text") is None
    assert templates.check_path("foo.bar") is not None
    assert templates.check_path("item..x") is not None


# -- similarity


def _lcs_dp(a: str, b: str) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def test_lcs_matches_dynamic_programming() -> None:
    rng = random.Random(7)
    for _ in range(200):
        a = "".join(rng.choice("abcd") for _ in range(rng.randrange(0, 40)))
        b = "".join(rng.choice("abcd") for _ in range(rng.randrange(0, 40)))
        assert similarity.lcs_length(a, b) == _lcs_dp(a, b)


def test_metrics_known_values() -> None:
    same = "the cat sat on the mat"
    for metric in similarity.METRICS:
        # METEOR's fragmentation penalty (0.5 * (1 chunk / 6 matches) ** 3) applies to equal texts too
        perfect = 1 - 0.5 / 6**3 if metric == "meteor" else 1.0
        assert similarity.similarity(metric, same, same) == pytest.approx(perfect, abs=1e-9), metric
        assert similarity.similarity(metric, "abc-def", "xyz uvw") == 0.0, metric
    # rapidfuzz: fuzz.ratio("kitten", "sitting") == 61.538...
    assert similarity.fuzzy_match("kitten", "sitting") == pytest.approx(8 / 13)
    # rouge_score: rouge1 F1 of these two is 5/6 (5 shared unigrams of 6 each)
    assert similarity.similarity(
        "rouge_1", "the cat sat on a mat", "the cat sat on the mat"
    ) == pytest.approx(5 / 6)
    assert similarity.similarity("rouge_2", "a b c", "a b d") == pytest.approx(0.5)
    assert similarity.gleu("a b c d", "a b c e") == pytest.approx(6 / 10)
    assert 0 < similarity.bleu("the cat is on the mat", "the cat sat on the mat") < 1
    assert 0 < similarity.meteor("on the mat sat the cat", "the cat sat on the mat") < 1


def test_similarity_bounds_text_length() -> None:
    with pytest.raises(similarity.TooLong):
        similarity.similarity("fuzzy_match", "x" * (similarity.MAX_CHARS + 1), "x")


# -- formula


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("-2^2", -4.0),
        ("2^3^2", 512.0),
        ("2^-1", 0.5),
        ("min(a, b, 3) + max(a, b)", 0.25 + 0.75),
        ("floor(2.7) + ceil(0.2) + abs(-1) + sqrt(4) + log(exp(1))", 2 + 1 + 1 + 2 + 1),
        ("a / 2 + .5e1", 0.125 + 5),
    ],
)
def test_formula_values(text: str, value: float) -> None:
    assert formula.evaluate(formula.parse(text), {"a": 0.25, "b": 0.75}) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1 +",
        "(1",
        "1 2",
        "__import__('os')",
        "a.b",
        "x[0]",
        "sqrt(1, 2)",
        "foo(1)",
        "(" * 100 + "1" + ")" * 100,
    ],
)
def test_formula_refuses(text: str) -> None:
    with pytest.raises(formula.FormulaError):
        formula.parse(text)


@pytest.mark.parametrize("text", ["1/0", "sqrt(-1)", "log(0)", "10^400", "exp(1000)", "unknown + 1"])
def test_formula_without_value(text: str) -> None:
    with pytest.raises(formula.FormulaError):
        formula.evaluate(formula.parse(text), {})


def test_formula_names() -> None:
    assert formula.names(formula.parse("min(a, b) * 2 + c^d")) == {"a", "b", "c", "d"}


# -- graders


@pytest.mark.parametrize(
    ("operation", "reference", "score"),
    [
        ("eq", "Hello World", 1.0),
        ("eq", "hello world", 0.0),
        ("ne", "x", 1.0),
        ("like", "World", 1.0),
        ("like", "world", 0.0),
        ("ilike", "WORLD", 1.0),
        ("ilike", "planet", 0.0),
    ],
)
def test_string_check(operation: str, reference: str, score: float) -> None:
    grader = make(
        {
            "type": "string_check",
            "name": "s",
            "input": "{{sample.output_text}}",
            "reference": "{{item.ref}}",
            "operation": operation,
        }
    )
    assert graders.grade(grader, ns("Hello World", ref=reference)).score == score


def test_text_similarity_grader() -> None:
    grader = make(
        {
            "type": "text_similarity",
            "name": "t",
            "input": "{{sample.output_text}}",
            "reference": "{{item.ref}}",
            "evaluation_metric": "fuzzy_match",
            "pass_threshold": 0.5,
        }
    )
    result = graders.grade(grader, ns("kitten", ref="sitting"))
    assert result.score == pytest.approx(8 / 13)
    assert graders.passed(grader, result.score)


def test_model_graders_are_deterministic_and_in_range() -> None:
    score = make(
        {
            "type": "score_model",
            "name": "s",
            "model": "gpt-4o",
            "range": [1, 5],
            "input": [{"role": "user", "content": "Rate {{sample.output_text}}"}],
        }
    )
    scores = {graders.grade(score, ns(f"answer {i}")).score for i in range(50)}
    assert all(1 <= s <= 5 for s in scores) and len(scores) > 10
    assert graders.grade(score, ns("same")).score == graders.grade(score, ns("same")).score
    label = make(
        {
            "type": "label_model",
            "name": "l",
            "model": "gpt-4o",
            "labels": ["good", "bad"],
            "passing_labels": ["good"],
            "input": [{"role": "user", "content": "{{sample.output_text}}"}],
        }
    )
    results = [graders.grade(label, ns(f"answer {i}")) for i in range(40)]
    assert {r.score for r in results} == {0.0, 1.0}
    assert all(r.usage["gpt-4o"][2] == 1 and r.usage["gpt-4o"][0] > 0 for r in results)


def test_python_grader_is_parsed_not_run(tmp_path) -> None:
    marker = tmp_path / "ran"
    source = f"def grade(sample, item):\n    open({str(marker)!r}, 'w').write('x')\n    return 1.0\n"
    grader = make({"type": "python", "name": "p", "source": source})
    graders.check(grader, "grader")
    score = graders.grade(grader, ns("x")).score
    assert 0 <= score <= 1 and not marker.exists()
    for bad in ("def grade(:\n", "x = 1\n"):
        with pytest.raises(ApiError):
            graders.check(make({"type": "python", "name": "p", "source": bad}), "grader")


def test_multi_grader_combines_sub_scores() -> None:
    grader = make(
        {
            "type": "multi",
            "name": "m",
            "calculate_output": "0.5 * exact + 0.5 * close",
            "graders": {
                "exact": {
                    "type": "string_check",
                    "name": "e",
                    "input": "{{sample.output_text}}",
                    "reference": "{{item.ref}}",
                    "operation": "eq",
                },
                "close": {
                    "type": "text_similarity",
                    "name": "c",
                    "input": "{{sample.output_text}}",
                    "reference": "{{item.ref}}",
                    "evaluation_metric": "rouge_1",
                },
            },
        }
    )
    graders.check(grader, "grader")
    result = graders.grade(grader, ns("a b c d", ref="a b c e"))
    assert result.sub_rewards == {"exact": 0.0, "close": pytest.approx(0.75)}
    assert result.score == pytest.approx(0.375)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {
                "type": "multi",
                "name": "m",
                "calculate_output": "a + zzz",
                "graders": {"a": {"type": "python", "name": "a", "source": "def grade(s, i): return 1"}},
            },
            "grader.calculate_output",
        ),
        (
            {
                "type": "multi",
                "name": "m",
                "calculate_output": "a +",
                "graders": {"a": {"type": "python", "name": "a", "source": "def grade(s, i): return 1"}},
            },
            "grader.calculate_output",
        ),
        (
            {
                "type": "multi",
                "name": "m",
                "calculate_output": "a",
                "graders": {"a": {"type": "bogus", "name": "a"}},
            },
            "grader.graders.a.type",
        ),
        (
            {
                "type": "label_model",
                "name": "l",
                "model": "m",
                "labels": ["a"],
                "passing_labels": ["b"],
                "input": [{"role": "user", "content": "x"}],
            },
            "grader.passing_labels",
        ),
        (
            {
                "type": "score_model",
                "name": "s",
                "model": "m",
                "range": [1, 0],
                "input": [{"role": "user", "content": "x"}],
            },
            "grader.range",
        ),
        (
            {"type": "string_check", "name": "s", "input": "{{nope.x}}", "reference": "y", "operation": "eq"},
            "grader.input",
        ),
        (
            {
                "type": "score_model",
                "name": "s",
                "model": "m",
                "input": [{"role": "user", "content": [{"type": "video", "url": "x"}]}],
            },
            "grader.input[0].content[0].type",
        ),
    ],
)
def test_check_refuses(body: dict, param: str) -> None:
    with pytest.raises(ApiError) as caught:
        graders.check(make(body), "grader")
    assert caught.value.status == 400 and caught.value.param == param


def test_missing_variable_is_an_invalid_variable_error() -> None:
    grader = make(
        {"type": "string_check", "name": "s", "input": "{{item.absent}}", "reference": "x", "operation": "eq"}
    )
    with pytest.raises(graders.GraderError) as caught:
        graders.grade(grader, ns("x"))
    assert caught.value.kind == "invalid_variable_error"
