"""Day 2: for every config key, a second `pulumi up` with a changed value changes no field that
cannot change (tests/support/day2.py has the tables), under the mocks.

Each case runs the program for a base config, then again with one key changed, as a second
`pulumi up` would: the data sources see what the first run created (vSwitches, file systems).
Changes the program refuses instead (a ConfigError before anything is touched) are tested where
the refusal lives; changes that replace on purpose are listed in EXPECTED with the reason the
README gives.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from infra import config
from tests.support.day2 import _object_changes, cloud_state, immutable_changes
from tests.support.pulumi_mocks import REPO_ROOT, ProgramRun, fake_kubeconfig, run_program

KUBECONFIG = yaml.safe_dump(
    {
        **yaml.safe_load(fake_kubeconfig("my-cluster")),
        "contexts": [
            {"name": "my-cluster", "context": {"cluster": "my-cluster", "user": "my-cluster"}},
            {"name": "other", "context": {"cluster": "my-cluster", "user": "my-cluster"}},
        ],
    }
)
NAS_SERVER = "0a1b2c-xyz.cn-hangzhou.nas.aliyuncs.com"
# Base configs: a committed stack file plus overrides of whole keys.
BASES: dict[str, tuple[str, dict[str, Any]]] = {
    "kind": ("dev", {}),
    "kind-claim": ("dev", {"storage": {"type": "existingClaim", "existingClaim": "a"}}),
    "existing": ("existing", {"existing": {"kubeconfig": KUBECONFIG, "context": "my-cluster"}}),
    "existing-nas": (
        "existing",
        {
            "existing": {"kubeconfig": KUBECONFIG, "context": "my-cluster"},
            "storage": {"type": "nas", "nas": {"server": NAS_SERVER}},
            "workload": {"namespace": "argo-fanout", "createNamespace": True},
        },
    ),
    "ack": ("ack", {}),
    "ack-stock": ("ack", {"ackone": {"scheduleMode": "stock-optimized"}}),
    "ack-nas": ("ack", {"storage": {"type": "nas", "nas": {"path": "/"}}}),
    "ack-acs": ("ack", {"workload": {"compute": {"profile": "acs"}}}),
    "kind-schedule": ("dev", {"workload": {"schedule": {"cron": "0 1 * * *"}}}),
    "kind-no-persistence": ("dev", {"argo": {"persistence": {"enabled": False}}}),
    "kind-hello": ("dev", {"jobs": {"hello-world": {}}}),
    # The dev stack as written before `jobs` (its old workload.* keys, now aliases).
    "kind-old": ("dev", {"jobs": {}, "workload": {"numParts": 5, "parallelism": 10}}),
}


@dataclass(frozen=True)
class Case:
    key: str  # the config key the case changes
    base: str
    change: dict[str, Any]  # dotted key -> new value, applied over the base's config
    ids: str = field(default="")


def case(key: str, base: str, value: Any, **more: Any) -> Case:
    return Case(key, base, {key: value, **{k.replace("__", "."): v for k, v in more.items()}})


CASES = [
    case("production", "kind", True),
    case("production", "ack", True),
    case("kind.clusterName", "kind", "lab"),
    case("kind.nodeImage", "kind", "kindest/node:v1.33.1@sha256:" + "a" * 64),
    case("kind.workers", "kind", 2),
    case("kind.dataDir", "kind", "/srv/argo-data"),
    case("existing.kubeconfig", "existing", KUBECONFIG + "# edited\n"),
    case("existing.context", "existing", "other"),
    case("ackone.clusterName", "ack", "team-b"),
    case("ackone.vpcCidr", "ack", "10.0.0.0/8"),
    case("ackone.zones", "ack", ["cn-hangzhou-h", "cn-hangzhou-i"]),
    case("ackone.vswitchCidrs", "ack", ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"]),
    case("ackone.scheduleMode", "ack", "stock-optimized"),
    case("ackone.priceLimit", "ack", "0.3"),
    case("ackone.argoServer", "ack", True),
    case("ackone.publicApiServer", "ack", False, ackone__apiServerAllowedCidrs=[]),
    case("ackone.apiServerAllowedCidrs", "ack", ["203.0.113.0/24"]),
    case("ackone.auditLog", "ack", False),
    case("ackone.deletionProtection", "ack", True),
    case("argo.install", "kind", False),
    case("argo.chartVersion", "kind", "1.0.17"),
    case("argo.namespace", "kind", "argo2"),
    case("argo.createNamespace", "kind", False),
    case("argo.serverAuthMode", "kind", "server"),
    case("argo.values", "kind", {"controller": {"parallelism": 4}}),
    case("argo.controller.qps", "kind", 200),
    case("argo.controller.burst", "kind", 400),
    case("argo.controller.workflowWorkers", "kind", 64),
    case("argo.controller.podCleanupWorkers", "kind", 32),
    case("argo.controller.workflowTTLWorkers", "kind", 8),
    case("argo.controller.resourceRateLimit.limit", "kind", 50),
    case("argo.controller.resourceRateLimit.burst", "kind", 200),
    case("argo.controller.parallelism", "kind", 10),
    case("argo.controller.qps", "existing", 5),
    case("argo.persistence.enabled", "kind", False),
    case("argo.persistence.enabled", "kind-no-persistence", True),
    case("argo.persistence.image", "kind", "docker.io/library/postgres:17.7-bookworm"),
    case("argo.persistence.storageSize", "kind", "20Gi"),
    case("argo.persistence.storageClass", "kind", "fast"),
    case("argo.persistence.archiveTTL", "kind", "30d"),
    case("argo.persistence.archiveTTL", "existing", "7d"),
    case("storage.type", "kind", "existingClaim", storage__existingClaim="a"),
    Case("storage.type", "ack", {"storage": {"type": "nas"}}),
    case("storage.size", "kind", "20Gi"),
    case("storage.size", "ack", "2Ti"),
    case("storage.size", "ack-nas", "2Ti"),
    case("storage.reclaimPolicy", "kind", "Delete"),
    case("storage.existingClaim", "kind-claim", "b"),
    case("storage.hostPath.path", "kind", "/srv/logs"),
    case("storage.oss.bucket", "ack", "my-logs-bucket"),
    case("storage.oss.path", "ack", "/team"),
    case("storage.oss.versioning", "ack", True),
    case("storage.oss.forceDestroy", "ack", False),
    case("storage.oss.expireRunsAfterDays", "ack", 3),
    case("storage.oss.fuseType", "ack", "ossfs2"),
    case("storage.oss.otherOpts", "ack", "-o allow_other"),
    case("storage.oss.sampleInputSize", "ack", "64KiB"),
    case("storage.localDir", "existing", "/tmp"),
    case("storage.nas.server", "existing-nas", "9z8y7x-xyz.cn-hangzhou.nas.aliyuncs.com"),
    case("storage.nas.path", "existing-nas", "/share"),
    case("storage.nas.path", "ack-nas", "/share"),
    case("workload.namespace", "kind", "jobs"),
    case("workload.createNamespace", "kind", False),
    case("workload.numParts", "kind-old", 9),
    case("workload.partSize", "kind", "64MiB"),
    case("workload.keywords", "kind", ["ERROR"]),
    case("workload.match", "kind", "word"),
    case("workload.parallelism", "kind-old", 3),
    case("workload.retries", "kind", 0),
    case("workload.image.registry", "kind", "registry.example.com"),
    case("workload.image.repository", "kind", "mirror/python"),
    case("workload.image.tag", "kind", "3.13.1-slim"),
    case("workload.resources", "kind", {"count": {"limits": {"memory": "1Gi"}}}),
    Case("workload.compute.profile", "ack", {"workload.compute": {"profile": "acs"}}),
    case("workload.compute.eci.useSpecs", "ack", ["2-4Gi"]),
    case("workload.compute.eci.spotStrategy", "ack-stock", "SpotAsPriceGo"),
    case(
        "workload.compute.eci.spotPriceLimit",
        "ack-stock",
        "0.4",
        workload__compute__eci__spotStrategy="SpotWithPriceLimit",
    ),
    case("workload.compute.eci.imageCache", "ack", True),
    case("workload.compute.eci.extraEphemeralStorage", "ack", "30Gi"),
    case("workload.compute.acs.computeClass", "ack-acs", "performance"),
    case("workload.compute.acs.computeQos", "ack-acs", "best-effort"),
    case("workload.schedule", "kind", {"cron": "0 1 * * *"}),
    case("workload.schedule.cron", "kind-schedule", "30 4 * * 1"),
    case(
        "workload.schedule.timezone", "kind", "Asia/Shanghai", workload__schedule__cron="0 1 * * *"
    ),
    case("workload.values", "kind-old", {"job": {"maxParts": 500}}),
    Case("jobs", "kind", {"jobs": {"hello-world": {}}}),
    Case("jobs.<name>.chart", "kind-hello", {"jobs.hello-world.chart": "dag-diamond"}),
    Case("jobs.<name>.parallelism", "kind-hello", {"jobs.hello-world.parallelism": 2}),
    Case("jobs.<name>.retries", "kind-hello", {"jobs.hello-world.retries": 0}),
    Case(
        "jobs.<name>.resources",
        "kind-hello",
        {"jobs.hello-world.resources": {"limits": {"memory": "256Mi"}}},
    ),
    Case(
        "jobs.<name>.values", "kind-hello", {"jobs.hello-world.values": {"job": {"message": "x"}}}
    ),
    Case(
        "jobs.<name>.image.registry",
        "kind-hello",
        {"jobs.hello-world.image": {"registry": "registry.example.com"}},
    ),
    Case(
        "jobs.<name>.image.repository",
        "kind-hello",
        {"jobs.hello-world.image": {"repository": "mirror/python"}},
    ),
    Case("jobs.<name>.image.tag", "kind-hello", {"jobs.hello-world.image": {"tag": "3.13.1-slim"}}),
    Case(
        "jobs.<name>.schedule.cron",
        "kind-hello",
        {"jobs.hello-world.schedule": {"cron": "0 1 * * *"}},
    ),
    Case(
        "jobs.<name>.schedule.timezone",
        "kind-hello",
        {"jobs.hello-world.schedule": {"cron": "0 1 * * *", "timezone": "Asia/Shanghai"}},
    ),
]
# Changes refused before anything is touched, and the test that proves the refusal.
REFUSED = {
    "storage.nas.storageType": "tests/unit/ackone/test_program.py::"
    "test_changing_the_nas_storage_type_is_refused",
}
# Keys not varied here, and why.
EXCLUDED = {
    "target": "another target is another platform: use another stack",
    "alicloud:region": "the alicloud provider's region: every cloud resource moves to the new "
    "region (Pulumi replaces what a changed provider manages); use another stack",
}
# Changes that replace something on purpose (README "Changing a stack", docs/ack-one.md), and
# the only resource types they may replace.
_BUCKET = (
    "alicloud:oss/bucket:Bucket",
    "alicloud:oss/bucketAcl:BucketAcl",
    "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "alicloud:oss/bucketPolicy:BucketPolicy",
    "alicloud:oss/bucketObject:BucketObject",
)
_NAMESPACED = (
    "kubernetes:core/v1:Namespace",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
)
_POSTGRES = (
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:core/v1:Service",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
)
EXPECTED: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("argo.namespace", "kind"): (
        "a new namespace for the Argo release and its PostgreSQL (a new, empty archive)",
        (*_NAMESPACED, *_POSTGRES),
    ),
    ("workload.namespace", "kind"): ("a new workload namespace", _NAMESPACED),
    ("ackone.clusterName", "ack"): (
        "a new workflow cluster, mount user policy and (unset storage.oss.bucket) bucket",
        (
            "alicloud:ackone/cluster:Cluster",
            "alicloud:ram/policy:Policy",
            "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
            "alicloud:ram/accessKey:AccessKey",
            *_BUCKET,
        ),
    ),
    ("storage.oss.bucket", "ack"): ("a new bucket", _BUCKET),
    ("argo.persistence.storageClass", "kind"): (
        "a claim's class cannot change: a new claim named after the class (an empty archive)",
        ("kubernetes:core/v1:PersistentVolumeClaim",),
    ),
    ("storage.oss.path", "ack"): (
        "the sample input objects move under the new path",
        ("alicloud:oss/bucketObject:BucketObject",),
    ),
}


def _full_key(key: str) -> str:
    return key if ":" in key else f"argo-fanout:{key}"


def overrides(base: str, change: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The stack and the whole-key overrides of `base` with `change` applied."""
    stack, keys = BASES[base]
    stack_file = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    result = {_full_key(k): copy.deepcopy(v) for k, v in keys.items()}
    for dotted, value in (change or {}).items():
        if ":" in dotted:
            result[dotted] = value
            continue
        top, *path = dotted.split(".")
        full = _full_key(top)
        if not path:
            result[full] = value
            continue
        node = result.setdefault(full, copy.deepcopy(stack_file.get(full) or {}))
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    if result.get("argo-fanout:ackone", {}).get("scheduleMode") == "stock-optimized":
        result["argo-fanout:ackone"].pop("priceLimit", None)
    return stack, result


