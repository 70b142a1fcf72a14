"""OSS storage for the workload: a private bucket, a least-privilege RAM user, and its Secret.

Workflow clusters cannot use RRSA, so the CSI driver mounts the bucket with an AccessKey of a RAM
user whose policy names only this bucket. The key lives in Pulumi state as a secret and in one
Kubernetes Secret (`akId`/`akSecret`) in the workload namespace, the namespace of the claim that
virtual-node pods mount. When workflow clusters gain RRSA, swapping the user for a role changes
only this module and the PV's secret reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as kubernetes

from common.oss import object_prefix
from infra.ackone.emptier import BucketContents
from infra.ackone.sample import SampleInput
from infra.config import OssStorage

# What ossfs needs on the bucket: list it, and read/write/delete objects with multipart uploads.
BUCKET_ACTIONS = ("oss:GetBucketInfo", "oss:ListObjects", "oss:ListMultipartUploads")
OBJECT_ACTIONS = (
    "oss:GetObject",
    "oss:PutObject",
    "oss:DeleteObject",
    "oss:AbortMultipartUpload",
    "oss:ListParts",
)
# Incomplete multipart uploads block bucket deletion and force_destroy does not remove them.
ABORT_MULTIPART_AFTER_DAYS = 1
# The directory of per-run work dirs under the mounted path (the chart's /data/runs/<workflow>).
RUNS_DIR = "runs"
# The Secret in the workload namespace that the chart's PV references (storage.oss.secretName).
SECRET_NAME = "argo-fanout-oss"


def internal_endpoint(region: str) -> str:
    """The same-region internal endpoint pods mount the bucket through (no traffic charge)."""
    return f"oss-{region}-internal.aliyuncs.com"


def public_endpoint(region: str) -> str:
    """The public endpoint, for uploading input from outside the VPC."""
    return f"oss-{region}.aliyuncs.com"


def default_bucket_name(cluster_name: str, account_id: str) -> str:
    """A bucket name unique across OSS: `<cluster name>-<account id>`, at most 63 characters.

    Cluster names are DNS labels (infra/config.py), which OSS accepts; the account id keeps two
    accounts' stacks of the same name apart. A long cluster name is shortened to fit.
    """
    return f"{cluster_name[: 62 - len(account_id)].rstrip('-')}-{account_id}"


def internal_url(region: str) -> str:
    """The URL ossfs mounts through: the internal endpoint, over TLS (the bucket refuses HTTP)."""
    return f"https://{internal_endpoint(region)}"


def bucket_policy_document(bucket: str, account_id: str, mount_path: str, vpc_id: str) -> str:
    """The mount user's RAM policy: the ossfs actions on the mounted directory of `bucket` only,
    and only from the cluster's VPC (`acs:SourceVpc`), so a leaked key is useless elsewhere."""
    arn = f"acs:oss:*:{account_id}:{bucket}"
    prefix = object_prefix(mount_path)
    from_vpc = {"StringEquals": {"acs:SourceVpc": [vpc_id]}}
    listing: dict = {"Effect": "Allow", "Action": list(BUCKET_ACTIONS), "Resource": [arn]}
    listing["Condition"] = (
        {**from_vpc, "StringLike": {"oss:Prefix": [f"{prefix}*"]}} if prefix else from_vpc
    )
    statements = [
        listing,
        {
            "Effect": "Allow",
            "Action": list(OBJECT_ACTIONS),
            "Resource": [f"{arn}/{prefix}*"],
            "Condition": from_vpc,
        },
    ]
    return json.dumps({"Version": "1", "Statement": statements}, sort_keys=True)


def tls_only_bucket_policy(bucket: str, account_id: str) -> str:
    """A bucket policy denying every request that does not come over TLS."""
    arn = f"acs:oss:*:{account_id}:{bucket}"
    statement = {
        "Effect": "Deny",
        "Principal": ["*"],
        "Action": ["oss:*"],
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"acs:SecureTransport": ["false"]}},
    }
    return json.dumps({"Version": "1", "Statement": [statement]}, sort_keys=True)


@dataclass(frozen=True)
class OssVolumeArgs:
    config: OssStorage
    region: str
    cluster_name: str
    sample_input: SampleInput | None
    vpc_id: pulumi.Input[str]  # the only VPC the mount user's key works from
    protect: bool  # production stacks: Pulumi refuses to delete or replace the bucket


