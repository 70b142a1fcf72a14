"""An in-memory OSS with the real API's paging and batch limits, for infra/ackone/emptier.py."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss

MAX_PAGE = 1000  # ListObjectVersions max-keys, ListMultipartUploads max-uploads
MAX_DELETE = 1000  # DeleteMultipleObjects


class FakeOss:
    """One bucket: object versions (some delete markers) and open multipart uploads."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.versions: dict[tuple[str, str], bool] = {}  # (key, version id) -> delete marker
        self.uploads: set[tuple[str, str]] = set()  # (key, upload id)
        self.calls: dict[str, int] = {}

    def _called(self, name: str, bucket: str) -> None:
        assert bucket == self.bucket, f"{name} on bucket {bucket!r}"
        self.calls[name] = self.calls.get(name, 0) + 1

    def list_object_versions(self, request: oss.ListObjectVersionsRequest):
        self._called("ListObjectVersions", request.bucket)
        page, rest = _page(
            self.versions, request.key_marker, request.version_id_marker, request.max_keys
        )
        result = oss.ListObjectVersionsResult(
            is_truncated=bool(rest),
            version=[
                oss.ObjectVersionProperties(key=k, version_id=v)
                for k, v in page
                if not self.versions[(k, v)]
            ],
            delete_marker=[
                oss.DeleteMarkerProperties(key=k, version_id=v)
                for k, v in page
                if self.versions[(k, v)]
            ],
        )
        if rest:
            result.next_key_marker, result.next_version_id_marker = page[-1]
        return result

    def delete_multiple_objects(self, request: oss.DeleteMultipleObjectsRequest):
        self._called("DeleteMultipleObjects", request.bucket)
        assert len(request.objects) <= MAX_DELETE, f"{len(request.objects)} keys in one delete"
        for item in request.objects:
            # A delete without a version id on a versioned bucket only adds a delete marker.
            assert item.version_id, f"{item.key}: deleted without its version id"
            self.versions.pop((item.key, item.version_id), None)
        return oss.DeleteMultipleObjectsResult(deleted_objects=[])

    def list_multipart_uploads(self, request: oss.ListMultipartUploadsRequest):
        self._called("ListMultipartUploads", request.bucket)
        page, rest = _page(
            self.uploads, request.key_marker, request.upload_id_marker, request.max_uploads
        )
        result = oss.ListMultipartUploadsResult(
            is_truncated=bool(rest),
            uploads=[oss.Upload(key=k, upload_id=u) for k, u in page],
        )
        if rest:
            result.next_key_marker, result.next_upload_id_marker = page[-1]
        return result

    def abort_multipart_upload(self, request: oss.AbortMultipartUploadRequest):
        self._called("AbortMultipartUpload", request.bucket)
        self.uploads.remove((request.key, request.upload_id))


def _page(entries, key_marker, id_marker, limit):
    """OSS's paging: at most `limit` (<= 1000) entries sorted by (key, id), after the markers."""
    limit = limit or MAX_PAGE
    assert limit <= MAX_PAGE, f"page size {limit} is above {MAX_PAGE}"
    ordered = sorted(entries)
    if key_marker is not None:
        ordered = [entry for entry in ordered if entry > (key_marker, id_marker or "")]
    return ordered[:limit], ordered[limit:]
