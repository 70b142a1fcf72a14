"""submit and ephemeral refuse a bad run before any stack, cluster or cloud call: one line, exit 2.

A misspelt or invalid parameter must cost seconds, not a `pulumi up` (on ACK One: a cloud
cluster) and a destroy; the runtime here fails the test on any such call.
"""

from __future__ import annotations

import pytest

from tests.runs.fakes import WORKFLOW, FakeArgo, FakeStack, cli, runtime, stack_outputs, workflow
from workflows.runs import argo
from workflows.runs.errors import EXIT_RUN_FAILED, EXIT_USAGE
from workflows.runs.submit import Runtime

BAD_RUNS = [
    (
        ["-p", "numPart=8"],
        "error: -p numPart: the template has no parameter 'numPart'; did you mean 'numParts'? "
        "(parameters: numParts, partSize, input, keywords, match, minSuccessRatio)",
    ),
    (["-p", "numParts=abc"], "error: -p numParts=abc: numParts (--parts): 'abc' is not an integer"),
    (["-p", "partSize=0"], "error: -p partSize=0: partSize (--part-size): size '0' must be"),
    (["-p", "keywords=INFO,,WARN"], "error: -p keywords=INFO,,WARN: keywords (--keywords): empty"),
    (["-p", "match=regex"], "error: -p match=regex: match (--match): 'regex' is not a match mode"),
    (
        ["-p", "minSuccessRatio=90%"],
        "error: -p minSuccessRatio=90%: minSuccessRatio (--min-success-ratio): '90%' is not a "
        "ratio above 0 and at most 1",
    ),
    (["-p", "minSuccessRatio=0"], "minSuccessRatio (--min-success-ratio): '0' is not a ratio"),
    (["-p", "minSuccessRatio=1.5"], "minSuccessRatio (--min-success-ratio): '1.5' is not a"),
    (["-p", "keywords={{workflow.name}}"], "parameter values are data, and '{{' is not allowed"),
    (["-p", "input=x{{=sprig.b64enc('y')}}"], "parameter values are data"),
    (["-p", "input=../../etc/shadow"], "input (--input): '../../etc/shadow' leaves the volume"),
    (["--input", "missing.log"], "error: --input missing.log: no such file or directory"),
]


def untouchable() -> Runtime:
    def refuse(*args, **kwargs):
        raise AssertionError("a stack, cluster or cloud call before the local checks")

    return Runtime(select_stack=refuse, select_or_create_stack=refuse, connect=refuse)


@pytest.mark.parametrize(("args", "message"), BAD_RUNS)
@pytest.mark.parametrize("command", [["submit", "--wait"], ["submit"], ["ephemeral"]])
def test_a_bad_run_is_refused_before_anything_is_spent(capsys, command, args, message):
    code = cli([command[0], "-s", "dev", *command[1:], *args], untouchable())
    out, err = capsys.readouterr()
    assert (code, out) == (EXIT_USAGE, "")
    assert err.startswith(message) or message in err, err
    assert err.count("\n") == 1, err  # one line: no teardown report, nothing was deployed


def test_the_deployed_template_is_checked_too():
    # A stack deployed from another checkout may lack a parameter this one knows.
    fake = FakeArgo([])
    fake.template["spec"]["arguments"]["parameters"] = [{"name": "input"}]
    stack = FakeStack(stack_outputs(), deployed=True)
    code = cli(["submit", "-s", "dev", "-p", "numParts=3"], runtime(fake, stack))
    assert code == EXIT_USAGE
    assert fake.created == []


MESSAGE = (
    "main: Error (exit code 2): split.py: error: input (--input): cannot read "
    "'/data/logs/app.log': No such file or directory"
)


@pytest.mark.parametrize("command", [["submit", "--wait"], ["result", WORKFLOW]])
def test_the_failed_step_s_own_error_is_printed(capsys, command):
    # With terminationMessagePolicy FallbackToLogsOnError the job's one line is the message
    # Argo gives the failed pod node.
    failed = workflow("Failed", failed={}, labels={argo.COMPLETED_LABEL: "true"})
    failed["status"]["nodes"][f"{WORKFLOW}.split(0)"].update(phase="Failed", message=MESSAGE)
    failed["status"]["nodes"][f"{WORKFLOW}.split"].update(
        phase="Failed", message="retryStrategy.expression evaluated to false"
    )
    stack = FakeStack(stack_outputs(), deployed=True)
    fake = FakeArgo([failed])
    if command[0] == "result":
        fake.created.append({})  # the workflow exists on the cluster
    code = cli([command[0], "-s", "dev", *command[1:]], runtime(fake, stack))
    err = capsys.readouterr().err
    assert code == EXIT_RUN_FAILED
    assert f"step {WORKFLOW}.split(0) Failed: {MESSAGE}" in err


def test_a_log_tail_message_is_printed_on_one_line(capsys):
    # FallbackToLogsOnError: a crash's message is the last lines of the log (a traceback).
    tail = "Traceback (most recent call last):\n  File x\nMemoryError\n"
    failed = workflow("Failed", failed={}, labels={argo.COMPLETED_LABEL: "true"})
    failed["status"]["nodes"][f"{WORKFLOW}.split(0)"].update(phase="Failed", message=tail)
    failed["status"]["nodes"][f"{WORKFLOW}.split"].update(phase="Failed")
    stack = FakeStack(stack_outputs(), deployed=True)
    code = cli(["submit", "-s", "dev", "--wait"], runtime(FakeArgo([failed]), stack))
    err = capsys.readouterr().err
    assert code == EXIT_RUN_FAILED
    (error,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert error.endswith("Traceback (most recent call last): | File x | MemoryError")
