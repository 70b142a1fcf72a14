"""The workload: its namespace, the platform chart (shared volume, steps' ServiceAccount) and
the log-count job chart (WorkflowTemplate & co.) on top of it."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.compute import compute_values, set_only
from infra.config import WorkloadConfig
from infra.podsecurity import pod_security_labels
from workflows.chart import (
    LOG_COUNT_CHART,
    PLATFORM_CHART,
    REPO_ROOT,
    assemble_chart,
    merge_values,
)

RELEASE_NAME = "log-count"
# The platform release of the workload namespace, and the fullname its objects carry (the
# steps' ServiceAccount; the claim is "<fullname>-data-<volume identity>").
PLATFORM_RELEASE = "argo-fanout"
# The keys of the platform chart's values that are not about naming or labels: config
# workload.values entries under these go to the platform release, all others to the job's.
NAMING_KEYS = ("nameOverride", "fullnameOverride", "commonLabels")
# The Helm provider notices changes to a local chart only through values or Chart.yaml's version,
# so a digest of the chart's files (the job's scripts included) rides along as a label.
DIGEST_LABEL = "argo-fanout.io/chart-digest"


def chart_path(chart_dir: Path) -> str:
    """The chart a Release installs: the assembled copy of `chart_dir` with its library
    (workflows.chart.assemble_chart, .charts/<name>), relative to the project directory, where
    Pulumi runs the program and its providers: an absolute path would differ per checkout and
    show as a change of the release."""
    return "./" + assemble_chart(chart_dir).relative_to(REPO_ROOT).as_posix()


def chart_digest(chart_dir: Path) -> str:
    """A short digest of every file of the chart as installed: its assembled copy, so a change
    of the library changes it too."""
    digest = hashlib.sha256()
    assembled = assemble_chart(chart_dir)
    for directory, subdirectories, files in os.walk(assembled, followlinks=True):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(files):
            path = Path(directory, name)
            digest.update(path.relative_to(assembled).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def platform_keys() -> tuple[str, ...]:
    """The top-level values of the platform chart that configure the platform itself."""
    return tuple(key for key in platform_defaults() if key not in NAMING_KEYS)


def split_overrides(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """config workload.values split into (platform release values, job release values)."""
    keys = platform_keys()
    platform = {key: value for key, value in values.items() if key in keys}
    job = {key: value for key, value in values.items() if key not in keys}
    return platform, job


def platform_values(workload: WorkloadConfig, storage: Mapping[str, Any]) -> dict[str, Any]:
    """The platform chart's values from config; its keys of workload.values are merged last."""
    ours: dict[str, Any] = {
        # Pinned so the program knows the names the chart derives from it (account, claim).
        "fullnameOverride": PLATFORM_RELEASE,
        "storage": dict(storage),
        "compute": compute_values(workload.compute),
        "commonLabels": {DIGEST_LABEL: chart_digest(PLATFORM_CHART)},
    }
    return merge_values(ours, split_overrides(workload.values)[0])


def platform_block(values: Mapping[str, Any]) -> dict[str, Any]:
    """The `platform` block the platform chart publishes for its job charts
    (platform.jobValues), from the platform release's values over the chart's defaults."""
    full = merge_values(platform_defaults(), values)
    security = {
        key: full["podSecurityContext"][key]
        for key in ("runAsUser", "runAsGroup", "fsGroup")
        if full["podSecurityContext"].get(key) is not None
    }
    account = full["serviceAccount"]["name"] or values["fullnameOverride"]
    return {
        "claimName": claim_name(values),
        "serviceAccountName": account,
        "mountPath": full["storage"]["mountPath"],
        "podSecurityContext": security,
        "compute": full["compute"],
    }


def workload_values(workload: WorkloadConfig, platform: Mapping[str, Any]) -> dict[str, Any]:
    """The log-count chart's values from config over the platform block (`platform_block`);
    the job's keys of config workload.values are merged last."""
    job: dict[str, Any] = {
        "numParts": workload.num_parts,
        "keywords": ",".join(workload.keywords),
        "match": workload.match,
    }
    if workload.part_size is not None:
        job["partSize"] = workload.part_size
    ours: dict[str, Any] = {
        # Pinned so the program knows the names the chart derives from it (the template).
        "fullnameOverride": RELEASE_NAME,
        "templateName": RELEASE_NAME,
        "job": job,
        "workflow": {"parallelism": workload.parallelism, "retry": {"limit": workload.retries}},
        "platform": dict(platform),
        "commonLabels": {DIGEST_LABEL: chart_digest(LOG_COUNT_CHART)},
    }
    image = set_only(
        registry=workload.image.registry,
        repository=workload.image.repository,
        tag=workload.image.tag,
    )
    if image:
        ours["image"] = image
    if workload.resources:
        ours["resources"] = {step: dict(spec) for step, spec in workload.resources.items()}
    if workload.schedule is not None:
        ours["schedule"] = {"enabled": True, "cron": workload.schedule.cron}
        if workload.schedule.timezone is not None:
            ours["schedule"]["timezone"] = workload.schedule.timezone
    return merge_values(ours, split_overrides(workload.values)[1])


