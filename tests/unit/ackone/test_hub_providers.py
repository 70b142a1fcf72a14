"""The ACK One dynamic providers against a fake adcp client: requests, diff, read, errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from alibabacloud_adcp20220101 import models as adcp_models
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.utils import auth_util
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException
from darabonba.exceptions import UnretryableException
from darabonba.policy.retry import RetryPolicyContext
from pulumi.dynamic.dynamic import serialize_provider

from infra.ackone.api import (
    ClusterNotFound,
    CredentialsMissing,
    HubApi,
    HubApiError,
    PermissionDenied,
    Throttled,
)
from infra.ackone.hub import (
    APPLY_POLL_SECONDS,
    APPLY_TIMEOUT_SECONDS,
    HubClusterFeaturesProvider,
    HubClusterKubeconfigProvider,
)
from infra.config import REPO_ROOT
from tests.unit.ackone.fake_adcp import FakeAdcp, FakeCluster

REGION = "cn-hangzhou"
CLUSTER = "c-workflow-1"
VSWITCHES = {"vsw-a": "cn-hangzhou-h", "vsw-b": "cn-hangzhou-i"}


@pytest.fixture
def adcp() -> FakeAdcp:
    return FakeAdcp(clusters={CLUSTER: FakeCluster(vpc_id="vpc-1", vswitches=dict(VSWITCHES))})


@pytest.fixture
def features(adcp: FakeAdcp) -> HubClusterFeaturesProvider:
    return HubClusterFeaturesProvider(lambda region: HubApi(adcp, region))


@pytest.fixture
def kubeconfig(adcp: FakeAdcp) -> HubClusterKubeconfigProvider:
    return HubClusterKubeconfigProvider(lambda region: HubApi(adcp, region))


def desired(**changes) -> dict:
    """Feature inputs as the program sends them (with the engine's serialized provider)."""
    props = {
        "__provider": "serialized",
        "region": REGION,
        "clusterId": CLUSTER,
        "scheduleMode": "stock-optimized",
        "priceLimit": None,
        "argoServer": False,
        "publicApiServer": True,
        "deletionProtection": False,
        "vswitches": ["vsw-b", "vsw-a"],
        "auditLog": False,
        "apiServerAllowedCidrs": [],
    }
    return {**props, **changes}


# --------------------------------------------------------------------------- features: create


def test_create_restricts_the_public_endpoint_and_turns_on_the_audit_log(features, adcp):
    result = features.create(desired(auditLog=True, apiServerAllowedCidrs=["203.0.113.10/32"]))
    cluster = adcp.clusters[CLUSTER]
    assert cluster.audit_log is True and cluster.access_control_list == ["203.0.113.10/32"]
    # Neither is reported by DescribeHubClusterDetails: a refresh keeps what was set.
    read = features.read(CLUSTER, result.outs)
    assert read.outs["auditLog"] is True
    assert read.outs["apiServerAllowedCidrs"] == ["203.0.113.10/32"]


def test_create_sends_only_what_differs_from_the_new_cluster(features, adcp):
    result = features.create(desired())

    assert result.id == CLUSTER
    assert adcp.updates() == [{"ClusterId": CLUSTER, "PublicApiServerEnabled": True}]
    assert result.outs["vswitches"] == ["vsw-a", "vsw-b"]
    assert "__provider" not in result.outs


def test_create_cost_optimized_sends_mode_price_limit_and_protection(features, adcp):
    features.create(
        desired(scheduleMode="cost-optimized", priceLimit="0.5", deletionProtection=True)
    )

    assert adcp.updates() == [
        {
            "ClusterId": CLUSTER,
            "WorkflowScheduleMode": "cost-optimized",
            "PriceLimit": "0.5",
            "PublicApiServerEnabled": True,
            "DeletionProtection": True,
        }
    ]
    cluster = adcp.clusters[CLUSTER]
    assert (cluster.schedule_mode, cluster.price_limit) == ("cost-optimized", "0.5")
    assert cluster.deletion_protection is True


def test_create_matching_the_live_cluster_sends_no_update(features, adcp):
    adcp.clusters[CLUSTER].public_api_server = True

    features.create(desired())

    assert adcp.updates() == []


# --------------------------------------------------------------------------- features: update


def test_update_without_change_sends_nothing(features, adcp):
    olds = features.create(desired()).outs
    adcp.requests.clear()

    result = features.update(CLUSTER, olds, desired(vswitches=["vsw-a", "vsw-b"]))

    assert adcp.requests == []
    assert result.outs["publicApiServer"] is True


def test_update_price_limit_sends_mode_and_limit_together(features, adcp):
    olds = features.create(desired(scheduleMode="cost-optimized", priceLimit="0.5")).outs
    adcp.requests.clear()

    features.update(CLUSTER, olds, desired(scheduleMode="cost-optimized", priceLimit="0.8"))

    assert adcp.updates() == [
        {"ClusterId": CLUSTER, "WorkflowScheduleMode": "cost-optimized", "PriceLimit": "0.8"}
    ]


def test_update_removing_the_price_limit_clears_it(features, adcp):
    olds = features.create(desired(scheduleMode="cost-optimized", priceLimit="0.5")).outs
    adcp.requests.clear()

    features.update(CLUSTER, olds, desired(scheduleMode="cost-optimized"))

    assert adcp.updates() == [
        {"ClusterId": CLUSTER, "WorkflowScheduleMode": "cost-optimized", "PriceLimit": ""}
    ]


def test_update_to_stock_optimized_sends_only_the_mode(features, adcp):
    olds = features.create(desired(scheduleMode="cost-optimized", priceLimit="0.5")).outs
    adcp.requests.clear()

    features.update(CLUSTER, olds, desired())

    assert adcp.updates() == [{"ClusterId": CLUSTER, "WorkflowScheduleMode": "stock-optimized"}]


def test_update_adding_a_vswitch_sends_the_full_list(features, adcp):
    olds = features.create(desired()).outs
    adcp.requests.clear()

    features.update(CLUSTER, olds, desired(vswitches=["vsw-a", "vsw-c", "vsw-b"]))

    assert adcp.updates() == [{"ClusterId": CLUSTER, "VSwitches": ["vsw-a", "vsw-b", "vsw-c"]}]
    assert sorted(adcp.clusters[CLUSTER].vswitches) == ["vsw-a", "vsw-b", "vsw-c"]


def test_update_toggles_argo_server_and_public_api_server(features, adcp):
    olds = features.create(desired()).outs
    adcp.requests.clear()

    features.update(CLUSTER, olds, desired(argoServer=True, publicApiServer=False))

    assert adcp.updates() == [
        {"ClusterId": CLUSTER, "ArgoServerEnabled": True, "PublicApiServerEnabled": False}
    ]


def test_update_waits_until_the_cluster_shows_the_change(adcp):
    sleeps = []
    features = HubClusterFeaturesProvider(lambda region: HubApi(adcp, region), sleeps.append)
    adcp.apply_lag = 3  # visible on the third describe after the update

    features.create(desired(argoServer=True))

    assert sleeps == [APPLY_POLL_SECONDS, APPLY_POLL_SECONDS]
    assert adcp.clusters[CLUSTER].argo_server is True
    kinds = [type(request).__name__.removesuffix("Request") for request in adcp.requests]
    assert (
        kinds
        == ["DescribeHubClusterDetails", "UpdateHubClusterFeature"]
        + ["DescribeHubClusterDetails"] * 3
    )


def test_a_change_that_never_shows_fails_with_the_pending_fields(adcp):
    sleeps = []
    features = HubClusterFeaturesProvider(lambda region: HubApi(adcp, region), sleeps.append)
    adcp.apply_lag = 10**6

    with pytest.raises(HubApiError, match=r"\['publicApiServer'\] still not applied after 600 s"):
        features.create(desired())
    assert sum(sleeps) == APPLY_TIMEOUT_SECONDS


def test_an_equal_price_limit_written_differently_counts_as_applied(adcp):
    features = HubClusterFeaturesProvider(lambda region: HubApi(adcp, region), pytest.fail)
    adcp.clusters[CLUSTER].public_api_server = True
    original = adcp.update_hub_cluster_feature

    def normalizing_update(request):  # the service may store "0.50" as "0.5"
        response = original(request)
        adcp.clusters[CLUSTER].price_limit = "0.5"
        return response

    adcp.update_hub_cluster_feature = normalizing_update

    features.create(desired(scheduleMode="cost-optimized", priceLimit="0.50"))


# --------------------------------------------------------------------------- features: diff


@pytest.mark.parametrize(
    ("news", "changes", "replaces"),
    [
        (desired(), False, []),
        (desired(vswitches=["vsw-a", "vsw-b"]), False, []),  # order is not a change
        (desired(priceLimit="0.5"), False, []),  # ignored outside cost-optimized
        (desired(__provider="re-serialized"), False, []),
        (desired(argoServer=True), True, []),
        (desired(deletionProtection=True), True, []),
        (desired(scheduleMode="cost-optimized", priceLimit="0.5"), True, []),
        (desired(vswitches=["vsw-a"]), True, []),
        (desired(clusterId="c-other"), True, ["clusterId"]),
        (desired(region="cn-beijing"), True, ["region"]),
    ],
)
def test_diff_updates_features_and_replaces_on_a_new_cluster(features, news, changes, replaces):
    result = features.diff(CLUSTER, desired(), news)

    assert (result.changes, result.replaces) == (changes, replaces)


# --------------------------------------------------------------------------- features: read


def test_read_reports_drift_and_keeps_deletion_protection(features, adcp):
    olds = features.create(desired(deletionProtection=True)).outs
    adcp.clusters[CLUSTER].argo_server = True  # enabled in the console

    result = features.read(CLUSTER, olds)

    assert result.id == CLUSTER
    assert result.outs["argoServer"] is True
    assert result.outs["deletionProtection"] is True  # the API does not report it
    assert features.diff(CLUSTER, result.outs, desired(deletionProtection=True)).changes is True


def test_read_of_a_deleted_cluster_reports_it_gone(features, adcp):
    olds = features.create(desired()).outs
    del adcp.clusters[CLUSTER]

    result = features.read(CLUSTER, olds)

    assert result.id is None


# --------------------------------------------------------------------------- features: delete


def test_delete_lifts_deletion_protection(features, adcp):
    olds = features.create(desired(deletionProtection=True)).outs
    adcp.requests.clear()

    features.delete(CLUSTER, olds)

    assert adcp.updates() == [{"ClusterId": CLUSTER, "DeletionProtection": False}]
    assert adcp.clusters[CLUSTER].deletion_protection is False


def test_delete_without_protection_sends_nothing(features, adcp):
    olds = features.create(desired()).outs
    adcp.requests.clear()

    features.delete(CLUSTER, olds)

    assert adcp.requests == []


def test_delete_when_the_cluster_is_already_gone_succeeds(features, adcp):
    olds = features.create(desired(deletionProtection=True)).outs
    del adcp.clusters[CLUSTER]

    features.delete(CLUSTER, olds)


# --------------------------------------------------------------------------- kubeconfig


def kubeconfig_props(**changes) -> dict:
    props = {"region": REGION, "clusterId": CLUSTER, "privateIpAddress": False, "kubeconfig": None}
    return {**props, **changes}


def test_kubeconfig_create_fetches_the_public_endpoint(kubeconfig, adcp):
    adcp.clusters[CLUSTER].public_api_server = True

    result = kubeconfig.create(kubeconfig_props())

    assert result.id == CLUSTER
    assert "server: https://47.1.2.3:6443" in result.outs["kubeconfig"]
    assert [request.to_map() for request in adcp.requests] == [
        {"ClusterId": CLUSTER, "PrivateIpAddress": False}
    ]


def test_kubeconfig_private_endpoint_is_an_update_not_a_replace(kubeconfig, adcp):
    olds = kubeconfig.create(kubeconfig_props(privateIpAddress=True)).outs
    adcp.clusters[CLUSTER].public_api_server = True

    diff = kubeconfig.diff(CLUSTER, olds, kubeconfig_props())
    updated = kubeconfig.update(CLUSTER, olds, kubeconfig_props())

    assert "10.0.0.5" in olds["kubeconfig"]
    assert (diff.changes, diff.replaces) == (True, [])
    assert "47.1.2.3" in updated.outs["kubeconfig"]


@pytest.mark.parametrize(
    ("news", "changes", "replaces"),
    [
        (kubeconfig_props(), False, []),
        (kubeconfig_props(kubeconfig="ignored: an output"), False, []),
        (kubeconfig_props(clusterId="c-other"), True, ["clusterId"]),
        (kubeconfig_props(region="cn-beijing"), True, ["region"]),
    ],
)
def test_kubeconfig_diff(kubeconfig, news, changes, replaces):
    result = kubeconfig.diff(CLUSTER, kubeconfig_props(), news)

    assert (result.changes, result.replaces) == (changes, replaces)


def test_kubeconfig_read_refreshes_it_and_reports_a_deleted_cluster(kubeconfig, adcp):
    olds = kubeconfig.create(kubeconfig_props(privateIpAddress=True)).outs
    olds = {**olds, "kubeconfig": "stale"}

    assert "10.0.0.5" in kubeconfig.read(CLUSTER, olds).outs["kubeconfig"]
    del adcp.clusters[CLUSTER]
    assert kubeconfig.read(CLUSTER, olds).id is None


def test_kubeconfig_missing_from_the_answer_is_a_clear_error(kubeconfig):
    with pytest.raises(HubApiError, match=r"no kubeconfig for cluster c-workflow-1.*public"):
        kubeconfig.create(kubeconfig_props())  # public endpoint not enabled yet


def test_kubeconfig_delete_calls_nothing(kubeconfig, adcp):
    kubeconfig.delete(CLUSTER, kubeconfig_props(kubeconfig="x"))

    assert adcp.requests == []


# --------------------------------------------------------------------------- errors


def test_missing_cluster_names_it_and_the_remedy(features):
    with pytest.raises(ClusterNotFound) as raised:
        features.create(desired(clusterId="c-gone"))

    message = str(raised.value)
    assert "DescribeHubClusterDetails" in message and "c-gone" in message
    assert "cn-hangzhou" in message and "pulumi refresh" in message


class DetailsWithout:
    """An adcp client whose DescribeHubClusterDetails answer lacks a part."""

    def __init__(self, body: dict) -> None:
        self.body = body

    def describe_hub_cluster_details(self, request):
        return adcp_models.DescribeHubClusterDetailsResponse().from_map(
            {"headers": {}, "statusCode": 200, "body": self.body}
        )


@pytest.mark.parametrize(
    "body",
    [
        {
            "RequestId": "r",
            "Cluster": {"ClusterInfo": {"ClusterId": CLUSTER, "Profile": "Default"}},
        },
        {"RequestId": "r"},
    ],
    ids=["no-workflow-config", "no-cluster"],
)
def test_details_without_a_workflow_config_is_a_clear_error(features, body):
    api = HubApi(DetailsWithout(body), REGION)
    message = (
        f"DescribeHubClusterDetails on ACK One cluster {CLUSTER} in {REGION} returned no "
        "workflow configuration (Cluster.WorkflowConfig); is it a workflow cluster (profile XFlow)?"
    )
    with pytest.raises(HubApiError, match=f"^{re.escape(message)}$"):
        api.describe(CLUSTER)
    provider = HubClusterFeaturesProvider(lambda region: api)
    with pytest.raises(HubApiError, match=re.escape(message)):
        provider.create(desired())


def test_throttling_says_to_retry(features, adcp):
    adcp.fail_with = ThrottlingException(
        status_code=400, code="Throttling.User", message="Request was denied", retry_after=3000
    )

    with pytest.raises(Throttled, match=r"DescribeHubClusterDetails .* throttled .*after 3000 ms"):
        features.create(desired())


def test_permission_denied_names_the_ram_action(features, adcp):
    olds = features.create(desired()).outs
    adcp.fail_with = ClientException(
        status_code=403, code="Forbidden.RAM", message="User not authorized to operate"
    )

    with pytest.raises(PermissionDenied, match=r"adcp:UpdateHubClusterFeature"):
        features.update(CLUSTER, olds, desired(argoServer=True))


def test_credential_failure_inside_the_sdk_retry_wrapper_is_explained(features, adcp):
    failure = CredentialException("unable to load credentials from any of the providers")
    adcp.fail_with = UnretryableException(RetryPolicyContext(exception=failure))

    with pytest.raises(CredentialsMissing, match=r"ALIBABA_CLOUD_ACCESS_KEY_ID"):
        features.create(desired())


def test_other_api_errors_keep_code_and_message(features, adcp):
    adcp.fail_with = ClientException(
        status_code=400, code="InvalidParameter.PriceLimit", message="PriceLimit is invalid"
    )

    with pytest.raises(HubApiError, match=r"InvalidParameter.PriceLimit.*PriceLimit is invalid"):
        features.create(desired(scheduleMode="cost-optimized", priceLimit="0.5"))


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """The credential chain with nothing to find: no env keys, profiles or instance role."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in {
        "environment_access_key_id": None,
        "environment_access_key_secret": None,
        "environment_security_token": None,
        "environment_profile_name": None,
        "environment_credentials_file": str(tmp_path / "credentials.ini"),
        "environment_credentials_uri": None,
        "environment_ecs_metadata_disabled": "true",
        "enable_oidc_credential": False,
    }.items():
        monkeypatch.setattr(auth_util, name, value)


def test_for_region_without_credentials_fails_before_any_call(no_credentials):
    with pytest.raises(CredentialsMissing, match=r"ACCESS_KEY_ID.*ALIBABA_CLOUD_PROFILE"):
        HubApi.for_region(REGION)


def test_for_region_uses_environment_credentials(no_credentials, monkeypatch):
    monkeypatch.setattr(auth_util, "environment_access_key_id", "LTAI-test")
    monkeypatch.setattr(auth_util, "environment_access_key_secret", "secret")

    api = HubApi.for_region(REGION)

    assert api.region == REGION


# --------------------------------------------------------------------------- serialization


def test_serialized_provider_loads_and_works_in_a_fresh_interpreter():
    """The engine runs dynamic providers in its own Python process from the pickled provider."""
    serialized = serialize_provider(HubClusterFeaturesProvider())
    script = (
        "import base64, sys, dill\n"
        "provider = dill.loads(base64.b64decode(sys.stdin.read()))\n"
        "olds = {'region': 'r', 'clusterId': 'c', 'argoServer': False}\n"
        "print(type(provider).__module__, provider.diff('c', olds, {**olds, 'clusterId': 'd'})"
        ".replaces)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=serialized,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,  # the engine starts the provider in the project directory
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["infra.ackone.hub", "['clusterId']"]
