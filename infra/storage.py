"""The log-count chart's `storage.*` values for each storage type.

The chart turns these into the PV/PVC the tasks share. Types whose volume the program creates
in the cloud (OSS, and NAS on ackone) take the cloud-side names as inputs: infra/ackone/
provisions the bucket or file system and passes them here.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.config import StorageConfig


def storage_values(
    storage: StorageConfig,
    *,
    oss_bucket: pulumi.Input[str] | None = None,
    oss_url: pulumi.Input[str] | None = None,
    oss_secret_name: pulumi.Input[str] | None = None,
    nas_server: pulumi.Input[str] | None = None,
) -> dict[str, Any]:
    """Chart values for ``storage``; OSS needs the bucket, endpoint URL and credentials Secret,
    NAS needs the mount target domain unless the config names it (target existing)."""
    if storage.type == "existingClaim":
        return {"type": "existingClaim", "existingClaim": storage.existing_claim}
    values: dict[str, Any] = {
        "type": storage.type,
        "size": storage.size,
        "reclaimPolicy": storage.reclaim_policy,
    }
    if storage.host_path is not None:
        values["hostPath"] = {"path": storage.host_path.path}
    if storage.nas is not None:
        server = storage.nas.server if storage.nas.server is not None else nas_server
        if server is None:
            raise ValueError("storage type nas needs the mount target domain (nas_server)")
        values["nas"] = {"server": server, "path": storage.nas.path}
    if storage.oss is not None:
        if oss_bucket is None or oss_url is None or oss_secret_name is None:
            raise ValueError("storage type oss needs oss_bucket, oss_url and oss_secret_name")
        values["oss"] = {
            "bucket": oss_bucket,
            "url": oss_url,
            "path": storage.oss.path,
            "otherOpts": storage.oss.other_opts,
            # The chart names ossfs 1.0 by leaving fuseType empty (the CSI driver's default).
            "fuseType": "" if storage.oss.fuse_type == "ossfs" else storage.oss.fuse_type,
            "secretName": oss_secret_name,
        }
    return values
