"""The ACK One workflow cluster (managed Argo), its features, kubeconfig and Kubernetes provider."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as kubernetes

from infra.ackone.api import HubApi
from infra.ackone.hub import ApiFactory, HubClusterFeatures, HubClusterKubeconfig
from infra.ackone.network import Network
from infra.config import AckOneConfig

# Creating or deleting a workflow cluster takes minutes (API server SLB, managed Argo).
CLUSTER_TIMEOUTS = pulumi.CustomTimeouts(create="25m", update="25m", delete="25m")


@dataclass(frozen=True)
class AckOneClusterArgs:
    config: AckOneConfig
    region: str
    network: Network
    # Production stacks: Pulumi refuses to delete or replace the cluster (`pulumi state
    # unprotect` first), since the features resource lifts the cloud's deletion protection.
    protect: bool
    api_factory: ApiFactory = HubApi.for_region  # tests pass a fake ACK One client


class AckOneCluster(pulumi.ComponentResource):
    """An `XFlow` (workflow) cluster on `network`, with its features set through the ACK One API.

    The cluster's vSwitch list is managed by `HubClusterFeatures` (UpdateHubClusterFeature takes
    the full list), so a vSwitch added later is attached in place: the provider would replace
    the whole cluster for any change of `network`, hence `ignore_changes` on its vSwitches.
    `provider` reaches the API server with the fetched kubeconfig: the public endpoint with
    `ackone.publicApiServer`, otherwise the VPC one (then Pulumi must run inside the VPC).
    """

    cluster: alicloud.ackone.Cluster
    features: HubClusterFeatures
    kubeconfig: pulumi.Output[str]
    provider: kubernetes.Provider

    def __init__(
        self, name: str, args: AckOneClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:ackone:AckOneCluster", name, None, opts)
        config, region, network, api_factory = (
            args.config,
            args.region,
            args.network,
            args.api_factory,
        )
        self.cluster = alicloud.ackone.Cluster(
            f"{name}-cluster",
            cluster_name=config.cluster_name,
            profile="XFlow",  # never argocd_enabled: it is only valid for the Default profile
            network={"vpc_id": network.vpc.id, "vswitches": network.vswitch_ids},
            opts=pulumi.ResourceOptions(
                parent=self,
                custom_timeouts=CLUSTER_TIMEOUTS,
                ignore_changes=["network.vswitches"],
                protect=args.protect,
            ),
        )
        self.features = HubClusterFeatures(
            f"{name}-features",
            region=region,
            cluster_id=self.cluster.id,
            schedule_mode=config.schedule_mode,
            price_limit=config.price_limit,
            argo_server=config.argo_server,
            public_api_server=config.public_api_server,
            deletion_protection=config.deletion_protection,
            audit_log=config.audit_log,
            api_server_allowed_cidrs=list(config.api_server_allowed_cidrs),
            vswitches=network.vswitch_ids,
            opts=pulumi.ResourceOptions(parent=self),
            api_factory=api_factory,
        )
        kubeconfig = HubClusterKubeconfig(
            f"{name}-kubeconfig",
            region=region,
            cluster_id=self.cluster.id,
            private_ip_address=not config.public_api_server,
            # After the features: the public endpoint exists only once it is enabled.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.features]),
            api_factory=api_factory,
        )
        self.kubeconfig = pulumi.Output.secret(kubeconfig.kubeconfig)
        self.provider = kubernetes.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"clusterId": self.cluster.id, "kubeconfig": self.kubeconfig})
