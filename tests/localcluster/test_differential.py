"""run-local measured against the real controller: the same templates must give the same answers.

Each case is a template run twice: in-process by run-local (workflows.runlocal, through
tests/runlocal/templates.run), and by the local real cluster's Argo controller as a Workflow with
the spec inline, adapted only as the cluster needs (the step image, imagePullPolicy Never, a
restricted securityContext, the claim, a ServiceAccount with the executor's RBAC, and a subPath
of the claim per run so concurrent runs never share /data). Compared, by display name: every
node's phase, the outputs of every step (exit code, parameters, result) and the number of
attempts of a retried one; the workflow's phase, its entrypoint's outputs and its global outputs
(globalName); and, where a case names them, files the steps wrote (their order shows the order
the steps ran in).

Two normalisations: Argo records a step's outputs.result only when its DAG references it
(`includeScriptOutput`); run-local always does, so a result the controller did not record is not
compared. The exit code of a step killed at its deadline is not compared: Argo records 137 or
none, depending on whether the executor or the kill comes first. The cluster's workflow name is
replaced by run-local's.

Cases marked "Once a divergence (N)" confirmed on this controller the differences the issue
listed, which run-local now matches (each pinned by tests/runlocal/test_argo_parity.py): (1) a
retry is not held back by the DAG's parallelism and starts ahead of queued items, (2) a failed
step's outputs (result, parameters, globalName) are kept, (3) a withParam of `null` is an empty
list, (4) one trailing newline is trimmed, before the 256 KiB cut of a result, (5) the leaf
tasks are assessed in alphabetical order for the DAG's phase.

All the cases' Workflows are created at once when the module starts (the node has two cores:
they queue together rather than one after another), and each test then watches its own one.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from e2e.localcluster import cluster as lc
from tests.localcluster.support import GROUP, VERSION, LocalCluster, Run
from tests.runlocal import templates
from tests.runlocal.templates import CLAIM, container, task, workflow
from tests.runlocal.test_argo_parity import dag_output, global_names_racing
from tests.runlocal.test_semantics import (
    ECHO,
    FAIL,
    fan_out,
    fan_out_with_one_failure,
    flaky,
    output_parameters_template,
    workflow_deadline_template,
)
from workflows.chart import LOG_COUNT_CHART, PLATFORM_CHART
from workflows.job import JOB_DIR
from workflows.runlocal.engine import RunResult
from workflows.runlocal.local import render_job, run_local
from workflows.runlocal.progress import Reporter

pytestmark = pytest.mark.localcluster

GENERATE = JOB_DIR / "generate.py"
LOCAL_NAME = "semantics-abcde"  # the workflow name templates.run gives run-local
RELEASE = "log-count-differential"  # the chart release: its ServiceAccount runs every case
LABEL = "argo-fanout.test/differential"
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": lc.STEP_UID,
    "runAsGroup": lc.STEP_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}
MISSING_TOOL = {"name": "missing", "container": {"image": "x", "command": ["no-such-tool-xyz"]}}
SMALL = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}}


@dataclass(frozen=True)
class Case:
    template: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # files under /data to compare after the run


def echo_result_outputs(*tasks: str) -> dict[str, Any]:
    """DAG outputs referencing each task's result, so Argo records the results (and exports)."""
    return {
        "outputs": {
            "parameters": [
                {
                    "name": f"{name}-result",
                    "valueFrom": {"parameter": f"{{{{tasks.{name}.outputs.result}}}}"},
                }
                for name in tasks
            ]
        }
    }


def _with_items() -> dict[str, Any]:
    return workflow(
        [
            task("plain", "echo", withItems=["a", 2, True], params={"x": "{{item}}"}),
            task(
                "maps", "echo", withItems=[{"k": "v", "n": 1}], params={"x": "{{item.k}}-{{item}}"}
            ),
        ],
        [ECHO],
    )


def _with_sequence() -> dict[str, Any]:
    return workflow(
        [
            task("down", "echo", withSequence={"start": "5", "end": "3"}, params={"x": "{{item}}"}),
            task(
                "fmt",
                "echo",
                withSequence={"start": "1", "count": 2, "format": "part-%02d"},
                params={"x": "{{item}}"},
            ),
        ],
        [ECHO],
    )


