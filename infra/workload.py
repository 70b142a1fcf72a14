"""The workload: its namespace, the platform chart (shared volume, steps' ServiceAccount) and
one release of a job chart (WorkflowTemplate & co.) per entry of config `jobs` on top of it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from common.paths import REPO_ROOT
from infra.compute import compute_values
from infra.config import (
    DEFAULT_JOB,
    PLATFORM_RELEASE,
    JobConfig,
    WorkloadConfig,
    chart_defaults,
)
from infra.podsecurity import pod_security_labels
from infra.targets.contracts import NamespacePrerequisites
from workflows.chart import PLATFORM_CHART, assemble_chart, merge_values

# The Helm provider notices changes to a local chart only through values or Chart.yaml's version,
# so a digest of the chart's files (the job's scripts included) rides along as a label.
DIGEST_LABEL = "argo-fanout.io/chart-digest"


def chart_path(chart_dir: Path) -> str:
    """The chart a Release installs: the assembled copy of `chart_dir` with its library
    (workflows.chart.assemble_chart, .charts/<name>), relative to the project directory, where
    Pulumi runs the program and its providers: an absolute path would differ per checkout and
    show as a change of the release."""
    assembled = assemble_chart(chart_dir)
    if not assembled.is_relative_to(REPO_ROOT):
        return str(assembled)  # a job chart outside the project that needs no assembling
    return "./" + assembled.relative_to(REPO_ROOT).as_posix()


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


def platform_values(workload: WorkloadConfig, storage: Mapping[str, Any]) -> dict[str, Any]:
    """The platform chart's values from config; workload.values (its keys only) is merged last."""
    ours: dict[str, Any] = {
        # Pinned so the program knows the names the chart derives from it (account, claim).
        "fullnameOverride": PLATFORM_RELEASE,
        "storage": dict(storage),
        "compute": compute_values(workload.compute),
        "commonLabels": {DIGEST_LABEL: chart_digest(PLATFORM_CHART)},
    }
    return merge_values(ours, workload.values)


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


def job_values(job: JobConfig, platform: Mapping[str, Any]) -> dict[str, Any]:
    """A job release's values: the platform block (`platform_block`) and the chart's digest
    label under the job's values from config (JobConfig.values, the user's merged last)."""
    ours = {"platform": dict(platform), "commonLabels": {DIGEST_LABEL: chart_digest(job.chart)}}
    return merge_values(ours, job.values)


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


def platform_defaults() -> dict[str, Any]:
    return chart_defaults(PLATFORM_CHART)


def submit_command(job: JobConfig, namespace: str) -> str:
    """How to run the job with the Argo CLI; `-p numParts` where the job has that value
    (log-count: its default width, which config may have changed)."""
    values = merge_values(chart_defaults(job.chart), job.values)
    num_parts = values.get("job", {}).get("numParts")
    parameter = f"-p numParts={num_parts} " if num_parts is not None else ""
    return (
        f"argo submit -n {namespace} --from workflowtemplate/{job.template_name} {parameter}--watch"
    )


def release_resource_name(component: str, job: str) -> str:
    """The Pulumi name of a job's Release: log-count's keeps the name it had when it was the
    only job (`<component>-release`), so stacks created then see no replacement."""
    return f"{component}-release" if job == DEFAULT_JOB else f"{component}-job-{job}"


@dataclass(frozen=True)
class WorkloadArgs:
    config: WorkloadConfig
    jobs: Mapping[str, JobConfig]  # config `jobs`: one release each; DEFAULT_JOB first
    provider: k8s.Provider
    storage_values: Mapping[str, Any]  # the chart's storage.* values (Inputs allowed)
    depends_on: Sequence[pulumi.Resource] = ()  # e.g. the Argo release: CRDs before templates
    prerequisites: Sequence[NamespacePrerequisites] = ()
    pod_security: str = "restricted"  # the Pod Security level a namespace we create enforces


class Workload(pulumi.ComponentResource):
    """The platform release and one job release per config `jobs` entry on it, in the workload
    namespace, which it creates unless workload.createNamespace is false (the namespace exists;
    destroy leaves it)."""

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
        self.releases: dict[str, k8s.helm.v3.Release] = {}
        for job in args.jobs.values():
            self.releases[job.name] = k8s.helm.v3.Release(
                release_resource_name(name, job.name),
                name=job.name,
                chart=chart_path(job.chart),
                namespace=namespace_name,
                values=block.apply(lambda platform, job=job: job_values(job, platform)),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=[self.platform_release])
                ),
            )
        default = args.jobs[DEFAULT_JOB]
        self.release = self.releases[DEFAULT_JOB]
        self.namespace: pulumi.Output[str] = self.release.namespace
        self.template_name = default.template_name
        self.template_names = {job.name: job.template_name for job in args.jobs.values()}
        self.claim_name: pulumi.Output[str] = block.apply(lambda platform: platform["claimName"])
        self.submit_command = submit_command(default, workload.namespace)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "workflowTemplate": self.template_name,
                "workflowTemplates": self.template_names,
                "volumeClaim": self.claim_name,
            }
        )
