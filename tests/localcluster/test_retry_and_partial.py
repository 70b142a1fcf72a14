"""Issue 16 on the local real cluster: `retry` of a failed run and partial results.

One count is made to fail for good: before the run, its count file's path in the run's work
directory (the run is created with a known name) is taken by a directory, so the count cannot
put its file there whatever it does. The controller must accept the template's `depends` on the
map's outcome, run merge after the failed map, and (minSuccessRatio below 1) succeed with the
coverage; with ratio 1 the run fails, and `python -m workflows retry`'s edit of the Workflow,
once the obstacle is gone, makes the controller run exactly the failed shard and merge again.

Needs the job side of issue 16 (merge's --min-success-ratio, coverage in the result; count's
exit without work when its count file is intact).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from e2e.localcluster import cluster as lc
from tests.job.jobcode import count_file
from tests.localcluster.support import GROUP, VERSION, LocalCluster, Run
from tests.localcluster.test_log_count import KEYWORDS, generate
from tests.support.oracle import expected_result
from workflows.runs import nodestatus, retry
from workflows.runs.argo import KubernetesArgoApi

pytestmark = pytest.mark.localcluster

STEP_UID = 1000  # the chart's podSecurityContext.runAsUser
SHARDS = 6
BLOCKED = "3"


@pytest.fixture(scope="module")
def source(cluster: LocalCluster):
    root = cluster.volume / "inputs" / f"test-{uuid.uuid4().hex[:8]}"
    yield generate(root / "app.log", "1MiB", 16)
    shutil.rmtree(root, ignore_errors=True)


def block_count_file(cluster: LocalCluster, name: str, shard: str) -> Path:
    """A directory where the run's count file for `shard` would go, owned by the step user."""
    run_dir = cluster.volume / "runs" / name
    blocker = count_file(run_dir, shard)
    blocker.mkdir(parents=True)
    for path in (run_dir, run_dir / "counts", blocker.parent, blocker):
        os.chown(path, STEP_UID, STEP_UID)
    return blocker


def start(cluster: LocalCluster, release: str, source: Path, ratio: str) -> str:
    name = f"{release}-i16-{uuid.uuid4().hex[:6]}"
    block_count_file(cluster, name, BLOCKED)
    cluster.create_workflow(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Workflow",
            "metadata": {"name": name, "namespace": cluster.namespace},
            "spec": {
                "workflowTemplateRef": {"name": release},
                "arguments": {
                    "parameters": [
                        {"name": "input", "value": cluster.in_volume(source)},
                        {"name": "numParts", "value": str(SHARDS)},
                        {"name": "minSuccessRatio", "value": ratio},
                    ]
                },
            },
        }
    )
    return name


def item_pods(run: Run) -> dict[str, list[tuple[str, str]]]:
    """Each count item's pod nodes (id, start time), by item name."""
    found: dict[str, list[tuple[str, str]]] = {}
    for node in run.pod_nodes("map"):
        item = node["displayName"].rsplit("(", 1)[0]
        found.setdefault(item, []).append((node["id"], node.get("startedAt", "")))
    return {item: sorted(pods) for item, pods in found.items()}


def test_below_the_ratio_merge_runs_after_a_failed_count_and_the_run_succeeds(
    cluster, release, source
):
    run = cluster.wait(start(cluster, release, source, "0.5"))
    assert run.phase == "Succeeded", run.describe()
    failed = [node for node in run.pod_nodes("map") if node["phase"] in ("Failed", "Error")]
    assert {node["displayName"].split("(")[1].split(":")[0] for node in failed} == {BLOCKED}
    result = json.loads(run.result)
    assert "coverage" in result, result
    assert result["coverage"] != 1, result


def test_retry_runs_the_failed_shard_and_merge_again_and_the_total_is_exact(
    cluster, release, source
):
    name = start(cluster, release, source, "1")
    first = cluster.wait(name)
    assert first.phase == "Failed", first.describe()
    before = item_pods(first)
    count_file(cluster.volume / "runs" / name, BLOCKED).rmdir()

    api = KubernetesArgoApi(json.loads(cluster.kubeconfig.read_text()), "localcluster")
    stored = api.get_workflow(cluster.namespace, name)
    how = nodestatus.storage(stored)
    # A cluster with --persistence offloads every run (ALWAYS_OFFLOAD_NODE_STATUS): then the
    # nodes are read from Argo's database and the edit is stored there, as a new version.
    offloading = lc.persistence.enabled(cluster.layout.config)
    assert how == (nodestatus.OFFLOADED if offloading else nodestatus.INLINE), how
    plan = retry.retry(api, cluster.namespace, name)
    assert plan.pod_nodes, "nothing to retry"
    retried = api.get_workflow(cluster.namespace, name)
    assert nodestatus.storage(retried) == how
    if offloading:
        version = retried["status"]["offloadNodeStatusVersion"]
        assert version != stored["status"]["offloadNodeStatusVersion"]
        assert cluster.offloaded_nodes(retried) == plan.workflow["status"]["nodes"]
    second = cluster.wait(name)
    assert second.phase == "Succeeded", second.describe()
    result = json.loads(second.result)
    expected = expected_result(source, KEYWORDS, "substring")
    assert {key: result[key] for key in expected} == expected
    after = item_pods(second)
    # The shards that had succeeded kept their pods; only the blocked one ran again.
    changed = sorted(item for item in after if after[item] != before.get(item))
    assert changed == [f"map({BLOCKED}:{BLOCKED})"], second.describe()
