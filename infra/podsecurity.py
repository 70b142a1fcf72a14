"""Pod Security Admission labels for the namespaces the program creates.

Every namespace we create enforces a Pod Security Standard, pinned to the Kubernetes minor the
project validates against (tests/support/schemas.py), and warns and audits at `restricted`:

- `restricted` where every pod is ours: Argo's namespace (the chart's controller, server and CRD
  Job, with the pod security contexts infra/argo.py sets) and the workload namespace when we
  install Argo, whose executor (the `init` and `wait` containers Argo adds to every step pod)
  gets a restricted security context from infra/argo.py;
- `baseline` for the workload namespace when Argo is someone else's (ACK One's managed Argo,
  `argo.install: false`): their executor's security context is not ours to set, and `restricted`
  would reject every step pod whose `init`/`wait` containers lack one. Violations still show as
  warnings and audit events.
"""

from __future__ import annotations

ENFORCE = "pod-security.kubernetes.io/enforce"
LEVELS = ("restricted", "baseline")
# The `init` and `wait` containers Argo adds to every step pod (argo-helm's
# `executor.securityContext`, or the workflow-controller ConfigMap's `executor:` where Argo runs
# another way, as on the local real cluster); they run as the step's user (the log-count chart's
# pod-level runAsUser), like its main container.
EXECUTOR_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
# The Pod Security Standards version the labels pin (the cluster evaluates a newer one as latest).
VERSION = "v1.34"


def pod_security_labels(enforce: str) -> dict[str, str]:
    """Namespace labels that enforce `enforce` and warn and audit at `restricted`."""
    if enforce not in LEVELS:
        raise ValueError(f"Pod Security level {enforce!r}; allowed: {', '.join(LEVELS)}")
    labels = {}
    for mode, level in (("enforce", enforce), ("warn", "restricted"), ("audit", "restricted")):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = VERSION
    return labels
