"""A fake of the adcp SDK client: one region's workflow clusters held in memory.

It takes and returns the SDK's real request/response models, applies UpdateHubClusterFeature the
way the service documents it, and records every request, so tests check the exact fields sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alibabacloud_adcp20220101 import models as adcp
from alibabacloud_tea_openapi.exceptions import ClientException


@dataclass
class FakeCluster:
    vpc_id: str
    vswitches: dict[str, str]  # vSwitch id -> zone id
    schedule_mode: str = "stock-optimized"
    price_limit: str = ""
    argo_server: bool = False
    public_api_server: bool = False
    audit_log: bool = False  # write-only in the API: DescribeHubClusterDetails omits it
    access_control_list: list[str] = field(default_factory=list)  # write-only too
    deletion_protection: bool = False


@dataclass
class FakeAdcp:
    region: str = "cn-hangzhou"
    clusters: dict[str, FakeCluster] = field(default_factory=dict)
    requests: list[object] = field(default_factory=list)
    fail_with: Exception | None = None  # raised by the next call instead of answering
    # Describe calls an update takes to show, as the service applies features asynchronously.
    apply_lag: int = 0
    _queued: list[list] = field(default_factory=list)  # [describes left, cluster id, request]

    def updates(self) -> list[dict]:
        """The UpdateHubClusterFeature requests sent so far, as the SDK puts them on the wire."""
        return [
            request.to_map()
            for request in self.requests
            if isinstance(request, adcp.UpdateHubClusterFeatureRequest)
        ]

    def _cluster(self, request) -> FakeCluster:
        self.requests.append(request)
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        if request.cluster_id not in self.clusters:
            raise ClientException(
                status_code=404,
                code="ErrorClusterNotFound",
                message=f"cluster {request.cluster_id} not found",
                request_id="req-1",
            )
        return self.clusters[request.cluster_id]

    def describe_hub_cluster_details(self, request):
        cluster = self._cluster(request)
        for entry in self._queued:
            entry[0] -= 1
        for _, cluster_id, update in [entry for entry in self._queued if entry[0] <= 0]:
            self._apply(self.clusters[cluster_id], update)
        self._queued = [entry for entry in self._queued if entry[0] > 0]
        units = [
            {
                "RegionId": self.region,
                "VpcId": cluster.vpc_id,
                "VSwitches": [
                    {"VswitchId": vswitch, "ZoneId": zone}
                    for vswitch, zone in cluster.vswitches.items()
                ],
            }
        ]
        body = {
            "RequestId": "req-1",
            "Cluster": {
                "ApiServer": {"EnabledPublic": cluster.public_api_server},
                "ClusterInfo": {"ClusterId": request.cluster_id, "Profile": "XFlow"},
                "Network": {"VpcId": cluster.vpc_id, "VSwitches": list(cluster.vswitches)},
                "WorkflowConfig": {
                    "ArgoServerEnabled": cluster.argo_server,
                    "PriceLimit": cluster.price_limit,
                    "WorkflowScheduleMode": cluster.schedule_mode,
                    "WorkflowUnits": units,
                },
            },
        }
        return adcp.DescribeHubClusterDetailsResponse().from_map(
            {"headers": {}, "statusCode": 200, "body": body}
        )

    def describe_hub_cluster_kubeconfig(self, request):
        cluster = self._cluster(request)
        endpoint = "10.0.0.5" if request.private_ip_address else "47.1.2.3"
        kubeconfig = (
            ""
            if not (cluster.public_api_server or request.private_ip_address)
            else (
                f"apiVersion: v1\nkind: Config\nclusters:\n- name: {request.cluster_id}\n"
                f"  cluster:\n    server: https://{endpoint}:6443\n"
            )
        )
        return adcp.DescribeHubClusterKubeconfigResponse().from_map(
            {"headers": {}, "statusCode": 200, "body": {"Kubeconfig": kubeconfig}}
        )

    def update_hub_cluster_feature(self, request):
        cluster = self._cluster(request)
        if self.apply_lag:
            self._queued.append([self.apply_lag, request.cluster_id, request])
        else:
            self._apply(cluster, request)
        return adcp.UpdateHubClusterFeatureResponse().from_map(
            {"headers": {}, "statusCode": 200, "body": {"RequestId": "req-2"}}
        )

    @staticmethod
    def _apply(cluster: FakeCluster, request) -> None:
        if request.workflow_schedule_mode is not None:
            cluster.schedule_mode = request.workflow_schedule_mode
        if request.price_limit is not None:
            cluster.price_limit = request.price_limit
        if request.argo_server_enabled is not None:
            cluster.argo_server = request.argo_server_enabled
        if request.public_api_server_enabled is not None:
            cluster.public_api_server = request.public_api_server_enabled
        if request.deletion_protection is not None:
            cluster.deletion_protection = request.deletion_protection
        if request.audit_log_enabled is not None:
            cluster.audit_log = request.audit_log_enabled
        if request.access_control_list is not None:
            cluster.access_control_list = list(request.access_control_list)
        if request.v_switches is not None:
            known = dict(cluster.vswitches)
            cluster.vswitches = {v: known.get(v, "cn-hangzhou-k") for v in request.v_switches}