def _failure_handler() -> dict[str, Any]:
    return workflow(
        [
            task("a", "fail"),
            task("on-failure", "echo", depends="a.Failed", params={"x": "handled"}),
            task("on-success", "echo", depends="a", params={"x": "never"}),
        ],
        [FAIL, ECHO],
    )


def _failure_handled() -> dict[str, Any]:
    return workflow(
        [
            task("a", "fail"),
            task("cleanup", "echo", depends="a.Failed || a.Succeeded", params={"x": "done"}),
        ],
        [FAIL, ECHO],
    )


def _omission_cascades() -> dict[str, Any]:
    return workflow(
        [
            task("a", "echo", params={"x": "1"}),
            task("b", "echo", depends="a.Failed", params={"x": "2"}),
            task("c", "echo", depends="b.Omitted", params={"x": "3"}),
            task("d", "echo", depends="b", params={"x": "4"}),
        ],
        [ECHO],
    )


def _parameters() -> dict[str, Any]:
    direct = container("direct", "import sys; print(' '.join(sys.argv[1:]))")
    direct["container"]["args"] = ["{{workflow.parameters.p}}", "{{workflow.parameters.greeting}}"]
    return workflow(
        [
            task("a", "echo", params={"x": "{{workflow.parameters.greeting}}-{{workflow.name}}"}),
            task("b", "direct"),
        ],
        [ECHO, direct],
        parameters={"greeting": "hello", "p": "{{workflow.name}}"},
        dag_extra=echo_result_outputs("a", "b"),
    )


def _entrypoint_inputs() -> dict[str, Any]:
    echo_default = container("echo-default", "import sys; print(sys.argv[1])", ("x",))
    echo_default["inputs"]["parameters"][0]["default"] = "fallback"
    return workflow(
        [
            task("a", "echo", params={"x": "{{inputs.parameters.greeting}}"}),
            task("b", "echo-default"),
            task("c", "echo", params={"x": "{{inputs.parameters.extra}}"}),
        ],
        [ECHO, echo_default],
        parameters={"greeting": "hello"},
        dag_extra={
            "inputs": {"parameters": [{"name": "greeting"}, {"name": "extra", "default": "d"}]},
            **echo_result_outputs("a", "b", "c"),
        },
    )


def _dag_output(value_from: dict[str, Any]) -> dict[str, Any]:
    # A DAG output's valueFrom.parameter is one variable of the DAG's scope (its task outputs),
    # looked up once the template's inputs are filled in.
    return dag_output(value_from)


def _container_entrypoint() -> dict[str, Any]:
    template = workflow([], [ECHO], parameters={"x": "solo"})
    template["spec"]["templates"].pop(0)
    template["spec"]["entrypoint"] = "echo"
    return template


def _output_parameters() -> dict[str, Any]:
    read = {"name": "read", "valueFrom": {"parameter": "{{tasks.read.outputs.result}}"}}
    return output_parameters_template(read)


EXPORTED = {
    "parameters": [
        {"name": "value", "globalName": "answer", "valueFrom": {"path": "/data/out.txt"}}
    ]
}


def _global_names() -> dict[str, Any]:
    writer = container(
        "writer",
        "import sys; open('/data/out.txt', 'w').write(sys.argv[1])",
        ("x",),
        outputs=EXPORTED,
    )
    return workflow(
        [
            task("first", "writer", params={"x": "1"}),
            task("second", "writer", depends="first", params={"x": "2"}),
        ],
        [writer],
    )


def _global_names_racing() -> dict[str, Any]:
    return global_names_racing(0.2)


def _failed_step_outputs() -> dict[str, Any]:
    # Once a divergence (2): what a failed step leaves behind (its parameters, its result, its
    # globalName) and whether a handler of the failure can use them.
    failing = container(
        "writer",
        "open('/data/out.txt', 'w').write('x'); print('partial'); raise SystemExit(1)",
        outputs=copy.deepcopy(EXPORTED),
    )
    return workflow(
        [
            task("write", "writer"),
            task(
                "handle",
                "echo",
                depends="write.Failed",
                params={
                    "x": "{{tasks.write.outputs.parameters.value}}/{{tasks.write.outputs.result}}"
                },
            ),
        ],
        [failing, ECHO],
        dag_extra=echo_result_outputs("handle"),
    )


