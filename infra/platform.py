"""The whole environment: target → cluster → Argo → storage → workload, and the stack outputs.

The target is whatever infra/targets/ declares under ``config.target``: its spec names the
component builder, which returns a ``ClusterTarget`` and a ``StorageBinding``
(infra/targets/contracts.py). Nothing here names a target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from common import exports
from infra.argo import ArgoInstall, ArgoInstallArgs
from infra.config import Config
from infra.targets import SPECS
from infra.workload import Workload, WorkloadArgs


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
        spec = SPECS[cfg.target]
        cluster, storage = spec.build()(name, cfg, child)

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
                jobs=cfg.jobs,
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
            exports.INPUT_STAGING: storage.input_staging,
            exports.OWNS_CLUSTER: spec.owns_cluster,
            exports.KUBECONFIG: cluster.kubeconfig,
            exports.WORKLOAD_NAMESPACE: workload.namespace,
            exports.WORKFLOW_TEMPLATE: workload.template_name,
            exports.WORKFLOW_TEMPLATES: workload.template_names,
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
