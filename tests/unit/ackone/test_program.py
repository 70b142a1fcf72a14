"""The real program for Pulumi.ack.yaml and variants, under mocks: inventory and chart values."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from pathlib import Path

import pytest
import yaml
from pulumi.output import Unknown

from common import exports
from infra.ackone.nas import check_file_system
from infra.ackone.network import check_cidrs, resolve_zones
from infra.ackone.oss import SECRET_NAME, internal_url, public_endpoint
from infra.config import ConfigError
from tests.support.pulumi_mocks import ACCOUNT_ID, REPO_ROOT, ZONES, ProgramRun, run_program
from tests.support.schemas import requires_argo_crds, validate_object
from workflows.chart import LOG_COUNT_CHART, PLATFORM_CHART, render_chart

STACK = "ack"
VPC = "alicloud:vpc/network:Network"
VSWITCH = "alicloud:vpc/switch:Switch"
CLUSTER = "alicloud:ackone/cluster:Cluster"
FEATURES = "pulumi-python:dynamic/ackone:HubClusterFeatures"
KUBECONFIG = "pulumi-python:dynamic/ackone:HubClusterKubeconfig"
BUCKET = "alicloud:oss/bucket:Bucket"
BUCKET_OBJECT = "alicloud:oss/bucketObject:BucketObject"
POLICY = "alicloud:ram/policy:Policy"
SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_PROVIDER = "pulumi:providers:kubernetes"

NAS = {"argo-fanout:storage": {"type": "nas", "nas": {"storageType": "Performance"}}}
ACS = {
    "argo-fanout:workload": {
        "compute": {"profile": "acs", "acs": {"computeClass": "performance"}},
    },
    "argo-fanout:jobs": {"log-count": {"parallelism": 100}},
}
PRODUCTION = {"argo-fanout:production": True}
ZONES_GIVEN = {
    "argo-fanout:ackone": {
        "vswitchCidrs": ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"],
        "zones": ["cn-hangzhou-k", "cn-hangzhou-j", "cn-hangzhou-i"],
        "scheduleMode": "cost-optimized",
        "priceLimit": "0.25",
        "publicApiServer": False,
    }
}


@functools.cache
def _run(overrides: str) -> ProgramRun:
    return run_program(STACK, json.loads(overrides))


def run(overrides: dict | None = None) -> ProgramRun:
    """The program's run for Pulumi.ack.yaml with `overrides`, once per worker and variant."""
    return _run(json.dumps(overrides or {}, sort_keys=True))


def stack_value(key: str):
    """A key as Pulumi.ack.yaml sets it (overrides replace whole keys)."""
    return yaml.safe_load((REPO_ROOT / f"Pulumi.{STACK}.yaml").read_text())["config"][key]


def vswitches(program: ProgramRun) -> list:
    """The vSwitches in config order (registration order depends on when their zones resolve)."""
    return sorted(program.of_type(VSWITCH), key=lambda v: int(v.name.rsplit("-", 1)[1]))


def release_values(program: ProgramRun, name: str = "argo-fanout") -> dict:
    """The values of a Helm release: by default the platform's (storage, compute)."""
    (release,) = [r for r in program.of_type(RELEASE) if r.inputs["name"] == name]
    return release.inputs["values"]


# --------------------------------------------------------------------------- network + cluster


def test_vpc_and_vswitches_in_distinct_zones():
    program = run()
    vpc = program.one(VPC)
    switches = vswitches(program)

    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert [v.inputs["cidrBlock"] for v in switches] == ["10.0.0.0/18", "10.0.64.0/18"]
    zones = [v.inputs["zoneId"] for v in switches]
    assert zones == list(ZONES["cn-hangzhou"][:2])  # the data source's first zones
    assert all(v.inputs["vpcId"] == vpc.id for v in switches)
    assert all(
        ipaddress.ip_network(v.inputs["cidrBlock"]).subnet_of(
            ipaddress.ip_network(vpc.inputs["cidrBlock"])
        )
        for v in switches
    )


def test_configured_zones_are_used_in_order():
    switches = vswitches(run(ZONES_GIVEN))

    assert [v.inputs["zoneId"] for v in switches] == [
        "cn-hangzhou-k",
        "cn-hangzhou-j",
        "cn-hangzhou-i",
    ]