def _retried_failure_outputs() -> dict[str, Any]:
    # A retried step that fails every attempt: its outputs are its last attempt's.
    code = (
        "import os; p = '/data/n'; n = len(open(p).read()) if os.path.exists(p) else 0; "
        "open(p, 'a').write('x'); open('/data/out.txt', 'w').write(str(n)); print(n); "
        "raise SystemExit(1)"
    )
    flaky_writer = container(
        "writer", code, outputs=copy.deepcopy(EXPORTED), retryStrategy={"limit": 1}
    )
    return workflow(
        [task("write", "writer")], [flaky_writer], dag_extra=echo_result_outputs("write")
    )


def _null_with_param() -> dict[str, Any]:
    # Once a divergence (3): `null` is what json.dumps(None) prints.
    split = container("split", "print('null')")
    return fan_out(split, task("after", "echo", depends="map", params={"x": "ran"}))


def _trailing_newlines() -> dict[str, Any]:
    # Once a divergence (4): Argo trims exactly one trailing newline of a result or a parameter.
    printer = container(
        "printer",
        "open('/data/out.txt', 'w').write('v \\n\\n'); print('a\\n')",
        outputs={"parameters": [{"name": "value", "valueFrom": {"path": "/data/out.txt"}}]},
    )
    return workflow(
        [task("print", "printer")],
        [printer],
        dag_extra={
            "outputs": {
                "parameters": [
                    {
                        "name": "result",
                        "valueFrom": {"parameter": "{{tasks.print.outputs.result}}"},
                    },
                    {
                        "name": "value",
                        "valueFrom": {"parameter": "{{tasks.print.outputs.parameters.value}}"},
                    },
                ]
            }
        },
    )


def _retry_under_parallelism() -> dict[str, Any]:
    # Once a divergence (1): item f fails its first attempt; with parallelism 1 its retry runs
    # before the items still queued (Argo does not count a retry against the DAG's parallelism).
    code = (
        "import os, sys; x = sys.argv[1]; open('/data/log', 'a').write(x + '\\n'); "
        "m = '/data/failed-' + x; first = x == 'f' and not os.path.exists(m); "
        "open(m, 'w').close(); sys.exit(1 if first else 0)"
    )
    record = container("record", code, ("x",), retryStrategy={"limit": 1})
    return workflow(
        [task("t", "record", withItems=["f", "b", "c"], params={"x": "{{item}}"})],
        [record],
        dag_extra={"parallelism": 1},
    )


def _retry_beside_a_running_item() -> dict[str, Any]:
    # Once a divergence (1), the other half: during f's backoff b takes the one slot and sleeps;
    # f's retry starts beside it anyway and ends first (it does not sleep). Were the retry
    # counted against parallelism, it would wait for b: f, b, f, c.
    code = (
        "import os, sys, time; x = sys.argv[1]; m = '/data/failed-' + x; "
        "first = x == 'f' and not os.path.exists(m); open(m, 'w').close(); "
        "time.sleep(8 if x == 'b' else 0); open('/data/log', 'a').write(x + '\\n'); "
        "sys.exit(1 if first else 0)"
    )
    record = container(
        "record", code, ("x",), retryStrategy={"limit": 1, "backoff": {"duration": "2s"}}
    )
    return workflow(
        [task("t", "record", withItems=["f", "b", "c"], params={"x": "{{item}}"})],
        [record],
        dag_extra={"parallelism": 1},
    )


