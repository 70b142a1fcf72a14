"""The VPC and vSwitches (one per zone) that the workflow cluster and its pods live in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud

from infra.config import AckOneConfig, ConfigError


def pick_zones(available: Sequence[str], count: int, region: str) -> list[str]:
    """The first `count` zones the data source lists, or a clear error when there are fewer.

    Checked here rather than in infra/config.py: the region's zones are known only at deploy time.
    """
    if len(available) < count:
        raise ConfigError(
            f"ackone.zones: unset, and region {region} offers only {len(available)} zone(s) "
            f"for vSwitches ({', '.join(available) or 'none'}) for the {count} CIDRs of "
            f"ackone.vswitchCidrs; use fewer CIDRs or list zones in ackone.zones"
        )
    return list(available[:count])


@dataclass(frozen=True)
class NetworkArgs:
    config: AckOneConfig
    region: str


class Network(pulumi.ComponentResource):
    """A VPC with one vSwitch per CIDR, each in its own zone.

    Zones default to the first ones the region offers for vSwitches. The config has already
    checked `workload.parallelism` against what the CIDRs can address.
    """

    vpc: alicloud.vpc.Network
    vswitches: list[alicloud.vpc.Switch]
    vswitch_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:ackone:Network", name, None, opts)
        config, region = args.config, args.region
        child = pulumi.ResourceOptions(parent=self)
        vswitch_cidrs = config.vswitch_cidrs
        if config.zones is None:
            available = alicloud.get_zones_output(
                available_resource_creation="VSwitch", opts=pulumi.InvokeOptions(parent=self)
            ).ids
            zone_ids = available.apply(lambda ids: pick_zones(ids, len(vswitch_cidrs), region))
        else:
            zone_ids = pulumi.Output.from_input(list(config.zones))
        self.vpc = alicloud.vpc.Network(
            f"{name}-vpc", vpc_name=config.cluster_name, cidr_block=config.vpc_cidr, opts=child
        )
        self.vswitches = [
            alicloud.vpc.Switch(
                f"{name}-vsw-{index}",
                vswitch_name=f"{config.cluster_name}-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                zone_id=zone_ids.apply(lambda ids, index=index: ids[index]),
                opts=child,
            )
            for index, cidr in enumerate(vswitch_cidrs)
        ]
        self.vswitch_ids = pulumi.Output.all(*[vswitch.id for vswitch in self.vswitches])
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "vswitchIds": self.vswitch_ids,
                "maxParallelPods": config.max_parallel_pods,
            }
        )
