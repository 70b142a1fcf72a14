"""Argo Workflows from argo-helm's `argo-workflows` chart, where the target does not manage it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra import postgres
from infra.config import ArgoConfig, ControllerConfig
from infra.podsecurity import EXECUTOR_SECURITY_CONTEXT, pod_security_labels
from infra.postgres import Postgres, PostgresArgs
from workflows.chart import merge_values

ARGO_HELM_REPO = "https://argoproj.github.io/argo-helm"
ARGO_CHART = "argo-workflows"
RELEASE_NAME = "argo-workflows"
# The labels argo-helm gives the Argo Server's pods (its selectorLabels for the server component).
SERVER_POD_LABELS = {
    "app.kubernetes.io/name": "argo-workflows-server",
    "app.kubernetes.io/instance": RELEASE_NAME,
}
# ... and the controller's (the only other client of the PostgreSQL of argo.persistence).
CONTROLLER_POD_LABELS = {
    "app.kubernetes.io/name": "argo-workflows-workflow-controller",
    "app.kubernetes.io/instance": RELEASE_NAME,
}
SERVER_LOCAL_ONLY_POLICY = "argo-server-local-only"
# The accounts argo-helm creates for the controller and the server (release "argo-workflows").
CONTROLLER_ACCOUNT = f"{RELEASE_NAME}-workflow-controller"
SERVER_ACCOUNT = f"{RELEASE_NAME}-server"
# What each may do in the workload namespace it manages (`--managed-namespace`): argo-helm
# 1.0.18's rules for them, without the cluster-scoped, leader-election and optional
# (persistence, SSO) ones, which live in the chart's Roles in the Argo namespace.
_ALL = ["create", "get", "list", "watch", "update", "patch", "delete"]
CONTROLLER_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": _ALL},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "watch", "list"]},
    {
        "apiGroups": [""],
        "resources": ["persistentvolumeclaims", "persistentvolumeclaims/finalizers"],
        "verbs": ["create", "update", "delete", "get"],
    },
    {
        "apiGroups": ["argoproj.io"],
        "resources": [
            "workflows",
            "workflows/finalizers",
            "workflowtasksets",
            "workflowtasksets/finalizers",
            "workflowtasksets/status",
            "workflowartifactgctasks",
        ],
        "verbs": _ALL,
    },
    {
        "apiGroups": ["argoproj.io"],
        "resources": ["workflowtemplates", "workflowtemplates/finalizers"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["argoproj.io"],
        "resources": ["workflowtaskresults", "workflowtaskresults/finalizers"],
        "verbs": ["list", "watch", "deletecollection"],
    },
    {
        "apiGroups": ["argoproj.io"],
        "resources": ["cronworkflows", "cronworkflows/finalizers"],
        "verbs": ["get", "list", "watch", "update", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list"]},
    {
        "apiGroups": ["policy"],
        "resources": ["poddisruptionbudgets"],
        "verbs": ["create", "get", "delete"],
    },
]
# In `client` mode the server acts with each caller's token; these are its own account's rights,
# used in `server` mode (kind, local only).
SERVER_RULES = [
    {"apiGroups": [""], "resources": ["configmaps", "events"], "verbs": ["get", "watch", "list"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["watch", "create", "patch"]},
    {
        "apiGroups": ["argoproj.io"],
        "resources": ["workflows", "workfloweventbindings", "workflowtemplates", "cronworkflows"],
        "verbs": _ALL,
    },
]
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


def controller_values(controller: ControllerConfig) -> dict[str, Any]:
    """argo-helm `controller.*` values for argo.controller (chart 1.0.x; Argo v3.7 and v4.0).

    The workers are chart values the chart turns into the controller's flags
    (`--workflow-workers`, `--pod-cleanup-workers`, `--workflow-ttl-workers`); the client's
    `--qps`/`--burst` have no value of their own and go in as extra arguments;
    `resourceRateLimit` and `parallelism` land in the controller's ConfigMap.
    """
    values: dict[str, Any] = {
        "workflowWorkers": controller.workflow_workers,
        "podCleanupWorkers": controller.pod_cleanup_workers,
        "workflowTTLWorkers": controller.workflow_ttl_workers,
        "resourceRateLimit": {
            "limit": controller.resource_rate_limit.limit,
            "burst": controller.resource_rate_limit.burst,
        },
    }
    if controller.parallelism is not None:
        values["parallelism"] = controller.parallelism
    return values


def controller_client_args(controller: ControllerConfig) -> list[str]:
    """The controller's Kubernetes client limits as flags (`%g`: 50.0 is passed as 50)."""
    return ["--qps", f"{controller.qps:g}", "--burst", str(controller.burst)]


