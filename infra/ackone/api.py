"""A small wrapper over the ACK One API (adcp 2022-01-01) for the features and kubeconfig resources.

The Pulumi alicloud provider creates the workflow cluster but does not expose its features
(schedule mode, price limit, Argo Server, public API server, deletion protection, extra vSwitches)
nor its kubeconfig; `UpdateHubClusterFeature`, `DescribeHubClusterDetails` and
`DescribeHubClusterKubeconfig` do. `HubApi` takes the SDK client as an argument so the dynamic
providers can be tested against a fake; `HubApi.for_region` builds the real one with credentials
from the standard Alibaba Cloud credential chain (environment variables, then the CLI profile in
~/.aliyun/config.json, then ~/.alibabacloud/credentials.ini, then instance roles) — never from
code or stack files. Every SDK failure becomes a `HubApiError` whose message says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from alibabacloud_adcp20220101 import models as adcp
from alibabacloud_credentials.exceptions import CredentialException

CREDENTIAL_HELP = (
    "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or select a profile of "
    "~/.aliyun/config.json with ALIBABA_CLOUD_PROFILE (the standard Alibaba Cloud credential chain)"
)


class HubApiError(RuntimeError):
    """An ACK One API call failed; the message names the action, the cluster and the remedy."""


class CredentialsMissing(HubApiError):
    pass


class ClusterNotFound(HubApiError):
    pass


class Throttled(HubApiError):
    pass


class PermissionDenied(HubApiError):
    pass


@dataclass(frozen=True)
class HubFeatures:
    """The workflow-cluster features this project manages, as the API reports them.

    Deletion protection is absent: DescribeHubClusterDetails does not report it.
    """

    schedule_mode: str
    price_limit: str | None
    argo_server: bool
    public_api_server: bool
    vswitches: tuple[str, ...]  # sorted: the API treats the list as a set


@dataclass(frozen=True)
class FeatureUpdate:
    """The fields of one UpdateHubClusterFeature call; None leaves a field unchanged."""

    schedule_mode: str | None = None
    price_limit: str | None = None
    argo_server: bool | None = None
    public_api_server: bool | None = None
    deletion_protection: bool | None = None
    vswitches: tuple[str, ...] | None = None
    audit_log: bool | None = None
    access_control_list: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


class AdcpClient(Protocol):
    """The three SDK methods used (alibabacloud_adcp20220101.client.Client has them)."""

    def describe_hub_cluster_details(
        self, request: adcp.DescribeHubClusterDetailsRequest
    ) -> adcp.DescribeHubClusterDetailsResponse: ...

    def describe_hub_cluster_kubeconfig(
        self, request: adcp.DescribeHubClusterKubeconfigRequest
    ) -> adcp.DescribeHubClusterKubeconfigResponse: ...

    def update_hub_cluster_feature(
        self, request: adcp.UpdateHubClusterFeatureRequest
    ) -> adcp.UpdateHubClusterFeatureResponse: ...


class HubApi:
    def __init__(self, client: AdcpClient, region: str) -> None:
        self._client = client
        self.region = region

    @classmethod
    def for_region(cls, region: str) -> HubApi:
        """The real API client for `region`, with credentials from the default chain."""
        # Imported here: the SDK client pulls in the HTTP stack, which tests never need.
        from alibabacloud_adcp20220101.client import Client
        from alibabacloud_credentials.client import Client as CredentialClient
        from alibabacloud_tea_openapi.models import Config

        credential = CredentialClient()
        try:
            # Resolve now: otherwise the SDK retries and buries the reason in a retry context.
            credential.get_credential()
        except CredentialException as err:
            raise CredentialsMissing(
                f"no Alibaba Cloud credentials for the ACK One API: {err.message}; "
                f"{CREDENTIAL_HELP}"
            ) from None
        return cls(Client(Config(credential=credential, region_id=region)), region)

    def describe(self, cluster_id: str) -> HubFeatures:
        response = self._call(
            "DescribeHubClusterDetails",
            cluster_id,
            self._client.describe_hub_cluster_details,
            adcp.DescribeHubClusterDetailsRequest(cluster_id=cluster_id),
        )
        cluster = response.body.cluster if response.body is not None else None
        workflow = cluster.workflow_config if cluster is not None else None
        if workflow is None:
            # Not a workflow cluster (another ACK One profile), or an answer without its details.
            raise HubApiError(
                f"DescribeHubClusterDetails on ACK One cluster {cluster_id} in {self.region} "
                "returned no workflow configuration (Cluster.WorkflowConfig); is it a workflow "
                "cluster (profile XFlow)?"
            )
        vswitches = [
            vswitch.vswitch_id
            for unit in workflow.workflow_units or ()
            for vswitch in unit.v_switches or ()
        ]
        return HubFeatures(
            schedule_mode=workflow.workflow_schedule_mode,
            # The API reports "" when no limit is set; None keeps "unset" one value.
            price_limit=workflow.price_limit if workflow.price_limit else None,
            argo_server=bool(workflow.argo_server_enabled),
            public_api_server=bool(cluster.api_server and cluster.api_server.enabled_public),
            vswitches=tuple(sorted(vswitches)),
        )

    def update(self, cluster_id: str, update: FeatureUpdate) -> None:
        """Send one UpdateHubClusterFeature call with the fields `update` sets."""
        request = adcp.UpdateHubClusterFeatureRequest(
            cluster_id=cluster_id,
            workflow_schedule_mode=update.schedule_mode,
            price_limit=update.price_limit,
            argo_server_enabled=update.argo_server,
            public_api_server_enabled=update.public_api_server,
            deletion_protection=update.deletion_protection,
            audit_log_enabled=update.audit_log,
            access_control_list=(
                list(update.access_control_list) if update.access_control_list is not None else None
            ),
            v_switches=list(update.vswitches) if update.vswitches is not None else None,
        )
        self._call(
            "UpdateHubClusterFeature", cluster_id, self._client.update_hub_cluster_feature, request
        )

    def kubeconfig(self, cluster_id: str, *, private: bool) -> str:
        response = self._call(
            "DescribeHubClusterKubeconfig",
            cluster_id,
            self._client.describe_hub_cluster_kubeconfig,
            adcp.DescribeHubClusterKubeconfigRequest(
                cluster_id=cluster_id, private_ip_address=private
            ),
        )
        kubeconfig = response.body.kubeconfig
        if not kubeconfig:
            raise HubApiError(
                f"DescribeHubClusterKubeconfig returned no kubeconfig for cluster {cluster_id} "
                f"in {self.region} (private endpoint: {private}); is the API server "
                f"{'reachable from the VPC' if private else 'public (publicApiServer: true)'}?"
            )
        return kubeconfig

    def _call(self, action: str, cluster_id: str, method: Any, request: Any) -> Any:
        try:
            return method(request)
        except Exception as err:  # the SDK raises several unrelated hierarchies
            raise translate_error(action, cluster_id, self.region, err) from err


def translate_error(action: str, cluster_id: str, region: str, err: BaseException) -> HubApiError:
    """Map an SDK exception to a HubApiError subclass with a message saying what to do."""
    cause = getattr(err, "inner_exception", None) or err  # UnretryableException wraps the cause
    if isinstance(cause, CredentialException):
        return CredentialsMissing(
            f"{action} on ACK One cluster {cluster_id}: no usable Alibaba Cloud credentials "
            f"({cause.message}); {CREDENTIAL_HELP}"
        )
    code = str(getattr(cause, "code", None) or "")
    status = getattr(cause, "status_code", None)
    detail = getattr(cause, "message", None) or str(cause) or type(cause).__name__
    where = f"{action} on ACK One cluster {cluster_id} in {region}"
    if type(cause).__name__ == "ThrottlingException" or code.startswith("Throttling"):
        retry_after = getattr(cause, "retry_after", None)
        wait = f"after {retry_after} ms" if retry_after else "in a minute"
        return Throttled(f"{where} was throttled ({code}); run pulumi up again {wait}: {detail}")
    if status == 404 or "notfound" in code.lower().replace(".", ""):
        return ClusterNotFound(
            f"{where}: the cluster does not exist ({code}); it was deleted outside Pulumi or "
            f"alicloud:region is wrong; run `pulumi refresh` to drop it from the state"
        )
    if status == 403 or code.startswith(("Forbidden", "NoPermission")):
        return PermissionDenied(
            f"{where} was denied ({code}): the credentials need the RAM action "
            f"adcp:{action} (see docs/ack-one.md, Prerequisites): {detail}"
        )
    return HubApiError(f"{where} failed ({code or type(cause).__name__}): {detail}")
