"""The ACK One target's component (declared in infra/targets/ackone.py): a cluster provider plus
the workload's storage; ``build`` is the builder the spec names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from common import exports
from infra.ackone.cluster import AckOneCluster, AckOneClusterArgs
from infra.ackone.nas import NasVolume, NasVolumeArgs
from infra.ackone.network import Network, NetworkArgs
from infra.ackone.oss import OssVolume, OssVolumeArgs, public_endpoint
from infra.ackone.sample import input_key, sample_input
from infra.config import Config
from infra.storage import storage_values
from infra.targets.contracts import ClusterTarget, StorageBinding


@dataclass(frozen=True)
class AckOneArgs:
    config: Config  # target ackone, with alicloud:region


class AckOne(pulumi.ComponentResource):
    """Network, workflow cluster (managed Argo, so no Argo install) and the cloud volume.

    Exposes what the Platform needs from a target: `provider`, `kubeconfig` (secret), `outputs`
    and `storage`, the chart's storage values with the objects the volume needs in the workload
    namespace (the OSS credentials Secret). On production stacks the cluster and the volume's
    bucket or file system are protected: Pulumi refuses to delete or replace them.
    """

    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    outputs: dict[str, Any]
    storage: StorageBinding

    def __init__(
        self, name: str, args: AckOneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:ackone:AckOne", name, None, opts)
        config = args.config
        if config.ackone is None or config.region is None:
            raise ValueError("AckOne needs a config with target ackone and alicloud:region")
        child = pulumi.ResourceOptions(parent=self)
        region = config.region
        network = Network(
            f"{name}-network", NetworkArgs(config=config.ackone, region=region), opts=child
        )
        cluster = AckOneCluster(
            f"{name}-cluster",
            AckOneClusterArgs(
                config=config.ackone,
                region=region,
                network=network,
                protect=config.production,
            ),
            opts=child,
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
                    config.data_dir,
                    storage.oss.sample_input_size,
                    input_key(config.default_job),
                    dry_run=pulumi.runtime.is_dry_run(),
                )
            volume = OssVolume(
                f"{name}-oss",
                OssVolumeArgs(
                    config=storage.oss,
                    region=region,
                    cluster_name=ackone.cluster_name,
                    sample_input=sample,
                    vpc_id=network.vpc.id,
                    protect=config.production,
                ),
                opts=child,
            )

            def credentials(
                namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
            ) -> Sequence[pulumi.Resource]:
                return [volume.credentials_secret(namespace, opts)]

            return StorageBinding(
                values=storage_values(
                    storage,
                    oss_bucket=volume.bucket_name,
                    oss_url=volume.endpoint,
                    oss_secret_name=volume.secret_name,
                ),
                prerequisites=credentials,
                input_staging=exports.STAGING_OBJECT_STORE,
                outputs={
                    exports.OSS_BUCKET: volume.bucket_name,
                    exports.OSS_ENDPOINT: public_endpoint(region),
                    exports.OSS_PATH: storage.oss.path,
                },
            )
        if storage.nas is not None:
            volume = NasVolume(
                f"{name}-nas",
                NasVolumeArgs(
                    config=storage.nas,
                    cluster_name=ackone.cluster_name,
                    network=network,
                    vswitch_cidrs=ackone.vswitch_cidrs,
                    production=config.production,
                ),
                opts=child,
            )
            return StorageBinding(values=storage_values(storage, nas_server=volume.server))
        return StorageBinding(values=storage_values(storage))


def build(
    name: str, cfg: Config, opts: pulumi.ResourceOptions
) -> tuple[ClusterTarget, StorageBinding]:
    """Target ackone: the network, workflow cluster and cloud volume, as one component."""
    ackone = AckOne(f"{name}-ackone", AckOneArgs(config=cfg), opts=opts)
    return ackone, ackone.storage
