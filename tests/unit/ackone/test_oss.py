"""The OSS naming, key and policy helpers behind the bucket and its mount user."""

from __future__ import annotations

import json

import pytest

from common.oss import object_prefix
from infra.ackone.oss import (
    BUCKET_ACTIONS,
    OBJECT_ACTIONS,
    bucket_policy_document,
    default_bucket_name,
    tls_only_bucket_policy,
)

ACCOUNT = "1234567890123456"


def test_default_bucket_name_fits_oss_limits():
    assert default_bucket_name("argo-fanout-ack", ACCOUNT) == f"argo-fanout-ack-{ACCOUNT}"
    assert default_bucket_name("c" * 50, ACCOUNT) == "c" * 46 + "-" + ACCOUNT  # 63 characters
    # Cut right after a hyphen: no "--" before the account id.
    assert default_bucket_name("a" * 45 + "-bbbb", ACCOUNT) == "a" * 45 + "-" + ACCOUNT


@pytest.mark.parametrize(
    ("mount_path", "parts", "prefix"),
    [
        ("/", (), ""),
        ("/", ("runs",), "runs/"),
        ("/team-a", ("runs",), "team-a/runs/"),
        ("/team-a/", (), "team-a/"),
        ("/a/b", ("runs",), "a/b/runs/"),
    ],
)
def test_object_prefix(mount_path, parts, prefix):
    assert object_prefix(mount_path, *parts) == prefix


def test_policy_names_the_mounted_directory_and_the_vpc_only():
    document = json.loads(bucket_policy_document("logs-1", ACCOUNT, "/team-a", "vpc-1"))
    from_vpc = {"StringEquals": {"acs:SourceVpc": ["vpc-1"]}}

    assert document["Version"] == "1"
    assert document["Statement"] == [
        {
            "Effect": "Allow",
            "Action": list(BUCKET_ACTIONS),
            "Resource": [f"acs:oss:*:{ACCOUNT}:logs-1"],
            "Condition": {**from_vpc, "StringLike": {"oss:Prefix": ["team-a/*"]}},
        },
        {
            "Effect": "Allow",
            "Action": list(OBJECT_ACTIONS),
            "Resource": [f"acs:oss:*:{ACCOUNT}:logs-1/team-a/*"],
            "Condition": from_vpc,
        },
    ]


def test_policy_for_the_whole_bucket_still_needs_the_vpc():
    document = json.loads(bucket_policy_document("logs-1", ACCOUNT, "/", "vpc-1"))
    listing, objects = document["Statement"]
    assert listing["Condition"] == {"StringEquals": {"acs:SourceVpc": ["vpc-1"]}}
    assert objects["Resource"] == [f"acs:oss:*:{ACCOUNT}:logs-1/*"]


def test_bucket_policy_refuses_every_request_without_tls():
    (deny,) = json.loads(tls_only_bucket_policy("logs-1", ACCOUNT))["Statement"]
    assert deny == {
        "Effect": "Deny",
        "Principal": ["*"],
        "Action": ["oss:*"],
        "Resource": [f"acs:oss:*:{ACCOUNT}:logs-1", f"acs:oss:*:{ACCOUNT}:logs-1/*"],
        "Condition": {"Bool": {"acs:SecureTransport": ["false"]}},
    }
