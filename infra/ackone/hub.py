"""Pulumi dynamic resources for what the alicloud provider does not manage on a workflow cluster.

`HubClusterFeatures` owns the cluster's features (schedule mode, price limit, Argo Server, public
API server, deletion protection, the full vSwitch list) and `HubClusterKubeconfig` fetches the
kubeconfig as a secret output. Both have real create/read/update/diff/delete semantics, so a
changed feature shows in `pulumi preview` and `pulumi refresh` sees drift. The providers take an
`api_factory` (region -> HubApi) so tests can run them against a fake SDK client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pulumi
from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from infra.ackone.api import ClusterNotFound, FeatureUpdate, HubApi, HubApiError, HubFeatures

COST_OPTIMIZED = "cost-optimized"
# UpdateHubClusterFeature returns before the change is live (an EIP for the public API server
# takes a while); the kubeconfig fetched next needs it, so updates wait until it shows.
APPLY_TIMEOUT_SECONDS = 600
APPLY_POLL_SECONDS = 10

ApiFactory = Callable[[str], HubApi]

# Inputs that name the cluster: a new value is a different object, so it replaces.
_IDENTITY = ("region", "clusterId")
_FEATURES = (
    "scheduleMode",
    "priceLimit",
    "argoServer",
    "publicApiServer",
    "deletionProtection",
    "vswitches",
    "auditLog",
    "apiServerAllowedCidrs",
)
# Features DescribeHubClusterDetails does not report: their last value set is kept.
_WRITE_ONLY = ("deletionProtection", "auditLog", "apiServerAllowedCidrs")


def _normalized(props: Mapping[str, Any]) -> dict[str, Any]:
    """The features as compared: vSwitches as a sorted list, a price limit only where it applies."""
    features = {key: props.get(key) for key in _FEATURES}
    vswitches = props.get("vswitches")
    # Unknown during a preview: keep the engine's placeholder, which compares as a change.
    features["vswitches"] = sorted(vswitches) if isinstance(vswitches, list) else vswitches
    if features["scheduleMode"] != COST_OPTIMIZED:
        features["priceLimit"] = None  # the API ignores it in stock-optimized mode
    return features


def _changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [key for key in keys if olds.get(key) != news.get(key)]


def _update_for(current: Mapping[str, Any], desired: Mapping[str, Any]) -> FeatureUpdate:
    """The one UpdateHubClusterFeature call turning `current` features into `desired` ones."""
    current, desired = _normalized(current), _normalized(desired)
    changed = set(_changed(current, desired, _FEATURES))
    if desired["scheduleMode"] == COST_OPTIMIZED and changed & {"scheduleMode", "priceLimit"}:
        # An empty PriceLimit clears a previous limit; the mode and limit travel together.
        changed |= {"scheduleMode", "priceLimit"}
        price_limit = desired["priceLimit"] if desired["priceLimit"] is not None else ""
    else:
        changed.discard("priceLimit")  # leaving cost-optimized: the limit no longer applies
        price_limit = None
    return FeatureUpdate(
        schedule_mode=desired["scheduleMode"] if "scheduleMode" in changed else None,
        price_limit=price_limit,
        argo_server=desired["argoServer"] if "argoServer" in changed else None,
        public_api_server=desired["publicApiServer"] if "publicApiServer" in changed else None,
        deletion_protection=(
            desired["deletionProtection"] if "deletionProtection" in changed else None
        ),
        vswitches=tuple(desired["vswitches"]) if "vswitches" in changed else None,
        audit_log=desired["auditLog"] if "auditLog" in changed else None,
        access_control_list=(
            tuple(desired["apiServerAllowedCidrs"] or ())
            if "apiServerAllowedCidrs" in changed
            else None
        ),
    )


def _live_props(live: HubFeatures, write_only: Mapping[str, Any]) -> dict[str, Any]:
    """The features as the API reports them, plus the unreported ones from `write_only`."""
    return {
        "scheduleMode": live.schedule_mode,
        "priceLimit": live.price_limit,
        "argoServer": live.argo_server,
        "publicApiServer": live.public_api_server,
        "vswitches": list(live.vswitches),
        **{key: write_only.get(key) for key in _WRITE_ONLY},
    }


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    """The props without the engine's serialized provider."""
    return {key: value for key, value in props.items() if not key.startswith("__")}


def _pending(live: HubFeatures, update: FeatureUpdate) -> list[str]:
    """The fields of `update` that `live` does not show yet (deletion protection is unreadable)."""
    pending = []
    if update.schedule_mode is not None and live.schedule_mode != update.schedule_mode:
        pending.append("scheduleMode")
    if update.price_limit and (
        live.price_limit is None or Decimal(live.price_limit) != Decimal(update.price_limit)
    ):
        pending.append("priceLimit")
    if update.argo_server is not None and live.argo_server != update.argo_server:
        pending.append("argoServer")
    if update.public_api_server is not None and live.public_api_server != update.public_api_server:
        pending.append("publicApiServer")
    if update.vswitches is not None and live.vswitches != tuple(sorted(update.vswitches)):
        pending.append("vswitches")
    return pending


