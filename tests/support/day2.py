"""Day 2: what a second `pulumi up` with changed config would change that cannot be changed.

`immutable_changes(old, new)` compares two runs of the program (tests/support/pulumi_mocks.py):
for every resource whose identity (type and name) is in both, the fields of the tables below,
and for the platform and log-count releases in both, the chart's objects rendered from each
run's values with the same kind, namespace and name. A change of such a field is what fails on a
real engine (a Kubernetes object rejected by the API server's update validation) or replaces the
object (a ForceNew cloud resource, a renamed Kubernetes object Pulumi manages).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from tests.support.pulumi_mocks import ProgramRun, Registered
from workflows.chart import LOG_COUNT_CHART, PLATFORM_CHART, render_chart

# ForceNew arguments of the Alibaba Cloud resources the program uses. pulumi-alicloud 4.0.0
# ships no schema, so they come from terraform-provider-alicloud, which it bridges (commit
# 81c43b6727a09e9da37b3d88818c3ba5fa17fa14, alicloud/resource_alicloud_<resource>.go: the
# fields with `ForceNew: true`), in Pulumi's spelling.
ALICLOUD_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "alicloud:vpc/network:Network": ("ipv6CidrBlock", "isDefault", "userCidrs"),
    "alicloud:vpc/switch:Switch": ("cidrBlock", "isDefault", "vpcId", "zoneId"),
    "alicloud:ackone/cluster:Cluster": ("clusterName", "network", "profile"),
    "alicloud:oss/bucket:Bucket": ("bucket", "storageClass", "redundancyType"),
    "alicloud:oss/bucketAcl:BucketAcl": ("bucket",),
    "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket",),
    "alicloud:oss/bucketObject:BucketObject": ("bucket", "key"),
    "alicloud:oss/bucketPolicy:BucketPolicy": ("bucket",),
    "alicloud:ram/user:User": (),
    "alicloud:ram/policy:Policy": ("policyName", "name"),
    "alicloud:ram/userPolicyAttachment:UserPolicyAttachment": (
        "policyName",
        "policyType",
        "userName",
    ),
    "alicloud:ram/accessKey:AccessKey": ("userName", "secretFile", "pgpKey"),
    "alicloud:nas/fileSystem:FileSystem": (
        "encryptType",
        "fileSystemType",
        "kmsKeyId",
        "protocolType",
        "redundancyType",
        "redundancyVswitchIds",
        "storageType",
        "vswitchId",
        "vpcId",
        "zoneId",
    ),
    "alicloud:nas/accessGroup:AccessGroup": (
        "accessGroupName",
        "accessGroupType",
        "fileSystemType",
        "name",
        "type",
    ),
    "alicloud:nas/accessRule:AccessRule": ("accessGroupName", "fileSystemType"),
    "alicloud:nas/mountTarget:MountTarget": ("fileSystemId", "networkType", "vswitchId", "vpcId"),
}
# Kubernetes objects Pulumi manages directly: a new name or namespace is a new object (Pulumi
# replaces it; a Namespace goes with everything in it), and Kubernetes' update validation
# rejects the other fields listed.
_NAMED = ("metadata.name", "metadata.namespace")
PULUMI_KUBERNETES_IMMUTABLE: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Namespace": ("metadata.name",),
    "kubernetes:core/v1:Secret": (*_NAMED, "type"),
    "kubernetes:rbac.authorization.k8s.io/v1:Role": _NAMED,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": (*_NAMED, "roleRef"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": _NAMED,
    # argo.persistence's PostgreSQL (infra/postgres.py): a claim's spec is immutable but for
    # its size (which a class that allows expansion can grow), a Service's IPs, a
    # StatefulSet's selector, service name and claim templates.
    "kubernetes:core/v1:PersistentVolumeClaim": (
        *_NAMED,
        "spec.accessModes",
        "spec.storageClassName",
        "spec.selector",
        "spec.volumeMode",
        "spec.volumeName",
    ),
    "kubernetes:core/v1:Service": (*_NAMED, "spec.clusterIP", "spec.clusterIPs"),
    "kubernetes:apps/v1:StatefulSet": (
        *_NAMED,
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
    ),
    # A Helm release is identified by its name and namespace.
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
}
# pulumi-random's resources replace on any change of their inputs (every argument of
# RandomPassword is ForceNew): a new password, which the database, initialised with the first,
# would refuse.
RANDOM_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "random:index/randomPassword:RandomPassword": (
        "length",
        "special",
        "upper",
        "lower",
        "numeric",
        "number",
        "minUpper",
        "minLower",
        "minNumeric",
        "minSpecial",
        "overrideSpecial",
        "keepers",
    ),
}
IMMUTABLE = {**ALICLOUD_FORCE_NEW, **PULUMI_KUBERNETES_IMMUTABLE, **RANDOM_FORCE_NEW}

# Kubernetes' update validation (pkg/apis/core/validation, batch, apps) for the kinds a chart may
# render, as (kind -> fields that may change); everything else under `spec` is immutable:
# - PersistentVolume: the volume source, volumeMode and nodeAffinity are immutable; capacity,
#   reclaim policy, mount options, access modes, class and claimRef may change.
# - PersistentVolumeClaim: the spec is immutable except resources.requests (growing only, and only
#   for a dynamically provisioned claim: `storageClassName: ""` is static, so not even that) and
#   volumeAttributesClassName.
PV_MUTABLE = (
    "capacity",
    "persistentVolumeReclaimPolicy",
    "mountOptions",
    "accessModes",
    "storageClassName",
    "claimRef",
    "volumeAttributesClassName",
)
PVC_MUTABLE = ("volumeAttributesClassName",)
# Other kinds: the immutable fields themselves.
KIND_IMMUTABLE: dict[str, tuple[str, ...]] = {
    "RoleBinding": ("roleRef",),
    "ClusterRoleBinding": ("roleRef",),
    "Job": ("spec.selector", "spec.template", "spec.completions", "spec.completionMode"),
    "Deployment": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"),
    "DaemonSet": ("spec.selector",),
    "Service": ("spec.clusterIP", "spec.clusterIPs"),
}


def _get(document: Mapping[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _without(document: Mapping[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """A copy of `document` without `paths` (dotted)."""
    copied = copy.deepcopy(dict(document))
    for path in paths:
        *parents, last = path.split(".")
        node: Any = copied
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return copied


def _ignored_below(resource: Registered, field: str) -> tuple[str, ...]:
    """The resource's ignore_changes paths at or below `field`, relative to the resource."""
    return tuple(
        path for path in resource.ignore_changes if path == field or path.startswith(f"{field}.")
    )