def test_too_few_zones_in_the_region_is_a_config_error():
    # Checked on the data source's answer; a failed program run would leave the mocks' event
    # loop unusable for the other tests of this worker, so the check is called directly.
    names = ["c-0", "c-1", "c-2", "c-3"]
    with pytest.raises(ConfigError, match=r"ackone.zones: unset, and region cn-beijing offers"):
        resolve_zones(names, None, {}, ZONES["cn-beijing"], "cn-beijing")
    assert resolve_zones(names[:2], None, {}, ZONES["cn-beijing"], "cn-beijing") == [
        "cn-beijing-g",
        "cn-beijing-h",
    ]


def test_existing_vswitches_keep_their_zones_whatever_the_data_source_says():
    """The data source's order or content may change; a vSwitch's zone must not (ForceNew)."""
    existing = {"c-0": "cn-beijing-i", "c-1": "cn-beijing-g"}
    # Reordered and partly gone from the data source, a new third vSwitch takes a free zone.
    available = ["cn-beijing-h", "cn-beijing-g"]
    zones = resolve_zones(["c-0", "c-1", "c-2"], None, existing, available, "cn-beijing")
    assert zones == ["cn-beijing-i", "cn-beijing-g", "cn-beijing-h"]


def test_moving_an_existing_vswitch_to_another_zone_is_refused():
    existing = {"c-0": "cn-beijing-g", "c-1": "cn-beijing-h"}
    with pytest.raises(
        ConfigError, match=r"^ackone\.zones: c-1 is in cn-beijing-h, not cn-beijing-i"
    ):
        resolve_zones(["c-0", "c-1"], ["cn-beijing-g", "cn-beijing-i"], existing, [], "cn-beijing")
    # Naming the zones they are in, and a new one for a new CIDR, is fine.
    zones = ["cn-beijing-g", "cn-beijing-h", "cn-beijing-i"]
    assert resolve_zones(["c-0", "c-1", "c-2"], zones, existing, [], "cn-beijing") == zones


