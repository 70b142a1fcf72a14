"""Emptying the bucket before destroy: every version, every delete marker, every open upload."""

from __future__ import annotations

import math

from infra.ackone.emptier import BucketContentsProvider, empty_bucket
from tests.unit.ackone.fake_oss import FakeOss

OBJECTS = 10_000


def full_bucket() -> FakeOss:
    """10,000 objects; a third with three versions, a tenth deleted (a delete marker on top);
    1,500 open multipart uploads."""
    fake = FakeOss("logs")
    for index in range(OBJECTS):
        key = f"runs/wf-{index % 97}/counts/{index}.json"
        versions = 3 if index % 3 == 0 else 1
        for version in range(versions):
            fake.versions[(key, f"v{version}")] = False
        if index % 10 == 0:
            fake.versions[(key, "v-marker")] = True
    for index in range(1_500):
        fake.uploads.add((f"inputs/big-{index % 7}.log", f"upload-{index:05d}"))
    return fake


def test_a_bucket_with_10000_objects_versions_and_uploads_is_emptied():
    fake = full_bucket()
    entries, uploads = len(fake.versions), len(fake.uploads)
    assert entries > OBJECTS  # 17,668 versions and delete markers

    deleted, aborted = empty_bucket(fake, "logs")

    assert fake.versions == {} and fake.uploads == set()
    assert (deleted, aborted) == (entries, uploads)
    # Batches of 1000: one list and one delete per page, not one request per object.
    pages = math.ceil(entries / 1000)
    assert fake.calls["ListObjectVersions"] == pages
    assert fake.calls["DeleteMultipleObjects"] == pages
    assert fake.calls["ListMultipartUploads"] == math.ceil(uploads / 1000)
    assert fake.calls["AbortMultipartUpload"] == uploads


def test_an_empty_bucket_takes_two_listings():
    fake = FakeOss("logs")
    assert empty_bucket(fake, "logs") == (0, 0)
    assert fake.calls == {"ListObjectVersions": 1, "ListMultipartUploads": 1}


def test_the_resource_empties_only_with_force_destroy():
    fake = full_bucket()
    provider = BucketContentsProvider(client_factory=lambda region: fake)
    props = {"region": "cn-hangzhou", "bucket": "logs", "forceDestroy": False}
    provider.delete("logs", props)
    assert fake.calls == {} and fake.uploads

    provider.delete("logs", {**props, "forceDestroy": True})
    assert fake.versions == {} and fake.uploads == set()


def test_diff_replaces_for_another_bucket_and_updates_force_destroy():
    provider = BucketContentsProvider(client_factory=lambda region: FakeOss("x"))
    old = {"region": "cn-hangzhou", "bucket": "logs", "forceDestroy": True}
    assert provider.diff("logs", old, {**old, "bucket": "other"}).replaces == ["bucket"]
    change = provider.diff("logs", old, {**old, "forceDestroy": False})
    assert change.changes and not change.replaces
    assert not provider.diff("logs", old, dict(old)).changes
