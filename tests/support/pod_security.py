"""A Pod Security Standards checker: the Baseline and Restricted profiles, field by field.

Written against the published standard (https://kubernetes.io/docs/concepts/security/
pod-security-standards/, policy version v1.34, the version infra/podsecurity.py pins): every
control of both profiles, with the fields it reads and the values it allows. `violations(pod,
"restricted")` returns one message per violated control and field; an empty list means the pod
would be admitted by a namespace enforcing that level.

`step_pod` models the pod Argo creates for a container template: the template's container as
`main`, and the `init` and `wait` containers it injects with the executor settings of the
workflow-controller (argo-helm `executor.securityContext`), plus the emptyDir Argo mounts for them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

LEVELS = ("baseline", "restricted")

# Baseline, "Capabilities": what containers may add beyond the runtime's defaults.
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# Baseline, "SELinux": allowed seLinuxOptions.type values ("" and undefined too).
SELINUX_TYPES = frozenset(
    {"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
# Baseline, "Sysctls": the safe set.
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
# Restricted, "Volume Types": the only volume sources allowed.
RESTRICTED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def violations(pod: Mapping[str, Any], level: str) -> list[str]:
    """Every control of `level` (and the levels below it) that `pod` violates."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r}; allowed: {', '.join(LEVELS)}")
    found = list(_baseline(pod))
    if level == "restricted":
        found += list(_restricted(pod))
    return found


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(field) or []:
            yield f"spec.{field}[{container.get('name')}]", container


def _context(container: Mapping[str, Any]) -> Mapping[str, Any]:
    return container.get("securityContext") or {}


def _baseline(pod: Mapping[str, Any]) -> Iterator[str]:
    spec = pod.get("spec") or {}
    pod_context = spec.get("securityContext") or {}
    contexts = [("spec.securityContext", pod_context)] + [
        (f"{where}.securityContext", _context(container)) for where, container in _containers(spec)
    ]
    # HostProcess
    for where, context in contexts:
        if (context.get("windowsOptions") or {}).get("hostProcess") not in (None, False):
            yield f"HostProcess: {where}.windowsOptions.hostProcess must be unset or false"
    # Host Namespaces
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) not in (None, False):
            yield f"Host Namespaces: spec.{field} must be unset or false"
    # Privileged Containers
    for where, context in contexts[1:]:
        if context.get("privileged") not in (None, False):
            yield f"Privileged Containers: {where}.privileged must be unset or false"
    # Capabilities (baseline)
    for where, context in contexts[1:]:
        for capability in (context.get("capabilities") or {}).get("add") or []:
            if capability not in BASELINE_CAPABILITIES:
                yield f"Capabilities: {where}.capabilities.add has {capability}"
    # HostPath Volumes
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            yield f"HostPath Volumes: spec.volumes[{volume.get('name')}].hostPath is not allowed"
    # Host Ports
    for where, container in _containers(spec):
        for port in container.get("ports") or []:
            if port.get("hostPort") not in (None, 0):
                yield f"Host Ports: {where}.ports[*].hostPort must be unset or 0"
    # AppArmor
    for where, context in contexts:
        profile = (context.get("appArmorProfile") or {}).get("type")
        if profile not in (None, "RuntimeDefault", "Localhost"):
            yield f"AppArmor: {where}.appArmorProfile.type {profile!r}"
    for key, value in ((pod.get("metadata") or {}).get("annotations") or {}).items():
        if key.startswith(APPARMOR_ANNOTATION) and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            yield f"AppArmor: metadata.annotations[{key}] is {value!r}"
    # SELinux
    for where, context in contexts:
        options = context.get("seLinuxOptions") or {}
        if options.get("type") not in (None, "", *SELINUX_TYPES):
            yield f"SELinux: {where}.seLinuxOptions.type {options.get('type')!r}"
        for field in ("user", "role"):
            if options.get(field) not in (None, ""):
                yield f"SELinux: {where}.seLinuxOptions.{field} must be unset or empty"
    # /proc Mount Type
    for where, context in contexts[1:]:
        if context.get("procMount") not in (None, "Default"):
            yield f"/proc Mount Type: {where}.procMount must be unset or Default"
    # Seccomp (baseline)
    for where, context in contexts:
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield f"Seccomp: {where}.seccompProfile.type must not be Unconfined"
    # Sysctls
    for sysctl in pod_context.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield f"Sysctls: spec.securityContext.sysctls has {sysctl.get('name')}"


