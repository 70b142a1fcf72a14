"""ephemeral: up → run → destroy, and the destroy happens whatever went wrong (unless --keep)."""

from __future__ import annotations

import json

import pytest

from tests.runs.fakes import (
    NAMESPACE,
    RESULT,
    WORKFLOW,
    FakeArgo,
    FakeClock,
    FakeStack,
    cli,
    runtime,
    stack_outputs,
    workflow,
)
from workflows.runs import argo
from workflows.runs.ephemeral import LOCK_WAIT_SECONDS
from workflows.runs.errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, RunError
from workflows.runs.stack import StackLocked

SHARDS = ["0", "1"]
SUCCEEDED = workflow(
    "Succeeded", shards=SHARDS, done=2, result=RESULT, labels={argo.COMPLETED_LABEL: "true"}
)
FAILED = workflow(
    "Failed",
    shards=SHARDS,
    done=1,
    failed={1: "OOMKilled (exit code 137)"},
    labels={argo.COMPLETED_LABEL: "true"},
)


def teardown_report(err: str) -> list[str]:
    lines = err.splitlines()
    start = lines.index("teardown report:") + 1
    return [line.strip() for line in lines[start:] if line.startswith("  ")]


def test_success_runs_up_then_destroys_and_prints_result_and_report(capsys, tmp_path):
    stack = FakeStack(stack_outputs(dataDir=str(tmp_path)))
    fake = FakeArgo([workflow("Running", shards=SHARDS), SUCCEEDED])
    code = cli(["ephemeral", "-s", "dev", "-p", "numParts=2"], runtime(fake, stack))
    out, err = capsys.readouterr()
    assert code == 0
    assert stack.calls == ["up", "destroy"]
    assert not stack.deployed
    assert json.loads(out) == RESULT
    assert teardown_report(err) == [
        "destroyed: every resource of stack dev (delete 14)",
        "left: the empty stack dev and its config, for the next run "
        "(`pulumi stack rm dev` removes it)",
        f"left: {tmp_path} on this machine (the kind volume's inputs and run outputs; "
        "a host directory Pulumi does not own): delete it when done, with sudo unless you are "
        "uid 1000 (the steps' user wrote the run files)",
    ]
    assert "Resources: + 14 to create" in err  # pulumi's own output is streamed


def test_a_stack_created_for_the_run_is_removed_after_destroy(capsys):
    stack = FakeStack(stack_outputs(target="ackone"))
    code = cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([SUCCEEDED]), stack, created=True))
    assert code == 0
    assert stack.calls == ["up", "destroy", "remove"]
    assert teardown_report(capsys.readouterr().err)[1] == (
        "removed: stack dev, created for this run (its config file stays)"
    )


def test_failed_up_still_destroys(capsys):
    stack = FakeStack(
        stack_outputs(), up_error=RunError("pulumi failed on stack 'dev': error: quota", 1)
    )
    fake = FakeArgo([SUCCEEDED])
    code = cli(["ephemeral", "-s", "dev"], runtime(fake, stack))
    out, err = capsys.readouterr()
    assert code == EXIT_RUN_FAILED
    assert stack.calls == ["up", "destroy"]
    assert fake.created == []
    assert out == ""
    assert err.splitlines()[-1] == "error: pulumi failed on stack 'dev': error: quota"
    assert teardown_report(err)[0] == "destroyed: every resource of stack dev (delete 14)"


def test_failed_run_still_destroys_and_names_the_failed_step(capsys):
    stack = FakeStack(stack_outputs())
    code = cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([FAILED]), stack))
    out, err = capsys.readouterr()
    assert code == EXIT_RUN_FAILED
    assert stack.calls == ["up", "destroy"]
    assert out == ""
    assert err.splitlines()[-1] == (
        f"error: workflow {WORKFLOW} Failed without succeeding: step {WORKFLOW}.map(1:1)(0) "
        "Failed: OOMKilled (exit code 137)"
    )


def test_ctrl_c_during_up_still_destroys(capsys):
    stack = FakeStack(stack_outputs(), up_error=KeyboardInterrupt())
    code = cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([SUCCEEDED]), stack))
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED
    assert stack.calls == ["up", "destroy"]
    assert err.splitlines()[-1] == "error: interrupted"


def test_ctrl_c_while_waiting_still_destroys(capsys):
    def interrupt(sleeps: int) -> None:
        raise KeyboardInterrupt

    stack = FakeStack(stack_outputs())
    fake = FakeArgo([workflow("Running")])
    code = cli(
        ["ephemeral", "-s", "dev"], runtime(fake, stack, clock=FakeClock(on_sleep=interrupt))
    )
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED
    assert stack.calls == ["up", "destroy"]
    assert teardown_report(err)[0].startswith("destroyed: every resource of stack dev")


def test_timeout_still_destroys(capsys):
    stack = FakeStack(stack_outputs())
    fake = FakeArgo([workflow("Running")])
    code = cli(["ephemeral", "-s", "dev", "--timeout", "30"], runtime(fake, stack))
    assert code == EXIT_RUN_FAILED
    assert stack.calls == ["up", "destroy"]
    assert "did not finish within 30s" in capsys.readouterr().err


