"""tests/support/pod_security.py against the standard: each control fails on what it forbids."""

from __future__ import annotations

import copy

import pytest

from tests.support.pod_security import violations

RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
COMPLIANT = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": RUNTIME_DEFAULT},
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
                "ports": [{"containerPort": 80}],
            }
        ],
        "volumes": [
            {"name": "a", "persistentVolumeClaim": {"claimName": "x"}},
            {"name": "b", "emptyDir": {}},
            {"name": "c", "configMap": {"name": "x"}},
            {"name": "d", "projected": {"sources": []}},
        ],
    },
}


def mutate(path: str, value):
    pod = copy.deepcopy(COMPLIANT)
    *parents, last = path.split(".")
    node = pod
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if value is None:
        node.pop(last)
    else:
        node[last] = value
    return pod


def test_a_compliant_pod_passes_both_levels():
    assert violations(COMPLIANT, "restricted") == []
    assert violations(COMPLIANT, "baseline") == []


BASELINE = [
    ("spec.hostNetwork", True, "Host Namespaces"),
    ("spec.hostPID", True, "Host Namespaces"),
    ("spec.hostIPC", True, "Host Namespaces"),
    ("spec.containers.0.securityContext.privileged", True, "Privileged Containers"),
    ("spec.containers.0.securityContext.windowsOptions", {"hostProcess": True}, "HostProcess"),
    ("spec.containers.0.securityContext.capabilities.add", ["SYS_ADMIN"], "Capabilities"),
    ("spec.volumes", [{"name": "h", "hostPath": {"path": "/"}}], "HostPath Volumes"),
    ("spec.containers.0.ports", [{"containerPort": 80, "hostPort": 80}], "Host Ports"),
    ("spec.securityContext.appArmorProfile", {"type": "Unconfined"}, "AppArmor"),
    (
        "metadata.annotations",
        {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"},
        "AppArmor",
    ),
    ("spec.securityContext.seLinuxOptions", {"type": "spc_t"}, "SELinux"),
    ("spec.containers.0.securityContext.seLinuxOptions", {"user": "root"}, "SELinux"),
    ("spec.containers.0.securityContext.procMount", "Unmasked", "/proc Mount Type"),
    ("spec.containers.0.securityContext.seccompProfile", {"type": "Unconfined"}, "Seccomp"),
    ("spec.securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}], "Sysctls"),
]
RESTRICTED = [
    ("spec.volumes", [{"name": "n", "nfs": {"server": "s", "path": "/"}}], "Volume Types"),
    ("spec.containers.0.securityContext.allowPrivilegeEscalation", None, "Privilege Escalation"),
    ("spec.containers.0.securityContext.allowPrivilegeEscalation", True, "Privilege Escalation"),
    ("spec.securityContext.runAsNonRoot", None, "Running as Non-root"),
    ("spec.containers.0.securityContext.runAsNonRoot", False, "Running as Non-root"),
    ("spec.securityContext.runAsUser", 0, "Running as Non-root user"),
    ("spec.containers.0.securityContext.runAsUser", 0, "Running as Non-root user"),
    ("spec.securityContext.seccompProfile", None, "Seccomp"),
    ("spec.containers.0.securityContext.capabilities.drop", ["NET_RAW"], "Capabilities"),
    ("spec.containers.0.securityContext.capabilities.add", ["CHOWN"], "Capabilities"),
]


@pytest.mark.parametrize(("path", "value", "control"), BASELINE)
def test_each_baseline_control_rejects_what_it_forbids(path, value, control):
    pod = mutate(path, value)
    for level in ("baseline", "restricted"):
        assert any(v.startswith(f"{control}:") for v in violations(pod, level)), violations(
            pod, level
        )


@pytest.mark.parametrize(("path", "value", "control"), RESTRICTED)
def test_each_restricted_control_rejects_what_it_forbids(path, value, control):
    pod = mutate(path, value)
    assert any(v.startswith(f"{control}:") for v in violations(pod, "restricted"))
    assert violations(pod, "baseline") == []  # allowed by baseline


def test_container_level_settings_satisfy_restricted_without_pod_level_ones():
    pod = mutate("spec.securityContext", {})
    context = pod["spec"]["containers"][0]["securityContext"]
    context.update(runAsNonRoot=True, seccompProfile=RUNTIME_DEFAULT)
    assert violations(pod, "restricted") == []