def test_an_existing_vswitch_keeps_its_cidr():
    existing = {"c-0": "10.0.0.0/18", "c-1": "10.0.64.0/18"}
    check_cidrs(["c-0", "c-1", "c-2"], ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"], existing)
    with pytest.raises(ConfigError, match=r"^ackone\.vswitchCidrs: c-1 is 10\.0\.64\.0/18, not"):
        check_cidrs(["c-0", "c-1"], ["10.0.0.0/18", "10.0.128.0/18"], existing)


def test_a_later_up_pins_the_zones_the_vswitches_are_in():
    first = vswitches(run())
    pinned = {
        v.inputs["vswitchName"]: (
            "cn-hangzhou-k" if i == 0 else "cn-hangzhou-j",
            v.inputs["cidrBlock"],
        )
        for i, v in enumerate(first)
    }
    later = vswitches(run_program(STACK, vswitches=pinned))
    assert [v.inputs["zoneId"] for v in later] == ["cn-hangzhou-k", "cn-hangzhou-j"]
    assert [v.inputs["zoneId"] for v in first] == list(ZONES["cn-hangzhou"][:2])


def test_xflow_cluster_on_the_network_without_argocd():
    program = run()
    cluster = program.one(CLUSTER)

    assert cluster.inputs["profile"] == "XFlow"
    assert cluster.inputs["clusterName"] == "argo-fanout-ack"
    assert "argocdEnabled" not in cluster.inputs
    assert cluster.inputs["network"] == {
        "vpcId": program.one(VPC).id,
        "vswitches": [v.id for v in vswitches(program)],
    }
    assert cluster.ignore_changes == ("network.vswitches",)
    assert cluster.custom_timeouts == {"create": "25m", "update": "25m", "delete": "25m"}


def test_argo_is_managed_so_only_the_workload_release_is_installed():
    program = run()

    assert [r.inputs["name"] for r in program.of_type(RELEASE)] == ["argo-fanout", "log-count"]
    assert exports.ARGO_NAMESPACE not in program.outputs


def test_features_resource_carries_the_stack_settings():
    program = run()
    features = program.one(FEATURES)

    assert features.inputs["clusterId"] == program.one(CLUSTER).id
    assert features.inputs["region"] == "cn-hangzhou"
    assert features.inputs["scheduleMode"] == "cost-optimized"
    assert "priceLimit" not in features.inputs  # unset: None is not sent
    assert features.inputs["argoServer"] is False
    assert features.inputs["publicApiServer"] is True
    # Pulumi.ack.yaml opens the public endpoint to one address only; the audit log is on.
    assert features.inputs["apiServerAllowedCidrs"] == ["203.0.113.10/32"]
    assert features.inputs["auditLog"] is True
    assert features.inputs["deletionProtection"] is False
    assert features.inputs["vswitches"] == [v.id for v in vswitches(program)]
    assert "__provider" in features.secret_inputs  # the serialized provider stays encrypted


def test_private_api_server_and_price_limit_reach_the_dynamic_resources():
    program = run(ZONES_GIVEN)
    features = program.one(FEATURES)

    assert (features.inputs["scheduleMode"], features.inputs["priceLimit"]) == (
        "cost-optimized",
        "0.25",
    )
    assert features.inputs["publicApiServer"] is False
    assert program.one(KUBECONFIG).inputs["privateIpAddress"] is True


def test_kubeconfig_is_a_secret_fetched_after_the_features():
    program = run()
    kubeconfig = program.one(KUBECONFIG)

    assert kubeconfig.additional_secret_outputs == ("kubeconfig",)
    assert kubeconfig.inputs["privateIpAddress"] is False
    assert program.depends_on(kubeconfig, program.one(FEATURES))
    assert exports.KUBECONFIG in program.secret_outputs
    assert "kubeconfig" in program.one(K8S_PROVIDER).secret_inputs


def test_every_kubernetes_resource_uses_the_workflow_cluster_provider():
    program = run()
    provider = program.one(K8S_PROVIDER)
    kubernetes = [r for r in program.resources if r.type.startswith("kubernetes:")]

    assert kubernetes
    assert {r.provider_urn for r in kubernetes} == {provider.urn}


def test_production_turns_on_deletion_protection_and_keeps_the_bucket():
    program = run(PRODUCTION)

    assert program.one(FEATURES).inputs["deletionProtection"] is True
    assert program.one(BUCKET).inputs["forceDestroy"] is False


def test_production_protects_the_cluster_and_the_volume_in_pulumi():
    """The features resource lifts the cloud's deletion protection when it is deleted, so on
    production stacks Pulumi itself must refuse to delete or replace what holds work and data."""
    file_system = "alicloud:nas/fileSystem:FileSystem"
    production, production_nas = run(PRODUCTION), run({**NAS, **PRODUCTION})
    assert production.one(CLUSTER).protect and production.one(BUCKET).protect
    assert production_nas.one(CLUSTER).protect and production_nas.one(file_system).protect
    protected = {r.type for r in (*production.resources, *production_nas.resources) if r.protect}
    assert protected == {CLUSTER, BUCKET, file_system}
    assert not any(r.protect for r in (*run().resources, *run(NAS).resources))


# --------------------------------------------------------------------------- OSS


def test_bucket_is_private_encrypted_and_expires_runs():
    program = run()
    bucket = program.one(BUCKET)
    name = bucket.inputs["bucket"]

    assert name == f"argo-fanout-ack-{ACCOUNT_ID}"
    assert bucket.inputs["forceDestroy"] is True
    assert bucket.inputs["serverSideEncryptionRule"] == {"sseAlgorithm": "AES256"}
    assert "versioning" not in bucket.inputs
    rules = {rule["id"]: rule for rule in bucket.inputs["lifecycleRules"]}
    assert rules["abort-incomplete-multipart-uploads"]["abortMultipartUploads"] == [{"days": 1}]
    assert rules["abort-incomplete-multipart-uploads"]["prefix"] == ""
    assert rules["expire-runs"]["prefix"] == "runs/"
    assert rules["expire-runs"]["expirations"] == [{"days": 7}]
    assert program.one("alicloud:oss/bucketAcl:BucketAcl").inputs == {
        "bucket": name,
        "acl": "private",
    }
    block = program.one("alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.inputs == {"bucket": name, "blockPublicAccess": True}


def test_mount_path_prefixes_lifecycle_and_sample_keys_on_a_versioned_bucket():
    overrides = {
        "argo-fanout:storage": {
            "type": "oss",
            "oss": {
                "versioning": True,
                "expireRunsAfterDays": 3,
                "path": "/team-a",
                "sampleInputSize": "64KiB",
            },
        }
    }
    program = run(overrides)
    bucket = program.one(BUCKET)
    rules = {rule["id"]: rule for rule in bucket.inputs["lifecycleRules"]}

    assert bucket.inputs["versioning"] == {"status": "Enabled"}
    assert rules["expire-runs"]["prefix"] == "team-a/runs/"
    assert rules["expire-runs"]["noncurrentVersionExpirations"] == [{"days": 3}]
    keys = sorted(o.inputs["key"] for o in program.of_type(BUCKET_OBJECT))
    assert keys == ["team-a/log-count-data.txt", "team-a/log-count-data.txt.expected.json"]


def test_ram_policy_allows_only_this_bucket_from_the_vpc():
    program = run()
    bucket = program.one(BUCKET).inputs["bucket"]
    document = json.loads(program.one(POLICY).inputs["policyDocument"])
    arn = f"acs:oss:*:{ACCOUNT_ID}:{bucket}"

    resources = {resource for s in document["Statement"] for resource in s["Resource"]}
    actions = [action for s in document["Statement"] for action in s["Action"]]
    assert resources == {arn, f"{arn}/*"}
    for statement in document["Statement"]:
        assert statement["Condition"]["StringEquals"] == {"acs:SourceVpc": [program.one(VPC).id]}
    assert all(s["Effect"] == "Allow" for s in document["Statement"])
    assert all(a.startswith("oss:") and "*" not in a for a in actions)
    attachment = program.one("alicloud:ram/userPolicyAttachment:UserPolicyAttachment")
    user = program.one("alicloud:ram/user:User")
    assert attachment.inputs["userName"] == user.inputs["name"]
    assert attachment.inputs["policyName"] == program.one(POLICY).inputs["policyName"]
    assert program.one("alicloud:ram/accessKey:AccessKey").inputs["userName"] == user.inputs["name"]


@pytest.mark.parametrize("create_namespace", [True, False])
def test_credentials_secret_in_the_workload_namespace_before_the_chart(create_namespace):
    workload = {**stack_value("argo-fanout:workload"), "createNamespace": create_namespace}
    program = run({"argo-fanout:workload": workload})
    secret = program.one(SECRET)
    values = release_values(program)
    namespaces = program.of_type("kubernetes:core/v1:Namespace")

    assert [n.inputs["metadata"]["name"] for n in namespaces] == (
        ["argo-fanout"] if create_namespace else []
    )
    if create_namespace:
        assert program.depends_on(secret, namespaces[0])
    assert secret.inputs["metadata"]["namespace"] == "argo-fanout"
    assert (
        secret.inputs["metadata"]["name"] == SECRET_NAME == values["storage"]["oss"]["secretName"]
    )
    assert set(secret.inputs["stringData"]) == {"akId", "akSecret"}
    assert "stringData" in secret.secret_inputs
    platform = next(r for r in program.of_type(RELEASE) if r.inputs["name"] == "argo-fanout")
    assert program.depends_on(platform, secret)


def test_bucket_is_tls_only_and_emptied_before_destroy():
    program = run()
    bucket = program.one(BUCKET)
    policy = program.one("alicloud:oss/bucketPolicy:BucketPolicy")
    (deny,) = json.loads(policy.inputs["policy"])["Statement"]
    assert policy.inputs["bucket"] == bucket.inputs["bucket"]
    assert deny["Condition"] == {"Bool": {"acs:SecureTransport": ["false"]}}
    contents = program.one("pulumi-python:dynamic/ackone:BucketContents")
    assert contents.inputs["bucket"] == bucket.inputs["bucket"]
    assert contents.inputs["forceDestroy"] is True  # Pulumi.ack.yaml: not production
    # Created after the bucket, so Pulumi deletes it (emptying the bucket) before the bucket.
    assert program.depends_on(contents, bucket)
    production = run(PRODUCTION).one("pulumi-python:dynamic/ackone:BucketContents")
    assert production.inputs["forceDestroy"] is False


def test_oss_chart_values_and_stack_outputs():
    program = run()
    oss = release_values(program)["storage"]["oss"]
    bucket = program.one(BUCKET).inputs["bucket"]

    assert oss["bucket"] == bucket
    # Over TLS: the bucket policy refuses plain HTTP.
    assert (
        oss["url"] == internal_url("cn-hangzhou") == "https://oss-cn-hangzhou-internal.aliyuncs.com"
    )
    assert oss["fuseType"] == ""  # ossfs 1.0
    assert program.outputs[exports.OSS_BUCKET] == bucket
    assert program.outputs[exports.INPUT_STAGING] == exports.STAGING_OBJECT_STORE
    assert program.outputs[exports.OWNS_CLUSTER] is True
    assert program.outputs[exports.OSS_ENDPOINT] == public_endpoint("cn-hangzhou")
    assert program.outputs[exports.OSS_PATH] == oss["path"] == "/"


# --------------------------------------------------------------------------- NAS


def test_nas_file_system_reachable_from_the_pods_vswitches_only():
    program = run(NAS)
    file_system = program.one("alicloud:nas/fileSystem:FileSystem")
    group = program.one("alicloud:nas/accessGroup:AccessGroup")
    # Registration order may vary; the rules' priority follows the vSwitches' order.
    rules = sorted(
        program.of_type("alicloud:nas/accessRule:AccessRule"), key=lambda r: r.inputs["priority"]
    )
    mount = program.one("alicloud:nas/mountTarget:MountTarget")
    first_vswitch = vswitches(program)[0]

    assert file_system.inputs["protocolType"] == "NFS"
    assert file_system.inputs["storageType"] == "Performance"
    assert file_system.inputs["zoneId"] == first_vswitch.inputs["zoneId"]
    assert group.inputs["accessGroupName"] == "argo-fanout-ack-vpc"
    # One read-write rule per vSwitch CIDR (not the whole VPC), root squashed.
    assert [r.inputs["sourceCidrIp"] for r in rules] == ["10.0.0.0/18", "10.0.64.0/18"]
    for index, rule in enumerate(rules):
        assert rule.inputs["accessGroupName"] == group.inputs["accessGroupName"]
        assert rule.inputs["userAccessType"] == "root_squash"
        assert rule.inputs["rwAccessType"] == "RDWR" and rule.inputs["priority"] == index + 1
    # The NAS API's description charset: a letter first, then letters, digits, ':', '_', '-'.
    for description in (file_system.inputs["description"], group.inputs["description"]):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9:_-]{1,127}", description), description
    assert mount.inputs["vpcId"] == program.one(VPC).id
    assert mount.inputs["vswitchId"] == first_vswitch.id
    assert mount.inputs["accessGroupName"] == group.inputs["accessGroupName"]
    assert all(program.depends_on(mount, rule) for rule in rules)
    assert not program.of_type(BUCKET) and not program.of_type(SECRET)
    assert exports.OSS_BUCKET not in program.outputs
    # No path from this machine into a NAS file system inside the VPC.
    assert program.outputs[exports.INPUT_STAGING] == exports.STAGING_NONE


def test_nas_file_system_is_never_replaced():
    file_system = run(NAS).one("alicloud:nas/fileSystem:FileSystem")
    # Its ForceNew inputs are not applied after creation.
    assert set(file_system.ignore_changes) >= {"storageType", "zoneId", "protocolType"}


def test_changing_the_nas_storage_type_is_refused():
    # Checked on the data source's answer (a failed program run would leave the mocks' event
    # loop unusable for the other tests of this worker, so the check is called directly).
    existing = [{"id": "fs-1", "description": "argo-fanout_c", "storageType": "Capacity"}]
    check_file_system(existing, "argo-fanout_c", "Capacity")
    check_file_system(existing, "argo-fanout_other", "Performance")
    with pytest.raises(ConfigError, match=r"^storage\.nas\.storageType: 'Performance', but the"):
        check_file_system(existing, "argo-fanout_c", "Performance")


def test_nas_data_is_kept_on_destroy_only_on_production_stacks():
    production_nas = {**NAS, **PRODUCTION}
    file_system = "alicloud:nas/fileSystem:FileSystem"

    assert run(NAS).one(file_system).retain_on_delete is False
    assert run(production_nas).one(file_system).retain_on_delete is True


def test_nas_chart_values_use_the_mount_target_domain():
    program = run(NAS)
    mount = program.one("alicloud:nas/mountTarget:MountTarget")

    assert release_values(program)["storage"]["nas"] == {
        "server": mount.outputs["mountTargetDomain"],
        "path": "/",
    }


# --------------------------------------------------------------------------- chart values


@requires_argo_crds
@pytest.mark.parametrize("variant", ["oss-eci", "nas-eci", "oss-acs"])
def test_workload_values_render_and_validate(variant):
    overrides = {"oss-eci": {}, "nas-eci": NAS, "oss-acs": ACS}[variant]
    program = run(overrides)
    objects = render_chart(
        PLATFORM_CHART, release_values(program), release="argo-fanout", namespace="argo-fanout"
    )
    objects += render_chart(
        LOG_COUNT_CHART,
        release_values(program, "log-count"),
        release="log-count",
        namespace="argo-fanout",
    )

    kinds = {obj["kind"] for obj in objects}
    assert {"WorkflowTemplate", "PersistentVolume", "PersistentVolumeClaim"} <= kinds
    for obj in objects:
        validate_object(obj)
    volume = next(obj for obj in objects if obj["kind"] == "PersistentVolume")
    driver = {"oss-eci": "ossplugin", "nas-eci": "nasplugin", "oss-acs": "ossplugin"}[variant]
    assert volume["spec"]["csi"]["driver"] == f"{driver}.csi.alibabacloud.com"


def test_compute_profile_values_follow_the_variant():
    assert release_values(run())["compute"]["profile"] == "eci"
    assert release_values(run(ACS))["compute"] == {
        "profile": "acs",
        "acs": {"computeClass": "performance"},
    }


# --------------------------------------------------------------------------- sample input


def test_sample_input_and_its_expected_counts_are_uploaded():
    program = run()
    objects = {o.inputs["key"]: o for o in program.of_type(BUCKET_OBJECT)}
    bucket = program.one(BUCKET).inputs["bucket"]

    assert set(objects) == {"log-count-data.txt", "log-count-data.txt.expected.json"}
    log = objects["log-count-data.txt"]
    assert log.inputs["bucket"] == bucket
    # Relative to the project directory (where Pulumi runs providers), the same in every checkout.
    assert not Path(log.inputs["source"]).is_absolute()
    assert (REPO_ROOT / log.inputs["source"]).stat().st_size == 4 * 2**20  # Pulumi.ack.yaml: 4MiB
    expected = json.loads(objects["log-count-data.txt.expected.json"].inputs["content"])
    assert expected["bytes"] == 4 * 2**20
    assert set(expected["counts"]["substring"]) == {"INFO", "WARN", "ERROR", "DEBUG"}


def test_a_preview_writes_no_sample_input():
    """`pulumi preview` must not start writing a (possibly large) file; `up` generates it."""
    size = 12_345  # a size no other test generates
    overrides = {"argo-fanout:storage": {"type": "oss", "oss": {"sampleInputSize": str(size)}}}
    log = REPO_ROOT / ".data" / STACK / f"sample-input-{size}-seed1.log"
    log.unlink(missing_ok=True)
    log.with_suffix(".expected.json").unlink(missing_ok=True)
    try:
        preview = run_program(STACK, overrides, preview=True)
        assert not log.exists()
        objects = {o.inputs["key"]: o for o in preview.of_type(BUCKET_OBJECT)}
        assert objects["log-count-data.txt"].inputs["source"] == str(log.relative_to(REPO_ROOT))
        content = objects["log-count-data.txt.expected.json"].inputs["content"]
        assert isinstance(content, Unknown)  # known after the update has generated the file

        update = run_program(STACK, overrides)
        assert log.stat().st_size == size
        objects = {o.inputs["key"]: o for o in update.of_type(BUCKET_OBJECT)}
        assert (
            json.loads(objects["log-count-data.txt.expected.json"].inputs["content"])["bytes"]
            == size
        )
    finally:
        log.unlink(missing_ok=True)
        log.with_suffix(".expected.json").unlink(missing_ok=True)


def test_no_sample_input_unless_configured():
    oss_without_sample = {"argo-fanout:storage": {"type": "oss", "oss": {"path": "/"}}}

    assert not run(oss_without_sample).of_type(BUCKET_OBJECT)
    assert not run(NAS).of_type(BUCKET_OBJECT)