def template_name(values: Mapping[str, Any]) -> str:
    """The WorkflowTemplate's name, as the chart derives it: templateName, else the fullname."""
    name = values["templateName"]
    return name if name != "" else values["fullnameOverride"]


def claim_name(values: Mapping[str, Any]) -> str:
    """The PersistentVolumeClaim the steps mount, as the platform chart names it
    (platform.claimName): storage.existingClaim, else "<fullname>-data-<volume identity>"."""
    storage = merge_values(platform_defaults(), values)["storage"]
    if storage["type"] == "existingClaim":
        return storage["existingClaim"]
    suffix = f"data-{volume_identity(values)}"
    prefix = values["fullnameOverride"][:63][: 62 - len(suffix)].rstrip("-")
    return f"{prefix}-{suffix}"


def volume_identity(values: Mapping[str, Any]) -> str:
    """The platform chart's platform.volumeIdentity for `values` (over its defaults): 8 hex digits
    of a SHA-256 over the storage type, size and volume source, which a PV and its claim cannot
    change once created; their names carry it, so changing any of them replaces the pair."""
    full = merge_values(platform_defaults(), values)
    storage, security = full["storage"], full["podSecurityContext"]
    parts = [storage["type"], str(storage["size"])]
    if storage["type"] == "hostPath":
        parts.append(storage["hostPath"]["path"])
    elif storage["type"] == "oss":
        oss = storage["oss"]
        other_opts = (
            f"{oss['otherOpts']} -o uid={int(security['runAsUser'])} "
            f"-o gid={int(security['runAsGroup'])}"
        ).strip()
        parts += [oss["bucket"], oss["url"], oss["path"], other_opts, oss["fuseType"]]
        parts.append(oss["secretName"])
    elif storage["type"] == "nas":
        parts += [storage["nas"]["server"], storage["nas"]["path"]]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


@functools.cache
def platform_defaults() -> dict[str, Any]:
    return yaml.safe_load((PLATFORM_CHART / "values.yaml").read_text())


@functools.cache
def log_count_defaults() -> dict[str, Any]:
    return yaml.safe_load((LOG_COUNT_CHART / "values.yaml").read_text())


def submit_command(namespace: str, template: str, num_parts: int) -> str:
    return (
        f"argo submit -n {namespace} --from workflowtemplate/{template} "
        f"-p numParts={num_parts} --watch"
    )


# Creates objects that must exist in the workload namespace before the chart, e.g. the
# Secret an OSS volume mounts with; called with the namespace's name and the options to create
# them with (provider, parent, and what must exist first).
NamespacePrerequisites = Callable[
    [pulumi.Input[str], pulumi.ResourceOptions], Sequence[pulumi.Resource]
]


@dataclass(frozen=True)
class WorkloadArgs:
    config: WorkloadConfig
    provider: k8s.Provider
    storage_values: Mapping[str, Any]  # the chart's storage.* values (Inputs allowed)
    depends_on: Sequence[pulumi.Resource] = ()  # e.g. the Argo release: CRDs before templates
    prerequisites: Sequence[NamespacePrerequisites] = ()
    pod_security: str = "restricted"  # the Pod Security level a namespace we create enforces


class Workload(pulumi.ComponentResource):
    """The platform release and the log-count release on it in the workload namespace, which
    it creates unless workload.createNamespace is false (the namespace exists; destroy leaves
    it)."""

    def __init__(
        self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:workload:Workload", name, None, opts)
        workload = args.config
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        # What must exist before anything goes into the namespace.
        ready: list[pulumi.Resource] = list(args.depends_on)
        namespace_name: pulumi.Input[str] = workload.namespace
        if workload.create_namespace:
            # Created after Argo and so deleted before it: workflows and pods left in the
            # namespace are cleaned up while the controller still runs to handle their finalizers.
            namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={
                    "name": workload.namespace,
                    "labels": pod_security_labels(args.pod_security),
                },
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=ready)),
            )
            ready, namespace_name = [namespace], namespace.metadata["name"]
        inside = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=ready))
        prerequisites = [
            resource for make in args.prerequisites for resource in make(namespace_name, inside)
        ]
        platform = platform_values(workload, args.storage_values)
        self.platform_release = k8s.helm.v3.Release(
            f"{name}-platform",
            name=PLATFORM_RELEASE,
            chart=chart_path(PLATFORM_CHART),
            namespace=namespace_name,
            values=platform,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[*ready, *prerequisites])
            ),
        )
        # An Output: the volume source may hold values known only at deploy time (the bucket).
        block = pulumi.Output.from_input(platform).apply(platform_block)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=chart_path(LOG_COUNT_CHART),
            namespace=namespace_name,
            values=block.apply(lambda platform: workload_values(workload, platform)),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.platform_release])
            ),
        )
        self.namespace: pulumi.Output[str] = self.release.namespace
        # The names need no platform block: whatever it holds, the same template is rendered.
        values = workload_values(workload, {})
        self.template_name = template_name(values)
        self.claim_name: pulumi.Output[str] = block.apply(lambda platform: platform["claimName"])
        # From the final values: workload.values may override job.numParts.
        self.submit_command = submit_command(
            workload.namespace, self.template_name, values["job"]["numParts"]
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "workflowTemplate": self.template_name,
                "volumeClaim": self.claim_name,
            }
        )
