"""run-local where it used to differ from Argo v4.0.5's controller and executor.

Each was found by tests/localcluster/test_differential.py (the same template run by run-local and
by a real controller) and is pinned here against Argo's source: workflow/controller/operator.go
(checkParallelism, addOutputsToGlobalScope), dag.go (expandTask, findLeafTaskNames) and
workflow/executor/executor.go (CaptureScriptResult, SaveParameters).
"""

from __future__ import annotations

import itertools

import pytest

from tests.runlocal.templates import container, phases, run, task, workflow
from tests.runlocal.test_semantics import ECHO, FAIL, attempt_starts, fan_out, flaky
from workflows.runlocal.engine import MAX_RESULT_BYTES

# Appends argv[1] to /data/log; item f fails its first attempt; then sleeps argv[2] seconds.
RECORD_ONCE_FAILING = container(
    "record",
    "import os, sys, time; x = sys.argv[1]; s = time.time(); "
    "m = '/data/failed-' + x; first = x == 'f' and not os.path.exists(m); "
    "open(m, 'w').close(); time.sleep(0 if first else float(sys.argv[2])); "
    "open('/data/log', 'a').write(f'{x} {s} {time.time()}\\n'); sys.exit(1 if first else 0)",
    ("x", "sleep"),
)


def retried_under_parallelism(sleep: str, backoff: dict | None = None) -> dict:
    record = dict(RECORD_ONCE_FAILING, retryStrategy={"limit": 1})
    if backoff is not None:
        record["retryStrategy"] = {"limit": 1, "backoff": backoff}
    return workflow(
        [task("t", "record", withItems=["f", "b", "c"], params={"x": "{{item}}", "sleep": sleep})],
        [record],
        dag_extra={"parallelism": 1},
    )


def spans(tmp_path) -> list[tuple[str, float, float]]:
    lines = (tmp_path / "data" / "log").read_text().splitlines()
    return [(x, float(start), float(end)) for x, start, end in (line.split() for line in lines)]


def test_a_retry_starts_ahead_of_the_items_queued_behind_dag_parallelism(tmp_path):
    # checkParallelism skips the DAG's limit for a node that already exists and is running:
    # a Retry node. Its next attempt starts at once, before items still waiting for a slot.
    result, _ = run(retried_under_parallelism("0"), tmp_path, jobs=3)
    assert result.phase.value == "Succeeded"
    assert [x for x, _, _ in spans(tmp_path)] == ["f", "f", "b", "c"]


def test_a_retry_is_not_counted_against_dag_parallelism(tmp_path):
    # During f's backoff b takes the one slot; f's retry then starts beside it anyway.
    result, _ = run(retried_under_parallelism("1.5", {"duration": "0.3s"}), tmp_path, jobs=3)
    assert result.phase.value == "Succeeded"
    starts = {}
    for x, start, end in sorted(spans(tmp_path), key=lambda span: span[1]):
        starts.setdefault(x, []).append((start, end))
    (_, (retry_start, _)), ((b_start, b_end),), ((c_start, _),) = (
        starts["f"],
        starts["b"],
        starts["c"],
    )
    assert b_start < retry_start < b_end  # the retry started while b held the one slot
    assert c_start >= b_end  # first attempts still wait for it


def test_dag_parallelism_still_limits_first_attempts(tmp_path):
    result, _ = run(retried_under_parallelism("0.2"), tmp_path, jobs=3)
    assert result.phase.value == "Succeeded"
    firsts = sorted((start, end) for x, start, end in spans(tmp_path) if x != "f")
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(firsts))


EXPORTED = {
    "parameters": [
        {"name": "value", "globalName": "answer", "valueFrom": {"path": "/data/out.txt"}}
    ]
}