class HubClusterFeaturesProvider(ResourceProvider):
    def __init__(
        self,
        api_factory: ApiFactory = HubApi.for_region,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self._api_factory = api_factory
        self._sleep = sleep

    def _apply(self, api: HubApi, cluster_id: str, update: FeatureUpdate) -> None:
        """Send `update` and wait until the cluster reports it."""
        if update.is_empty():
            return
        api.update(cluster_id, update)
        waited = 0
        while pending := _pending(api.describe(cluster_id), update):
            if waited >= APPLY_TIMEOUT_SECONDS:
                raise HubApiError(
                    f"UpdateHubClusterFeature on ACK One cluster {cluster_id}: {pending} still "
                    f"not applied after {APPLY_TIMEOUT_SECONDS} s; check the cluster in the ACK "
                    f"One console, then run pulumi up again"
                )
            self._sleep(APPLY_POLL_SECONDS)
            waited += APPLY_POLL_SECONDS

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = _inputs(props)
        api = self._api_factory(props["region"])
        live = api.describe(props["clusterId"])
        # A new cluster has deletion protection and the audit log off, no allowlist (the API
        # defaults), and none of them can be read.
        current = _live_props(
            live, {"deletionProtection": False, "auditLog": False, "apiServerAllowedCidrs": []}
        )
        self._apply(api, props["clusterId"], _update_for(current, props))
        return CreateResult(props["clusterId"], _normalized_outs(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = _inputs(olds), _inputs(news)
        replaces = _changed(olds, news, _IDENTITY)
        changes = _changed(_normalized(olds), _normalized(news), _FEATURES)
        return DiffResult(changes=bool(replaces or changes), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = _inputs(news)
        self._apply(self._api_factory(news["region"]), id_, _update_for(_inputs(olds), news))
        return UpdateResult(_normalized_outs(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        props = _inputs(props)
        try:
            live = self._api_factory(props["region"]).describe(id_)
        except ClusterNotFound:
            return ReadResult(None, {})
        # Deletion protection, audit log, allowlist are not reported: keep the last values set.
        live_props = _live_props(live, props)
        return ReadResult(id_, _normalized_outs({**props, **live_props}))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Lift deletion protection so the cluster, deleted right after, can go.

        The other features live and die with the cluster. Deletion protection guards against
        deleting the cluster outside this stack (console, other API callers); `pulumi destroy`
        is the sanctioned way out. Inside the stack, production clusters carry Pulumi's
        `protect` (infra/ackone/cluster.py), so this runs only on a deliberate destroy.
        """
        props = _inputs(props)
        if not props.get("deletionProtection"):
            return
        try:
            self._api_factory(props["region"]).update(id_, FeatureUpdate(deletion_protection=False))
        except ClusterNotFound:
            return


def _normalized_outs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {**props, **_normalized(props)}


class HubClusterFeatures(Resource, module="ackone", name="HubClusterFeatures"):
    """The features of one workflow cluster, set with UpdateHubClusterFeature."""

    scheduleMode: pulumi.Output[str]
    priceLimit: pulumi.Output[str | None]
    argoServer: pulumi.Output[bool]
    publicApiServer: pulumi.Output[bool]
    deletionProtection: pulumi.Output[bool]
    vswitches: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        region: pulumi.Input[str],
        cluster_id: pulumi.Input[str],
        schedule_mode: str,
        price_limit: str | None,
        argo_server: bool,
        public_api_server: bool,
        deletion_protection: bool,
        vswitches: pulumi.Input[list[str]],
        audit_log: bool,
        api_server_allowed_cidrs: list[str],
        opts: pulumi.ResourceOptions | None = None,
        api_factory: ApiFactory = HubApi.for_region,
    ) -> None:
        super().__init__(
            HubClusterFeaturesProvider(api_factory),
            name,
            {
                "region": region,
                "clusterId": cluster_id,
                "scheduleMode": schedule_mode,
                "priceLimit": price_limit,
                "argoServer": argo_server,
                "publicApiServer": public_api_server,
                "deletionProtection": deletion_protection,
                "vswitches": vswitches,
                "auditLog": audit_log,
                "apiServerAllowedCidrs": api_server_allowed_cidrs,
            },
            opts,
        )


class HubClusterKubeconfigProvider(ResourceProvider):
    """Fetches the kubeconfig; read refreshes it. Nothing exists in the cloud to delete."""

    def __init__(self, api_factory: ApiFactory = HubApi.for_region) -> None:
        super().__init__()
        self._api_factory = api_factory

    def _fetch(self, props: Mapping[str, Any]) -> dict[str, Any]:
        kubeconfig = self._api_factory(props["region"]).kubeconfig(
            props["clusterId"], private=bool(props["privateIpAddress"])
        )
        return {**props, "kubeconfig": kubeconfig}

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = _inputs(props)
        return CreateResult(props["clusterId"], self._fetch(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = _inputs(olds), _inputs(news)
        replaces = _changed(olds, news, _IDENTITY)
        changes = _changed(olds, news, ("privateIpAddress",))
        return DiffResult(changes=bool(replaces or changes), replaces=replaces)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._fetch(_inputs(news)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        props = _inputs(props)
        try:
            return ReadResult(id_, self._fetch(props))
        except ClusterNotFound:
            return ReadResult(None, {})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """A kubeconfig is a credential document, not a cloud object: dropping it from the state
        is the whole delete. Its credentials stop working when the cluster is deleted."""


class HubClusterKubeconfig(Resource, module="ackone", name="HubClusterKubeconfig"):
    """The workflow cluster's kubeconfig (public or VPC endpoint), a secret output."""

    kubeconfig: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        region: pulumi.Input[str],
        cluster_id: pulumi.Input[str],
        private_ip_address: bool,
        opts: pulumi.ResourceOptions | None = None,
        api_factory: ApiFactory = HubApi.for_region,
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])
        super().__init__(
            HubClusterKubeconfigProvider(api_factory),
            name,
            {
                "region": region,
                "clusterId": cluster_id,
                "privateIpAddress": private_ip_address,
                "kubeconfig": None,
            },
            pulumi.ResourceOptions.merge(secret, opts),
        )
