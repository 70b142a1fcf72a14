"""Argo semantics of the runner on small hand-written templates (no chart involved)."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from tests.runlocal.templates import container, phases, run, task, workflow
from workflows.runlocal.engine import RunError
from workflows.runlocal.spec import UnsupportedError

ECHO = container("echo", "import sys; print(sys.argv[1])", ("x",))


def fan_out(split: dict, *after: dict) -> dict:
    """split → map (echo, one task per item of split's stdout list) → the `after` tasks."""
    map_task = task(
        "map",
        "echo",
        depends="split",
        withParam="{{tasks.split.outputs.result}}",
        params={"x": "{{item}}"},
    )
    return workflow([task("split", "split"), map_task, *after], [split, ECHO])


FAIL = container("fail", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)")
# Appends argv[1] to /data/log (rewritten to the test's directory), then exits with argv[2].
RECORD = container(
    "record",
    "import sys; open('/data/log', 'a').write(sys.argv[1] + '\\n'); sys.exit(int(sys.argv[2]))",
    ("x", "code"),
)


def test_with_items_expands_strings_numbers_and_maps(tmp_path):
    template = workflow(
        [
            task("plain", "echo", withItems=["a", 2, True], params={"x": "{{item}}"}),
            task(
                "maps", "echo", withItems=[{"k": "v", "n": 1}], params={"x": "{{item.k}}-{{item}}"}
            ),
        ],
        [ECHO],
    )
    result, _ = run(template, tmp_path)
    assert result.phase.value == "Succeeded"
    outputs = {node.name: node.result for node in result.tasks["plain"].nodes}
    assert outputs == {"plain(0:a)": "a", "plain(1:2)": "2", "plain(2:true)": "true"}
    (node,) = result.tasks["maps"].nodes
    assert (node.name, node.result) == ("maps(0:k:v,n:1)", 'v-{"k":"v","n":1}')


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        ({"count": "3"}, ["0", "1", "2"]),
        ({"start": "5", "end": "3"}, ["5", "4", "3"]),
        ({"start": "1", "count": 2, "format": "part-%02d"}, ["part-01", "part-02"]),
    ],
)
def test_with_sequence(tmp_path, sequence, expected):
    template = workflow(
        [task("seq", "echo", withSequence=sequence, params={"x": "{{item}}"})], [ECHO]
    )
    result, _ = run(template, tmp_path)
    assert [node.result for node in result.tasks["seq"].nodes] == expected


def test_with_param_fans_out_over_a_tasks_stdout_list(tmp_path):
    split = container("split", "import json; print(json.dumps(['3', '1', '2']))")
    template = fan_out(split)
    result, progress = run(template, tmp_path)
    assert result.phase.value == "Succeeded"
    assert [node.name for node in result.tasks["map"].nodes] == ["map(0:3)", "map(1:1)", "map(2:2)"]
    assert "map(1:1)" in progress


def test_with_param_ignores_stderr(tmp_path):
    split = container("split", "import sys; sys.stderr.write('noise'); print('[\"a\"]')")
    template = fan_out(split)
    result, _ = run(template, tmp_path)
    assert [node.result for node in result.tasks["map"].nodes] == ["a"]


def test_with_param_over_argos_256_kib_result_limit_fails_and_says_why(tmp_path):
    split = container("split", "import json; print(json.dumps([str(i) for i in range(60000)]))")
    template = fan_out(split)
    result, _ = run(template, tmp_path)
    assert result.phase.value == "Error"
    assert result.tasks["map"].phase.value == "Error"
    assert "256 KiB" in result.tasks["map"].message


def test_empty_with_param_skips_the_task(tmp_path):
    split = container("split", "print('[]')")
    template = fan_out(split, task("after", "echo", depends="map", params={"x": "ran"}))
    result, _ = run(template, tmp_path)
    assert phases(result) == {"split": "Succeeded", "map": "Skipped", "after": "Succeeded"}
    assert result.phase.value == "Succeeded"


