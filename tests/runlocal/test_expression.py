"""The expr-lang subset run-local evaluates retry expressions with."""

from __future__ import annotations

import pytest

from workflows.runlocal.expression import ExpressionError, parse

SCOPE = {
    "retries": "1",
    "lastRetry.exitCode": "2",
    "lastRetry.status": "Failed",
    "lastRetry.duration": "12.5",
    "lastRetry.message": "exit code 2",
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('lastRetry.exitCode != "2"', False),
        ("lastRetry.exitCode != '2'", False),
        ("lastRetry.exitCode == 2", False),  # a string is never equal to a number, as in expr
        ("asInt(lastRetry.exitCode) == 2", True),
        ("int(lastRetry.exitCode) >= 2 && asInt(retries) < 3", True),
        ("asFloat(lastRetry.duration) > 12", True),
        ('lastRetry.status == "Error" || lastRetry.status == "Failed"', True),
        ('not (lastRetry.status == "Error") and retries == "1"', True),
        ('!(lastRetry.exitCode in ["1", "2"])', False),
        ("asInt(lastRetry.exitCode) in [137, 143]", False),
        ("true && !false", True),
        ("string(asInt(retries)) == retries", True),
        ('"a\\"b" == \'a"b\'', True),
    ],
)
def test_evaluates_like_expr_lang(text, value):
    assert parse(text).evaluate(SCOPE) is value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lastRetry.message matches 'x'", "'matches' is not supported"),
        ("asInt(lastRetry.exitCode) + 1 > 2", "'\\+' is not supported"),
        ("len(lastRetry.message) > 0", "'len\\(\\)' is not supported"),
        ("lastRetry.exitCode != ", "ends early"),
        ("(true", "ends early"),
        ("true false", "'false' is not supported"),
    ],
)
def test_refuses_what_it_cannot_evaluate_naming_it(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lastRetry.exitCode > 1", "cannot order '2' and 1"),
        ("asInt(lastRetry.message) > 1", "asInt: cannot convert 'exit code 2'"),
        ("retries", "gives '1', not true or false"),
        ("lastRetry.nothing == 1", "unknown name 'lastRetry.nothing'"),
        ("retries && true", "&& needs true or false"),
    ],
)
def test_evaluation_errors_name_the_problem(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse(text).evaluate(SCOPE)
