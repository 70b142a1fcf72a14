"""`retry`: Argo's retry of a failed run's failed nodes, as util.FormulateRetryWorkflow does it.

The workflow below is shaped as the controller reports the log-count DAG: node ids, `children`
edges (a task's children are its dependants' nodes: split's pod lists the map group, each item's
last attempt lists reduce), Retry nodes with `nodeFlag.retried` attempts, boundaryID = the DAG.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.runs.fakes import NAMESPACE, WORKFLOW, FakeArgo, FakeStack, cli, runtime, stack_outputs
from workflows.runs import argo, retry
from workflows.runs.errors import EXIT_OK, EXIT_USAGE, RunError

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)
ROOT = f"{WORKFLOW}"


def node(node_id: str, name: str, kind: str, phase: str, *children: str, **fields: Any) -> dict:
    entry = {"id": node_id, "name": name, "type": kind, "phase": phase, **fields}
    if children:
        entry["children"] = list(children)
    if node_id != ROOT:
        entry["boundaryID"] = ROOT
    return entry


def failed_run(item_phases: tuple[str, ...] = ("Succeeded", "Failed", "Succeeded")) -> dict:
    """split ok, one count per phase (a failed one tried twice), reduce ran after and failed."""
    wf = WORKFLOW
    nodes = [
        node(ROOT, wf, "DAG", "Failed", "s", message="child failed"),
        node("s", f"{wf}.split", "Retry", "Succeeded", "s0"),
        node("s0", f"{wf}.split(0)", "Pod", "Succeeded", "m", nodeFlag={"retried": True}),
        node("m", f"{wf}.map", "TaskGroup", "Failed", *[f"i{n}" for n in range(len(item_phases))]),
        node("r", f"{wf}.reduce", "Retry", "Failed", "r0"),
        node("r0", f"{wf}.reduce(0)", "Pod", "Failed", nodeFlag={"retried": True}),
    ]
    for index, phase in enumerate(item_phases):
        item = f"{wf}.map({index}:{index})"
        attempts = [f"i{index}a0", f"i{index}a1"] if phase == "Failed" else [f"i{index}a0"]
        nodes.append(node(f"i{index}", item, "Retry", phase, *attempts))
        for number, attempt in enumerate(attempts):
            last = number == len(attempts) - 1
            nodes.append(
                node(
                    attempt,
                    f"{item}({number})",
                    "Pod",
                    phase,
                    *(["r"] if last else []),
                    nodeFlag={"retried": True},
                )
            )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "name": wf,
            "namespace": NAMESPACE,
            "resourceVersion": "42",
            "labels": {argo.COMPLETED_LABEL: "true", retry.ARCHIVING_LABEL: "Pending", "x": "y"},
        },
        "spec": {"workflowTemplateRef": {"name": "log-count"}, "shutdown": "Stop"},
        "status": {
            "phase": "Failed",
            "message": "child failed",
            "startedAt": "2026-12-02T08:00:00Z",
            "finishedAt": "2026-12-02T08:10:00Z",
            "conditions": [
                {"type": "PodRunning", "status": "False"},
                {"type": "Completed", "status": "True"},
            ],
            "nodes": {entry["id"]: entry for entry in nodes},
        },
    }


def test_the_failed_count_and_what_follows_it_run_again_the_rest_is_kept():
    plan = retry.plan_retry(failed_run(), NOW)
    # The failed item's attempts and reduce (downstream of it) go; their pods are deleted.
    assert plan.deleted_nodes == {"i1a0", "i1a1", "r", "r0"}
    assert plan.pod_nodes == {"i1a0", "i1a1", "r0"}
    # The path from the root to the failed item runs again.
    assert plan.reset_nodes == {ROOT, "m", "i1"}
    nodes = plan.workflow["status"]["nodes"]
    assert set(nodes) == {ROOT, "s", "s0", "m", "i0", "i0a0", "i1", "i2", "i2a0"}
    for node_id in plan.reset_nodes:
        assert nodes[node_id]["phase"] == "Running"
        assert nodes[node_id]["startedAt"] == "2026-12-02T09:30:00Z"
        assert "message" not in nodes[node_id] and "finishedAt" not in nodes[node_id]
    assert nodes["i1"]["children"] == []  # its attempts are gone
    assert nodes["i0a0"] == failed_run()["status"]["nodes"]["i0a0"] | {"children": []}
    assert nodes["s0"]["phase"] == "Succeeded"


def test_the_workflow_is_no_longer_completed():
    workflow = retry.plan_retry(failed_run(), NOW).workflow
    assert workflow["metadata"]["labels"] == {"x": "y"}
    assert workflow["metadata"]["resourceVersion"] == "42"  # the update fails if it moved on
    status = workflow["status"]
    assert "phase" not in status and "message" not in status and "finishedAt" not in status
    assert status["startedAt"] == "2026-12-02T09:30:00Z"
    assert status["conditions"] == [
        {"type": "PodRunning", "status": "False"},
        {"type": "Completed", "status": "False"},
    ]
    run = failed_run()
    run["status"]["conditions"].reverse()  # replaced where it is
    assert retry.plan_retry(run, NOW).workflow["status"]["conditions"] == [
        {"type": "Completed", "status": "False"},
        {"type": "PodRunning", "status": "False"},
    ]
    assert "shutdown" not in workflow["spec"]
    assert status["persistentVolumeClaims"] == []


def test_a_failed_attempt_that_a_later_one_made_good_is_kept():
    run = failed_run(("Succeeded", "Succeeded", "Succeeded"))
    nodes = run["status"]["nodes"]
    nodes["i0a0"]["phase"] = "Failed"  # a reclaimed spot pod, then a second attempt succeeded
    nodes["i0a0"].pop("children")
    nodes["i0"]["children"].append("i0a1")
    nodes["i0a1"] = node("i0a1", f"{WORKFLOW}.map(0:0)(1)", "Pod", "Succeeded", "r")
    nodes["m"]["phase"] = "Succeeded"
    plan = retry.plan_retry(run, NOW)
    # Only merge failed: its pod runs again under its retry node; the counts are all kept.
    assert plan.deleted_nodes == {"r0"}
    assert plan.pod_nodes == {"r0"}
    assert plan.reset_nodes == {"r", "m", ROOT}
    assert "i0a0" in plan.workflow["status"]["nodes"]


def compressed(run: dict) -> dict:
    """The run as the controller stores it when it passes 1 MB: nodes in compressedNodes."""
    run["status"]["compressedNodes"] = base64.b64encode(
        gzip.compress(json.dumps(run["status"].pop("nodes")).encode())
    ).decode()
    return run


def retry_on(fake: FakeArgo) -> dict:
    """`retry` of the fake's run with its pods b (i1a0), c (i1a1), d (r0); the stored body."""
    fake.created.append({})  # the workflow exists on the cluster
    for entry in (pod("a", "i0a0"), pod("b", "i1a0"), pod("c", "i1a1"), pod("d", "r0")):
        fake.pods[entry["metadata"]["name"]] = entry
    plan = retry.retry(fake, NAMESPACE, WORKFLOW)
    assert plan.pod_nodes == {"i1a0", "i1a1", "r0"}
    assert sorted(fake.deleted_pods) == ["b", "c", "d"]
    (stored,) = fake.replaced
    assert "phase" not in stored["status"]
    return stored