def argo_values(argo: ArgoConfig, *, workload_namespace: str) -> dict[str, Any]:
    """Our values for the argo-workflows chart, with config argo.values merged over them.

    The Argo Server asks clients for their own Kubernetes token unless argo.serverAuthMode is
    `server` (kind only; ArgoInstall then lets no in-cluster traffic reach it). With
    argo.persistence, the controller offloads node status to and archives into the PostgreSQL
    ArgoInstall deploys (infra/postgres.py).
    """
    if argo.controller is None:
        raise ValueError("argo_values: Argo is not installed by this stack (argo.install false)")
    managed = ["--managed-namespace", workload_namespace]
    controller = controller_values(argo.controller)
    if argo.persistence is not None:
        controller["persistence"] = postgres.argo_persistence_values(
            argo.persistence, argo.namespace
        )
    ours = {
        # Namespaced controller and server (Roles, not ClusterRoles; `--namespaced`): they run
        # in argo.namespace and act only in the workload namespace, through the Roles
        # ArgoInstall.workload_access creates there. No cluster-wide template access either.
        "singleNamespace": True,
        # Full CRDs (the 1.x default) are applied by the hook Job and kept on uninstall, so
        # workflows outlive a chart upgrade; `pulumi destroy` leaves them (see README Teardown).
        "crds": {"install": True, "full": True, "keep": True},
        "controller": {
            **controller,
            "extraArgs": [*managed, *controller_client_args(argo.controller)],
            "clusterWorkflowTemplates": {"enabled": False},
            "workflowDefaults": WORKFLOW_DEFAULTS,
            "podSecurityContext": RESTRICTED_POD_SECURITY_CONTEXT,
        },
        "executor": {"securityContext": EXECUTOR_SECURITY_CONTEXT},
        # The log-count chart creates the workflow ServiceAccount and its executor Role in the
        # workload namespace; the Argo chart must not create a second pair.
        "workflow": {"serviceAccount": {"create": False}, "rbac": {"create": False}},
        "server": {
            "extraArgs": managed,
            "clusterWorkflowTemplates": {"enabled": False},
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
    argo.createNamespace is false (the namespace exists; destroy leaves it), and with
    argo.persistence the PostgreSQL it offloads to and archives into, which the release waits
    for."""

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
        self.postgres: Postgres | None = None
        if args.config.persistence is not None:
            self.postgres = Postgres(
                f"{name}-postgres",
                PostgresArgs(
                    config=args.config.persistence,
                    namespace=args.config.namespace,
                    clients=(CONTROLLER_POD_LABELS, SERVER_POD_LABELS),
                    provider=args.provider,
                    depends_on=tuple(ready),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        # The controller connects to the database (and migrates its schema) as it starts.
        release_after = [*ready, *([self.postgres] if self.postgres is not None else [])]
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=ARGO_CHART,
            version=args.config.chart_version,
            repository_opts={"repo": ARGO_HELM_REPO},
            namespace=namespace_name,
            values=argo_values(args.config, workload_namespace=args.workload_namespace),
            timeout=RELEASE_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=release_after)
            ),
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
        self._name = name
        outputs: dict[str, Any] = {"namespace": self.namespace, "release": self.release.name}
        if self.postgres is not None:
            outputs["postgres"] = self.postgres.host
        self.register_outputs(outputs)

    def workload_access(
        self, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """Roles and bindings for the controller and server in the workload namespace.

        Created by the workload (a NamespacePrerequisites), in its namespace, after the release
        and before the log-count chart; `opts` carry the provider, parent and ordering.
        """
        created: list[pulumi.Resource] = []
        for component, account, rules in (
            ("controller", CONTROLLER_ACCOUNT, CONTROLLER_RULES),
            ("server", SERVER_ACCOUNT, SERVER_RULES),
        ):
            metadata = {"name": account, "namespace": namespace}
            role = k8s.rbac.v1.Role(
                f"{self._name}-{component}-role", metadata=metadata, rules=rules, opts=opts
            )
            binding = k8s.rbac.v1.RoleBinding(
                f"{self._name}-{component}-binding",
                metadata=metadata,
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
                subjects=[{"kind": "ServiceAccount", "name": account, "namespace": self.namespace}],
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
            )
            created += [role, binding]
        return created
