"""The ACK One target as the Platform sees it: a cluster provider plus the workload's storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra import exports
from infra.ackone.cluster import AckOneCluster
from infra.ackone.nas import NasVolume
from infra.ackone.network import Network
from infra.ackone.oss import OssVolume, public_endpoint
from infra.ackone.sample import input_key, sample_input
from infra.config import REPO_ROOT, Config
from infra.platform import StorageBinding
from infra.storage import storage_values


class AckOne(pulumi.ComponentResource):
    """Network, workflow cluster (managed Argo, so no Argo install) and the cloud volume.

    Exposes what the Platform needs from a target: `provider`, `kubeconfig` (secret), `outputs`
    and `storage`, the chart's storage values with the objects the volume needs in the workload
    namespace (the OSS credentials Secret).
    """

    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    outputs: dict[str, Any]
    storage: StorageBinding

    def __init__(
        self,
        name: str,
        *,
        config: Config,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("argo-fanout:ackone:AckOne", name, None, opts)
        if config.ackone is None or config.region is None:
            raise ValueError("AckOne needs a config with target ackone and alicloud:region")
        child = pulumi.ResourceOptions(parent=self)
        region = config.region
        network = Network(f"{name}-network", config=config.ackone, region=region, opts=child)
        cluster = AckOneCluster(
            f"{name}-cluster", config=config.ackone, region=region, network=network, opts=child
        )
        self.provider = cluster.provider
        self.kubeconfig = cluster.kubeconfig
        self.outputs = {}
        self.storage = self._storage(name, config, network, child)
        self.register_outputs({"storageOutputs": dict(self.storage.outputs)})

    def _storage(
        self,
        name: str,
        config: Config,
        network: Network,
        child: pulumi.ResourceOptions,
    ) -> StorageBinding:
        storage, ackone, region = config.storage, config.ackone, config.region
        assert ackone is not None and region is not None
        if storage.oss is not None:
            sample = None
            if storage.oss.sample_input_size is not None:
                sample = sample_input(
                    REPO_ROOT / ".data" / config.stack,
                    storage.oss.sample_input_size,
                    input_key(config.workload.values),
                )
            volume = OssVolume(
                f"{name}-oss",
                config=storage.oss,
                region=region,
                cluster_name=ackone.cluster_name,
                sample_input=sample,
                opts=child,
            )

            def credentials(
                namespace: k8s.core.v1.Namespace, opts: pulumi.ResourceOptions
            ) -> Sequence[pulumi.Resource]:
                return [volume.credentials_secret(namespace.metadata["name"], opts)]

            return StorageBinding(
                values=storage_values(
                    storage,
                    oss_bucket=volume.bucket_name,
                    oss_url=volume.endpoint,
                    oss_secret_name=volume.secret_name,
                ),
                prerequisites=credentials,
                outputs={
                    exports.OSS_BUCKET: volume.bucket_name,
                    exports.OSS_ENDPOINT: public_endpoint(region),
                },
            )
        if storage.nas is not None:
            volume = NasVolume(
                f"{name}-nas",
                config=storage.nas,
                cluster_name=ackone.cluster_name,
                network=network,
                vpc_cidr=ackone.vpc_cidr,
                keep_data=config.production,
                opts=child,
            )
            return StorageBinding(values=storage_values(storage, nas_server=volume.server))
        return StorageBinding(values=storage_values(storage))