def test_failed_handler_runs_and_an_omitted_leaf_fails_the_workflow(tmp_path):
    template = workflow(
        [
            task("a", "fail"),
            task("on-failure", "echo", depends="a.Failed", params={"x": "handled"}),
            task("on-success", "echo", depends="a", params={"x": "never"}),
        ],
        [FAIL, ECHO],
    )
    result, _ = run(template, tmp_path)
    assert phases(result) == {"a": "Failed", "on-failure": "Succeeded", "on-success": "Omitted"}
    # on-success is a leaf omitted after a failure: its branch carries Failed (assessDAGPhase).
    assert result.phase.value == "Failed"
    assert [node.name for node in result.failed] == ["a"]
    assert result.failed[0].exit_code == 3


def test_a_failure_handled_by_depends_lets_the_workflow_succeed(tmp_path):
    template = workflow(
        [
            task("a", "fail"),
            task("cleanup", "echo", depends="a.Failed || a.Succeeded", params={"x": "done"}),
        ],
        [FAIL, ECHO],
    )
    result, _ = run(template, tmp_path)
    assert phases(result) == {"a": "Failed", "cleanup": "Succeeded"}
    assert result.phase.value == "Succeeded"


def test_omission_cascades_and_a_succeeded_test_of_an_omitted_task_is_false(tmp_path):
    template = workflow(
        [
            task("a", "echo", params={"x": "1"}),
            task("b", "echo", depends="a.Failed", params={"x": "2"}),
            task("c", "echo", depends="b.Omitted", params={"x": "3"}),
            task("d", "echo", depends="b", params={"x": "4"}),
        ],
        [ECHO],
    )
    result, _ = run(template, tmp_path)
    assert phases(result) == {"a": "Succeeded", "b": "Omitted", "c": "Succeeded", "d": "Omitted"}
    # d's branch inherits a's Succeeded through the omitted b: nothing failed.
    assert result.phase.value == "Succeeded"


def fan_out_with_one_failure(reduce_depends: str) -> dict:
    return workflow(
        [
            task(
                "map",
                "record",
                withItems=["0", "1", "0"],
                params={"x": "{{item}}", "code": "{{item}}"},
            ),
            task("reduce", "echo", depends=reduce_depends, params={"x": "reduced"}),
        ],
        [RECORD, ECHO],
    )


def test_reduce_is_omitted_when_one_map_item_fails(tmp_path):
    result, _ = run(fan_out_with_one_failure("map"), tmp_path)
    assert phases(result) == {
        "map": "Failed",
        "map(0:0)": "Succeeded",
        "map(1:1)": "Failed",
        "map(2:0)": "Succeeded",
        "reduce": "Omitted",
    }
    assert result.phase.value == "Failed"
    assert [node.name for node in result.failed] == ["map(1:1)"]


def test_any_succeeded_runs_reduce_on_partial_results(tmp_path):
    result, _ = run(fan_out_with_one_failure("map.AnySucceeded"), tmp_path)
    assert phases(result)["reduce"] == "Succeeded"
    assert result.phase.value == "Succeeded"


def test_all_failed_is_false_unless_every_item_failed(tmp_path):
    result, _ = run(fan_out_with_one_failure("map.AllFailed"), tmp_path)
    assert phases(result)["reduce"] == "Omitted"
    assert result.phase.value == "Failed"


def flaky(
    limit: int,
    failures: int,
    policy: str = "OnFailure",
    backoff=None,
    exit_code: int = 1,
    expression: str | None = None,
) -> dict:
    """A task failing (with exit_code) its first `failures` attempts, counted in /data/attempts
    (one line per attempt: its start time), then sleeping /data/sleep seconds if that file
    exists."""
    code = (
        "import os, time; path = '/data/attempts'; n = len(open(path).read().split()) "
        "if os.path.exists(path) else 0; open(path, 'a').write(f'{time.time()}\\n'); "
        "s = '/data/sleep'; time.sleep(float(open(s).read()) if n and os.path.exists(s) else 0); "
        f"raise SystemExit({exit_code} if n < {failures} else 0)"
    )
    retry = {"limit": limit, "retryPolicy": policy}
    if backoff is not None:
        retry["backoff"] = backoff
    if expression is not None:
        retry["expression"] = expression
    return workflow([task("flaky", "flaky")], [container("flaky", code, retryStrategy=retry)])


def attempt_starts(tmp_path) -> list[float]:
    return [float(line) for line in (tmp_path / "data" / "attempts").read_text().split()]


