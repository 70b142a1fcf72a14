"""The VPC and vSwitches (one per zone) that the workflow cluster and its pods live in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud

from infra.config import AckOneConfig, ConfigError


def vswitch_name(cluster_name: str, index: int) -> str:
    return f"{cluster_name}-{index}"


def check_cidrs(names: Sequence[str], cidrs: Sequence[str], existing: Mapping[str, str]) -> None:
    """Refuse a new CIDR for an existing vSwitch (`existing`: name -> CIDR): the provider would
    replace it (ForceNew cidr_block) while the cluster and its pods use it."""
    moved = [
        f"{name} is {existing[name]}, not {cidr}"
        for name, cidr in zip(names, cidrs, strict=True)
        if existing.get(name) not in (None, "", cidr)
    ]
    if moved:
        raise ConfigError(
            f"ackone.vswitchCidrs: {'; '.join(moved)}; an existing vSwitch cannot change its "
            "CIDR (the provider would replace it under the running cluster): keep its entry "
            "and add new CIDRs after the existing ones"
        )


def resolve_zones(
    names: Sequence[str],
    configured: Sequence[str] | None,
    existing: Mapping[str, str],
    available: Sequence[str],
    region: str,
) -> list[str]:
    """The zone of each vSwitch `names[i]` (its CIDR): where it already is, else ackone.zones,
    else the
    first zones the region offers that no vSwitch of the stack uses yet.

    A vSwitch's zone cannot change (the provider replaces it, create-before-delete, with the same
    CIDR, and the NAS file system in its zone with it), so once a vSwitch exists its zone is
    pinned, whatever order or content the zones data source reports later, and an ackone.zones
    that moves it is refused. `existing` maps the VPC's vSwitches (by CIDR) to their zones.
    """
    pinned = {name: existing[name] for name in names if name in existing}
    if configured is not None:
        moved = [
            f"{name} is in {pinned[name]}, not {zone}"
            for name, zone in zip(names, configured, strict=True)
            if name in pinned and pinned[name] != zone
        ]
        if moved:
            raise ConfigError(
                f"ackone.zones: {'; '.join(moved)}; a vSwitch cannot change zone (the "
                "provider would replace it and what lives in it, the NAS file system "
                "included): keep its zone in ackone.zones, or give the new zone a new CIDR"
            )
        return list(configured)
    free = [zone for zone in available if zone not in pinned.values()]
    new = [name for name in names if name not in pinned]
    if len(free) < len(new):
        raise ConfigError(
            f"ackone.zones: unset, and region {region} offers only {len(available)} zone(s) "
            f"for vSwitches ({', '.join(available) or 'none'}) for the {len(names)} CIDRs of "
            f"ackone.vswitchCidrs; use fewer CIDRs or list zones in ackone.zones"
        )
    picked = iter(free)
    return [pinned[name] if name in pinned else next(picked) for name in names]


def _fields(vswitch: Mapping[str, str]) -> tuple[str, str, str]:
    """Name, zone and CIDR of one vSwitch of the data source (a dict whose keys are spelled
    the Python or the wire way)."""

    def get(python: str, wire: str) -> str:
        return vswitch[python] if python in vswitch else vswitch[wire]

    return (
        get("vswitch_name", "vswitchName"),
        get("zone_id", "zoneId"),
        get("cidr_block", "cidrBlock"),
    )


@dataclass(frozen=True)
class NetworkArgs:
    config: AckOneConfig
    region: str


class Network(pulumi.ComponentResource):
    """A VPC with one vSwitch per CIDR, each in its own zone.

    Zones default to the first ones the region offers for vSwitches; once a vSwitch exists its
    zone is pinned (`resolve_zones`). The config has already checked `workload.parallelism`
    against what the CIDRs can address.
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
        names = [vswitch_name(config.cluster_name, i) for i in range(len(vswitch_cidrs))]
        invoke = pulumi.InvokeOptions(parent=self)
        self.vpc = alicloud.vpc.Network(
            f"{name}-vpc", vpc_name=config.cluster_name, cidr_block=config.vpc_cidr, opts=child
        )
        # The VPC's vSwitches as they are (none before the first up): their zones are pinned.
        existing = alicloud.vpc.get_switches_output(vpc_id=self.vpc.id, opts=invoke).vswitches
        available = (
            alicloud.get_zones_output(available_resource_creation="VSwitch", opts=invoke).ids
            if config.zones is None
            else pulumi.Output.from_input([])
        )

        def zones(args: list) -> list[str]:
            found = [_fields(vswitch) for vswitch in args[0] or []]
            check_cidrs(names, vswitch_cidrs, {name: cidr for name, _, cidr in found})
            # Keyed by CIDR, which names a vSwitch in its VPC whatever the cluster is called.
            pinned = {cidr: zone for _, zone, cidr in found}
            return resolve_zones(list(vswitch_cidrs), config.zones, pinned, args[1], region)

        zone_ids = pulumi.Output.all(existing, available).apply(zones)
        self.vswitches = [
            alicloud.vpc.Switch(
                f"{name}-vsw-{index}",
                vswitch_name=names[index],
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