def _leaf_order(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    # Once a divergence (5): which failed leaf decides the DAG's phase. "e" exits 0 without its
    # output file (Error), FAIL exits 3 (Failed).
    errors = container(
        "errors",
        "pass",
        outputs={"parameters": [{"name": "v", "valueFrom": {"path": "/data/absent"}}]},
    )
    return workflow(tasks, [errors, FAIL])


def _omitted_inherits(items: list[str]) -> dict[str, Any]:
    item = container(
        "item",
        "import sys; sys.exit(0 if sys.argv[1] == 'e' else 1)",
        ("x",),
        outputs={"parameters": [{"name": "v", "valueFrom": {"path": "/data/absent"}}]},
    )
    return workflow(
        [
            task("fan", "item", withItems=items, params={"x": "{{item}}"}),
            task("after", "echo", depends="fan", params={"x": "never"}),
        ],
        [item, ECHO],
    )


def _missing_output() -> dict[str, Any]:
    outputs = {"parameters": [{"name": "value", "valueFrom": {"path": "/data/absent"}}]}
    defaulted = copy.deepcopy(outputs)
    defaulted["parameters"][0]["valueFrom"]["default"] = "none"
    return workflow(
        [task("missing", "quiet"), task("defaulted", "quiet-default")],
        [
            container("quiet", "pass", outputs=outputs),
            container("quiet-default", "pass", outputs=defaulted),
        ],
    )


def _parallelism() -> dict[str, Any]:
    return workflow(
        [task("t", "echo", withItems=["a", "b", "c"], params={"x": "{{item}}"})],
        [ECHO],
        dag_extra={"parallelism": 1},
    )


def _template_deadline() -> dict[str, Any]:
    sleeper = container("sleeper", "import time; time.sleep(120)", activeDeadlineSeconds=3)
    return workflow([task("slow", "sleeper")], [sleeper])


def _result_at_the_limit() -> dict[str, Any]:
    # Once a divergence (4): 256 KiB and a newline; the newline goes first, so nothing is cut.
    printer = container("printer", "print('A' + 'b' * (256 * 1024 - 1))")
    return workflow(
        [task("print", "printer")],
        [printer],
        dag_extra={
            "outputs": {
                "parameters": [
                    {"name": "r", "valueFrom": {"parameter": "{{tasks.print.outputs.result}}"}}
                ]
            }
        },
    )


def _workflow_deadline() -> dict[str, Any]:
    return workflow_deadline_template(8)


def _erroring(policy: str) -> dict[str, Any]:
    # Exits 0 without its output file: an Error, retried or not by the policy.
    errors = container(
        "errors",
        "open('/data/runs', 'a').write('x')",
        outputs={"parameters": [{"name": "v", "valueFrom": {"path": "/data/absent"}}]},
        retryStrategy={"limit": 1, "retryPolicy": policy},
    )
    return workflow([task("a", "errors")], [errors])


CASES: dict[str, Case] = {
    "with-items": Case(_with_items()),
    "with-sequence": Case(_with_sequence()),
    "with-param": Case(fan_out(container("split", "import json; print(json.dumps(['3', '1']))"))),
    "with-param-empty": Case(
        fan_out(
            container("split", "print('[]')"),
            task("after", "echo", depends="map", params={"x": "ran"}),
        )
    ),
    "with-param-null": Case(_null_with_param()),
    "with-param-not-a-list": Case(fan_out(container("split", "print('{\"a\": 1}')"))),
    "with-param-mixed-items": Case(
        fan_out(container("split", 'print(\'[{"b": 2, "a": "x"}, 3, 1.5, "s", true]\')'))
    ),
    "with-param-over-256-kib": Case(
        fan_out(
            container("split", "import json; print(json.dumps([str(i) for i in range(60000)]))")
        )
    ),
    "result-of-256-kib-and-a-newline": Case(_result_at_the_limit()),
    "workflow-deadline": Case(_workflow_deadline()),
    "error-retried-always": Case(_erroring("Always"), files=("runs",)),
    "error-not-retried-on-failure": Case(_erroring("OnFailure"), files=("runs",)),
    "failure-handler": Case(_failure_handler()),
    "failure-handled": Case(_failure_handled()),
    "omission-cascades": Case(_omission_cascades()),
    "one-item-fails": Case(fan_out_with_one_failure("map")),
    "any-succeeded": Case(fan_out_with_one_failure("map.AnySucceeded")),
    "all-failed": Case(fan_out_with_one_failure("map.AllFailed")),
    "retry-succeeds": Case(flaky(limit=2, failures=1)),
    "retry-limit": Case(flaky(limit=1, failures=5)),
    "retry-on-error-only": Case(flaky(limit=2, failures=1, policy="OnError")),
    "retry-expression": Case(
        flaky(limit=3, failures=5, exit_code=2, expression='lastRetry.exitCode != "2"')
    ),
    "retry-message-argo": Case(
        flaky(
            limit=1,
            failures=5,
            exit_code=3,
            expression='lastRetry.message == "main: Error (exit code 3)"',
        )
    ),
    "parameters": Case(_parameters()),
    "parameters-overridden": Case(_parameters(), parameters={"greeting": "bye"}),
    "entrypoint-inputs": Case(_entrypoint_inputs(), parameters={"greeting": "hi"}),
    "dag-output-input": Case(_dag_output({"parameter": "{{inputs.parameters.extra}}"})),
    "dag-output-template": Case(_dag_output({"parameter": "got {{tasks.a.outputs.result}}"})),
    "dag-output-default": Case(
        _dag_output({"parameter": "{{inputs.parameters.extra}}", "default": "fallback"})
    ),
    "container-entrypoint": Case(_container_entrypoint()),
    "output-parameters": Case(_output_parameters()),
    "global-names": Case(_global_names()),
    "global-names-racing": Case(_global_names_racing()),
    "failed-step-outputs": Case(_failed_step_outputs()),
    "retried-failure-outputs": Case(_retried_failure_outputs()),
    "trailing-newlines": Case(_trailing_newlines()),
    "retry-under-parallelism": Case(_retry_under_parallelism(), files=("log",)),
    "retry-beside-a-running-item": Case(_retry_beside_a_running_item(), files=("log",)),
    "leaf-order-ab": Case(_leaf_order([task("a", "errors"), task("b", "fail")])),
    "leaf-order-ba": Case(_leaf_order([task("b", "fail"), task("a", "errors")])),
    "leaf-order-names": Case(_leaf_order([task("z", "errors"), task("y", "fail")])),
    "omitted-inherits-ef": Case(_omitted_inherits(["e", "f"])),
    "omitted-inherits-fe": Case(_omitted_inherits(["f", "e"])),
    "missing-output": Case(_missing_output()),
    "missing-executable": Case(workflow([task("a", "missing")], [MISSING_TOOL])),
    "parallelism": Case(_parallelism()),
    "template-deadline": Case(_template_deadline()),
}


# ---- the cluster's side ---------------------------------------------------------------------


def for_cluster(case: str, spec_case: Case, subpath: str, account: str) -> dict[str, Any]:
    """The case's template as a Workflow this cluster runs, changed only as the cluster needs."""
    spec = copy.deepcopy(spec_case.template["spec"])
    for volume in spec.get("volumes") or []:
        claim = volume.get("persistentVolumeClaim")
        if claim is not None and claim["claimName"] == CLAIM:
            claim["claimName"] = lc.CLAIM_NAME
    for entry in spec["templates"]:
        if "container" not in entry:
            continue
        main = entry["container"]
        main.update(
            image=lc.images.STEP_IMAGE,
            imagePullPolicy="Never",
            securityContext=CONTAINER_SECURITY,
            resources=SMALL,
        )
        for mount in main.get("volumeMounts") or []:
            if mount["name"] == templates.DATA_VOLUME["name"]:
                mount["subPath"] = subpath
    spec.update(
        securityContext=POD_SECURITY,
        serviceAccountName=account,
        automountServiceAccountToken=False,
        executor={"serviceAccountName": account},
    )
    for parameter in (spec.get("arguments") or {}).get("parameters") or []:
        if parameter["name"] in spec_case.parameters:
            parameter["value"] = spec_case.parameters[parameter["name"]]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Workflow",
        "metadata": {
            "generateName": f"diff-{case}-",
            "namespace": lc.WORKLOAD_NAMESPACE,
            "labels": {LABEL: "true"},
        },
        "spec": spec,
    }