def test_a_failed_step_keeps_its_outputs_and_exports_them(tmp_path):
    # The executor's wait container captures the result and saves the parameters whatever the
    # main container's exit; the controller exports globalName from any finished pod.
    failing = container(
        "writer",
        "open('/data/out.txt', 'w').write('x'); print('partial'); raise SystemExit(1)",
        outputs=EXPORTED,
    )
    handle = task(
        "handle",
        "echo",
        depends="write.Failed",
        params={"x": "{{tasks.write.outputs.parameters.value}}/{{tasks.write.outputs.result}}"},
    )
    result, _ = run(workflow([task("write", "writer"), handle], [failing, ECHO]), tmp_path)
    assert result.phase.value == "Succeeded"  # the failure is handled
    (write,) = result.tasks["write"].nodes
    assert (write.phase.value, write.outputs, write.result) == ("Failed", {"value": "x"}, "partial")
    assert result.tasks["handle"].nodes[0].result == "x/partial"
    assert result.global_outputs == {"answer": "x"}


def test_a_retried_step_s_outputs_are_its_last_attempt_s(tmp_path):
    code = (
        "import os; p = '/data/n'; n = len(open(p).read()) if os.path.exists(p) else 0; "
        "open(p, 'a').write('x'); open('/data/out.txt', 'w').write(str(n)); print(n); "
        "raise SystemExit(1)"
    )
    writer = container("writer", code, outputs=EXPORTED, retryStrategy={"limit": 1})
    result, _ = run(workflow([task("write", "writer")], [writer]), tmp_path)
    assert result.phase.value == "Failed"
    (write,) = result.tasks["write"].nodes
    assert (write.outputs, write.result) == ({"value": "1"}, "1")
    assert result.global_outputs == {"answer": "1"}


def test_with_param_null_is_an_empty_list(tmp_path):
    # expandTask json.Unmarshals withParam into a slice: `null` leaves it empty, no error.
    template = fan_out(
        container("split", "print('null')"), task("after", "echo", depends="map", params={"x": "1"})
    )
    result, _ = run(template, tmp_path)
    assert phases(result) == {"split": "Succeeded", "map": "Skipped", "after": "Succeeded"}
    assert result.phase.value == "Succeeded"


def test_one_trailing_newline_is_trimmed_from_a_result_and_a_parameter(tmp_path):
    printer = container(
        "printer",
        "open('/data/out.txt', 'w').write('v \\n\\n'); print('a\\n')",
        outputs={"parameters": [{"name": "value", "valueFrom": {"path": "/data/out.txt"}}]},
    )
    result, _ = run(workflow([task("print", "printer")], [printer]), tmp_path)
    (node,) = result.tasks["print"].nodes
    assert (node.result, node.outputs) == ("a\n", {"value": "v \n"})


def test_the_newline_is_trimmed_before_the_256_kib_cut(tmp_path):
    # Exactly 256 KiB and a newline: once the newline goes, nothing is cut.
    body = "A" + "b" * (MAX_RESULT_BYTES - 1)
    printer = container("printer", f"print('A' + 'b' * {MAX_RESULT_BYTES - 1})")
    result, _ = run(workflow([task("print", "printer")], [printer]), tmp_path)
    assert result.tasks["print"].nodes[0].result == body


def test_a_defaulted_parameter_loses_one_trailing_newline_too(tmp_path):
    outputs = {
        "parameters": [{"name": "v", "valueFrom": {"path": "/data/absent", "default": "d\n\n"}}]
    }
    result, _ = run(
        workflow([task("a", "quiet")], [container("quiet", "pass", outputs=outputs)]), tmp_path
    )
    assert result.tasks["a"].nodes[0].outputs == {"v": "d\n"}


ERRORS = container(
    "errors", "pass", outputs={"parameters": [{"name": "v", "valueFrom": {"path": "/data/absent"}}]}
)


@pytest.mark.parametrize(
    ("tasks", "phase"),
    [
        ([task("a", "errors"), task("b", "fail")], "Error"),
        ([task("b", "fail"), task("a", "errors")], "Error"),
        ([task("z", "errors"), task("y", "fail")], "Failed"),
    ],
)
def test_leaf_tasks_are_assessed_in_alphabetical_order(tmp_path, tasks, phase):
    # findLeafTaskNames sorts the target tasks by name; assessDAGPhase stops at the first
    # failed or errored one (failFast), whatever the DAG's task order.
    result, _ = run(workflow(tasks, [ERRORS, FAIL]), tmp_path)
    assert result.phase.value == phase


