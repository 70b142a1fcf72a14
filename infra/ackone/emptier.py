"""Emptying the OSS bucket before `pulumi destroy` deletes it (`storage.oss.forceDestroy`).

The provider's `force_destroy` deletes one page of object versions per retry and never aborts
multipart uploads, so a bucket holding thousands of objects, or an interrupted upload, makes
`pulumi destroy` fail while the bucket keeps billing. `BucketContents` is a dynamic resource
created after the bucket, hence deleted before it: its delete empties the bucket completely —
every object version and delete marker in batches of 1000 (DeleteMultipleObjects' limit), then
every open multipart upload — with the standard Alibaba Cloud credential chain (like the ACK One
calls, infra/ackone/api.py). `empty_bucket` is tested against a fake OSS API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

# DeleteMultipleObjects takes at most 1000 keys; list calls return at most 1000 entries.
BATCH = 1000


class OssApi(Protocol):
    """The alibabacloud_oss_v2.Client methods used."""

    def list_object_versions(self, request: Any) -> Any: ...

    def delete_multiple_objects(self, request: Any) -> Any: ...

    def list_multipart_uploads(self, request: Any) -> Any: ...

    def abort_multipart_upload(self, request: Any) -> Any: ...


def empty_bucket(client: OssApi, bucket: str) -> tuple[int, int]:
    """Delete every object version and delete marker of `bucket`, then abort every multipart
    upload; returns (versions and markers deleted, uploads aborted)."""
    import alibabacloud_oss_v2 as oss

    deleted = 0
    versions = _pages(
        lambda key, version: client.list_object_versions(
            oss.ListObjectVersionsRequest(
                bucket=bucket, key_marker=key, version_id_marker=version, max_keys=BATCH
            )
        ),
        lambda page: (page.next_key_marker, page.next_version_id_marker),
    )
    for page in versions:
        # A page holds at most BATCH entries, versions and markers together: one delete each.
        entries = [*(page.version or []), *(page.delete_marker or [])]
        if entries:
            client.delete_multiple_objects(
                oss.DeleteMultipleObjectsRequest(
                    bucket=bucket,
                    objects=[oss.DeleteObject(key=e.key, version_id=e.version_id) for e in entries],
                    quiet=True,
                )
            )
            deleted += len(entries)
    aborted = 0
    uploads = _pages(
        lambda key, upload: client.list_multipart_uploads(
            oss.ListMultipartUploadsRequest(
                bucket=bucket, key_marker=key, upload_id_marker=upload, max_uploads=BATCH
            )
        ),
        lambda page: (page.next_key_marker, page.next_upload_id_marker),
    )
    for page in uploads:
        for upload in page.uploads or []:
            client.abort_multipart_upload(
                oss.AbortMultipartUploadRequest(
                    bucket=bucket, key=upload.key, upload_id=upload.upload_id
                )
            )
            aborted += 1
    return deleted, aborted


def _pages(
    list_page: Callable[[str | None, str | None], Any], next_markers: Callable[[Any], tuple]
) -> Iterator[Any]:
    """The pages of an OSS listing that continues after a (key, id) marker pair. Deleting what a
    page listed does not disturb the next: it starts after the marker, present or not."""
    markers: tuple = (None, None)
    while True:
        page = list_page(*markers)
        yield page
        if not page.is_truncated:
            return
        markers = next_markers(page)


ClientFactory = Callable[[str], OssApi]  # region -> client


def oss_client(region: str) -> OssApi:
    """An OSS client for `region` with the standard Alibaba Cloud credential chain."""
    import alibabacloud_oss_v2 as oss
    from alibabacloud_credentials.client import Client as CredentialClient

    chain = CredentialClient()

    def credentials() -> oss.credentials.Credentials:
        found = chain.get_credential()
        return oss.credentials.Credentials(
            found.access_key_id, found.access_key_secret, found.security_token
        )

    config = oss.config.load_default()
    config.region = region
    config.credentials_provider = oss.credentials.CredentialsProviderFunc(credentials)
    return oss.Client(config)


class BucketContentsProvider(ResourceProvider):
    """Nothing to create; deleting it empties the bucket when forceDestroy is set."""

    def __init__(self, client_factory: ClientFactory = oss_client) -> None:
        super().__init__()
        self._client_factory = client_factory

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["bucket"], _inputs(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = _inputs(olds), _inputs(news)
        replaces = [key for key in ("region", "bucket") if olds.get(key) != news.get(key)]
        changed = replaces or olds.get("forceDestroy") != news.get("forceDestroy")
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_inputs(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        props = _inputs(props)
        if props.get("forceDestroy"):
            empty_bucket(self._client_factory(props["region"]), props["bucket"])


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if not key.startswith("__")}


class BucketContents(Resource, module="ackone", name="BucketContents"):
    """The objects of one bucket: deleted (every version, every open upload) before the bucket
    when `force_destroy`; created after the bucket so that Pulumi deletes it first."""

    def __init__(
        self,
        name: str,
        *,
        region: str,
        bucket: pulumi.Input[str],
        force_destroy: bool,
        opts: pulumi.ResourceOptions | None = None,
        client_factory: ClientFactory = oss_client,
    ) -> None:
        super().__init__(
            BucketContentsProvider(client_factory),
            name,
            {"region": region, "bucket": bucket, "forceDestroy": force_destroy},
            opts,
        )
