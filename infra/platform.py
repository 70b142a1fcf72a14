"""The whole environment: target → cluster → Argo → storage → workload, and the stack outputs.

The ACK One target, ``infra.ackone.target.AckOne(name, AckOneArgs(config=...), opts=...)``, is
a ComponentResource that provisions the network, workflow cluster and cloud storage, and exposes
what a ``ClusterTarget`` does (``provider``, ``kubeconfig``, ``outputs``) plus ``storage``, a
``StorageBinding`` for the log-count chart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from common import exports
from infra.argo import ArgoInstall, ArgoInstallArgs
from infra.cluster import ExistingCluster, ExistingClusterArgs, KindCluster, KindClusterArgs
from infra.config import Config
from infra.storage import storage_values
from infra.workload import NamespacePrerequisites, Workload, WorkloadArgs


class ClusterTarget(Protocol):
    """What every target gives the rest of the program."""

    provider: k8s.Provider  # the one provider every Kubernetes resource uses
    kubeconfig: pulumi.Output[str]  # a secret
    outputs: dict[str, Any]  # target-specific stack outputs


@dataclass(frozen=True)
class StorageBinding:
    """The chart's storage.* values, plus objects the volume needs in the workload namespace."""

    values: Mapping[str, Any]
    prerequisites: NamespacePrerequisites | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformArgs:
    config: Config


class Platform(pulumi.ComponentResource):
    """Everything one stack deploys; ``outputs`` are the stack outputs."""

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:index:Platform", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        cluster, storage = _target(name, cfg, child)

        argo = None
        if cfg.argo.install:
            argo = ArgoInstall(
                f"{name}-argo",
                ArgoInstallArgs(
                    config=cfg.argo,
                    workload_namespace=cfg.workload.namespace,
                    provider=cluster.provider,
                ),
                opts=child,
            )
        workload = Workload(
            f"{name}-workload",
            WorkloadArgs(
                config=cfg.workload,
                provider=cluster.provider,
                storage_values=storage.values,
                depends_on=[argo.release] if argo is not None else [],
                prerequisites=[
                    make
                    for make in (
                        argo.workload_access if argo is not None else None,
                        storage.prerequisites,
                    )
                    if make is not None
                ],
                # Restricted where the step pods' init/wait containers are our executor's
                # (infra/podsecurity.py says why not elsewhere).
                pod_security="restricted" if cfg.argo.install else "baseline",
            ),
            opts=child,
        )

        self.outputs: dict[str, Any] = {
            exports.TARGET: cfg.target,
            exports.KUBECONFIG: cluster.kubeconfig,
            exports.WORKLOAD_NAMESPACE: workload.namespace,
            exports.WORKFLOW_TEMPLATE: workload.template_name,
            exports.VOLUME_CLAIM: workload.claim_name,
            exports.SUBMIT_COMMAND: workload.submit_command,
            **cluster.outputs,
            **storage.outputs,
        }
        if argo is not None:
            self.outputs[exports.ARGO_NAMESPACE] = argo.namespace
        self.register_outputs(self.outputs)

    def export(self) -> None:
        """Publish the outputs as the stack's outputs (names in infra/exports.py)."""
        for key, value in self.outputs.items():
            pulumi.export(key, value)


def _target(
    name: str, cfg: Config, opts: pulumi.ResourceOptions
) -> tuple[ClusterTarget, StorageBinding]:
    if cfg.target == "kind":
        assert cfg.kind is not None
        kind = KindCluster(f"{name}-kind", KindClusterArgs(config=cfg.kind), opts=opts)
        # dataDir only where it is the volume: `workflows submit --input` stages files into it,
        # which pods mounting an existing claim would never see.
        host_path = cfg.storage.type == "hostPath"
        outputs = {exports.DATA_DIR: str(cfg.kind.data_dir)} if host_path else {}
        return kind, StorageBinding(values=storage_values(cfg.storage), outputs=outputs)
    if cfg.target == "existing":
        assert cfg.existing is not None
        existing = ExistingCluster(
            f"{name}-existing", ExistingClusterArgs(config=cfg.existing), opts=opts
        )
        # storage.localDir: where this machine sees the volume, so `--input` is copied there.
        local_dir = cfg.storage.local_dir
        outputs = {exports.DATA_DIR: str(local_dir)} if local_dir is not None else {}
        return existing, StorageBinding(values=storage_values(cfg.storage), outputs=outputs)
    # Imported only for this target: it pulls in the Alibaba Cloud SDKs.
    from infra.ackone.target import AckOne, AckOneArgs

    ackone = AckOne(f"{name}-ackone", AckOneArgs(config=cfg), opts=opts)
    return ackone, ackone.storage
