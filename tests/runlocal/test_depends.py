"""The `depends` parser and evaluator against Argo's documented rules."""

from __future__ import annotations

import itertools

import pytest

from workflows.runlocal.depends import RESULTS, DependsError, parse, tasks_of


def flags(**true_results: list[str]) -> dict[str, dict[str, bool]]:
    """Result flags per task: flags(a=["Failed"]) → a.Failed true, everything else false."""
    return {
        task: {result: result in names for result in RESULTS}
        for task, names in true_results.items()
    }


@pytest.mark.parametrize("phase", ["Succeeded", "Skipped", "Daemoned"])
def test_bare_name_means_succeeded_skipped_or_daemoned(phase):
    assert parse("a").evaluate(flags(a=[phase]))


@pytest.mark.parametrize("phase", ["Failed", "Errored", "Omitted"])
def test_bare_name_is_false_for_failures_and_omission(phase):
    assert not parse("a").evaluate(flags(a=[phase]))


def test_and_binds_tighter_than_or():
    expression = parse("a.Failed || b && c")
    assert expression.evaluate(flags(a=["Failed"], b=[], c=[]))
    assert not expression.evaluate(flags(a=[], b=["Succeeded"], c=[]))
    assert parse("(a.Failed || b) && c").evaluate(flags(a=["Failed"], b=[], c=[])) is False


def test_not_and_parentheses_match_python_semantics_for_all_inputs():
    expression = parse("!(a.Succeeded && !b.Failed) || (c.AnySucceeded && !a.AllFailed)")
    for a_ok, b_failed, c_any, a_all in itertools.product([False, True], repeat=4):
        results = flags(
            a=["Succeeded"] * a_ok + ["AllFailed"] * a_all,
            b=["Failed"] * b_failed,
            c=["AnySucceeded"] * c_any,
        )
        expected = (not (a_ok and not b_failed)) or (c_any and not a_all)
        assert expression.evaluate(results) is expected


def test_task_names_with_dashes_and_digits():
    expression = parse("task-1.Succeeded&&task-2")
    assert tasks_of(expression) == {"task-1", "task-2"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a.Finished", "unknown task result a.Finished"),
        ("a &&", "ends where a task name was expected"),
        ("(a || b", "missing ')'"),
        ("a b", "unexpected"),
        ("a.", "unexpected character"),
        ("a & b", "unexpected character"),
        ("", "depends is empty"),
    ],
)
def test_bad_expressions_are_rejected_with_the_reason(text, problem):
    with pytest.raises(DependsError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse(text)