def test_a_task_that_fails_once_succeeds_on_retry(tmp_path):
    result, progress = run(flaky(limit=2, failures=1), tmp_path)
    assert result.phase.value == "Succeeded"
    assert len(attempt_starts(tmp_path)) == 2
    assert "retrying (attempt 2 of 3)" in progress


def test_a_task_fails_after_its_retry_limit(tmp_path):
    result, _ = run(flaky(limit=2, failures=5), tmp_path)
    assert result.phase.value == "Failed"
    assert len(attempt_starts(tmp_path)) == 3  # 1 attempt + 2 retries
    assert result.failed[0].exit_code == 1


def test_on_error_policy_does_not_retry_a_failed_exit(tmp_path):
    result, _ = run(flaky(limit=2, failures=1, policy="OnError"), tmp_path)
    assert result.phase.value == "Failed"
    assert len(attempt_starts(tmp_path)) == 1


def test_retry_expression_false_fails_at_once(tmp_path):
    template = flaky(limit=3, failures=5, exit_code=2, expression='lastRetry.exitCode != "2"')
    result, progress = run(template, tmp_path)
    assert result.phase.value == "Failed"
    assert len(attempt_starts(tmp_path)) == 1
    assert result.failed[0].message == (
        "main: Error (exit code 2); retryStrategy.expression evaluated to false"
    )
    assert "retrying" not in progress


def test_retry_expression_true_retries(tmp_path):
    template = flaky(limit=3, failures=2, exit_code=137, expression='lastRetry.exitCode != "2"')
    result, _ = run(template, tmp_path)
    assert result.phase.value == "Succeeded"
    assert len(attempt_starts(tmp_path)) == 3


def test_retry_expression_sees_argo_s_scope(tmp_path):
    rule = (
        'asInt(lastRetry.exitCode) == 3 && lastRetry.status == "Failed" && '
        'asFloat(lastRetry.duration) >= 0 && lastRetry.message == "main: Error (exit code 3)" && '
        "asInt(retries) < 1"
    )
    result, _ = run(flaky(limit=5, failures=5, exit_code=3, expression=rule), tmp_path)
    assert result.phase.value == "Failed"
    assert len(attempt_starts(tmp_path)) == 2  # retries is 0, then 1


def test_backoff_waits_duration_times_factor_to_the_retry_number(tmp_path):
    backoff = {"duration": "0.2s", "factor": 2}
    result, progress = run(flaky(limit=2, failures=5, backoff=backoff), tmp_path)
    assert result.phase.value == "Failed"
    first, second, third = attempt_starts(tmp_path)
    # Argo: duration * factor^(n - 1) after the n-th failed attempt, i.e. 0.2s then 0.4s.
    assert 0.2 <= second - first < 2
    assert 0.4 <= third - second < 2
    assert "retrying (attempt 2 of 3) after a 0.2s backoff" in progress
    assert "retrying (attempt 3 of 3) after a 0.4s backoff" in progress


def test_backoff_without_a_factor_waits_the_duration_each_time(tmp_path):
    run(flaky(limit=2, failures=5, backoff={"duration": "1"}), tmp_path)  # whole seconds
    first, second, third = attempt_starts(tmp_path)
    assert 1 <= second - first < 3 and 1 <= third - second < 3


def test_no_retry_whose_backoff_would_end_past_max_duration(tmp_path):
    backoff = {"duration": "3s", "factor": 1, "maxDuration": "5900ms"}
    result, _ = run(flaky(limit=10, failures=10, backoff=backoff), tmp_path)
    assert result.phase.value == "Failed"
    # Attempt 1 at 0 ends after p1; attempt 2 starts at p1 + 3s (within 5.9s while p1 < 2.9s,
    # however loaded the machine); a third could start no sooner than 6s > 5.9s: not started.
    # (Margins of a few seconds: the old 300ms/500ms ones failed on a loaded 2-core machine.)
    assert len(attempt_starts(tmp_path)) == 2
    assert "Backoff would exceed max duration limit" in result.failed[0].message