def _parameters_of(outputs: Mapping[str, Any] | None) -> dict[str, str]:
    return {
        parameter["name"]: parameter["value"]
        for parameter in (outputs or {}).get("parameters") or []
        if "value" in parameter
    }


def observe_cluster(run: Run, entrypoint: str) -> dict[str, Any]:
    """What the controller reported, in the comparison's shape (see observe_local)."""
    status = run.workflow.get("status", {})
    nodes = status.get("nodes", {})
    root = run.name
    attempts_of = {
        child: node
        for node in nodes.values()
        if node["type"] == "Retry"
        for child in node.get("children", [])
    }
    phases, steps, attempts = {}, {}, {}
    for node_id, node in nodes.items():
        if node_id in attempts_of:
            continue  # an attempt of a retried step: its Retry node stands for it
        if node_id == root and node["type"] == "DAG":
            continue  # the entrypoint DAG: the workflow's own phase
        name = entrypoint if node_id == root else node["displayName"]
        phases[name] = node["phase"]
        if node["type"] in ("Pod", "Retry"):
            outputs = node.get("outputs") or {}
            step: dict[str, Any] = {"parameters": _parameters_of(outputs)}
            if "exitCode" in outputs:
                step["exitCode"] = outputs["exitCode"]
            if "result" in outputs:
                step["result"] = outputs["result"]
            steps[name] = step
        if node["type"] == "Retry":
            attempts[name] = len(node.get("children", []))
    root_node = nodes.get(root, {})
    observed = {
        "phase": status.get("phase"),
        "nodes": phases,
        "steps": steps,
        "attempts": attempts,
        "outputs": _parameters_of(root_node.get("outputs"))
        if root_node.get("type") == "DAG"
        else {},
        "globals": _parameters_of(status.get("outputs")),
    }
    return json.loads(json.dumps(observed).replace(run.name, LOCAL_NAME))


