"""Day 2 on a real API server: a storage change upgrades the platform instead of failing it.

A PersistentVolume's source and a statically bound claim's size are immutable; the platform
chart names both after what they cannot change, so `helm upgrade` with a new `storage.size`
creates a new pair and Helm deletes the old one (the data stays: the hostPath directory is the
same), where fixed names made the upgrade fail. The job release is then upgraded with the new
platform block; the run afterwards proves the template uses the new claim.
"""

from __future__ import annotations

import json
import uuid

import kubernetes
import pytest
import yaml

from tests.localcluster.support import LocalCluster
from workflows.chart import LOG_COUNT_CHART, PLATFORM_CHART, load_chart, platform_values_block

pytestmark = pytest.mark.localcluster

RELEASE = "day2"
PLATFORM = "day2-platform"


def storage_objects(manifest: str) -> dict[str, str]:
    objects = [doc for doc in yaml.safe_load_all(manifest) if doc]
    return {o["kind"]: o["metadata"]["name"] for o in objects if o["kind"].startswith("Persistent")}


def upgrade(cluster: LocalCluster, chart_dir, release: str, values: dict) -> dict:
    config = cluster.helm()
    chart = load_chart(chart_dir)
    try:
        return config.upgrade(chart, release, values, namespace=cluster.namespace, timeout=120)
    finally:
        chart.close()
        config.close()


def job_values(cluster: LocalCluster, platform: dict) -> dict:
    block = platform_values_block(platform, release=PLATFORM, namespace=cluster.namespace)
    return {**cluster.release_values(fullnameOverride=RELEASE), **block}


def test_storage_size_change_replaces_the_volume_and_the_next_run_uses_it(cluster):
    storage = {"type": "hostPath", "size": "1Gi", "hostPath": {"path": str(cluster.volume)}}
    base = cluster.platform_values(fullnameOverride=RELEASE, storage=storage)
    first = storage_objects(cluster.install(PLATFORM_CHART, PLATFORM, base)["manifest"])
    cluster.install(LOG_COUNT_CHART, RELEASE, job_values(cluster, base))
    try:
        changed = dict(base, storage=dict(storage, size="2Gi"))
        second = storage_objects(upgrade(cluster, PLATFORM_CHART, PLATFORM, changed)["manifest"])
        upgrade(cluster, LOG_COUNT_CHART, RELEASE, job_values(cluster, changed))
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
        cluster.uninstall(PLATFORM)