def _restricted(pod: Mapping[str, Any]) -> Iterator[str]:
    spec = pod.get("spec") or {}
    pod_context = spec.get("securityContext") or {}
    # Volume Types
    for volume in spec.get("volumes") or []:
        sources = set(volume) - {"name"}
        if not sources <= RESTRICTED_VOLUME_TYPES:
            yield f"Volume Types: spec.volumes[{volume.get('name')}] uses {sorted(sources)}"
    pod_non_root = pod_context.get("runAsNonRoot") is True
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    if pod_context.get("runAsNonRoot") is False:
        yield "Running as Non-root: spec.securityContext.runAsNonRoot must not be false"
    if pod_context.get("runAsUser") == 0:
        yield "Running as Non-root user: spec.securityContext.runAsUser must not be 0"
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        yield f"Seccomp: spec.securityContext.seccompProfile.type {pod_seccomp!r}"
    for where, container in _containers(spec):
        context = _context(container)
        # Privilege Escalation: must be set to false.
        if context.get("allowPrivilegeEscalation") is not False:
            yield (
                f"Privilege Escalation: {where}.securityContext.allowPrivilegeEscalation "
                "must be false"
            )
        # Running as Non-root: true on the container unless the pod sets it true (and the
        # container does not set it false).
        non_root = context.get("runAsNonRoot")
        if non_root is False or (non_root is None and not pod_non_root):
            yield f"Running as Non-root: {where}.securityContext.runAsNonRoot must be true"
        # Running as Non-root user
        if context.get("runAsUser") == 0:
            yield f"Running as Non-root user: {where}.securityContext.runAsUser must not be 0"
        # Seccomp: RuntimeDefault or Localhost on the container, or inherited from the pod.
        seccomp = (context.get("seccompProfile") or {}).get("type")
        if seccomp is None and pod_seccomp is None:
            yield f"Seccomp: {where}.securityContext.seccompProfile.type must be set"
        elif seccomp not in (None, "RuntimeDefault", "Localhost"):
            yield f"Seccomp: {where}.securityContext.seccompProfile.type {seccomp!r}"
        # Capabilities: drop ALL; add nothing but NET_BIND_SERVICE.
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield f"Capabilities: {where}.securityContext.capabilities.drop must include ALL"
        for capability in capabilities.get("add") or []:
            if capability != "NET_BIND_SERVICE":
                yield f"Capabilities: {where}.securityContext.capabilities.add has {capability}"


def step_pod(
    workflow_spec: Mapping[str, Any],
    template: Mapping[str, Any],
    executor_security_context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The pod Argo's controller builds for a container `template` of a workflow.

    The template's securityContext (else the workflow's) is the pod's; its container runs as
    `main`; `init` and `wait` are the executor's (argoexec), with the controller's
    `executor.securityContext`; the workflow's volumes are the pod's, plus Argo's `var-run-argo`
    emptyDir shared by the executor and `main`.
    """
    executor = {"image": "quay.io/argoproj/argoexec"}
    if executor_security_context:
        executor["securityContext"] = dict(executor_security_context)
    pod_context = template.get("securityContext", workflow_spec.get("securityContext")) or {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": dict(template.get("metadata") or {}),
        "spec": {
            "securityContext": dict(pod_context),
            "serviceAccountName": workflow_spec.get("serviceAccountName"),
            "initContainers": [{"name": "init", **executor}],
            "containers": [
                {"name": "wait", **executor},
                {**template["container"], "name": "main"},
            ],
            "volumes": [
                *(workflow_spec.get("volumes") or []),
                {"name": "var-run-argo", "emptyDir": {}},
            ],
        },
    }