@functools.cache
def _base_run(base: str) -> ProgramRun:
    stack, keys = overrides(base)
    return run_program(stack, keys)


def _run(case: Case) -> tuple[ProgramRun, ProgramRun]:
    old = _base_run(case.base)
    stack, keys = overrides(case.base, case.change)
    return old, run_program(stack, keys, **cloud_state(old))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.key}@{c.base}")
def test_a_second_up_changes_no_immutable_field(case):
    old, new = _run(case)
    changes = immutable_changes(old, new)
    expected = EXPECTED.get((case.key, case.base))
    if expected is None:
        assert changes == [], json.dumps(changes, indent=1)
    else:
        reason, types = expected
        assert changes, f"expected a replacement: {reason}"
        unexpected = [change for change in changes if not change.startswith(types)]
        assert unexpected == [], json.dumps(unexpected, indent=1)


def test_every_config_key_has_a_day2_case():
    keys = {
        f"{section}.{name}"
        for section, fields in config.FIELDS.items()
        for name in fields
        if f"{section}.{name}" not in config.FIELDS or section.startswith("workload.resources")
    }
    keys = {key for key in keys if not key.startswith("workload.resources.")}
    keys |= {"target", "production", "alicloud:region", "workload.resources", "workload.schedule"}
    covered = {c.key for c in CASES} | set(REFUSED) | set(EXCLUDED)
    assert keys - covered == set()


def test_the_checker_sees_a_static_claim_that_grows():
    """What the chart's fixed claim name did on a storage.size change before it carried the
    volume identity: the same claim with a larger request, rejected by the API server."""
    claim = {
        "metadata": {"name": "log-count-data"},
        "spec": {"storageClassName": "", "resources": {"requests": {"storage": "10Gi"}}},
    }
    grown = copy.deepcopy(claim)
    grown["spec"]["resources"]["requests"]["storage"] = "20Gi"
    assert list(_object_changes("PersistentVolumeClaim", claim, grown))
    dynamic = copy.deepcopy(claim)
    dynamic["spec"]["storageClassName"] = "standard"
    dynamic_grown = copy.deepcopy(dynamic)
    dynamic_grown["spec"]["resources"]["requests"]["storage"] = "20Gi"
    assert not list(_object_changes("PersistentVolumeClaim", dynamic, dynamic_grown))