def test_max_duration_kills_a_running_retry_and_stops_retrying(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sleep").write_text("30")  # every retry hangs
    backoff = {"duration": "10ms", "maxDuration": "1s"}
    started = time.monotonic()
    result, _ = run(flaky(limit=10, failures=10, backoff=backoff), tmp_path)
    assert time.monotonic() - started < 10
    assert result.phase.value == "Failed"
    assert len(attempt_starts(tmp_path)) == 2
    (node,) = result.failed
    assert "longer than the specified deadline (retryStrategy.backoff.maxDuration" in node.message
    assert "Max duration limit exceeded" in node.message


def test_a_bad_backoff_duration_errors_the_task_naming_the_field(tmp_path):
    result, _ = run(flaky(limit=1, failures=0, backoff={"duration": "1d"}), tmp_path)
    assert result.phase.value == "Error"
    assert "retryStrategy.backoff.duration '1d' is not a duration" in result.message
    assert not (tmp_path / "data" / "attempts").exists()


def test_workflow_parameter_defaults_and_overrides(tmp_path):
    template = workflow(
        [task("a", "echo", params={"x": "{{workflow.parameters.greeting}}-{{workflow.name}}"})],
        [ECHO],
        parameters={"greeting": "hello"},
    )
    default, _ = run(template, tmp_path / "default")
    assert default.tasks["a"].nodes[0].result == "hello-semantics-abcde"
    override, _ = run(template, tmp_path / "override", parameters={"greeting": "bye"})
    assert override.tasks["a"].nodes[0].result == "bye-semantics-abcde"


def test_values_are_substituted_in_argo_s_two_passes(tmp_path):
    # Argo's SubstituteParams: pass 1 puts globals in (input values included), pass 2 puts
    # globals and inputs into the result, so a `{{...}}` inside a value inserted by pass 1 is
    # replaced too. (Such values from -p are refused; a template's own defaults may hold them.)
    direct = container("direct", "import sys; print(' '.join(sys.argv[1:]))")
    direct["container"]["args"] = ["{{workflow.parameters.p}}"]
    template = workflow(
        [
            task("a", "echo", params={"x": "{{workflow.parameters.p}}"}),
            task("b", "direct"),
        ],
        [ECHO, direct],
        parameters={"p": "{{workflow.name}}"},
    )
    result, _ = run(template, tmp_path)
    assert result.tasks["a"].nodes[0].result == "semantics-abcde"
    assert result.tasks["b"].nodes[0].result == "semantics-abcde"


def test_mount_paths_in_values_are_left_alone(tmp_path):
    # Only the template's own paths map to local directories; a value is data, whatever it
    # looks like.
    show = container("show", "import sys; print(' '.join(sys.argv[1:]))", ("x",))
    show["container"]["args"] = [
        "/data/own",
        "{{inputs.parameters.x}}",
        "--k={{workflow.parameters.k}}",
    ]
    template = workflow(
        [task("a", "show", params={"x": "/data/value"})],
        [show],
        parameters={"k": "/data,/tmp"},
    )
    result, _ = run(template, tmp_path)
    assert result.tasks["a"].nodes[0].result == (
        f"{tmp_path / 'data'}/own /data/value --k=/data,/tmp"
    )


def test_the_entrypoint_receives_the_workflow_arguments_as_inputs(tmp_path):
    template = workflow(
        [
            task("a", "echo", params={"x": "{{inputs.parameters.greeting}}"}),
            task("b", "echo", params={"x": "{{inputs.parameters.extra}}"}),
        ],
        [ECHO],
        parameters={"greeting": "hello"},
        dag_extra={
            "inputs": {"parameters": [{"name": "greeting"}, {"name": "extra", "default": "d"}]},
            "outputs": {
                "parameters": [
                    {"name": "out", "valueFrom": {"parameter": "{{tasks.b.outputs.result}}"}}
                ]
            },
        },
    )
    result, _ = run(template, tmp_path, parameters={"greeting": "hi"})
    assert result.tasks["a"].nodes[0].result == "hi"
    assert result.outputs == {"out": "d"}


def test_a_container_entrypoint_runs_alone_with_the_workflow_arguments(tmp_path):
    template = workflow([], [ECHO], parameters={"x": "solo"})
    template["spec"]["templates"].pop(0)
    template["spec"]["entrypoint"] = "echo"
    result, _ = run(template, tmp_path)
    assert result.phase.value == "Succeeded"
    assert result.tasks["echo"].nodes[0].result == "solo"


def test_input_parameter_defaults(tmp_path):
    echo_default = container("echo", "import sys; print(sys.argv[1])", ("x",))
    echo_default["inputs"]["parameters"][0]["default"] = "fallback"
    template = workflow(
        [task("a", "echo"), task("b", "echo", params={"x": "given"})], [echo_default]
    )
    result, _ = run(template, tmp_path)
    assert [result.tasks[name].nodes[0].result for name in "ab"] == ["fallback", "given"]


def test_unknown_parameter_is_an_error_listing_the_known_ones(tmp_path):
    template = workflow(
        [task("a", "echo", params={"x": "1"})], [ECHO], parameters={"one": "1", "two": "2"}
    )
    with pytest.raises(
        RunError, match=r"-p three: .*no parameter 'three' \(parameters: one, two\)"
    ):
        run(template, tmp_path, parameters={"three": "3"})


def test_enum_parameter_rejects_other_values(tmp_path):
    template = workflow(
        [task("a", "echo", params={"x": "1"})], [ECHO], parameters={"match": "word"}
    )
    template["spec"]["arguments"]["parameters"][0]["enum"] = ["word", "substring"]
    with pytest.raises(
        RunError, match="-p match=regex: not allowed; the template allows word, substring"
    ):
        run(template, tmp_path, parameters={"match": "regex"})


def output_parameters_template(*extra_dag_outputs: dict) -> dict:
    """write exports an output parameter, read uses it, the DAG exports it (and the extras)."""
    writer = container(
        "writer",
        "import sys; open('/data/out.txt', 'w').write(sys.argv[1] + '\\n')",
        ("x",),
        outputs={"parameters": [{"name": "value", "valueFrom": {"path": "/data/out.txt"}}]},
    )
    final = {
        "name": "final",
        "valueFrom": {"parameter": "{{tasks.write.outputs.parameters.value}}"},
    }
    return workflow(
        [
            task("write", "writer", params={"x": "42"}),
            task(
                "read",
                "echo",
                depends="write",
                params={"x": "got {{tasks.write.outputs.parameters.value}}"},
            ),
        ],
        [writer, ECHO],
        dag_extra={"outputs": {"parameters": [final, *extra_dag_outputs]}},
    )


def test_task_and_dag_output_parameters(tmp_path):
    template = output_parameters_template()
    result, _ = run(template, tmp_path)
    assert result.tasks["read"].nodes[0].result == "got 42"
    assert result.outputs == {"final": "42"}
    assert result.output_files == {"final": tmp_path / "data" / "out.txt"}


def test_global_names_become_workflow_outputs_the_last_writer_winning(tmp_path):
    exported = {
        "parameters": [
            {"name": "value", "globalName": "answer", "valueFrom": {"path": "/data/out.txt"}}
        ]
    }
    writer = container(
        "writer",
        "import sys; open('/data/out.txt', 'w').write(sys.argv[1])",
        ("x",),
        outputs=exported,
    )
    template = workflow(
        [
            task("first", "writer", params={"x": "1"}),
            task("second", "writer", depends="first", params={"x": "2"}),
        ],
        [writer],
    )
    result, _ = run(template, tmp_path)
    assert result.global_outputs == {"answer": "2"}
    assert result.outputs == {}  # the entrypoint itself declares none


@pytest.mark.parametrize(("items", "phase"), [(["e", "f"], "Error"), (["f", "e"], "Failed")])
def test_an_omitted_target_inherits_the_first_failure_of_its_parents_items(tmp_path, items, phase):
    # Item "e" exits 0 without its output file (Error), item "f" exits 1 (Failed); the omitted
    # reduce inherits the first failure Argo's walk meets: the items in order.
    item = container(
        "item",
        "import sys; sys.exit(0 if sys.argv[1] == 'e' else 1)",
        ("x",),
        outputs={"parameters": [{"name": "v", "valueFrom": {"path": "/data/absent"}}]},
    )
    template = workflow(
        [
            task("fan", "item", withItems=items, params={"x": "{{item}}"}),
            task("after", "echo", depends="fan", params={"x": "never"}),
        ],
        [item, ECHO],
    )
    result, _ = run(template, tmp_path)
    assert phases(result)["after"] == "Omitted"
    assert result.phase.value == phase


def test_missing_output_file_errors_the_node_unless_defaulted(tmp_path):
    outputs = {"parameters": [{"name": "value", "valueFrom": {"path": "/data/absent"}}]}
    template = workflow([task("a", "quiet")], [container("quiet", "pass", outputs=outputs)])
    result, _ = run(template, tmp_path / "missing")
    assert result.phase.value == "Error"
    assert "cannot read /data/absent" in result.failed[0].message
    outputs["parameters"][0]["valueFrom"]["default"] = "none"
    result, _ = run(template, tmp_path / "defaulted")
    assert result.tasks["a"].nodes[0].outputs == {"value": "none"}


def test_dag_parallelism_limits_concurrent_tasks(tmp_path):
    # Each task records its start and end; with parallelism 1 no two intervals overlap.
    timed = container(
        "timed",
        "import sys, time; s = time.time(); time.sleep(0.2); "
        "open('/data/spans', 'a').write(f'{s} {time.time()}\\n')",
        ("x",),
    )
    template = workflow(
        [task("t", "timed", withItems=["a", "b", "c"], params={"x": "{{item}}"})],
        [timed],
        dag_extra={"parallelism": 1},
    )
    result, _ = run(template, tmp_path, jobs=3)
    assert result.phase.value == "Succeeded"
    spans = sorted(
        tuple(map(float, line.split()))
        for line in (tmp_path / "data" / "spans").read_text().splitlines()
    )
    assert len(spans) == 3
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))


