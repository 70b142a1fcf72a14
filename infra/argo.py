"""Argo Workflows from argo-helm's `argo-workflows` chart, where the target does not manage it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.config import ArgoConfig
from infra.podsecurity import pod_security_labels
from workflows.chart import merge_values

ARGO_HELM_REPO = "https://argoproj.github.io/argo-helm"
ARGO_CHART = "argo-workflows"
RELEASE_NAME = "argo-workflows"
# The labels argo-helm gives the Argo Server's pods (its selectorLabels for the server component).
SERVER_POD_LABELS = {
    "app.kubernetes.io/name": "argo-workflows-server",
    "app.kubernetes.io/instance": RELEASE_NAME,
}
SERVER_LOCAL_ONLY_POLICY = "argo-server-local-only"
# The chart's pre-install hook Job applies the full CRDs (pulling its image and, for chart 1.0.x,
# downloading ~11 MB of CRDs); a cold kind node needs minutes for that and the controller image.
RELEASE_TIMEOUT_SECONDS = 900
# Controller-wide fallbacks for workflows that set none: delete pods of succeeded steps, drop
# finished Workflow objects after a day (failed ones after a week, for debugging).
WORKFLOW_DEFAULTS = {
    "spec": {
        "podGC": {"strategy": "OnPodSuccess"},
        "ttlStrategy": {"secondsAfterSuccess": 86400, "secondsAfterFailure": 604800},
    }
}


# Pod Security "restricted" for the pods of the Argo chart (the containers already drop every
# capability and forbid privilege escalation; the seccomp profile is what they lack).
RESTRICTED_POD_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
# The `init` and `wait` containers Argo adds to every step pod; they run as the step's user (the
# log-count chart's pod-level runAsUser), like its main container.
EXECUTOR_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def argo_values(argo: ArgoConfig, *, workload_namespace: str) -> dict[str, Any]:
    """Our values for the argo-workflows chart, with config argo.values merged over them.

    The Argo Server asks clients for their own Kubernetes token unless argo.serverAuthMode is
    `server` (kind only; ArgoInstall then lets no in-cluster traffic reach it).
    """
    ours = {
        # Full CRDs (the 1.x default) are applied by the hook Job and kept on uninstall, so
        # workflows outlive a chart upgrade; `pulumi destroy` leaves them (see README Teardown).
        "crds": {"install": True, "full": True, "keep": True},
        "controller": {
            "workflowNamespaces": [workload_namespace],
            "workflowDefaults": WORKFLOW_DEFAULTS,
            "podSecurityContext": RESTRICTED_POD_SECURITY_CONTEXT,
        },
        "executor": {"securityContext": EXECUTOR_SECURITY_CONTEXT},
        # The log-count chart creates the workflow ServiceAccount and its executor Role in the
        # workload namespace; the Argo chart must not create a second pair.
        "workflow": {"serviceAccount": {"create": False}, "rbac": {"create": False}},
        "server": {
            "authModes": [argo.server_auth_mode],
            "podSecurityContext": RESTRICTED_POD_SECURITY_CONTEXT,
        },
    }
    return merge_values(ours, argo.values)


@dataclass(frozen=True)
class ArgoInstallArgs:
    config: ArgoConfig
    workload_namespace: str
    provider: k8s.Provider


class ArgoInstall(pulumi.ComponentResource):
    """The argo-workflows Helm release in argo.namespace, which it creates unless
    argo.createNamespace is false (the namespace exists; destroy leaves it)."""

    def __init__(
        self, name: str, args: ArgoInstallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:argo:ArgoInstall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        namespace_name: pulumi.Input[str] = args.config.namespace
        ready: list[pulumi.Resource] = []
        if args.config.create_namespace:
            namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={
                    "name": args.config.namespace,
                    "labels": pod_security_labels("restricted"),
                },
                opts=child,
            )
            ready, namespace_name = [namespace], namespace.metadata["name"]
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=ARGO_CHART,
            version=args.config.chart_version,
            repository_opts={"repo": ARGO_HELM_REPO},
            namespace=namespace_name,
            values=argo_values(args.config, workload_namespace=args.workload_namespace),
            timeout=RELEASE_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=ready)),
        )
        if args.config.server_auth_mode == "server":
            # Without authentication, only port-forwarding (through the kubelet, which no
            # NetworkPolicy filters) to the operator's localhost may reach the server.
            k8s.networking.v1.NetworkPolicy(
                f"{name}-server-local-only",
                metadata={"name": SERVER_LOCAL_ONLY_POLICY, "namespace": namespace_name},
                spec={
                    "podSelector": {"matchLabels": SERVER_POD_LABELS},
                    "policyTypes": ["Ingress"],
                    "ingress": [],
                },
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=ready)),
            )
        self.namespace: pulumi.Output[str] = self.release.namespace
        self.register_outputs({"namespace": self.namespace, "release": self.release.name})
