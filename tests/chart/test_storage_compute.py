"""Storage objects per storage.type and step pod metadata per compute.profile."""

from __future__ import annotations

import re
from typing import Any

import helm_python
import pytest

from tests.chart.scenarios import NAMESPACE, RELEASE, kinds, only, render, scenario_values

# The names carry 8 hex digits of the volume's identity (tests/chart/test_volume_identity.py).
VOLUME_NAME = re.compile(rf"^{NAMESPACE}-{RELEASE}-data-[0-9a-f]{{8}}$")
CLAIM_NAME = re.compile(rf"^{RELEASE}-data-[0-9a-f]{{8}}$")
OSS = {
    "type": "oss",
    "oss": {"bucket": "logs", "url": "oss-cn-beijing-internal.aliyuncs.com", "secretName": "ak"},
}
NAS = {"type": "nas", "nas": {"server": "abc.cn-beijing.nas.aliyuncs.com", "path": "/share"}}
# Serverless pods (ECI) cannot mount hostPath, the default storage type.
EXISTING_CLAIM = {"type": "existingClaim", "existingClaim": "shared-logs"}


def storage_objects(storage: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = render({"storage": storage})
    return only(objects, "PersistentVolume"), only(objects, "PersistentVolumeClaim")


def step_metadata(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod metadata of every container step of the WorkflowTemplate."""
    template = only(render({"storage": EXISTING_CLAIM, **values}), "WorkflowTemplate")
    steps = [t for t in template["spec"]["templates"] if "container" in t]
    assert [t["name"] for t in steps] == ["split", "count", "merge"]
    return [t["metadata"] for t in steps]


def test_claim_is_pre_bound_to_its_volume():
    volume, claim = storage_objects({"type": "hostPath"})
    name = volume["metadata"]["name"]
    assert VOLUME_NAME.match(name) and CLAIM_NAME.match(claim["metadata"]["name"])
    assert claim["metadata"]["name"].rsplit("-", 1)[1] == name.rsplit("-", 1)[1]
    assert claim["metadata"]["namespace"] == NAMESPACE
    assert claim["spec"]["volumeName"] == name
    assert claim["spec"]["selector"] == {"matchLabels": {"argo-fanout.io/volume": name}}
    assert volume["metadata"]["labels"]["argo-fanout.io/volume"] == name
    for obj in (volume, claim):
        assert obj["spec"]["accessModes"] == ["ReadWriteMany"]
        assert obj["spec"]["storageClassName"] == ""
    assert volume["spec"]["capacity"] == {"storage": "10Gi"}
    assert claim["spec"]["resources"] == {"requests": {"storage": "10Gi"}}
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


def test_hostpath_volume():
    volume, _ = storage_objects({"type": "hostPath", "hostPath": {"path": "/srv/logs"}})
    # Never created by the kubelet (it would be root-owned, unwritable for the steps).
    assert volume["spec"]["hostPath"] == {"path": "/srv/logs", "type": "Directory"}
    assert "csi" not in volume["spec"]


def test_hostpath_default_node_path():
    volume, _ = storage_objects({"type": "hostPath"})
    assert volume["spec"]["hostPath"]["path"] == "/var/local/argo-fanout"


def test_oss_volume_mounts_the_bucket_for_the_step_user():
    volume, _ = storage_objects({**OSS, "size": "2Ti", "reclaimPolicy": "Delete"})
    assert volume["spec"]["capacity"] == {"storage": "2Ti"}
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert volume["spec"]["csi"] == {
        "driver": "ossplugin.csi.alibabacloud.com",
        "volumeHandle": volume["metadata"]["name"],
        "nodePublishSecretRef": {"name": "ak", "namespace": NAMESPACE},
        "volumeAttributes": {
            "bucket": "logs",
            "url": "oss-cn-beijing-internal.aliyuncs.com",
            "path": "/",
            "otherOpts": "-o max_stat_cache_size=0 -o allow_other -o uid=1000 -o gid=1000",
        },
    }


def test_oss_fuse_type_and_options():
    storage = {"type": "oss", "oss": {**OSS["oss"], "fuseType": "ossfs2", "otherOpts": ""}}
    volume, _ = storage_objects(storage)
    attributes = volume["spec"]["csi"]["volumeAttributes"]
    assert attributes["fuseType"] == "ossfs2"
    assert attributes["otherOpts"] == "-o uid=1000 -o gid=1000"


def test_nas_volume_uses_nfs_v3():
    volume, _ = storage_objects(NAS)
    assert volume["spec"]["csi"] == {
        "driver": "nasplugin.csi.alibabacloud.com",
        "volumeHandle": volume["metadata"]["name"],
        "volumeAttributes": {"server": "abc.cn-beijing.nas.aliyuncs.com", "path": "/share"},
    }
    assert volume["spec"]["mountOptions"] == ["nolock,tcp,noresvport", "vers=3"]


def test_existing_claim_renders_no_storage_objects():
    objects = render({"storage": EXISTING_CLAIM})
    assert not {"PersistentVolume", "PersistentVolumeClaim"} & set(kinds(objects))
    volumes = only(objects, "WorkflowTemplate")["spec"]["volumes"]
    assert volumes[0] == {"name": "data", "persistentVolumeClaim": {"claimName": "shared-logs"}}


def test_no_compute_profile_sets_only_the_selector_labels():
    selector = {"app.kubernetes.io/name": "log-count", "app.kubernetes.io/instance": RELEASE}
    eci_ignored = {"eci": {"useSpecs": ["2-4Gi"], "imageCache": True}}
    for metadata in step_metadata({"compute": {"profile": "none", **eci_ignored}}):
        assert metadata == {"labels": selector}


def test_eci_annotations_only_for_what_is_set():
    eci = {"useSpecs": ["2-4Gi", "ecs.c6.large"], "imageCache": True}
    for metadata in step_metadata({"compute": {"profile": "eci", "eci": eci}}):
        assert metadata["annotations"] == {
            "k8s.aliyun.com/eci-use-specs": "2-4Gi,ecs.c6.large",
            "k8s.aliyun.com/eci-image-cache": "true",
        }
        assert not any(key.startswith("alibabacloud.com/") for key in metadata["labels"])


def test_eci_profile_with_nothing_set_adds_no_annotations():
    for metadata in step_metadata({"compute": {"profile": "eci"}}):
        assert "annotations" not in metadata


def test_eci_spot_annotations():
    values = scenario_values("ack-oss-eci")
    for metadata in step_metadata(values):
        assert metadata["annotations"] == {
            "k8s.aliyun.com/eci-use-specs": "2-4Gi,4-8Gi,ecs.c6.large",
            "k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit",
            "k8s.aliyun.com/eci-spot-price-limit": "0.25",
            "k8s.aliyun.com/eci-image-cache": "true",
            "k8s.aliyun.com/eci-extra-ephemeral-storage": "20Gi",
        }


def test_acs_labels():
    acs = {"computeClass": "performance", "computeQos": "best-effort"}
    for metadata in step_metadata({"compute": {"profile": "acs", "acs": acs}}):
        assert metadata["labels"]["alibabacloud.com/compute-class"] == "performance"
        assert metadata["labels"]["alibabacloud.com/compute-qos"] == "best-effort"
        assert "annotations" not in metadata


def test_acs_label_left_out_when_empty():
    acs = {"computeClass": "", "computeQos": "default"}
    for metadata in step_metadata({"compute": {"profile": "acs", "acs": acs}}):
        assert "alibabacloud.com/compute-class" not in metadata["labels"]
        assert metadata["labels"]["alibabacloud.com/compute-qos"] == "default"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"storage": {"type": "s3"}},
            'storage.type "s3" is not supported: use one of hostPath, oss, nas, existingClaim',
        ),
        (
            {"storage": {"type": "oss", "oss": {"url": "u", "secretName": "s"}}},
            "storage.oss.bucket is empty",
        ),
        (
            {"storage": {"type": "oss", "oss": {"bucket": "b", "secretName": "s"}}},
            "storage.oss.url is empty",
        ),
        (
            {"storage": {"type": "oss", "oss": {"bucket": "b", "url": "u"}}},
            "storage.oss.secretName is empty",
        ),
        ({"storage": {"type": "nas"}}, "storage.nas.server is empty"),
        ({"storage": {"type": "existingClaim"}}, "storage.existingClaim is empty"),
        (
            {"storage": {"type": "hostPath"}, "compute": {"profile": "eci"}},
            "storage.type hostPath cannot be used with compute.profile eci",
        ),
        (
            {
                "storage": EXISTING_CLAIM,
                "compute": {"profile": "eci", "eci": {"spotStrategy": "SpotWithPriceLimit"}},
            },
            "compute.eci.spotPriceLimit is empty",
        ),
        (
            {
                "storage": EXISTING_CLAIM,
                "compute": {"profile": "eci", "eci": {"spotPriceLimit": "0.5"}},
            },
            'compute.eci.spotPriceLimit "0.5" is set but compute.eci.spotStrategy is ""',
        ),
        ({"schedule": {"enabled": True, "cron": ""}}, "schedule.cron is empty"),
        (
            {"job": {"numParts": 65, "maxParts": 64}},
            "job.numParts 65 is above job.maxParts 64: split refuses --parts above --max-parts",
        ),
        (
            {"serviceAccount": {"create": False}},
            "serviceAccount.name is empty while serviceAccount.create is false",
        ),
    ],
)
def test_fail_guards_name_the_key_and_what_is_allowed(values, message):
    with pytest.raises(helm_python.HelmRenderError) as raised:
        render(values)
    assert message in str(raised.value)