def pulumi_changes(old: ProgramRun, new: ProgramRun) -> Iterator[str]:
    before = {(r.type, r.name): r for r in old.resources}
    for resource in new.resources:
        previous = before.get((resource.type, resource.name))
        if previous is None:
            continue
        for field in IMMUTABLE.get(resource.type, ()):
            ignored = _ignored_below(resource, field)
            if field in ignored:
                continue
            old_value = _without(previous.inputs, ignored)
            new_value = _without(resource.inputs, ignored)
            if _get(old_value, field) != _get(new_value, field):
                yield (
                    f"{resource.type} {resource.name}: {field} "
                    f"{_get(old_value, field)!r} -> {_get(new_value, field)!r}"
                )


def _chart_objects(run: ProgramRun) -> dict[tuple[str, str, str], dict[str, Any]]:
    objects = {}
    charts = {"log-count": LOG_COUNT_CHART, "platform": PLATFORM_CHART}
    for release in run.of_type("kubernetes:helm.sh/v3:Release"):
        chart = str(release.inputs["chart"]).rsplit("/", 1)[-1]
        if chart not in charts:
            continue
        namespace = release.inputs["namespace"]
        rendered = render_chart(
            charts[chart],
            release.inputs["values"],
            release=release.inputs["name"],
            namespace=namespace,
        )
        for obj in rendered:
            metadata = obj["metadata"]
            objects[(obj["kind"], metadata.get("namespace", ""), metadata["name"])] = obj
    return objects


def _object_changes(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    if kind == "PersistentVolume":
        fields = {"spec": (_without(old["spec"], PV_MUTABLE), _without(new["spec"], PV_MUTABLE))}
    elif kind == "PersistentVolumeClaim":
        mutable = (
            PVC_MUTABLE
            if old["spec"].get("storageClassName") == ""
            else (
                *PVC_MUTABLE,
                "resources",
            )
        )
        fields = {"spec": (_without(old["spec"], mutable), _without(new["spec"], mutable))}
    elif kind in ("Secret", "ConfigMap") and old.get("immutable"):
        fields = {key: (old.get(key), new.get(key)) for key in ("data", "stringData", "binaryData")}
    else:
        fields = {path: (_get(old, path), _get(new, path)) for path in KIND_IMMUTABLE.get(kind, ())}
    if kind == "Secret":
        fields["type"] = (old.get("type"), new.get("type"))
    for path, (before, after) in fields.items():
        if before != after:
            yield f"{kind} {old['metadata']['name']}: {path} changed"


def chart_changes(old: ProgramRun, new: ProgramRun) -> Iterator[str]:
    before = _chart_objects(old)
    for key, obj in _chart_objects(new).items():
        if key in before:
            yield from _object_changes(key[0], before[key], obj)


def immutable_changes(old: ProgramRun, new: ProgramRun) -> list[str]:
    return [*pulumi_changes(old, new), *chart_changes(old, new)]


def cloud_state(run: ProgramRun) -> dict[str, Any]:
    """What the data sources of a second `pulumi up` find after `run`'s update: its vSwitches
    (name -> (zone, CIDR)) and NAS file systems; run_program's `vswitches`/`file_systems`."""
    return {
        "vswitches": {
            r.inputs["vswitchName"]: (r.inputs["zoneId"], r.inputs["cidrBlock"])
            for r in run.of_type("alicloud:vpc/switch:Switch")
        },
        "file_systems": [
            {
                "id": r.id,
                "description": r.inputs["description"],
                "storageType": r.inputs["storageType"],
            }
            for r in run.of_type("alicloud:nas/fileSystem:FileSystem")
        ],
    }