def expected_nodes() -> dict:
    return retry.plan_retry(failed_run(), NOW).workflow["status"]["nodes"]


def without_times(nodes: dict) -> dict:
    return {key: {**value, "startedAt": None} for key, value in nodes.items()}


def test_compressed_node_status_is_read_and_stored_back_compressed():
    stored = retry_on(FakeArgo([compressed(failed_run())]))
    assert "nodes" not in stored["status"]
    nodes = json.loads(gzip.decompress(base64.b64decode(stored["status"]["compressedNodes"])))
    assert without_times(nodes) == without_times(expected_nodes())


def test_offloaded_node_status_is_read_from_and_stored_to_argos_database():
    fake = FakeArgo([])
    fake.states = [fake.database.offload(failed_run())]
    stored = retry_on(fake)
    status = stored["status"]
    assert "nodes" not in status and "compressedNodes" not in status
    # A new row, named by the Workflow; the run's own row is left for the controller to remove.
    assert status["offloadNodeStatusVersion"] == "v2"
    assert fake.database.saved[-1] == ("0b5e-uid", NAMESPACE, "v2")
    assert len(fake.database.rows) == 2
    assert without_times(fake.database.rows["0b5e-uid", "v2"]) == without_times(expected_nodes())


def assert_refused(fake: FakeArgo, capsys, message: str) -> None:
    """`retry` of the fake's run (with a failed pod) exits 2 saying `message`, changing nothing."""
    fake.created.append({})
    fake.pods["b"] = pod("b", "i1a0")
    code = cli(["retry", "-s", "dev", WORKFLOW], runtime(fake, up_stack()))
    assert code == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert (fake.deleted_pods, fake.replaced) == ([], [])


