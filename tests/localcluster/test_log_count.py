"""log-count on the local real cluster: a real API server, kubelet, containerd and Argo controller.

The chart is installed with real Helm (helm-python-sdk) into the cluster's restricted workload
namespace, and Workflows are submitted from its WorkflowTemplate through the Kubernetes API; every
total is checked against the independent oracle. `make e2e-local` brings the cluster up, runs
these and tears it down; they skip (saying why) anywhere the cluster is not up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.localcluster.support import LocalCluster, Run
from tests.support.oracle import expected_result
from workflows.chart import LOG_COUNT_CHART
from workflows.job import JOB_DIR

pytestmark = pytest.mark.localcluster

GENERATE = JOB_DIR / "generate.py"
KEYWORDS = ("INFO", "WARN", "ERROR", "DEBUG")


def generate(path: Path, size: str, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(GENERATE), "--output", str(path), "--size", size, "--seed", str(seed)],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture(scope="module")
def data(cluster: LocalCluster):
    """Inputs generated once, straight into the cluster's volume (readable by the step uid)."""
    root = cluster.volume / "inputs" / f"test-{uuid.uuid4().hex[:8]}"
    inputs = {
        "file": generate(root / "app.log", "6MiB", 3),
        "small": generate(root / "small.log", "200KiB", 5),
    }
    logs = root / "logs"
    for index in range(4):
        generate(logs / f"part-{index}.log", "300KiB", 20 + index)
    generate(logs / "nested" / "deep.log", "100KiB", 31)
    inputs["dir"] = logs
    yield inputs
    shutil.rmtree(root, ignore_errors=True)


def check_totals(run: Run, input_path: Path, match: str, shards: int) -> None:
    assert run.phase == "Succeeded", run.describe()
    result = json.loads(run.result)
    expected = expected_result(input_path, KEYWORDS, match)
    assert {key: result[key] for key in expected} == expected
    assert result["shards"] == shards
    assert run.count_nodes_succeeded() == shards


@pytest.mark.parametrize("parts", [1, 7, 300])
def test_exact_totals_for_each_fan_out_width(cluster, release, data, parts):
    # 300 shards of a 6 MiB file: 300 count pods through a 2-core node, queued by the template's
    # parallelism and by the scheduler: the controller's bookkeeping at real width.
    # About 20 pods a minute go through this node, so the widest run gets half an hour.
    run = cluster.run(
        release,
        {"input": cluster.in_volume(data["file"]), "numParts": str(parts)},
        timeout=1800,
    )
    check_totals(run, data["file"], "substring", parts)


def test_directory_input(cluster, release, data):
    run = cluster.run(release, {"input": cluster.in_volume(data["dir"]), "numParts": "4"})
    check_totals(run, data["dir"], "substring", 4)


def test_word_mode(cluster, release, data):
    run = cluster.run(
        release, {"input": cluster.in_volume(data["file"]), "numParts": "3", "match": "word"}
    )
    check_totals(run, data["file"], "word", 3)


def test_count_pod_deleted_while_its_step_runs_is_run_again(cluster, release, data):
    """Argo v4.0.5 recreates a step pod deleted while it runs, under the same node (its retries
    are not spent), and the shard is counted again: the total stays exact. `release` installs
    the platform, whose ServiceAccount and claim this release's steps use too."""
    # A release whose count pods get 50m of CPU: counting a 2 MiB shard then takes seconds, so
    # the pod is caught with its main container running.
    slow = {
        "requests": {"cpu": "10m", "memory": "48Mi"},
        "limits": {"cpu": "50m", "memory": "256Mi"},
    }
    values = cluster.release_values(fullnameOverride="slow-count")
    values["resources"] = dict(values["resources"], count=slow)
    cluster.install(LOG_COUNT_CHART, "slow-count", values)
    try:
        run = cluster.run(
            "slow-count",
            {"input": cluster.in_volume(data["file"]), "numParts": "3"},
            on_count_pod=cluster.delete_first_count_pod,
        )
    finally:
        cluster.uninstall("slow-count")
    assert cluster.deleted_pods, "no count pod was seen running, so none was deleted"
    assert cluster.recreated_pods == cluster.deleted_pods, "Argo did not run the pod again"
    check_totals(run, data["file"], "substring", 3)


def test_usage_error_fails_once_with_the_jobs_message(cluster, release, data):
    run = cluster.run(release, {"input": cluster.in_volume(data["small"]), "numParts": "abc"})
    assert run.phase == "Failed", run.describe()
    message = run.failure_message()
    assert "numParts" in message and "abc" in message, message
    # A usage error cannot succeed on retry: exactly one pod ran for split.
    assert len(run.pod_nodes("split")) == 1, run.describe()


def test_workload_namespace_enforces_restricted(cluster, release):
    labels = cluster.namespace_labels(cluster.namespace)
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"
    # A pod the standard forbids is refused there: the label is enforced, not decorative.
    refused = cluster.dry_run_privileged_pod()
    assert "violates PodSecurity" in refused, refused
