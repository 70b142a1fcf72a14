"""NAS storage for the workload: an NFS file system reachable only from the cluster's VPC."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud

from infra.ackone.network import Network
from infra.config import ConfigError, NasStorage

# General-purpose NAS, encrypted at rest with the NAS-managed key (no KMS key to manage or pay).
FILE_SYSTEM_TYPE = "standard"
NAS_MANAGED_KEY = 1
# The file system's inputs the provider replaces it for (ForceNew in terraform-provider-alicloud's
# alicloud_nas_file_system): a replacement is a new, empty file system. The program never
# replaces it: these are ignored after creation, and a config change of one is refused.
FILE_SYSTEM_FORCE_NEW = ("fileSystemType", "protocolType", "storageType", "encryptType", "zoneId")


def file_system_description(cluster_name: str) -> str:
    """The NAS description (API charset: 2-128 characters, starting with a letter; letters,
    digits, ':', '_' and '-'; no spaces), which also finds the stack's file system again."""
    return f"argo-fanout_{cluster_name}"


def check_file_system(existing: list, description: str, storage_type: str) -> None:
    """Refuse a storage.nas.storageType that differs from the stack's existing file system's."""
    for system in existing:
        get = system.get
        if get("description") != description:
            continue
        current = get("storage_type", get("storageType"))
        if current != storage_type:
            raise ConfigError(
                f"storage.nas.storageType: {storage_type!r}, but the stack's file system "
                f"{get('id')} is {current!r}; the type cannot change in place and a new file "
                "system would start empty: keep it, or move the data and change storage.type"
            )


def access_group_description(cluster_name: str) -> str:
    return f"argo-fanout_{cluster_name}_vswitches"


@dataclass(frozen=True)
class NasVolumeArgs:
    config: NasStorage
    cluster_name: str
    network: Network
    vswitch_cidrs: tuple[str, ...]  # the pods' addresses: the only clients admitted
    # Production stacks: Pulumi refuses to delete or replace the file system, and a deliberate
    # destroy (after `pulumi state unprotect`) still leaves it and its data in place.
    production: bool


class NasVolume(pulumi.ComponentResource):
    """File system, access group with read-write rules for the vSwitch CIDRs, a mount target.

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
        description = file_system_description(cluster_name)
        existing = alicloud.nas.get_file_systems_output(
            description_regex=f"^{description}$",
            protocol_type="NFS",
            opts=pulumi.InvokeOptions(parent=self),
        ).systems
        guard = existing.apply(
            lambda systems: check_file_system(systems or [], description, config.storage_type)
        )
        self.file_system = alicloud.nas.FileSystem(
            f"{name}-fs",
            file_system_type=FILE_SYSTEM_TYPE,
            protocol_type="NFS",
            storage_type=config.storage_type,
            encrypt_type=NAS_MANAGED_KEY,
            zone_id=mount_vswitch.zone_id,
            # Applied only after the guard: a refused storage type stops the update here.
            description=guard.apply(lambda _: description),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.production,
                retain_on_delete=args.production,
                ignore_changes=list(FILE_SYSTEM_FORCE_NEW),
            ),
        )
        access_group = alicloud.nas.AccessGroup(
            f"{name}-access-group",
            access_group_name=f"{cluster_name}-vpc",
            access_group_type="Vpc",
            file_system_type=FILE_SYSTEM_TYPE,
            description=access_group_description(cluster_name),
            opts=child,
        )
        # Read-write for the pods' vSwitches only, not the whole VPC; root is squashed to
        # nobody (the steps run as a non-root user, which keeps its uid).
        access_rules = [
            alicloud.nas.AccessRule(
                f"{name}-access-rule" if index == 0 else f"{name}-access-rule-{index}",
                access_group_name=access_group.access_group_name,
                file_system_type=FILE_SYSTEM_TYPE,
                source_cidr_ip=cidr,
                rw_access_type="RDWR",
                user_access_type="root_squash",
                priority=index + 1,
                opts=child,
            )
            for index, cidr in enumerate(args.vswitch_cidrs)
        ]
        mount_target = alicloud.nas.MountTarget(
            f"{name}-mount-target",
            file_system_id=self.file_system.id,
            access_group_name=access_group.access_group_name,
            network_type="Vpc",
            vpc_id=network.vpc.id,
            vswitch_id=mount_vswitch.id,
            # Mounting needs the rule; without it the group admits no client.
            opts=pulumi.ResourceOptions(parent=self, depends_on=access_rules),
        )
        self.server = mount_target.mount_target_domain
        self.register_outputs({"fileSystemId": self.file_system.id, "server": self.server})
