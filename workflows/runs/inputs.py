"""Placing `--input PATH` where the stack's workflow volume sees it.

The stack's `inputStaging` output says how (common/exports.py): `localDir`, the volume's files
are seen on this machine at `dataDir` (kind's hostPath; an existing cluster's storage.localDir),
so the input is copied there; `objectStore`, the volume is a directory of an OSS bucket, so the
input is uploaded with the OSS SDK; `none` (NAS, an existing claim), no path from here: the user
places the input and passes `-p input=<path relative to the volume>`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

import alibabacloud_oss_v2 as oss

from common import exports
from common.oss import object_prefix
from workflows.runs.errors import RunError
from workflows.runs.stack import StackOutputs
from workflows.staging import StagingError, copy_into_volume, new_stage

# Credential environment variables, in the order they are tried: the OSS SDK's own, Alibaba
# Cloud's CLI/SDK convention, and the Pulumi alicloud provider's (which deployed the stack).
OSS_CREDENTIAL_VARIABLES = (
    ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"),
    (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    ),
    ("ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"),
)
_OSS_ENDPOINT = re.compile(r"(?:https?://)?oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com/?")


class ObjectStore(Protocol):
    def upload(self, local: Path, key: str) -> None:
        """Upload one local file to `key`; raises RunError on failure."""


def stage_input(path: Path, outputs: StackOutputs, object_store: ObjectStore | None = None) -> str:
    """Put the input file or directory on the stack's volume; return its volume-relative path.

    `object_store` overrides the OSS client built from the stack's outputs (tests use a fake).
    """
    if not path.exists():
        raise RunError(f"--input {path}: no such file or directory")
    if outputs.input_staging == exports.STAGING_LOCAL_DIR:
        assert outputs.data_dir is not None  # StackOutputs.parse requires it
        return copy_to_data_dir(path, Path(outputs.data_dir))
    if outputs.input_staging == exports.STAGING_OBJECT_STORE:
        assert outputs.oss_bucket is not None and outputs.oss_path is not None
        if object_store is None:
            object_store = OssObjectStore(outputs.oss_bucket, outputs.oss_endpoint)
        return upload_to_store(path, object_store, object_prefix(outputs.oss_path))
    raise RunError(
        f"--input: stack {outputs.stack!r} (target {outputs.target}) keeps its data on claim "
        f"{outputs.volume_claim!r}, which this command cannot write to: copy {path} into that "
        "volume yourself and pass -p input=<its path relative to the volume>"
    )


def copy_to_data_dir(path: Path, data_dir: Path) -> str:
    """Copy into a new stage `<dataDir>/inputs/<stage>/<name>`; earlier stages stay untouched."""
    if not data_dir.is_dir():
        raise RunError(
            f"the stack's dataDir {data_dir} does not exist on this machine: run the command "
            "where the kind cluster runs, or `pulumi up` the stack again"
        )
    try:
        return copy_into_volume(path, data_dir)
    except StagingError as err:
        raise RunError(f"--input: {err}") from None


def upload_to_store(path: Path, store: ObjectStore, prefix: str) -> str:
    """Upload a file to a new stage `inputs/<stage>/<name>`, or a directory's files below it.

    `prefix` is the key prefix of the volume's root in the bucket; the returned path is relative
    to the volume.
    """
    relative = f"{new_stage()}/{path.name}"
    if path.is_dir():
        files = sorted(file for file in path.rglob("*") if file.is_file())
        if not files:
            raise RunError(f"--input {path}: the directory holds no files")
        for file in files:
            store.upload(file, f"{prefix}{relative}/{file.relative_to(path).as_posix()}")
    else:
        store.upload(path, prefix + relative)
    return relative


class OssObjectStore:
    """`ObjectStore` for the stack's OSS bucket, with credentials from the environment."""

    def __init__(self, bucket: str, endpoint: str | None) -> None:
        match = _OSS_ENDPOINT.fullmatch(endpoint or "")
        if match is None:
            raise RunError(
                f"stack output ossEndpoint {endpoint!r} is not an OSS endpoint "
                "(oss-<region>.aliyuncs.com)"
            )
        config = oss.config.load_default()
        config.region = match.group(1)
        config.endpoint = endpoint
        config.credentials_provider = _credentials()
        self._bucket = bucket
        self._uploader = oss.Client(config).uploader()

    def upload(self, local: Path, key: str) -> None:
        # A stage's keys are new; never replace an object a run may still be reading.
        request = oss.PutObjectRequest(bucket=self._bucket, key=key, forbid_overwrite=True)
        try:
            self._uploader.upload_file(request, str(local))
        except oss.exceptions.BaseError as err:
            raise RunError(
                f"uploading {local} to oss://{self._bucket}/{key} failed: {err}"
            ) from None


def _credentials() -> oss.credentials.StaticCredentialsProvider:
    for key_id, secret, token in OSS_CREDENTIAL_VARIABLES:
        if os.environ.get(key_id) and os.environ.get(secret):
            return oss.credentials.StaticCredentialsProvider(
                os.environ[key_id], os.environ[secret], os.environ.get(token)
            )
    names = " or ".join(f"{key_id}/{secret}" for key_id, secret, _ in OSS_CREDENTIAL_VARIABLES)
    raise RunError(f"--input: uploading to OSS needs an AccessKey in {names}")
