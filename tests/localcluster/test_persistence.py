"""Argo's node status offloading and workflow archive on the local real cluster, for real.

Runs only on a cluster started with `make cluster PERSISTENCE=1` (`cluster.py up --persistence`:
a host PostgreSQL, and a controller that offloads every run); skips, saying so, on one without.
"""

from __future__ import annotations

import json
import socket
import uuid

import pytest

from e2e.localcluster import cluster as lc
from infra import argodb
from tests.localcluster.support import LocalCluster
from tests.localcluster.test_log_count import KEYWORDS, generate
from tests.support.oracle import expected_result
from workflows.runs import offload
from workflows.runs.argo import KubernetesArgoApi

pytestmark = pytest.mark.localcluster
SHARDS = 60  # wide enough to be a fan-out, short enough for a 2-core node (~3 minutes)


@pytest.fixture(scope="module")
def offloading(cluster: LocalCluster) -> LocalCluster:
    if not lc.persistence.enabled(cluster.layout.config):
        pytest.skip("the local cluster runs without --persistence: `make cluster PERSISTENCE=1`")
    return cluster


def test_a_wide_run_is_offloaded_and_archived(offloading, release):
    cluster = offloading
    root = cluster.volume / "inputs" / f"offload-{uuid.uuid4().hex[:8]}"
    data = generate(root / "app.log", "2MiB", 11)
    name = cluster.submit(release, {"input": cluster.in_volume(data), "numParts": str(SHARDS)})
    run = cluster.wait(name, timeout=1800)
    # The object in etcd holds no node status, only the version of what is in the database.
    stored = cluster.wait_archived(name)
    status = stored["status"]
    assert status.get("offloadNodeStatusVersion"), f"not offloaded: {sorted(status)}"
    assert "nodes" not in status and "compressedNodes" not in status
    # ... and the database has them: every shard counted, the total exact.
    nodes = cluster.offloaded_nodes(stored)
    assert len(nodes) >= SHARDS + 3
    assert run.phase == "Succeeded", run.describe()
    assert run.count_nodes_succeeded() == SHARDS
    result = json.loads(run.result)
    expected = expected_result(data, KEYWORDS, "substring")
    assert {key: result[key] for key in expected} == expected
    # The finished run is in the archive (Argo labelled it so), with its phase.
    uid = stored["metadata"]["uid"]
    row = lc.persistence.query(
        cluster.layout.config,
        f"SELECT name, phase FROM {argodb.ARCHIVE_TABLE} WHERE uid = '{uid}'",
    )
    assert row == f"{name}|Succeeded", row
    # The run commands read the same nodes the way they reach a stack's database: from the
    # controller's ConfigMap and Secret, over a socket handed to pg8000 (a port-forward's, there).
    api = KubernetesArgoApi(json.loads(cluster.kubeconfig.read_text()), "localcluster")
    database = api.offloads()
    assert (database.persistence.host, database.persistence.port) == (
        lc.persistence.HOST,
        lc.persistence.PORT,
    )
    through_socket = offload.ArgoDatabase(
        database.persistence,
        argodb.USER,
        lc.persistence.read_password(cluster.layout.config),
        lambda: socket.create_connection((lc.persistence.HOST, lc.persistence.PORT)),
    )
    version = status["offloadNodeStatusVersion"]
    assert through_socket.get(stored["metadata"]["uid"], version) == nodes
    assert database.get(stored["metadata"]["uid"], version) == nodes
    cluster.delete_workflow(name)
