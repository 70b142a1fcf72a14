"""Target `ackone`: an Alibaba Cloud ACK One workflow cluster the stack creates, with managed
Argo on serverless ECI/ACS pods, and an OSS bucket or NAS file system it provisions. The
component is infra/ackone/target.py's AckOne (loaded only for this target: it imports the
Alibaba Cloud SDKs)."""

from infra.targets.contracts import TargetSpec

SPEC = TargetSpec(
    name="ackone",
    fields=(
        "clusterName",
        "vpcCidr",
        "zones",
        "vswitchCidrs",
        "scheduleMode",
        "priceLimit",
        "argoServer",
        "publicApiServer",
        "apiServerAllowedCidrs",
        "auditLog",
        "deletionProtection",
    ),
    storage_types=("oss", "nas", "existingClaim"),
    compute_profiles=("eci", "acs", "none"),
    default_compute="eci",
    argo_manager="the ACK One workflow cluster",
    owns_cluster=True,
    component="infra.ackone.target:build",
    nas_server="provisioned",
)