def test_keep_leaves_the_stack_up(capsys):
    stack = FakeStack(stack_outputs())
    code = cli(["ephemeral", "-s", "dev", "--keep"], runtime(FakeArgo([SUCCEEDED]), stack))
    out, err = capsys.readouterr()
    assert code == 0
    assert stack.calls == ["up"]
    assert stack.deployed
    assert json.loads(out) == RESULT
    assert teardown_report(err) == [
        "kept: stack dev stays up (--keep); tear it down with `pulumi destroy -s dev`"
    ]


def test_keep_after_a_failed_run_keeps_too(capsys):
    stack = FakeStack(stack_outputs())
    code = cli(["ephemeral", "-s", "dev", "--keep"], runtime(FakeArgo([FAILED]), stack))
    assert code == EXIT_RUN_FAILED
    assert stack.calls == ["up"]


def test_destroy_waits_for_the_lock_of_an_interrupted_up(capsys):
    locked = StackLocked("stack 'dev' is locked by another update: error: locked", 1)
    stack = FakeStack(stack_outputs(), up_error=KeyboardInterrupt(), destroy_errors=[locked] * 2)
    code = cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([]), stack))
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED
    assert stack.calls == ["up", "destroy", "destroy", "destroy"]
    assert err.count("locked by the interrupted update; waiting") == 2
    assert teardown_report(err)[0].startswith("destroyed:")


def test_destroy_gives_up_on_a_lock_that_stays(capsys):
    locked = StackLocked("stack 'dev' is locked by another update: error: locked", 1)
    stack = FakeStack(stack_outputs(), destroy_errors=[locked] * 1000)
    clock = FakeClock()
    code = cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([SUCCEEDED]), stack, clock=clock))
    out, err = capsys.readouterr()
    assert code == EXIT_RUN_FAILED  # the run succeeded, but the stack is still there
    assert json.loads(out) == RESULT
    assert clock.now >= LOCK_WAIT_SECONDS
    assert teardown_report(err) == [
        "left: the resources of stack dev: stack 'dev' is locked by another update: "
        "error: locked; retry with `pulumi destroy -s dev` (`pulumi cancel -s dev` first if it "
        "stays locked)"
    ]


def test_failed_destroy_says_what_is_left(capsys):
    failure = RunError("pulumi failed on stack 'dev': error: DependencyViolation", 1)
    stack = FakeStack(stack_outputs(), destroy_errors=[failure])
    code = cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([SUCCEEDED]), stack))
    assert code == EXIT_RUN_FAILED
    (line,) = teardown_report(capsys.readouterr().err)
    assert line.startswith("left: the resources of stack dev: pulumi failed on stack 'dev'")


def test_ctrl_c_during_destroy_is_reported(capsys):
    stack = FakeStack(stack_outputs(), destroy_errors=[KeyboardInterrupt()])
    code = cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([SUCCEEDED]), stack))
    assert code == EXIT_RUN_FAILED
    assert teardown_report(capsys.readouterr().err) == [
        "left: the resources of stack dev: destroy was interrupted; "
        "finish it with `pulumi destroy -s dev`"
    ]


def test_existing_target_reports_the_cluster_data_and_argo_crds_are_left(capsys):
    stack = FakeStack(stack_outputs(target="existing"))
    assert cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([SUCCEEDED]), stack)) == 0
    left = [line for line in teardown_report(capsys.readouterr().err) if line.startswith("left:")]
    assert left[-4:] == [
        f"left: workflow {WORKFLOW} in namespace {NAMESPACE} if the namespace existed before "
        "the stack (workload.createNamespace false: destroy keeps it); "
        f"`kubectl -n {NAMESPACE} delete workflow {WORKFLOW}` removes it",
        "left: the data behind claim 'log-count-data' (a Retain volume's files, a NAS directory "
        "or your own claim's content): destroy removes only the objects the stack created",
        "left: Argo's CRDs (workflows.argoproj.io and the other argoproj.io kinds): the chart's "
        "hook Job applied them outside the release; delete them with kubectl once nothing in the "
        "cluster uses them (README: Teardown)",
        "left: the cluster itself (target existing: the stack never owned it)",
    ]


def test_existing_target_without_an_argo_install_leaves_no_crds_of_its_own(capsys):
    stack = FakeStack(stack_outputs(target="existing", argoNamespace=None))
    assert cli(["ephemeral", "-s", "dev"], runtime(FakeArgo([SUCCEEDED]), stack)) == 0
    assert not any("CRDs" in line for line in teardown_report(capsys.readouterr().err))


def test_a_bug_mid_run_still_destroys_before_its_traceback(capsys):
    class BrokenArgo(FakeArgo):
        def get_template(self, namespace, name):
            raise ZeroDivisionError("bug")

    stack = FakeStack(stack_outputs())
    with pytest.raises(ZeroDivisionError):
        cli(["ephemeral", "-s", "dev"], runtime(BrokenArgo([]), stack))
    assert stack.calls == ["up", "destroy"]
    assert "destroyed: every resource of stack dev" in capsys.readouterr().err