# ---- run-local's side -----------------------------------------------------------------------


def observe_local(result: RunResult, entry_is_dag: bool) -> dict[str, Any]:
    """run-local's answers: phases by Argo's display names, each step's outputs and attempts."""
    phases, steps, attempts = {}, {}, {}
    for task_state in result.tasks.values():
        phases[task_state.name] = task_state.phase.value
        for node in task_state.nodes:
            phases[node.name] = node.phase.value
            if node.phase.value in ("Pending", "Running"):
                continue
            step: dict[str, Any] = {"parameters": dict(node.outputs)}
            if node.exit_code is not None:
                step["exitCode"] = str(node.exit_code)
            if node.result is not None:
                step["result"] = node.result
            steps[node.name] = step
            if "retryStrategy" in node.template:
                attempts[node.name] = node.attempt + 1
    observed = {
        "phase": result.phase.value,
        "nodes": phases,
        "steps": steps,
        "attempts": attempts,
        "outputs": dict(result.outputs) if entry_is_dag else {},
        "globals": dict(result.global_outputs),
    }
    return json.loads(json.dumps(observed).replace(result.name, LOCAL_NAME))


def killed(result: RunResult) -> set[str]:
    """The steps whose last attempt was killed at a deadline."""
    return {node.name for task in result.tasks.values() for node in task.nodes if node.killed_for}


def normalise(local: dict[str, Any], cluster: dict[str, Any], killed: set[str]) -> None:
    """Drop the results Argo did not record (it records one only when its DAG references it),
    and the exit codes of steps killed at a deadline (Argo records 137 or nothing, whichever
    comes first)."""
    for name, step in local["steps"].items():
        if "result" not in cluster["steps"].get(name, {}):
            step.pop("result", None)
    for name in killed:
        for side in (local, cluster):
            side["steps"].get(name, {}).pop("exitCode", None)


def _shorten(line: str, keep: int = 120) -> str:
    """A long line as its start, its length, a digest and its end (so lines that differ
    anywhere still differ in the diff)."""
    if len(line) <= 3 * keep:
        return line
    digest = hashlib.sha256(line.encode()).hexdigest()[:12]
    return f"{line[:keep]} ...[{len(line)} characters, sha256 {digest}]... {line[-keep:]}"


def assert_same(case: str, local: dict[str, Any], cluster: dict[str, Any], why: str) -> None:
    """Fails with a unified diff of the two answers, then what each side said about its run."""
    if local == cluster:
        return
    diff = difflib.unified_diff(
        [_shorten(line) for line in json.dumps(local, indent=2, sort_keys=True).splitlines()],
        [_shorten(line) for line in json.dumps(cluster, indent=2, sort_keys=True).splitlines()],
        "run-local",
        "argo (the real controller)",
        lineterm="",
    )
    pytest.fail(
        f"{case}: run-local and Argo differ:\n" + "\n".join(diff) + "\n" + why, pytrace=False
    )


def messages(result: RunResult, run: Run) -> str:
    local = [f"workflow {result.phase.value}: {result.message}"]
    local += [f"{node.name}: {node.phase.value}: {node.message}" for node in result.failed]
    return "run-local: " + " | ".join(local) + "\nargo: " + run.describe()


# ---- fixtures and tests ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def account(cluster: LocalCluster):
    """The platform's ServiceAccount (executor RBAC, token) and the job's template, installed
    once; yields the ServiceAccount's name, which cluster.run also takes as the template's."""
    platform = f"{RELEASE}-platform"
    cluster.install(PLATFORM_CHART, platform, cluster.platform_values(fullnameOverride=RELEASE))
    values = cluster.release_values(fullnameOverride=RELEASE)
    values["platform"]["serviceAccountName"] = RELEASE
    cluster.install(LOG_COUNT_CHART, RELEASE, values)
    yield RELEASE
    cluster.uninstall(RELEASE)
    cluster.uninstall(platform)


