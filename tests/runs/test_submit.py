"""submit and result against a fake Argo object layer and a fake stack."""

from __future__ import annotations

import json

import pytest

from tests.runs.fakes import (
    NAMESPACE,
    RESULT,
    TEMPLATE,
    WORKFLOW,
    FakeArgo,
    FakeClock,
    FakeStack,
    cli,
    runtime,
    stack_outputs,
    workflow,
)
from tests.support.schemas import requires_argo_crds, validate_object
from workflows.runs import argo, nodestatus
from workflows.runs.errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, EXIT_USAGE, RunError
from workflows.runs.submit import POLL_SECONDS

SHARDS = ["0", "1", "2"]
SUCCEEDED_RUN = [
    workflow("Pending"),
    workflow("Running"),
    workflow("Running", shards=SHARDS),
    workflow("Running", shards=SHARDS, done=1),
    workflow("Running", shards=SHARDS, done=1),
    workflow("Running", shards=SHARDS, done=3),
    workflow(
        "Succeeded",
        shards=SHARDS,
        done=3,
        result=RESULT,
        labels={argo.COMPLETED_LABEL: "true"},
    ),
]


def up_stack(**outputs: object) -> FakeStack:
    return FakeStack(stack_outputs(**outputs), deployed=True)


def test_wait_follows_the_phases_and_prints_the_reduce_result(capsys):
    fake = FakeArgo(SUCCEEDED_RUN)
    code = cli(
        ["submit", "-s", "dev", "--wait", "-p", "numParts=3", "-p", "keywords=INFO,ERROR"],
        runtime(fake, up_stack()),
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == RESULT
    progress = [line for line in err.splitlines() if line.startswith(WORKFLOW)]
    assert progress == [  # printed on change only: the repeated poll adds no line
        f"{WORKFLOW} Pending: shards 0/? done",
        f"{WORKFLOW} Running: shards 0/? done",
        f"{WORKFLOW} Running: shards 0/3 done",
        f"{WORKFLOW} Running: shards 1/3 done",
        f"{WORKFLOW} Running: shards 3/3 done",
        f"{WORKFLOW} Succeeded: shards 3/3 done",
    ]
    (body,) = fake.created
    assert body["metadata"] == {"generateName": f"{TEMPLATE}-", "namespace": NAMESPACE}
    assert body["spec"]["workflowTemplateRef"] == {"name": TEMPLATE}
    assert body["spec"]["arguments"]["parameters"] == [
        {"name": "numParts", "value": "3"},
        {"name": "keywords", "value": "INFO,ERROR"},
    ]


def test_without_wait_prints_the_workflow_name_and_does_not_poll(capsys):
    fake = FakeArgo(SUCCEEDED_RUN)
    assert cli(["submit", "-s", "dev"], runtime(fake, up_stack())) == 0
    out, err = capsys.readouterr()
    assert out.strip() == WORKFLOW
    assert f"result -s dev {WORKFLOW}" in err
    assert fake.polls == 0


def test_a_failed_shard_fails_the_run_naming_the_node_and_its_message(capsys):
    failed = workflow(
        "Failed",
        shards=SHARDS,
        done=1,
        failed={2: "Error (exit code 2): count.py: shard 2 is missing from the manifest"},
        message="child 'log-count-x7k2p-123' failed",
        labels={argo.COMPLETED_LABEL: "true"},
    )
    code = cli(["submit", "-s", "dev", "--wait"], runtime(FakeArgo([failed]), up_stack()))
    out, err = capsys.readouterr()
    assert code == EXIT_RUN_FAILED
    assert out == ""
    (error,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert f"step {WORKFLOW}.map(2:2)(0) Failed" in error  # the attempt pod, as Argo names it
    assert "shard 2 is missing from the manifest" in error
    assert "Traceback" not in err


def test_the_completed_label_without_succeeded_phase_is_not_success(capsys):
    # Finished (the label) but the phase says Error: the result of reduce must not be trusted.
    errored = workflow(
        "Error",
        shards=SHARDS,
        done=3,
        result=RESULT,
        labels={argo.COMPLETED_LABEL: "true"},
        message="workflow shutdown with strategy: Terminate",
    )
    code = cli(["submit", "-s", "dev", "--wait"], runtime(FakeArgo([errored]), up_stack()))
    out, err = capsys.readouterr()
    assert code == EXIT_RUN_FAILED
    assert out == ""
    assert "Error without succeeding: workflow shutdown with strategy: Terminate" in err


def test_completed_label_with_an_unset_phase_fails_too(capsys):
    odd = workflow("", shards=SHARDS, done=3, labels={argo.COMPLETED_LABEL: "true"})
    code = cli(["submit", "-s", "dev", "--wait"], runtime(FakeArgo([odd]), up_stack()))
    assert code == EXIT_RUN_FAILED
    assert "completed without succeeding" in capsys.readouterr().err


def test_timeout_stops_waiting_and_says_the_run_keeps_going(capsys):
    clock = FakeClock()
    running = workflow("Running", shards=SHARDS, done=1)
    code = cli(
        ["submit", "-s", "dev", "--wait", "--timeout", "10"],
        runtime(FakeArgo([running]), up_stack(), clock=clock),
    )
    err = capsys.readouterr().err
    assert code == EXIT_RUN_FAILED
    assert f"error: workflow {WORKFLOW} did not finish within 10s (Running: shards 1/3" in err
    assert f"result -s dev {WORKFLOW}" in err
    assert clock.now == pytest.approx(10)  # the last sleep is cut to the deadline
    assert clock.sleeps == -(-10 // POLL_SECONDS)


def test_ctrl_c_while_waiting_is_one_line_and_leaves_the_run_alone(capsys):
    def interrupt(sleeps: int) -> None:
        raise KeyboardInterrupt

    fake = FakeArgo([workflow("Running")])
    code = cli(
        ["submit", "-s", "dev", "--wait"],
        runtime(fake, up_stack(), clock=FakeClock(interrupt)),
    )
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED
    assert f"error: interrupted while waiting for workflow {WORKFLOW} (it was not stopped)" in err


def test_missing_template_is_reported_before_anything_is_created(capsys):
    fake = FakeArgo(SUCCEEDED_RUN, template={})
    code = cli(["submit", "-s", "dev", "--wait"], runtime(fake, up_stack()))
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert f"error: WorkflowTemplate '{TEMPLATE}' not found in namespace '{NAMESPACE}'" in err
    assert fake.created == []


def test_unknown_parameter_names_the_key_and_the_allowed_ones(capsys):
    fake = FakeArgo(SUCCEEDED_RUN)
    code = cli(["submit", "-s", "dev", "-p", "numparts=3"], runtime(fake, up_stack()))
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "-p numparts: the template has no parameter 'numparts'; did you mean 'numParts'?" in err
    assert "numParts, partSize, input, keywords, match" in err
    assert fake.created == []


def test_a_min_success_ratio_below_one_is_submitted_as_given(capsys):
    fake = FakeArgo(SUCCEEDED_RUN)
    code = cli(["submit", "-s", "dev", "-p", "minSuccessRatio=0.9"], runtime(fake, up_stack()))
    assert code == 0, capsys.readouterr().err
    (created,) = fake.created
    assert created["spec"]["arguments"]["parameters"] == [
        {"name": "minSuccessRatio", "value": "0.9"}
    ]


@pytest.mark.parametrize("expression", ["numParts", "=3"])
def test_malformed_parameter_is_rejected(capsys, expression):
    code = cli(["submit", "-s", "dev", "-p", expression], runtime(FakeArgo([]), up_stack()))
    assert code == EXIT_USAGE
    assert f"-p {expression!r}: expected NAME=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("timeout", ["0", "-5", "soon", "nan"])
def test_timeout_must_be_positive_seconds(capsys, timeout):
    with pytest.raises(SystemExit) as exit_info:
        cli(["submit", "-s", "dev", "--timeout", timeout], runtime(FakeArgo([]), up_stack()))
    assert exit_info.value.code == 2
    assert f"--timeout: {timeout!r} is not a positive number of seconds" in (
        capsys.readouterr().err
    )


def test_timeout_without_wait_is_a_usage_error(capsys):
    fake = FakeArgo([])
    stack = up_stack()
    assert cli(["submit", "-s", "dev", "--timeout", "60"], runtime(fake, stack)) == EXIT_USAGE
    assert capsys.readouterr().err.strip() == (
        "error: --timeout 60 applies only with --wait (without it submit returns as soon as "
        "the run is created): add --wait, or drop --timeout"
    )
    assert fake.created == []


def test_stack_not_up_is_one_clear_line(capsys):
    not_up = FakeStack(stack_outputs(), deployed=False)
    code = cli(["submit", "-s", "dev", "--wait"], runtime(FakeArgo([]), not_up))
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.strip() == (
        "error: stack 'dev' is not up (it has no outputs): deploy it with `pulumi up -s dev`, "
        "or use `python -m workflows ephemeral -s dev`"
    )


def test_stack_missing_outputs_names_them(capsys):
    stack = FakeStack(stack_outputs(workflowTemplate=None, kubeconfig=None), deployed=True)
    assert cli(["result", "-s", "dev", WORKFLOW], runtime(FakeArgo([]), stack)) == EXIT_USAGE
    assert "lacks the outputs kubeconfig, workflowTemplate" in capsys.readouterr().err


def test_unknown_stack_fails_before_touching_the_cluster(capsys):
    fake = FakeArgo(SUCCEEDED_RUN)
    assert cli(["submit", "-s", "prod", "--wait"], runtime(fake, up_stack())) == EXIT_USAGE
    assert "error: stack 'prod' not found" in capsys.readouterr().err
    assert fake.created == []


def test_result_of_a_finished_run(capsys):
    fake = FakeArgo([SUCCEEDED_RUN[-1]])
    fake.created.append({})  # the workflow exists on the cluster
    assert cli(["result", "-s", "dev", WORKFLOW], runtime(fake, up_stack())) == 0
    assert json.loads(capsys.readouterr().out) == RESULT


def test_result_is_the_workflow_output_merge_exports():
    finished = workflow("Succeeded", shards=SHARDS, done=3, result=RESULT)
    assert finished["status"]["outputs"] == {
        "parameters": [{"name": "result", "value": json.dumps(RESULT)}]
    }
    # Read from status.outputs even when the reduce nodes were garbage-collected from status.
    for name in [name for name in finished["status"]["nodes"] if ".reduce" in name]:
        del finished["status"]["nodes"][name]
    assert json.loads(argo.result(finished)) == RESULT


def test_result_falls_back_to_the_reduce_step_of_a_template_without_the_export():
    finished = workflow("Succeeded", shards=SHARDS, done=3, result=RESULT, exported=False)
    assert "outputs" not in finished["status"]
    assert json.loads(argo.result(finished)) == RESULT


def test_result_of_a_running_run_says_it_is_not_finished(capsys):
    fake = FakeArgo([workflow("Running", shards=SHARDS, done=2)])
    fake.created.append({})
    assert cli(["result", "-s", "dev", WORKFLOW], runtime(fake, up_stack())) == EXIT_RUN_FAILED
    assert f"workflow {WORKFLOW} has not finished: Running: shards 2/3 done" in (
        capsys.readouterr().err
    )


def test_result_of_an_unknown_run(capsys):
    assert cli(["result", "-s", "dev", "nope"], runtime(FakeArgo([]), up_stack())) == EXIT_USAGE
    assert "error: workflow nope not found in namespace 'log-count'" in capsys.readouterr().err


def test_succeeded_without_a_result_parameter_fails(capsys):
    fake = FakeArgo([workflow("Succeeded", shards=SHARDS, done=3)])
    fake.created.append({})
    assert cli(["result", "-s", "dev", WORKFLOW], runtime(fake, up_stack())) == EXIT_RUN_FAILED
    assert "succeeded but reports no `result` output" in capsys.readouterr().err


def test_retried_items_count_once_per_shard():
    # Every item was retried once; shards, not attempts, are counted.
    state = workflow("Running", shards=SHARDS, done=2, retried=True)
    assert len(argo.fanout_items(state)) == len(SHARDS)
    assert argo.progress(state) == argo.Progress("Running", 2, 3)


def test_failed_retried_item_names_its_last_attempt_and_ignores_recovered_ones():
    state = workflow("Failed", shards=SHARDS, done=2, failed={2: "pod deleted"}, retried=True)
    assert argo.failure(state) == (
        f"workflow {WORKFLOW} Failed without succeeding: step {WORKFLOW}.map(2:2)(1) Failed: "
        "pod deleted"
    )


@requires_argo_crds
def test_submitted_workflow_is_valid_for_both_argo_lines():
    body = argo.workflow_body(TEMPLATE, NAMESPACE, {"numParts": "8", "match": "word"})
    validate_object(body)


def failed_shard_run() -> dict:
    return workflow(
        "Failed",
        shards=SHARDS,
        done=1,
        failed={2: "Error (exit code 1): count.py: input changed"},
        labels={argo.COMPLETED_LABEL: "true"},
    )


def stored_as(how: str, fake: FakeArgo, run: dict) -> dict:
    """The run as the controller stores a wide one: nodes compressed, or offloaded."""
    if how == nodestatus.COMPRESSED:
        run["status"]["compressedNodes"] = nodestatus.compress(run["status"].pop("nodes"))
        return run
    return fake.database.offload(run)


@pytest.mark.parametrize("how", [nodestatus.COMPRESSED, nodestatus.OFFLOADED])
def test_the_failed_step_of_a_wide_run_is_named_wherever_its_nodes_are(capsys, how):
    fake = FakeArgo([])
    fake.states = [stored_as(how, fake, failed_shard_run())]
    fake.created.append({})
    assert cli(["result", "-s", "dev", WORKFLOW], runtime(fake, up_stack())) == EXIT_RUN_FAILED
    err = capsys.readouterr().err
    assert (
        f"step {WORKFLOW}.map(2:2)(0) Failed: Error (exit code 1): count.py: input changed" in err
    )


@pytest.mark.parametrize("how", [nodestatus.COMPRESSED, nodestatus.OFFLOADED])
def test_progress_of_a_wide_run_counts_its_shards_wherever_its_nodes_are(capsys, how):
    fake = FakeArgo([])
    fake.states = [stored_as(how, fake, workflow("Running", shards=SHARDS, done=2))]
    fake.created.append({})
    assert cli(["result", "-s", "dev", WORKFLOW], runtime(fake, up_stack())) == EXIT_RUN_FAILED
    assert "Running: shards 2/3 done" in capsys.readouterr().err


def test_offloaded_nodes_out_of_reach_leave_the_phase_and_say_so(capsys):
    fake = FakeArgo([])
    fake.states = [stored_as(nodestatus.OFFLOADED, fake, failed_shard_run())]
    fake.offloads_error = RunError("cannot reach Argo's database (argo-postgres:5432)")
    fake.created.append({})
    assert cli(["result", "-s", "dev", WORKFLOW], runtime(fake, up_stack())) == EXIT_RUN_FAILED
    err = capsys.readouterr().err
    assert "its node status is offloaded and cannot be read (cannot reach Argo's database" in err
    assert f"error: workflow {WORKFLOW} Failed without succeeding" in err


def test_a_wait_on_an_unreachable_offload_says_so_once(capsys):
    running = stored_as(nodestatus.OFFLOADED, FakeArgo([]), workflow("Running", shards=SHARDS))
    done = workflow("Succeeded", shards=SHARDS, done=3, result=RESULT)
    done["status"].pop("nodes")
    done["metadata"]["uid"] = "0b5e-uid"
    done["status"]["offloadNodeStatusVersion"] = "v9"
    fake = FakeArgo([running, running, running, done])
    fake.offloads_error = RunError("cannot reach Argo's database")
    code = cli(["submit", "-s", "dev", "--wait"], runtime(fake, up_stack()))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == RESULT
    assert err.count("cannot reach Argo's database") == 1
