"""Day 2 on a real API server: a storage change upgrades the release instead of failing it.

A PersistentVolume's source and a statically bound claim's size are immutable; the chart names
both after what they cannot change, so `helm upgrade` with a new `storage.size` creates a new
pair and Helm deletes the old one (the data stays: the hostPath directory is the same), where
fixed names made the upgrade fail.
The run afterwards proves the template uses the new claim.
"""

from __future__ import annotations

import json
import uuid

import kubernetes
import pytest
import yaml

from tests.localcluster.support import LocalCluster
from workflows.chart import LOG_COUNT_CHART, load_chart

pytestmark = pytest.mark.localcluster

RELEASE = "day2"


def storage_objects(manifest: str) -> dict[str, str]:
    objects = [doc for doc in yaml.safe_load_all(manifest) if doc]
    return {o["kind"]: o["metadata"]["name"] for o in objects if o["kind"].startswith("Persistent")}


def upgrade(cluster: LocalCluster, values: dict) -> dict[str, str]:
    config = cluster.helm()
    chart = load_chart(LOG_COUNT_CHART)
    try:
        release = config.upgrade(chart, RELEASE, values, namespace=cluster.namespace, timeout=120)
    finally:
        chart.close()
        config.close()
    return storage_objects(release["manifest"])


def test_storage_size_change_replaces_the_volume_and_the_next_run_uses_it(cluster):
    base = cluster.release_values(
        fullnameOverride=RELEASE,
        storage={"type": "hostPath", "size": "1Gi", "hostPath": {"path": str(cluster.volume)}},
    )
    first = storage_objects(cluster.install(LOG_COUNT_CHART, RELEASE, base)["manifest"])
    try:
        changed = dict(base, storage=dict(base["storage"], size="2Gi"))
        second = upgrade(cluster, changed)
        assert second["PersistentVolumeClaim"] != first["PersistentVolumeClaim"]
        assert second["PersistentVolume"] != first["PersistentVolume"]
        claim = cluster.core.read_namespaced_persistent_volume_claim(
            second["PersistentVolumeClaim"], cluster.namespace
        )
        assert claim.spec.resources.requests["storage"] == "2Gi"
        with pytest.raises(kubernetes.client.ApiException) as gone:
            cluster.core.read_namespaced_persistent_volume_claim(
                first["PersistentVolumeClaim"], cluster.namespace
            )
        assert gone.value.status == 404

        name = f"day2-{uuid.uuid4().hex[:6]}.log"
        (cluster.volume / name).write_bytes(b"INFO one\nWARN two\nERROR three\nINFO four\n")
        try:
            run = cluster.run(RELEASE, {"input": name, "numParts": "2"})
        finally:
            (cluster.volume / name).unlink()
        assert run.phase == "Succeeded", run.describe()
        assert json.loads(run.result)["counts"] == {"INFO": 2, "WARN": 1, "ERROR": 1, "DEBUG": 0}
        # Helm removed the old PV object with the old claim (Retain keeps only the data).
        with pytest.raises(kubernetes.client.ApiException) as gone:
            cluster.core.read_persistent_volume(first["PersistentVolume"])
        assert gone.value.status == 404
    finally:
        cluster.uninstall(RELEASE)