def _selected_cases(request: pytest.FixtureRequest) -> list[str]:
    return sorted(
        {
            item.callspec.params["case"]
            for item in request.session.items
            if item.module is request.module
            and hasattr(item, "callspec")
            and "case" in item.callspec.params
        }
    )


@pytest.fixture(scope="module")
def submitted(request, cluster: LocalCluster, account: str):
    """Every selected case's Workflow, created at once: case -> (workflow name, data dir)."""
    root = cluster.volume / "differential" / uuid.uuid4().hex[:8]
    created: dict[str, tuple[str, Path]] = {}
    try:
        for case in _selected_cases(request):
            data = root / case
            data.mkdir(parents=True)
            for path in (root.parent, root, data):
                os.chown(path, lc.STEP_UID, lc.STEP_UID)
            body = for_cluster(case, CASES[case], cluster.in_volume(data), account)
            created[case] = (cluster.create_workflow(body), data)
        yield created
    finally:
        for name, _ in created.values():
            cluster.delete_workflow(name)
        shutil.rmtree(root, ignore_errors=True)
        with contextlib.suppress(OSError):  # another session's runs may still be in there
            root.parent.rmdir()


def is_dag(template: Mapping[str, Any]) -> bool:
    spec = template["spec"]
    entry = next(entry for entry in spec["templates"] if entry["name"] == spec["entrypoint"])
    return "dag" in entry


def _files(data: Path, names: tuple[str, ...]) -> dict[str, str | None]:
    return {name: (data / name).read_text() if (data / name).exists() else None for name in names}


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_local_matches_the_controller(case, cluster, submitted, tmp_path):
    spec_case = CASES[case]
    result, _ = templates.run(spec_case.template, tmp_path, parameters=spec_case.parameters)
    entrypoint = spec_case.template["spec"]["entrypoint"]
    local = observe_local(result, is_dag(spec_case.template))
    name, data = submitted[case]
    run = cluster.wait(name)
    argo = observe_cluster(run, entrypoint)
    local["files"] = _files(tmp_path / "data", spec_case.files)
    argo["files"] = _files(data, spec_case.files)
    normalise(local, argo, killed(result))
    assert_same(case, local, argo, messages(result, run))


# ---- the chart's WorkflowTemplate -----------------------------------------------------------


def test_the_chart_s_template_matches_the_controller(cluster, account, tmp_path):
    name = f"differential-{uuid.uuid4().hex[:8]}.log"
    cluster_input = cluster.volume / "inputs" / name
    cluster_input.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            str(GENERATE),
            "--output",
            str(cluster_input),
            "--size",
            "64KiB",
            "--seed",
            "7",
        ],
        check=True,
        capture_output=True,
    )
    relative = cluster.in_volume(cluster_input)
    try:
        parameters = {"input": relative, "numParts": "3"}
        run = cluster.run(account, parameters)
        volume = tmp_path / "volume"
        (volume / relative).parent.mkdir(parents=True)
        shutil.copy(cluster_input, volume / relative)
        job = render_job(LOG_COUNT_CHART, cluster.release_values(fullnameOverride=RELEASE))
        local_run = run_local(
            job,
            parameters=parameters,
            input_path=None,
            volume_dir=volume,
            jobs=2,
            reporter=Reporter(io.StringIO()),
            python=sys.executable,
        )
    finally:
        cluster_input.unlink(missing_ok=True)
    try:
        local = observe_local(local_run.result, is_dag(job.template))
        argo = observe_cluster(run, job.template["spec"]["entrypoint"])
        local = json.loads(json.dumps(local).replace(LOCAL_NAME, "WORKFLOW"))
        argo = json.loads(json.dumps(argo).replace(LOCAL_NAME, "WORKFLOW"))
        normalise(local, argo, killed(local_run.result))
        assert_same("log-count chart", local, argo, messages(local_run.result, run))
    finally:
        cluster.delete_workflow(run.name)
        shutil.rmtree(cluster.volume / "runs" / run.name, ignore_errors=True)
