"""NAS storage for the workload: an NFS file system reachable only from the cluster's VPC."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud

from infra.ackone.network import Network
from infra.config import NasStorage

# General-purpose NAS, encrypted at rest with the NAS-managed key (no KMS key to manage or pay).
FILE_SYSTEM_TYPE = "standard"
NAS_MANAGED_KEY = 1


@dataclass(frozen=True)
class NasVolumeArgs:
    config: NasStorage
    cluster_name: str
    network: Network
    vpc_cidr: str
    # Production stacks: Pulumi refuses to delete or replace the file system, and a deliberate
    # destroy (after `pulumi state unprotect`) still leaves it and its data in place.
    production: bool


class NasVolume(pulumi.ComponentResource):
    """File system, access group with a read-write rule for the VPC CIDR, and a mount target.

    The access group gets an explicit name: the API's default group allows every address. The
    mount target sits in the first vSwitch, the same zone as the file system. `server` (the
    mount target's domain) is what the chart's NAS PV needs. On production stacks the file
    system is protected, and `pulumi destroy` leaves it and its data in place, the way OSS keeps
    a non-empty bucket without forceDestroy.
    """

    file_system: alicloud.nas.FileSystem
    server: pulumi.Output[str]

    def __init__(
        self, name: str, args: NasVolumeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:ackone:NasVolume", name, None, opts)
        config, cluster_name, network = args.config, args.cluster_name, args.network
        child = pulumi.ResourceOptions(parent=self)
        mount_vswitch = network.vswitches[0]
        self.file_system = alicloud.nas.FileSystem(
            f"{name}-fs",
            file_system_type=FILE_SYSTEM_TYPE,
            protocol_type="NFS",
            storage_type=config.storage_type,
            encrypt_type=NAS_MANAGED_KEY,
            zone_id=mount_vswitch.zone_id,
            description=f"argo-fanout shared volume of cluster {cluster_name}",
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.production, retain_on_delete=args.production
            ),
        )
        access_group = alicloud.nas.AccessGroup(
            f"{name}-access-group",
            access_group_name=f"{cluster_name}-vpc",
            access_group_type="Vpc",
            file_system_type=FILE_SYSTEM_TYPE,
            description=f"Read-write from the VPC of argo-fanout cluster {cluster_name}",
            opts=child,
        )
        access_rule = alicloud.nas.AccessRule(
            f"{name}-access-rule",
            access_group_name=access_group.access_group_name,
            file_system_type=FILE_SYSTEM_TYPE,
            source_cidr_ip=args.vpc_cidr,
            rw_access_type="RDWR",
            # Pods run as a non-root user the chart picks; squashing would remap it.
            user_access_type="no_squash",
            priority=1,
            opts=child,
        )
        mount_target = alicloud.nas.MountTarget(
            f"{name}-mount-target",
            file_system_id=self.file_system.id,
            access_group_name=access_group.access_group_name,
            network_type="Vpc",
            vpc_id=network.vpc.id,
            vswitch_id=mount_vswitch.id,
            # Mounting needs the rule; without it the group admits no client.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_rule]),
        )
        self.server = mount_target.mount_target_domain
        self.register_outputs({"fileSystemId": self.file_system.id, "server": self.server})