def test_a_missing_executable_fails_with_the_emissary_s_exit_code_64(tmp_path):
    # Argo's emissary runs the command; when it cannot (not in PATH, not executable) it exits 64,
    # so the step is Failed (and retried under OnFailure), not Error.
    missing = {"name": "missing", "container": {"image": "x", "command": ["no-such-tool-xyz"]}}
    result, _ = run(workflow([task("a", "missing")], [missing]), tmp_path)
    assert result.phase.value == "Failed"
    (node,) = result.failed
    assert node.exit_code == 64
    assert "no-such-tool-xyz" in node.message


def dag_output(value_from: dict) -> dict:
    return workflow(
        [task("a", "echo", params={"x": "1"})],
        [ECHO],
        dag_extra={
            "inputs": {"parameters": [{"name": "extra", "default": "d"}]},
            "outputs": {"parameters": [{"name": "out", "valueFrom": value_from}]},
        },
    )


@pytest.mark.parametrize(
    ("reference", "unresolved"),
    [
        ("{{inputs.parameters.extra}}", "d"),  # the inputs are filled in first
        ("got {{tasks.a.outputs.result}}", "got {{tasks.a.outputs.result"),
    ],
)
def test_a_dag_output_parameter_is_one_variable_of_the_dag_s_scope(tmp_path, reference, unresolved):
    # getTemplateOutputsFromScope: valueFrom.parameter, its `{{` and `}}` cut off, is looked up
    # as one name among the DAG's task outputs (ResolveVar); anything else is an Error.
    result, _ = run(dag_output({"parameter": reference}), tmp_path)
    assert result.phase.value == "Error"
    assert f'Unable to resolve: "{unresolved}"' in result.message
    assert result.outputs == {}


def test_an_unresolvable_dag_output_takes_its_default(tmp_path):
    value_from = {"parameter": "{{inputs.parameters.extra}}", "default": "fallback"}
    result, _ = run(dag_output(value_from), tmp_path / "default")
    assert (result.phase.value, result.outputs) == ("Succeeded", {"out": "fallback"})
    result, _ = run(dag_output({"parameter": "{{ tasks.a.outputs.result }}"}), tmp_path / "plain")
    assert (result.phase.value, result.outputs) == ("Succeeded", {"out": "1"})


def global_names_racing(poll_seconds: float) -> dict:
    """Two independent tasks export the same globalName; "first" (first in the DAG's order)
    waits for "second" to finish writing, so it is the last to finish."""

    def writer(name: str, code: str) -> dict:
        exported = {
            "parameters": [
                {"name": "v", "globalName": "answer", "valueFrom": {"path": f"/data/{name}.txt"}}
            ]
        }
        return container(name, code, outputs=exported)

    first = writer(
        "first",
        "import os, time\nwhile not os.path.exists('/data/second.done'): "
        f"time.sleep({poll_seconds})\nopen('/data/first.txt', 'w').write('first')",
    )
    second = writer(
        "second",
        "open('/data/second.txt', 'w').write('second'); open('/data/second.done', 'w').close()",
    )
    return workflow([task("first", "first"), task("second", "second")], [first, second])


def test_when_the_dag_succeeds_its_tasks_export_again_in_the_dag_s_order(tmp_path):
    # executeDAG, once the DAG has succeeded, adds every task's outputs to the global scope in
    # the DAG's task order: the last task in that order wins, not the last to finish.
    template = global_names_racing(0.05)
    result, _ = run(template, tmp_path)
    assert result.phase.value == "Succeeded"
    assert result.global_outputs == {"answer": "second"}


def test_a_failed_exit_has_argo_s_message_which_retry_expressions_see(tmp_path):
    # inferFailedReason: "<container>: <reason> (exit code N)", the reason being the runtime's
    # "Error"; a retry expression reads it as lastRetry.message.
    rule = 'lastRetry.message == "main: Error (exit code 3)"'
    result, _ = run(flaky(limit=1, failures=5, exit_code=3, expression=rule), tmp_path)
    assert result.phase.value == "Failed"
    assert len(attempt_starts(tmp_path)) == 2
    assert result.failed[0].message == "main: Error (exit code 3)"
