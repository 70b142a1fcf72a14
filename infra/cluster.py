"""Cluster targets: each gives the one kubernetes.Provider every Kubernetes resource uses.

A target component exposes ``provider`` (the explicit provider), ``kubeconfig`` (a secret Output)
and ``outputs`` (target-specific stack outputs, e.g. kind's dataDir).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s
import yaml

from infra import exports
from infra.config import ConfigError, ExistingConfig, KindConfig


class MissingToolError(RuntimeError):
    """A command-line tool the target needs is not on PATH."""


def require_tools(*tools: str, purpose: str) -> None:
    """Fail at program time, before anything is created, naming every missing tool."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise MissingToolError(
            f"{', '.join(missing)} not found on PATH; {purpose} needs "
            f"{' and '.join(tools)} (install: https://docs.docker.com/get-docker/ and "
            "https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
        )


def kind_cluster_config(kind: KindConfig, node_data_path: str) -> str:
    """kind's Cluster config: every node mounts the stack's dataDir at the hostPath PV path."""
    mounts = [{"hostPath": str(kind.data_dir), "containerPath": node_data_path}]
    nodes = [{"role": "control-plane", "image": kind.node_image, "extraMounts": mounts}]
    nodes += [{"role": "worker", "image": kind.node_image, "extraMounts": mounts}] * kind.workers
    return yaml.safe_dump(
        {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": nodes},
        sort_keys=False,
    )


@dataclass(frozen=True)
class KindClusterArgs:
    config: KindConfig
    node_data_path: str  # where nodes mount dataDir: the hostPath PV's path


class KindCluster(pulumi.ComponentResource):
    """A local kind cluster created and deleted with the kind CLI."""

    def __init__(
        self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:cluster:KindCluster", name, None, opts)
        require_tools("docker", "kind", purpose="target kind")
        kind = args.config
        child = pulumi.ResourceOptions(parent=self)
        # The pods run as uid 1000 and write through the bind mount, so the directory must be
        # writable for that uid whatever the host user's uid is.
        cluster = command.local.Command(
            f"{name}-cluster",
            create=(
                'mkdir -p "$DATA_DIR" && chmod 0777 "$DATA_DIR" && '
                f"kind create cluster --name {kind.cluster_name} --config - --wait 180s"
            ),
            delete=f"kind delete cluster --name {kind.cluster_name}",
            stdin=kind_cluster_config(kind, args.node_data_path),
            environment={"DATA_DIR": str(kind.data_dir)},
            # Any change re-creates the cluster, and kind cannot create a second cluster with
            # the same name while the old one exists.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        kubeconfig = command.local.Command(
            f"{name}-kubeconfig",
            create=f"kind get kubeconfig --name {kind.cluster_name}",
            # A re-created cluster has new certificates and a new port.
            triggers=[cluster.id],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[cluster], additional_secret_outputs=["stdout"]
            ),
        )
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(kubeconfig.stdout)
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            # A cluster deleted behind Pulumi's back must not block `pulumi destroy`.
            delete_unreachable=True,
            opts=child,
        )
        self.outputs: dict[str, Any] = {exports.DATA_DIR: str(kind.data_dir)}
        self.register_outputs({"kubeconfig": self.kubeconfig})


@dataclass(frozen=True)
class ExistingClusterArgs:
    config: ExistingConfig


class ExistingCluster(pulumi.ComponentResource):
    """A cluster someone else runs, reached through a kubeconfig and/or context."""

    def __init__(
        self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:cluster:ExistingCluster", name, None, opts)
        self.kubeconfig = pulumi.Output.secret(resolve_kubeconfig(args.config))
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            context=args.config.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.outputs: dict[str, Any] = {}
        self.register_outputs({"kubeconfig": self.kubeconfig})


def resolve_kubeconfig(existing: ExistingConfig) -> str:
    """The kubeconfig content, with current-context set to existing.context when given.

    existing.kubeconfig is content when it spans lines, else a path; without it the default
    kubeconfig ($KUBECONFIG's first file, else ~/.kube/config) is read.
    """
    source = existing.kubeconfig
    if source is not None and "\n" in source.strip():
        key, text = "existing.kubeconfig", source
    else:
        default = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or "~/.kube/config"
        key = "existing.kubeconfig" if source is not None else "existing.context"
        path = Path(source if source is not None else default).expanduser()
        if not path.is_file():
            raise ConfigError(f"{key}: kubeconfig file {str(path)!r} does not exist")
        text = path.read_text()
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("contexts"), list):
        raise ConfigError(f"{key}: the kubeconfig is not a kubeconfig (no contexts list)")
    if existing.context is None:
        return text
    names = [entry.get("name") for entry in document["contexts"]]
    if existing.context not in names:
        raise ConfigError(
            f"existing.context: {existing.context!r} is not in the kubeconfig; it has {names}"
        )
    # The exported kubeconfig must select the same cluster the provider uses.
    document["current-context"] = existing.context
    return yaml.safe_dump(document, sort_keys=False)