def test_offloaded_node_status_out_of_reach_changes_nothing(capsys):
    fake = FakeArgo([])
    fake.states = [fake.database.offload(failed_run())]
    fake.offloads_error = RunError("no Argo controller ConfigMap in namespace 'argo'")
    assert_refused(fake, capsys, "no Argo controller ConfigMap")


def test_plan_retry_takes_only_a_hydrated_workflow():
    with pytest.raises(ValueError, match="hydrated"):
        retry.plan_retry(compressed(failed_run()), NOW)


@pytest.mark.parametrize("phase", ["Running", "Succeeded", "Pending", ""])
def test_only_a_failed_run_is_retried(phase):
    run = failed_run()
    run["status"]["phase"] = phase
    with pytest.raises(RunError, match="only a Failed or Error run can be retried"):
        retry.plan_retry(run, NOW)


def up_stack() -> FakeStack:
    return FakeStack(stack_outputs(), deployed=True)


def pod(name: str, node_id: str, workflow: str = WORKFLOW) -> dict:
    return {
        "metadata": {
            "name": name,
            "labels": {retry.WORKFLOW_LABEL: workflow},
            "annotations": {retry.NODE_ID_ANNOTATION: node_id},
        }
    }


def test_the_command_deletes_the_failed_pods_then_stores_the_workflow(capsys):
    fake = FakeArgo([failed_run()])
    fake.created.append({})  # the workflow exists on the cluster
    for entry in (
        pod("a", "i0a0"),
        pod("b", "i1a0"),
        pod("c", "i1a1"),
        pod("d", "r0"),
        pod("e", "i1a0", workflow="other-run"),
    ):
        fake.pods[entry["metadata"]["name"]] = entry
    code = cli(["retry", "-s", "dev", WORKFLOW], runtime(fake, up_stack()))
    out, err = capsys.readouterr()
    assert (code, out) == (EXIT_OK, f"{WORKFLOW}\n"), err
    assert sorted(fake.deleted_pods) == ["b", "c", "d"]
    (stored,) = fake.replaced
    assert "phase" not in stored["status"]
    assert f"retried workflow {WORKFLOW}: 3 failed pods deleted" in err


def test_retry_with_wait_follows_the_run_to_its_result(capsys):
    result = {"counts": {"INFO": 1}, "coverage": 1.0}
    done = failed_run()
    done["status"] = {
        "phase": "Succeeded",
        "nodes": {},
        "outputs": {"parameters": [{"name": "result", "value": json.dumps(result)}]},
    }
    fake = FakeArgo([failed_run(), done])
    fake.created.append({})
    code = cli(["retry", "-s", "dev", WORKFLOW, "--wait"], runtime(fake, up_stack()))
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    assert json.loads(out) == result


def test_retry_of_a_running_run_is_refused_and_changes_nothing(capsys):
    running = failed_run()
    running["status"]["phase"] = "Running"
    assert_refused(FakeArgo([running]), capsys, "is Running: only a Failed or Error run can be")


def test_retry_of_an_unknown_run(capsys):
    code = cli(["retry", "-s", "dev", "nope"], runtime(FakeArgo([]), up_stack()))
    assert code != EXIT_OK
    assert "workflow nope not found" in capsys.readouterr().err