def test_template_deadline_kills_the_process_and_fails_the_node(tmp_path):
    sleeper = container("sleeper", "import time; time.sleep(60)", activeDeadlineSeconds=1)
    result, _ = run(workflow([task("slow", "sleeper")], [sleeper]), tmp_path)
    assert result.phase.value == "Failed"
    (node,) = result.failed
    assert "longer than the specified deadline" in node.message
    assert node.exit_code == 137  # SIGKILL, as a container runtime reports it


def workflow_deadline_template(deadline_seconds: int) -> dict:
    """A step that outlives the workflow's deadline, with dependants of every kind after it."""
    sleeper = container("sleeper", "import time; time.sleep(120)")
    return workflow(
        [
            task("slow", "sleeper"),
            task("after", "echo", depends="slow", params={"x": "never"}),
            task("handler", "echo", depends="slow.Failed", params={"x": "too late"}),
            task("fan", "echo", depends="slow.Failed", withItems=[1, 2], params={"x": "{{item}}"}),
            task("last", "echo", depends="handler.Failed", params={"x": "too late"}),
        ],
        [sleeper, ECHO],
        activeDeadlineSeconds=deadline_seconds,
    )


def test_workflow_deadline_stops_everything(tmp_path):
    template = workflow_deadline_template(1)
    result, _ = run(template, tmp_path)
    assert result.phase.value == "Failed"
    assert "spec.activeDeadlineSeconds 1s" in result.message
    # As Argo: the DAG is still evaluated; a task that would start past the deadline gets no
    # pod and is Failed ("Step exceeded its deadline"), and its dependants follow from that.
    assert phases(result) == {
        "slow": "Failed",
        "after": "Omitted",
        "handler": "Failed",
        "fan": "Failed",
        "fan(0:1)": "Failed",
        "fan(1:2)": "Failed",
        "last": "Failed",
    }
    assert result.tasks["handler"].nodes[0].message == "Step exceeded its deadline"
    assert not (tmp_path / "data" / "log").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t["spec"]["templates"][1].update(sidecars=[]),
            r"spec\.templates\[1\]\.sidecars is not supported by run-local",
        ),
        (
            lambda t: t["spec"]["templates"][0]["dag"]["tasks"][0].update(when="1 == 1"),
            r"spec\.templates\[0\]\.dag\.tasks\[0\]\.when is not supported",
        ),
        (lambda t: t["spec"].update(onExit="cleanup"), r"spec\.onExit is not supported"),
        (
            lambda t: t["spec"]["templates"][1]["container"].update(
                env=[{"name": "A", "valueFrom": {"secretKeyRef": {}}}]
            ),
            r"container\.env\[0\]\.valueFrom is not supported",
        ),
        (
            lambda t: t["spec"]["templates"][1]["container"]["args"].append(
                "{{=sprig.upper('x')}}"
            ),
            "expression tag",
        ),
        (
            lambda t: t["spec"]["templates"][1]["container"]["args"].append("{{pod.name}}"),
            r"unresolved variable \{\{pod\.name\}\}",
        ),
        (
            lambda t: t["spec"]["templates"][0]["dag"]["tasks"][0].update(depends="ghost"),
            "unknown task",
        ),
        (
            lambda t: t["spec"]["templates"].append({"name": "inner", "steps": []}),
            r"spec\.templates\[2\]\.steps is not supported",
        ),
        (
            lambda t: t["spec"]["templates"].append(dict(t["spec"]["templates"][1])),
            r"spec\.templates\[2\]: 'echo' is declared twice",
        ),
        (
            lambda t: t["spec"]["templates"][1].update(retryStrategy={"retryPolicy": "Always"}),
            r"spec\.templates\[1\]\.retryStrategy has no limit",
        ),
        (
            lambda t: t["spec"]["templates"][0]["dag"]["tasks"].extend(
                [
                    task("fan", "echo", withItems=["1"], params={"x": "{{item}}"}),
                    task(
                        "use", "echo", depends="fan", params={"x": "{{tasks.fan.outputs.result}}"}
                    ),
                ]
            ),
            r"dag\.tasks\[2\]: \{\{tasks\.fan\.outputs\.result\}\} is not available here",
        ),
        (
            lambda t: t["spec"]["templates"][0]["dag"]["tasks"].append(
                task("b", "echo", params={"x": "{{tasks.a.outputs.result}}"})
            ),
            "is not available here",  # a is not an ancestor of b
        ),
        (lambda t: t["spec"]["templates"][1]["container"].pop("command"), "command is required"),
        (
            lambda t: t["spec"]["templates"][0].update(
                outputs={
                    "parameters": [
                        {
                            "name": "r",
                            "globalName": "r",
                            "valueFrom": {"parameter": "{{tasks.a.outputs.result}}"},
                        }
                    ]
                }
            ),
            r"spec\.templates\[0\]\.outputs\.parameters\[0\]\.globalName is not supported",
        ),
        (
            lambda t: t["spec"]["templates"][1]["container"].update(
                volumeMounts=[{"name": "data", "mountPath": "/data", "readOnly": True}]
            ),
            r"volumeMounts\[0\]\.readOnly on claim volume 'data' is not supported",
        ),
        (
            lambda t: t["spec"].update(
                volumes=[
                    {"name": "data", "persistentVolumeClaim": {"claimName": "c", "readOnly": True}}
                ]
            ),
            r"spec\.volumes\[0\]\.persistentVolumeClaim\.readOnly is not supported",
        ),
        (
            lambda t: t["spec"]["templates"][1].update(
                retryStrategy={"limit": 1, "backoff": {"duration": "1s", "cap": "5s"}}
            ),
            r"retryStrategy\.backoff\.cap is not supported",
        ),
        (
            lambda t: t["spec"]["templates"][1].update(
                retryStrategy={"limit": 1, "expression": "lastRetry.message matches 'x'"}
            ),
            r"retryStrategy\.expression: .*'matches' is not supported by run-local",
        ),
        (
            lambda t: t["spec"]["templates"][1].update(
                retryStrategy={"limit": 1, "expression": "lastRetry.exitCode > 1 ? true : false"}
            ),
            r"retryStrategy\.expression: .*'\?' is not supported by run-local",
        ),
        (
            lambda t: t["spec"]["templates"][1].update(
                retryStrategy={"limit": 1, "expression": "lastRetry.code != '2'"}
            ),
            r"retryStrategy\.expression: unknown name 'lastRetry\.code'",
        ),
    ],
)
def test_unsupported_features_are_refused_naming_the_field(tmp_path, edit, message):
    template = workflow([task("a", "echo", params={"x": "1"})], [json.loads(json.dumps(ECHO))])
    template["spec"]["templates"][1]["container"]["env"] = []
    edit(template)
    with pytest.raises(UnsupportedError, match=message):
        run(template, tmp_path)
    assert not (tmp_path / "data" / "log").exists()