class OssVolume(pulumi.ComponentResource):
    """The bucket and the RAM user that mounts it; `credentials_secret` makes its Secret.

    `bucket_name`, `endpoint` (internal) and `secret_name` are what the chart's OSS PV needs
    (infra/storage.py turns them into `storage.oss` values).
    """

    bucket: alicloud.oss.Bucket
    bucket_name: pulumi.Output[str]
    endpoint: str
    secret_name = SECRET_NAME

    def __init__(
        self, name: str, args: OssVolumeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:ackone:OssVolume", name, None, opts)
        config, region, cluster_name = args.config, args.region, args.cluster_name
        sample_input = args.sample_input
        child = pulumi.ResourceOptions(parent=self)
        account_id = alicloud.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self)
        ).account_id
        bucket_name = (
            pulumi.Output.from_input(config.bucket)
            if config.bucket is not None
            else account_id.apply(lambda account: default_bucket_name(cluster_name, account))
        )
        self.bucket = alicloud.oss.Bucket(
            f"{name}-bucket",
            bucket=bucket_name,
            force_destroy=config.force_destroy,
            server_side_encryption_rule={"sse_algorithm": "AES256"},
            versioning={"status": "Enabled"} if config.versioning else None,
            lifecycle_rules=lifecycle_rules(
                config.path, config.expire_runs_after_days, config.versioning
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.bucket_name = self.bucket.bucket
        self.endpoint = internal_url(region)
        alicloud.oss.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.bucket,
            policy=pulumi.Output.all(self.bucket.bucket, account_id).apply(
                lambda args: tls_only_bucket_policy(*args)
            ),
            opts=child,
        )
        # Created after the bucket, so deleted before it: empties it when forceDestroy is set.
        BucketContents(
            f"{name}-contents",
            region=region,
            bucket=self.bucket.bucket,
            force_destroy=config.force_destroy,
            opts=child,
        )
        alicloud.oss.BucketAcl(f"{name}-acl", bucket=self.bucket.bucket, acl="private", opts=child)
        alicloud.oss.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.bucket,
            block_public_access=True,
            opts=child,
        )
        ram_name = f"{cluster_name}-oss"
        user = alicloud.ram.User(
            f"{name}-user",
            name=ram_name,
            comments=f"Mounts the OSS bucket of argo-fanout cluster {cluster_name} (ossfs)",
            force=True,  # delete its key and policy attachment with it
            opts=child,
        )
        policy = alicloud.ram.Policy(
            f"{name}-policy",
            policy_name=ram_name,
            policy_document=pulumi.Output.all(self.bucket.bucket, account_id, args.vpc_id).apply(
                lambda values: bucket_policy_document(values[0], values[1], config.path, values[2])
            ),
            description=(
                f"ossfs access to the mounted directory of the bucket of argo-fanout cluster "
                f"{cluster_name}, from its VPC only"
            ),
            force=True,
            opts=child,
        )
        alicloud.ram.UserPolicyAttachment(
            f"{name}-policy-attachment",
            user_name=user.name,
            policy_name=policy.policy_name,
            policy_type="Custom",
            opts=child,
        )
        self._access_key = alicloud.ram.AccessKey(
            f"{name}-access-key", user_name=user.name, opts=child
        )
        if sample_input is not None:
            key = object_prefix(config.path) + sample_input.key
            alicloud.oss.BucketObject(
                f"{name}-sample-input",
                bucket=self.bucket.bucket,
                key=key,
                source=sample_input.source,
                content_type="text/plain",
                opts=child,
            )
            # The exact counts to check a run's result.json against.
            alicloud.oss.BucketObject(
                f"{name}-sample-expected",
                bucket=self.bucket.bucket,
                key=f"{key}.expected.json",
                content=sample_input.expected_counts,
                content_type="application/json",
                opts=child,
            )
        self._name = name
        self.register_outputs({"bucket": self.bucket_name})

    def credentials_secret(
        self, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> kubernetes.core.v1.Secret:
        """The Secret (`akId`/`akSecret`) the PV mounts with, in the workload namespace.

        `opts` carry the cluster's provider, the parent the caller wants (the workload) and what
        must exist first (the namespace, when the program creates it).
        """
        return kubernetes.core.v1.Secret(
            f"{self._name}-credentials",
            metadata={"name": SECRET_NAME, "namespace": namespace},
            type="Opaque",
            string_data={"akId": self._access_key.id, "akSecret": self._access_key.secret},
            opts=opts,
        )


def lifecycle_rules(mount_path: str, expire_days: int, versioning: bool) -> list[dict]:
    """Abort stale multipart uploads bucket-wide; expire per-run work dirs after `expire_days`."""
    runs_rule: dict = {
        "id": "expire-runs",
        "enabled": True,
        "prefix": object_prefix(mount_path, RUNS_DIR),
        "expirations": [{"days": expire_days}],
    }
    if versioning:
        # Expiring a current version leaves a noncurrent one behind on versioned buckets.
        runs_rule["noncurrent_version_expirations"] = [{"days": expire_days}]
    return [
        {
            "id": "abort-incomplete-multipart-uploads",
            "enabled": True,
            "prefix": "",
            "abort_multipart_uploads": [{"days": ABORT_MULTIPART_AFTER_DAYS}],
        },
        runs_rule,
    ]
