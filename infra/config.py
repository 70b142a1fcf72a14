"""Every configuration key of the program, read and validated once, into frozen dataclasses.

`load` is the only entry point. It takes any reader with ``get(key) -> value | None`` for the
``argo-fanout`` namespace: a ``pulumi.Config`` (values arrive as strings, objects as JSON) or a
plain dict (tests pass parsed values directly). Every default lives in this module, and every
bad value raises one ConfigError that names the key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import os
import posixpath
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypeVar

import jsonschema
import pulumi
import yaml

from common import argolines, exports
from common.paths import REPO_ROOT
from infra.targets import SPECS
from infra.targets.contracts import TargetSpec
from workflows import job as job_modules
from workflows.chart import (
    CHARTS_DIR,
    LIBRARY_CHART,
    LOG_COUNT_CHART,
    PLATFORM_CHART,
    job_chart_dirs,
    merge_values,
)

PROJECT = "argo-fanout"

# kind v0.30.0's image for Kubernetes 1.34.0 (the line tests/support/schemas.py validates
# against); kind asks for the digest because node images are built per kind release.
KIND_NODE_IMAGE = (
    "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"
)
# The argo-helm `argo-workflows` chart installed by default (common/argo-lines.json).
ARGO_CHART_VERSION = argolines.CHART_VERSION
# The in-cluster PostgreSQL that holds Argo's offloaded node status and workflow archive
# (argo.persistence): the official image, pinned by tag here only. A new minor of the same major
# is a rolling update on the same volume; a new major needs a dump and restore (README).
POSTGRES_IMAGE = "docker.io/library/postgres:17.6-bookworm"
# Settings of the workflow controller we install for wide fan-outs (argo.controller), against
# Argo's own defaults (workflow-controller flags; no resourceRateLimit means unlimited). A
# 10,000-shard run makes one pod per shard: the client gets more room than Argo's qps 20 /
# burst 30, pod creation is paced so the API server and the scheduler keep up, and pod
# garbage collection (OnPodSuccess) gets workers to match.
CONTROLLER_DEFAULTS = {
    "qps": 50.0,  # Argo: 20
    "burst": 100,  # Argo: 30
    "workflowWorkers": 32,  # Argo: 32
    "podCleanupWorkers": 16,  # Argo: 4
    "workflowTTLWorkers": 4,  # Argo: 4
    "resourceRateLimit.limit": 20.0,  # pods created per second; Argo: unlimited
    "resourceRateLimit.burst": 100,  # Argo: unlimited
}
# Argo's archiveTTL grammar: a number and a unit, days included (Argo's config.TTL).
_TTL = re.compile(r"^[0-9]+(d|h|m|s)$")
# Where every kind node mounts the stack's dataDir, and the hostPath PV's default node path.
NODE_DATA_PATH = "/var/local/argo-fanout"
DEFAULT_KEYWORDS = ("INFO", "WARN", "ERROR", "DEBUG")
DEFAULT_OSS_OTHER_OPTS = "-o max_stat_cache_size=0 -o allow_other"
DEFAULT_VPC_CIDR = "10.0.0.0/16"
DEFAULT_VSWITCH_CIDRS = ("10.0.0.0/18", "10.0.64.0/18")
# Addresses Alibaba Cloud keeps in every vSwitch CIDR, and pod IPs left for system pods.
VSWITCH_RESERVED_IPS = 4
SYSTEM_POD_HEADROOM = 16
MAX_ECI_SPECS = 5

# The targets and what each allows: declared once, in infra/targets/<name>.py.
TARGETS = tuple(SPECS)
# The scalar keys' defaults; Pulumi.yaml declares the same ones (a test keeps them equal).
DEFAULT_TARGET = TARGETS[0]
DEFAULT_PRODUCTION = False
# kubectl's default kubeconfig, used by target existing when neither existing.kubeconfig nor
# $KUBECONFIG names one.
DEFAULT_KUBECONFIG = "~/.kube/config"
STORAGE_TYPES = {name: spec.storage_types for name, spec in SPECS.items()}
COMPUTE_PROFILES = {name: spec.compute_profiles for name, spec in SPECS.items()}
SCHEDULE_MODES = ("stock-optimized", "cost-optimized")
# How the Argo Server we install authenticates callers: `client` asks each for a Kubernetes token;
# `server` (kind only) lets anyone who reaches it act as the server's own account, so the program
# then admits no in-cluster traffic to it (a deny-all NetworkPolicy): only `kubectl port-forward`,
# bound to the operator's localhost, reaches it.
SERVER_AUTH_MODES = ("client", "server")
RECLAIM_POLICIES = ("Retain", "Delete")
FUSE_TYPES = ("ossfs", "ossfs2")
NAS_STORAGE_TYPES = ("Capacity", "Performance")
MATCH_MODES = ("substring", "word")
SPOT_STRATEGIES = ("SpotAsPriceGo", "SpotWithPriceLimit")
ACS_COMPUTE_CLASSES = ("general-purpose", "performance", "gpu")
ACS_COMPUTE_QOS = ("default", "best-effort")
STEPS = ("split", "count", "merge")
# The `jobs` map: one Helm release (and WorkflowTemplate) per entry, named after its key, on the
# one platform release of the workload namespace. log-count is the default entry: it is always
# deployed, with the defaults below, and the old workload.* job keys are aliases of its keys.
DEFAULT_JOB = exports.DEFAULT_JOB
# The platform release's name and fullname (the steps' ServiceAccount, the claim's prefix): no
# job may take it.
PLATFORM_RELEASE = "argo-fanout"
# Helm refuses release names longer than this.
MAX_RELEASE_NAME = 53
# Every job's run width and retries unless its entry sets them (the chart's own are not used:
# the old workload.parallelism/retries defaults, kept for every job alike).
DEFAULT_PARALLELISM = 50
DEFAULT_RETRIES = 3
# What the default entry gives log-count's `job` values unless set (its parameters' defaults).
LOG_COUNT_JOB_DEFAULTS = {
    "numParts": 5,
    "keywords": ",".join(DEFAULT_KEYWORDS),
    "match": "substring",
}
# The old workload.* keys of the log-count job: each is read as the jobs.log-count key given
# here, with one deprecation warning (Config.deprecations); set both ways, it is an error.
WORKLOAD_ALIASES = {
    "numParts": "jobs.log-count.values.job.numParts",
    "partSize": "jobs.log-count.values.job.partSize",
    "keywords": "jobs.log-count.values.job.keywords",
    "match": "jobs.log-count.values.job.match",
    "parallelism": "jobs.log-count.parallelism",
    "retries": "jobs.log-count.retries",
    "image": "jobs.log-count.image",
    "resources": "jobs.log-count.resources",
    "schedule": "jobs.log-count.schedule",
}
# Values of a job release the program sets itself (from the platform release), never config.
PROGRAM_JOB_VALUES = ("platform",)

# How FIELDS and the README write "any job name" in a key path of the `jobs` map.
JOB_PLACEHOLDER = "<name>"
# The fields of every object-valued key, by key path: the only list of them (the README's
# Configuration table documents each, and a test keeps the two in step).
FIELDS: dict[str, tuple[str, ...]] = {
    **{name: spec.fields for name, spec in SPECS.items()},
    "argo": (
        "install",
        "chartVersion",
        "namespace",
        "createNamespace",
        "serverAuthMode",
        "controller",
        "persistence",
        "values",
    ),
    "argo.controller": (
        "qps",
        "burst",
        "workflowWorkers",
        "podCleanupWorkers",
        "workflowTTLWorkers",
        "resourceRateLimit",
        "parallelism",
    ),
    "argo.controller.resourceRateLimit": ("limit", "burst"),
    "argo.persistence": ("enabled", "image", "storageSize", "storageClass", "archiveTTL"),
    "storage": (
        "type",
        "size",
        "reclaimPolicy",
        "existingClaim",
        "hostPath",
        "oss",
        "nas",
        "localDir",
    ),
    "storage.hostPath": ("path",),
    "storage.oss": (
        "bucket",
        "path",
        "versioning",
        "forceDestroy",
        "expireRunsAfterDays",
        "fuseType",
        "otherOpts",
        "sampleInputSize",
    ),
    "storage.nas": ("server", "path", "storageType"),
    "workload": (
        "namespace",
        "createNamespace",
        "numParts",
        "partSize",
        "keywords",
        "match",
        "parallelism",
        "retries",
        "image",
        "resources",
        "compute",
        "schedule",
        "values",
    ),
    "workload.image": ("registry", "repository", "tag"),
    "workload.resources": STEPS,
    "workload.compute": ("profile", "eci", "acs"),
    "workload.compute.eci": (
        "useSpecs",
        "spotStrategy",
        "spotPriceLimit",
        "imageCache",
        "extraEphemeralStorage",
    ),
    "workload.compute.acs": ("computeClass", "computeQos"),
    "workload.schedule": ("cron", "timezone"),
    # `jobs` is a map of job names (JOB_PLACEHOLDER stands for any name) to these fields.
    "jobs": (JOB_PLACEHOLDER,),
    f"jobs.{JOB_PLACEHOLDER}": (
        "chart",
        "image",
        "parallelism",
        "retries",
        "resources",
        "schedule",
        "values",
    ),
    f"jobs.{JOB_PLACEHOLDER}.image": ("registry", "repository", "tag"),
    f"jobs.{JOB_PLACEHOLDER}.schedule": ("cron", "timezone"),
}

# Error messages quote a bad value only when it is short, on one line and not a secret: a
# kubeconfig pasted without `--path` (or into the wrong key) must not land in the console or
# the update log. Longer values are described by type and length instead.
ECHO_LIMIT = 100
# Keys whose values may carry credentials (the existing object holds the kubeconfig).
SECRET_KEYS = frozenset({"existing", "existing.kubeconfig"})
# Names a namespace of ours may not take: Kubernetes' own, and `default`, where everything that
# names no namespace lands, so our RBAC, Secrets and Pod Security label would not be ours alone.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Directories a hostPath volume (a kind node's path) or kind.dataDir (a host path every node
# mounts, written by the steps) must not be, be inside of, or contain: the system's and the
# kubelet's/container runtime's state (/var/lib holds kubelet, etcd, containerd, docker).
SYSTEM_PATHS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var/lib",
    "/var/log",
    "/var/run",
)
# The largest sample log `storage.oss.sampleInputSize` may ask for: it is generated on the
# deploying machine and uploaded by `pulumi up`.
MAX_SAMPLE_INPUT_SIZE = 2**30
# Alibaba Cloud region ids: cn-hangzhou, ap-southeast-1, cn-shanghai-finance-1, ...
_REGION = re.compile(r"^[a-z]{2}-[a-z]+(-[a-z0-9]+)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# Kubernetes resource.Quantity in the forms the log-count chart's schema accepts: 100Gi, 500m, 1.5.
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([KMGTPE]i|[kMGTPE]|m)?$")
# The resources the chart lets each step request or limit.
RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")
_OSS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ZONE_ID = re.compile(r"^[a-z]{2}-[a-z0-9-]+$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?LW#-]+$")


class ConfigError(pulumi.RunError, ValueError):
    """A configuration value is missing, malformed or not allowed here.

    A ``pulumi.RunError``: the Pulumi CLI prints its message as one error line, where any other
    exception, raised at the top of the program or in an apply, comes with a Python traceback.
    """


class ConfigReader(Protocol):
    def get(self, key: str) -> Any: ...


# Every top-level key of the program's namespace: the two scalars and the objects of FIELDS.
KEYS = ("target", "production", *(key for key in FIELDS if "." not in key))


class ProjectConfig:
    """The program's keys as the CLI passed them, under the namespace of the current project.

    ``pulumi new`` from this repository into a directory named ``team-batch`` names the project
    ``team-batch``, and the CLI stores every answer as ``team-batch:<key>``; a program reading a
    fixed ``argo-fanout`` namespace would silently ignore them. ``values`` is every config key of
    the stack, namespaced (``project:key``), as the CLI passes them. Keys written as
    ``argo-fanout:<key>`` (the committed stack files, copied along by ``pulumi new``) still work
    in a project of another name: each is read as the project's own key, unless the project's
    key holds a value of its own too (then the two conflict and neither is guessed). A key of
    the project's namespace the program does not know is an error naming the closest known key.
    """

    def __init__(self, project: str, values: Mapping[str, Any]) -> None:
        self.project = project
        own = _keys_of(values, project)
        legacy = _keys_of(values, PROJECT) if project != PROJECT else {}
        for namespace, keys in ((project, own), (PROJECT, legacy)):
            for key in sorted(keys):
                if key not in KEYS:
                    raise ConfigError(_unknown_key(namespace, key))
        self.aliased = tuple(sorted(legacy))
        merged = dict(own)
        for key in self.aliased:
            if not _is_project_default(key, own.get(key)):
                raise ConfigError(
                    f"{project}:{key} and {PROJECT}:{key} are both set; this project is named "
                    f"{project!r}, so keep {project}:{key} and remove {PROJECT}:{key}"
                )
            merged[key] = legacy[key]
        self._values = merged

    def get(self, key: str) -> Any:
        return self._values.get(key)


def _keys_of(values: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    prefix = f"{namespace}:"
    return {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}


def _unknown_key(namespace: str, key: str) -> str:
    close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.5)
    hint = f"did you mean {namespace}:{close[0]}? " if close else ""
    return f"{namespace}:{key}: unknown configuration key; {hint}known keys: {', '.join(KEYS)}"


def _is_project_default(key: str, value: Any) -> bool:
    """Whether ``value`` is what Pulumi.yaml declares for ``key`` (or no value at all)."""
    if value is None:
        return True
    declared = {"target": DEFAULT_TARGET, "production": DEFAULT_PRODUCTION}
    if key in declared:
        return str(value).lower() == str(declared[key]).lower()
    return value in ({}, "{}")


def _targets_where(rule: Callable[[TargetSpec], bool]) -> str:
    """The targets whose spec satisfies ``rule``, for error messages (``kind``, ``a or b``)."""
    return " or ".join(name for name, spec in SPECS.items() if rule(spec))


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class KindConfig:
    cluster_name: str
    node_image: str
    workers: int
    data_dir: Path
    node_data_path: str  # where every node mounts data_dir: the hostPath PV's node path


@dataclass(frozen=True)
class ExistingConfig:
    """How to reach the cluster: exactly one of kubeconfig_content and kubeconfig_path is set."""

    kubeconfig_content: str | None  # existing.kubeconfig when it holds the kubeconfig itself
    kubeconfig_path: Path | None  # else the file: existing.kubeconfig, $KUBECONFIG or the default
    kubeconfig_source: str  # where the kubeconfig came from, for error messages
    context: str | None  # None: the kubeconfig's current-context


@dataclass(frozen=True)
class AckOneConfig:
    cluster_name: str
    vpc_cidr: str
    zones: tuple[str, ...] | None  # None: picked at deploy time from the zones data source
    vswitch_cidrs: tuple[str, ...]
    schedule_mode: str
    price_limit: str | None
    argo_server: bool
    public_api_server: bool
    api_server_allowed_cidrs: tuple[str, ...]  # who may reach the public endpoint (when on)
    audit_log: bool  # the API server's audit log (to Log Service)
    deletion_protection: bool

    @property
    def max_parallel_pods(self) -> int:
        """Pods that fit the vSwitches at once: one IP each, minus reserved IPs and headroom."""
        return max_parallel_pods(self.vswitch_cidrs)


@dataclass(frozen=True)
class ResourceRateLimit:
    limit: float  # pods the controller creates per second, on average
    burst: int  # pods it may create at once above that


@dataclass(frozen=True)
class ControllerConfig:
    """The workflow controller's settings for wide runs (argo.controller)."""

    qps: float  # --qps: its Kubernetes client's queries per second
    burst: int  # --burst: the client's burst above qps
    workflow_workers: int  # --workflow-workers
    pod_cleanup_workers: int  # --pod-cleanup-workers: pod garbage collection
    workflow_ttl_workers: int  # --workflow-ttl-workers: deleting finished Workflows
    resource_rate_limit: ResourceRateLimit  # the ConfigMap's resourceRateLimit: pod creation
    parallelism: int | None  # the ConfigMap's parallelism: workflows running at once; None: any


@dataclass(frozen=True)
class PersistenceConfig:
    """Argo's node status offloading and workflow archive in an in-cluster PostgreSQL."""

    image: str
    storage_size: str
    storage_class: str | None  # None: the cluster's default StorageClass
    archive_ttl: str | None  # Argo's archiveTTL, e.g. 30d; None: archived workflows are kept


@dataclass(frozen=True)
class ArgoConfig:
    install: bool
    chart_version: str
    namespace: str
    create_namespace: bool  # False: the namespace exists already; destroy leaves it
    server_auth_mode: str  # client (a token per caller), or server: localhost only (kind)
    controller: ControllerConfig | None  # None where we do not install Argo
    persistence: PersistenceConfig | None  # None: disabled, or Argo is not ours
    values: Mapping[str, Any]


@dataclass(frozen=True)
class HostPathStorage:
    path: str


@dataclass(frozen=True)
class OssStorage:
    bucket: str | None  # None: auto-named by the program
    path: str
    versioning: bool
    force_destroy: bool
    expire_runs_after_days: int
    fuse_type: str
    other_opts: str
    sample_input_size: int | None  # bytes; None: no sample input is uploaded


@dataclass(frozen=True)
class NasStorage:
    server: str | None  # required on existing; the program fills it on ackone
    path: str
    storage_type: str


@dataclass(frozen=True)
class StorageConfig:
    type: str
    size: str
    reclaim_policy: str
    existing_claim: str | None
    host_path: HostPathStorage | None
    oss: OssStorage | None
    nas: NasStorage | None
    # target existing: this machine's view of the claim or NAS share (`workflows --input`).
    local_dir: Path | None


@dataclass(frozen=True)
class ImageConfig:
    registry: str | None
    repository: str | None
    tag: str | None


@dataclass(frozen=True)
class EciConfig:
    use_specs: tuple[str, ...]
    spot_strategy: str | None
    spot_price_limit: str | None
    image_cache: bool | None
    extra_ephemeral_storage: str | None


@dataclass(frozen=True)
class AcsConfig:
    compute_class: str | None
    compute_qos: str | None


@dataclass(frozen=True)
class ComputeConfig:
    profile: str
    eci: EciConfig | None
    acs: AcsConfig | None


@dataclass(frozen=True)
class ScheduleConfig:
    cron: str
    timezone: str | None


@dataclass(frozen=True)
class WorkloadConfig:
    """The workload namespace and its platform release (shared by every job)."""

    namespace: str
    create_namespace: bool  # False: the namespace exists already; destroy leaves it
    compute: ComputeConfig
    values: Mapping[str, Any]  # the platform chart's keys of workload.values, merged last


@dataclass(frozen=True)
class JobConfig:
    """One entry of `jobs`: a job chart installed as the Helm release `name`."""

    name: str  # the entry's key: the release name and the fullname
    chart: Path  # the chart directory (resolved)
    parallelism: int
    retries: int
    # The release's values from config: ours (names, image, workflow, resources, schedule)
    # with the entry's `values` merged last; the Workload adds the `platform` block and the
    # chart digest label. Validated, over the chart's values.yaml, against its schema.
    values: Mapping[str, Any]
    template_name: str  # the WorkflowTemplate the release renders


@dataclass(frozen=True)
class Config:
    stack: str
    target: str
    production: bool
    data_dir: Path  # this stack's local files: kind's default dataDir, ACK One's sample input
    region: str | None  # alicloud:region
    kind: KindConfig | None
    existing: ExistingConfig | None
    ackone: AckOneConfig | None
    argo: ArgoConfig
    storage: StorageConfig
    workload: WorkloadConfig
    jobs: Mapping[str, JobConfig]  # by name; DEFAULT_JOB first
    # One line per old key still used (workload.numParts, ...), naming its new key; the program
    # logs each as a warning.
    deprecations: tuple[str, ...] = ()

    @property
    def default_job(self) -> JobConfig:
        return self.jobs[DEFAULT_JOB]


# --------------------------------------------------------------------------- entry point


def load(reader: ConfigReader, stack: str, *, region: str | None = None) -> Config:
    """Read and validate every key of the ``argo-fanout`` namespace for ``stack``.

    ``region`` is the provider key ``alicloud:region``, required with target ackone.
    """
    target = _choice("target", _scalar(reader, "target", DEFAULT_TARGET), TARGETS)
    production = _bool("production", _scalar(reader, "production", DEFAULT_PRODUCTION))
    raw = {key: _object(reader, key) for key in (*TARGETS, "argo")}
    raw_storage = _object(reader, "storage")
    raw_workload = _object(reader, "workload")
    for key in TARGETS:
        if raw[key] is not None and key != target:
            raise ConfigError(
                f"{key}: only allowed with target {key}; this stack's target is {target!r}"
            )
    if target == "existing" and raw["existing"] is None:
        raise ConfigError(
            "existing: target existing needs existing.kubeconfig and/or existing.context"
        )
    if target == "ackone" and not region:
        raise ConfigError(
            "alicloud:region: required with target ackone "
            "(pulumi config set alicloud:region cn-hangzhou)"
        )
    if region and not _REGION.match(region):
        raise ConfigError(
            f"alicloud:region: {_shown('alicloud:region', region)} is not an Alibaba Cloud "
            "region id such as cn-hangzhou or ap-southeast-1"
        )

    data_dir = REPO_ROOT / ".data" / stack
    storage = _storage(_present(raw_storage), target, production)
    kind = _kind(_present(raw["kind"]), stack, data_dir, storage) if target == "kind" else None
    existing = _existing(raw["existing"]) if target == "existing" else None
    ackone = (
        _ackone(_present(raw["ackone"]), stack, production, region) if target == "ackone" else None
    )
    workload_raw = _present(raw_workload)
    workload = _workload(workload_raw, target, storage)
    jobs, deprecations = _jobs(_present(_object(reader, "jobs")), workload_raw)
    if ackone is not None:
        _check_spot_choice(ackone, workload.compute)
    for job in jobs.values() if ackone is not None else ():
        if job.parallelism > ackone.max_parallel_pods:
            key = _parallelism_key(job.name, workload_raw)
            raise ConfigError(
                f"{key}: {job.parallelism} is above the {ackone.max_parallel_pods} pods the "
                f"vSwitches {list(ackone.vswitch_cidrs)} can address at once; lower it or "
                "give ackone.vswitchCidrs larger or more CIDRs"
            )
    argo = _argo(_present(raw["argo"]), target)
    if (
        argo.install
        and workload.namespace == argo.namespace
        and (argo.create_namespace or workload.create_namespace)
    ):
        # Created for one, the namespace would be deleted on destroy with the other's objects.
        raise ConfigError(
            f"workload.namespace: {workload.namespace!r} is argo.namespace too, and the program "
            "would create it; give the workload its own namespace, or set both "
            "argo.createNamespace and workload.createNamespace false to share one that exists"
        )
    return Config(
        stack=stack,
        target=target,
        production=production,
        data_dir=data_dir,
        region=None if region in (None, "") else region,
        kind=kind,
        existing=existing,
        ackone=ackone,
        argo=argo,
        storage=storage,
        workload=workload,
        jobs=jobs,
        deprecations=deprecations,
    )


def max_parallel_pods(vswitch_cidrs: tuple[str, ...]) -> int:
    usable = sum(
        ipaddress.ip_network(cidr).num_addresses - VSWITCH_RESERVED_IPS for cidr in vswitch_cidrs
    )
    return max(usable - SYSTEM_POD_HEADROOM, 0)


def parse_byte_size(key: str, value: Any) -> int:
    """A byte size such as 64MiB, 1GB or 4096, in the job's own grammar; returns bytes (>= 1)."""
    job = _job_module()
    try:
        return job.parse_size(_string(key, value), key)
    except job.UsageError as err:
        raise ConfigError(
            _job_error(key, value, err, "a size such as 64MiB, 1GB or 4096")
        ) from None


def _job_error(key: str, value: Any, err: Exception, allowed: str) -> str:
    """The job's own message, which quotes the value, unless the value must not be echoed."""
    if _echoable(key, value):
        return str(err)
    return f"{key}: {_shown(key, value)} is not {allowed}"


def _echoable(key: str, value: Any) -> bool:
    text = repr(value)
    return key not in SECRET_KEYS and len(text) <= ECHO_LIMIT and "\\n" not in text


def _shown(key: str, value: Any) -> str:
    """How an error message shows a config value: quoted when short, else only described."""
    if key in SECRET_KEYS:
        return "(the value, a secret, is not shown)"
    if _echoable(key, value):
        return repr(value)
    kind = type(value).__name__
    size = (
        f"{len(value)} items" if isinstance(value, list | dict) else f"{len(str(value))} characters"
    )
    return f"(a {kind} of {size}, not shown)"


def _job_module() -> ModuleType:
    """The job's shared module (charts/log-count/files/log-count/logcount.py), so sizes and
    keywords are checked by the same rules the steps apply at run time."""
    return job_modules.load()


# --------------------------------------------------------------------------- sections


def _kind(
    raw: Mapping[str, Any], stack: str, stack_data_dir: Path, storage: StorageConfig
) -> KindConfig:
    section = _Section("kind", raw)
    data_dir = section.get("dataDir", str(stack_data_dir), _data_dir)
    node_image = section.get("nodeImage", KIND_NODE_IMAGE, _string)
    if "@sha256:" not in node_image:
        raise ConfigError(
            f"kind.nodeImage: {_shown('kind.nodeImage', node_image)} has no digest; kind "
            "needs the exact image of its release, e.g. " + KIND_NODE_IMAGE
        )
    return KindConfig(
        cluster_name=section.get("clusterName", f"{PROJECT}-{stack}", _cluster_name),
        node_image=node_image,
        workers=section.get("workers", 0, _int_at_least(0)),
        data_dir=Path(data_dir),
        # With existingClaim storage nothing uses the mount, but every node still has it.
        node_data_path=(
            storage.host_path.path if storage.host_path is not None else NODE_DATA_PATH
        ),
    )


def _existing(raw: Mapping[str, Any]) -> ExistingConfig:
    section = _Section("existing", raw)
    context = section.get("context", None, _string)
    given = section.get("kubeconfig", None, _string)
    if given is not None:
        # Content is whatever parses as a YAML (or JSON) mapping; a path parses as a plain string.
        try:
            document = yaml.safe_load(given)
        except yaml.YAMLError as err:
            # The value may be a secret: say where it breaks, never echo any of it.
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(
                "existing.kubeconfig: neither a file path nor a kubeconfig that parses as "
                f"YAML or JSON (syntax error{where})"
            ) from None
        if isinstance(document, Mapping):
            return ExistingConfig(
                kubeconfig_content=given,
                kubeconfig_path=None,
                kubeconfig_source="existing.kubeconfig",
                context=context,
            )
        path, source = given, "existing.kubeconfig"
    else:
        # Like kubectl: $KUBECONFIG's first entry, else the default file.
        entries = [entry for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep) if entry]
        path, source = (
            (entries[0], "$KUBECONFIG")
            if entries
            else (DEFAULT_KUBECONFIG, f"the default {DEFAULT_KUBECONFIG}")
        )
    return ExistingConfig(
        kubeconfig_content=None,
        kubeconfig_path=Path(path).expanduser(),
        kubeconfig_source=source,
        context=context,
    )


def _check_spot_choice(ackone: AckOneConfig, compute: ComputeConfig) -> None:
    """One place decides spot: the cluster's schedule mode or the pods' ECI annotations.

    A cost-optimized cluster already runs every pod on spot ECI and bids itself (capped by
    ackone.priceLimit); ACK One does not document which bid wins when a pod also carries
    k8s.aliyun.com/eci-spot-* annotations, so the combination is refused.
    """
    eci = compute.eci
    if ackone.schedule_mode != "cost-optimized" or eci is None or eci.spot_strategy is None:
        return
    raise ConfigError(
        f"workload.compute.eci.spotStrategy: {eci.spot_strategy!r} cannot be combined with "
        "ackone.scheduleMode 'cost-optimized', which already runs every pod on spot ECI; "
        "use ackone.scheduleMode/priceLimit for the whole cluster, or scheduleMode "
        "'stock-optimized' with eci.spotStrategy/spotPriceLimit per pod"
    )


def _ackone(
    raw: Mapping[str, Any], stack: str, production: bool, region: str | None
) -> AckOneConfig:
    section = _Section("ackone", raw)
    vpc_cidr = section.get("vpcCidr", DEFAULT_VPC_CIDR, _network)
    vswitch_cidrs = tuple(
        section.get("vswitchCidrs", list(DEFAULT_VSWITCH_CIDRS), _list_of(_network))
    )
    _check_vswitches(vpc_cidr, vswitch_cidrs)
    zones = section.get("zones", None, _list_of(_zone_id))
    if zones is not None:
        if len(zones) != len(vswitch_cidrs):
            raise ConfigError(
                f"ackone.zones: {_shown('ackone.zones', zones)} has {len(zones)} zones for "
                f"{len(vswitch_cidrs)} vSwitch CIDRs; give one zone per CIDR"
            )
        foreign = [zone for zone in zones if not zone.startswith(f"{region}-")]
        if foreign:
            raise ConfigError(
                f"ackone.zones: {_shown('ackone.zones', foreign)} not in alicloud:region "
                f"{region}; zones of a region are named <region>-<letter>"
            )
        if len(set(zones)) != len(zones):
            raise ConfigError(
                f"ackone.zones: {_shown('ackone.zones', zones)} repeats a zone; the vSwitches "
                "must be in distinct zones"
            )
    # Off unless asked for, and then only for the sources named: the API server admits anyone
    # holding the kubeconfig, so its public endpoint is a surface to keep small.
    public_api_server = section.get("publicApiServer", False, _bool)
    allowed = section.get("apiServerAllowedCidrs", [], _list_of(_network))
    if public_api_server and not allowed:
        raise ConfigError(
            "ackone.apiServerAllowedCidrs: required with ackone.publicApiServer true: the "
            "CIDRs that may reach the public API server, e.g. your egress address as "
            "203.0.113.7/32 (0.0.0.0/0 admits everyone)"
        )
    if allowed and not public_api_server:
        raise ConfigError(
            "ackone.apiServerAllowedCidrs: only used with ackone.publicApiServer true"
        )
    schedule_mode = section.get("scheduleMode", "stock-optimized", _one_of(SCHEDULE_MODES))
    price_limit = section.get("priceLimit", None, _positive_decimal)
    if price_limit is not None and schedule_mode != "cost-optimized":
        raise ConfigError(
            f"ackone.priceLimit: {price_limit!r} is only allowed with "
            f"ackone.scheduleMode cost-optimized, not {schedule_mode!r}"
        )
    return AckOneConfig(
        cluster_name=section.get("clusterName", f"{PROJECT}-{stack}", _cluster_name),
        vpc_cidr=vpc_cidr,
        zones=tuple(zones) if zones is not None else None,
        vswitch_cidrs=vswitch_cidrs,
        schedule_mode=schedule_mode,
        price_limit=price_limit,
        argo_server=section.get("argoServer", False, _bool),
        public_api_server=public_api_server,
        api_server_allowed_cidrs=tuple(allowed),
        audit_log=section.get("auditLog", True, _bool),
        deletion_protection=section.get("deletionProtection", production, _bool),
    )


def _check_vswitches(vpc_cidr: str, vswitch_cidrs: tuple[str, ...]) -> None:
    key = "ackone.vswitchCidrs"
    if len(vswitch_cidrs) < 2:
        raise ConfigError(
            f"{key}: {list(vswitch_cidrs)} has fewer than 2 CIDRs; give at least two, one per zone"
        )
    vpc = ipaddress.ip_network(vpc_cidr)
    networks = [ipaddress.ip_network(cidr) for cidr in vswitch_cidrs]
    for cidr, network in zip(vswitch_cidrs, networks, strict=True):
        if not 16 <= network.prefixlen <= 29:
            raise ConfigError(
                f"{key}: {cidr!r} has prefix /{network.prefixlen}; allowed /16 to /29"
            )
        if not network.subnet_of(vpc):
            raise ConfigError(f"{key}: {cidr!r} is not inside ackone.vpcCidr {vpc_cidr!r}")
    for index, network in enumerate(networks):
        for other in networks[index + 1 :]:
            if network.overlaps(other):
                raise ConfigError(f"{key}: {str(network)!r} overlaps {str(other)!r}")


def _argo(raw: Mapping[str, Any], target: str) -> ArgoConfig:
    section = _Section("argo", raw)
    spec = SPECS[target]
    install = section.get("install", spec.argo_manager is None, _bool)
    if install and spec.argo_manager is not None:
        raise ConfigError(
            f"argo.install: true is not allowed with target {target}, where Argo is "
            f"managed by {spec.argo_manager}; remove it or set it to false"
        )
    server_auth_mode = section.get("serverAuthMode", "client", _one_of(SERVER_AUTH_MODES))
    if server_auth_mode == "server" and not spec.local_only_argo_server:
        local = _targets_where(lambda spec: spec.local_only_argo_server)
        raise ConfigError(
            f"argo.serverAuthMode: 'server' is only allowed with target {local}, not {target!r}: "
            "it serves anyone who reaches the server as the server's own account; allowed: client"
        )
    for key in ("controller", "persistence"):
        if key in section.raw and not install:
            why = (
                f"where Argo is managed by {spec.argo_manager} (its controller and "
                "persistence are the service's)"
                if spec.argo_manager is not None
                else "with argo.install false (the program does not install Argo)"
            )
            raise ConfigError(
                f"argo.{key}: only applies to the Argo this program installs, not {why}; remove it"
            )
    return ArgoConfig(
        install=install,
        chart_version=section.get("chartVersion", ARGO_CHART_VERSION, _semver),
        namespace=section.get("namespace", "argo", _namespace),
        create_namespace=section.get("createNamespace", True, _bool),
        server_auth_mode=server_auth_mode,
        controller=_controller(_present(raw.get("controller"))) if install else None,
        persistence=_persistence(_present(raw.get("persistence"))) if install else None,
        values=section.get("values", {}, _mapping),
    )


def _controller(raw: Any) -> ControllerConfig:
    section = _Section("argo.controller", raw)
    defaults = CONTROLLER_DEFAULTS
    rate = _Section("argo.controller.resourceRateLimit", _present(raw.get("resourceRateLimit")))
    return ControllerConfig(
        qps=section.get("qps", defaults["qps"], _positive_number),
        burst=section.get("burst", defaults["burst"], _int_at_least(1)),
        workflow_workers=section.get(
            "workflowWorkers", defaults["workflowWorkers"], _int_at_least(1)
        ),
        pod_cleanup_workers=section.get(
            "podCleanupWorkers", defaults["podCleanupWorkers"], _int_at_least(1)
        ),
        workflow_ttl_workers=section.get(
            "workflowTTLWorkers", defaults["workflowTTLWorkers"], _int_at_least(1)
        ),
        resource_rate_limit=ResourceRateLimit(
            limit=rate.get("limit", defaults["resourceRateLimit.limit"], _positive_number),
            burst=rate.get("burst", defaults["resourceRateLimit.burst"], _int_at_least(1)),
        ),
        parallelism=section.get("parallelism", None, _int_at_least(1)),
    )


def _persistence(raw: Any) -> PersistenceConfig | None:
    section = _Section("argo.persistence", raw)
    enabled = section.get("enabled", True, _bool)
    if not enabled:
        others = sorted(set(section.raw) - {"enabled"})
        if others:
            raise ConfigError(
                f"argo.persistence: {others} set with argo.persistence.enabled false; "
                "remove them or enable persistence"
            )
        return None
    return PersistenceConfig(
        image=section.get("image", POSTGRES_IMAGE, _pinned_image),
        storage_size=section.get("storageSize", "8Gi", _quantity),
        storage_class=section.get("storageClass", None, _dns_subdomain),
        archive_ttl=section.get("archiveTTL", None, _ttl),
    )


def _storage(raw: Mapping[str, Any], target: str, production: bool) -> StorageConfig:
    section = _Section("storage", raw)
    allowed = STORAGE_TYPES[target]
    storage_type = section.get("type", allowed[0], _one_of(allowed, f"with target {target}"))
    for key in ("existingClaim", "hostPath", "oss", "nas"):
        if key in raw and storage_type != key:
            raise ConfigError(
                f"storage.{key}: only used with storage.type {key}; this stack's "
                f"storage.type is {storage_type!r}"
            )
    existing_claim = section.get("existingClaim", None, _dns_subdomain)
    if storage_type == "existingClaim" and existing_claim is None:
        raise ConfigError(
            "storage.existingClaim: required with storage.type existingClaim "
            "(the name of a ReadWriteMany claim in the workload namespace)"
        )
    local_dir = section.get("localDir", None, _local_dir)
    if local_dir is not None and not SPECS[target].local_dir:
        raise ConfigError(
            f"storage.localDir: only used with target "
            f"{_targets_where(lambda spec: spec.local_dir)} (kind stages inputs in "
            f"kind.dataDir, ackone uploads them); this stack's target is {target!r}"
        )
    return StorageConfig(
        type=storage_type,
        size=section.get("size", "100Gi", _quantity),
        reclaim_policy=section.get("reclaimPolicy", "Retain", _one_of(RECLAIM_POLICIES)),
        existing_claim=existing_claim,
        host_path=_host_path(_present(raw.get("hostPath"))) if storage_type == "hostPath" else None,
        oss=_oss(_present(raw.get("oss")), production) if storage_type == "oss" else None,
        nas=_nas(_present(raw.get("nas")), target) if storage_type == "nas" else None,
        local_dir=local_dir,
    )


def _host_path(raw: Any) -> HostPathStorage:
    section = _Section("storage.hostPath", raw)
    return HostPathStorage(path=section.get("path", NODE_DATA_PATH, _volume_path))


def _oss(raw: Any, production: bool) -> OssStorage:
    section = _Section("storage.oss", raw)
    sample = section.get("sampleInputSize", None, _string)
    return OssStorage(
        bucket=section.get("bucket", None, _oss_bucket),
        path=section.get("path", "/", _absolute_path),
        versioning=section.get("versioning", False, _bool),
        force_destroy=section.get("forceDestroy", not production, _bool),
        expire_runs_after_days=section.get("expireRunsAfterDays", 7, _int_at_least(1)),
        fuse_type=section.get("fuseType", "ossfs", _one_of(FUSE_TYPES)),
        other_opts=section.get("otherOpts", DEFAULT_OSS_OTHER_OPTS, _string),
        sample_input_size=_sample_input_size(sample) if sample is not None else None,
    )


def _nas(raw: Any, target: str) -> NasStorage:
    section = _Section("storage.nas", raw)
    server = section.get("server", None, _string)
    if SPECS[target].nas_server == "required" and server is None:
        raise ConfigError(
            f"storage.nas.server: required with target {target} (the NAS mount "
            "target domain, e.g. 0a1b2c-xyz.cn-hangzhou.nas.aliyuncs.com)"
        )
    if SPECS[target].nas_server == "provisioned" and server is not None:
        raise ConfigError(
            f"storage.nas.server: {_shown('storage.nas.server', server)} cannot be set with "
            f"target {target}; the program creates the file system and fills it in"
        )
    return NasStorage(
        server=server,
        path=section.get("path", "/", _absolute_path),
        storage_type=section.get("storageType", "Capacity", _one_of(NAS_STORAGE_TYPES)),
    )


def _workload(raw: Mapping[str, Any], target: str, storage: StorageConfig) -> WorkloadConfig:
    section = _Section("workload", raw)
    # On a cluster the stack does not create, an existing claim lives in a namespace that exists
    # already. On kind and ackone the stack creates the cluster, so nothing can exist in it
    # before the first `pulumi up`: the namespace is created and the claim added afterwards.
    # Explicit true stays allowed: a namespace the stack created earlier (the claim added later)
    # must stay the stack's, or the next `pulumi up` deletes it, claim included.
    claim_in_existing_namespace = not SPECS[target].owns_cluster and storage.type == "existingClaim"
    values = section.get("values", {}, _mapping)
    return WorkloadConfig(
        namespace=section.get("namespace", PROJECT, _namespace),
        create_namespace=section.get("createNamespace", not claim_in_existing_namespace, _bool),
        compute=_compute(_present(raw.get("compute")), target),
        values={key: value for key, value in values.items() if key in platform_keys()},
    )


@functools.cache
def chart_defaults(chart: Path) -> dict[str, Any]:
    """A chart's values.yaml."""
    return yaml.safe_load((chart / "values.yaml").read_text()) or {}


@functools.cache
def chart_schema(chart: Path) -> dict[str, Any] | None:
    """A chart's values.schema.json, or None when it has none."""
    path = chart / "values.schema.json"
    return json.loads(path.read_text()) if path.is_file() else None


# The platform chart's values about naming and labels, not about the platform itself.
NAMING_KEYS = ("nameOverride", "fullnameOverride", "commonLabels")


def platform_keys() -> tuple[str, ...]:
    """The top-level values of the platform chart that configure the platform itself: the keys
    of workload.values that go to the platform release (every other one is log-count's)."""
    return tuple(key for key in chart_defaults(PLATFORM_CHART) if key not in NAMING_KEYS)


def _jobs(
    raw: Mapping[str, Any], workload: Mapping[str, Any]
) -> tuple[dict[str, JobConfig], tuple[str, ...]]:
    """The `jobs` map, with log-count's entry made from its defaults, the old workload.* keys
    (aliases, each reported in the returned deprecation lines) and jobs.log-count."""
    entries = _mapping("jobs", raw)
    for name in entries:
        _job_name(name)
    default, deprecations = _default_job_entry(workload, _present(entries.get(DEFAULT_JOB)))
    jobs = {DEFAULT_JOB: _job(DEFAULT_JOB, default)}
    for name, entry in entries.items():
        if name != DEFAULT_JOB:
            jobs[name] = _job(name, _present(entry))
    owners: dict[str, str] = {}
    for job in jobs.values():
        if job.template_name in owners:
            raise ConfigError(
                f"jobs.{job.name}: its WorkflowTemplate {job.template_name!r} is also "
                f"jobs.{owners[job.template_name]}'s; template names must be distinct (set "
                f"jobs.{job.name}.values.templateName)"
            )
        owners[job.template_name] = job.name
    return jobs, deprecations


def _job_name(name: str) -> str:
    key = f"jobs.{name}"
    if not isinstance(name, str) or not _DNS_LABEL.match(name) or len(name) > MAX_RELEASE_NAME:
        raise ConfigError(
            f"{key}: {_shown('jobs', name)} is not a job name: a DNS-1123 label (lowercase "
            f"letters, digits and '-', starting and ending alphanumeric) of at most "
            f"{MAX_RELEASE_NAME} characters, Helm's limit for the release it names"
        )
    if name == PLATFORM_RELEASE:
        raise ConfigError(
            f"{key}: {name!r} is the platform release's name; give the job another name"
        )
    return name


def _default_job_entry(
    workload: Mapping[str, Any], entry: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """log-count's entry: its defaults, then the old workload.* keys, then jobs.log-count (an
    old key and the jobs.log-count key it stands for may not both be set)."""
    entry = dict(_mapping(f"jobs.{DEFAULT_JOB}", entry))
    old: dict[str, Any] = {"chart": DEFAULT_JOB}
    job: dict[str, Any] = dict(LOG_COUNT_JOB_DEFAULTS)
    used: list[tuple[str, str]] = []
    for key, new in WORKLOAD_ALIASES.items():
        value = workload.get(key)
        if value is None:
            continue
        used.append((f"workload.{key}", new))
        parsed = _old_workload_key(key, value)
        if new.startswith(f"jobs.{DEFAULT_JOB}.values.job."):
            job[key] = parsed
        else:
            old[key] = parsed
    values: dict[str, Any] = {"job": job}
    old_values = _mapping("workload.values", workload.get("values", {}))
    for key in old_values:
        if key not in platform_keys():
            used.append((f"workload.values.{key}", f"jobs.{DEFAULT_JOB}.values.{key}"))
    values = merge_values(values, {k: v for k, v in old_values.items() if k not in platform_keys()})
    old["values"] = values
    for old_key, new in used:
        if _is_set(entry, new.split(".")[2:]):
            raise ConfigError(
                f"{old_key} and {new} are both set; {old_key} is the old name of {new}: "
                f"keep {new} and remove {old_key}"
            )
    merged = merge_values(old, entry)
    lines = tuple(
        f"{old_key} is deprecated: it is read as {new}; move it there (README: Configuration)"
        for old_key, new in used
    )
    return merged, lines


def _is_set(entry: Mapping[str, Any], path: list[str]) -> bool:
    node: Any = entry
    for part in path:
        if not isinstance(node, Mapping) or node.get(part) is None:
            return False
        node = node[part]
    return True


def _old_workload_key(key: str, value: Any) -> Any:
    """An old workload.* job key, checked as before under its own name."""
    name = f"workload.{key}"
    if key == "numParts":
        return _int_at_least(1)(name, value)
    if key == "partSize":
        parse_byte_size(name, value)
        return _string(name, value)
    if key == "keywords":
        return ",".join(_keywords(name, value))
    if key == "match":
        return _one_of(MATCH_MODES)(name, value)
    if key == "parallelism":
        return _int_at_least(1)(name, value)
    if key == "retries":
        return _int_at_least(0)(name, value)
    if key == "image":
        _image(_present(value), "workload.image")
        return value
    if key == "resources":
        _resources(_present(value))
        return value
    _schedule(value, "workload.schedule")
    return value


def _parallelism_key(name: str, workload: Mapping[str, Any]) -> str:
    if name == DEFAULT_JOB and workload.get("parallelism") is not None:
        return "workload.parallelism"
    return f"jobs.{name}.parallelism"


def _job(name: str, raw: Mapping[str, Any]) -> JobConfig:
    key = f"jobs.{name}"
    section = _Section(key, raw, FIELDS[f"jobs.{JOB_PLACEHOLDER}"])
    chart = _job_chart(f"{key}.chart", raw.get("chart", name))
    parallelism = section.get("parallelism", DEFAULT_PARALLELISM, _int_at_least(1))
    retries = section.get("retries", DEFAULT_RETRIES, _int_at_least(0))
    user = section.get("values", {}, _mapping)
    for program_key in PROGRAM_JOB_VALUES:
        if program_key in user:
            raise ConfigError(
                f"{key}.values.{program_key}: set by the program from the platform release; "
                "configure the platform with workload.values and storage.* instead"
            )
    ours: dict[str, Any] = {
        # Pinned so the program knows the names the chart derives from it (the template).
        "fullnameOverride": name,
        "templateName": name,
        "workflow": {"parallelism": parallelism, "retry": {"limit": retries}},
    }
    image = _image(_present(raw.get("image")), f"{key}.image")
    image_values = {
        field: value
        for field, value in (
            ("registry", image.registry),
            ("repository", image.repository),
            ("tag", image.tag),
        )
        if value is not None
    }
    if image_values:
        ours["image"] = image_values
    if raw.get("resources") is not None:
        ours["resources"] = _mapping(f"{key}.resources", raw["resources"])
    if raw.get("schedule") is not None:
        schedule = _schedule(raw["schedule"], f"{key}.schedule")
        ours["schedule"] = {"enabled": True, "cron": schedule.cron}
        if schedule.timezone is not None:
            ours["schedule"]["timezone"] = schedule.timezone
    values = merge_values(ours, user)
    full = merge_values(chart_defaults(chart), values)
    _check_job_values(name, chart, full)
    return JobConfig(
        name=name,
        chart=chart,
        parallelism=full["workflow"]["parallelism"],
        retries=full["workflow"]["retry"]["limit"],
        values=values,
        template_name=template_name(full),
    )


def template_name(values: Mapping[str, Any]) -> str:
    """The WorkflowTemplate's name, as the job charts derive it: templateName, else the
    fullname."""
    name = values["templateName"]
    return name if name != "" else values["fullnameOverride"]


def _job_chart(key: str, value: Any) -> Path:
    """A job chart: a directory under charts/ by name, or a path (relative to the project)."""
    text = _string(key, value)
    path = (CHARTS_DIR / text) if "/" not in text else (REPO_ROOT / Path(text).expanduser())
    try:
        path = path.resolve()
        found = _echoable(key, value) and (path / "Chart.yaml").is_file()
    except OSError:  # e.g. a name too long for the file system
        found = False
    if not found:
        choices = ", ".join(path.name for path in job_chart_dirs())
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a chart directory (none with a Chart.yaml "
            f"there); give a directory under charts/ ({choices}) or a path to one"
        )
    if path in (LIBRARY_CHART.resolve(), PLATFORM_CHART.resolve()):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a job chart (the library and the platform "
            "chart are installed by the program, not as jobs)"
        )
    return path


def _check_job_values(name: str, chart: Path, values: Mapping[str, Any]) -> None:
    """The job release's values over the chart's values.yaml, against its values.schema.json
    (what Helm checks at install, here at preview), and what only the job's own parsers know."""
    key = f"jobs.{name}.values"
    schema = chart_schema(chart)
    if schema is not None:
        validator = jsonschema.Draft7Validator(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(values))
        if error is not None:
            raise ConfigError(_schema_error(name, chart, error))
    if chart == LOG_COUNT_CHART.resolve():
        job = values["job"]
        if job.get("partSize"):
            parse_byte_size(f"{key}.job.partSize", job["partSize"])
        _keywords(f"{key}.job.keywords", str(job["keywords"]).split(","))


def _schema_error(name: str, chart: Path, error: jsonschema.ValidationError) -> str:
    """One line: the job, the chart value's key path (in the merged values, whichever config
    key set it), the value unless long or secret, and what the chart's schema allows."""
    path = ".".join(str(part) for part in error.absolute_path) or "(the values)"
    key = f"jobs.{name}"
    where = f"by chart {_chart_label(chart)}'s values.schema.json"
    rule, allowed = error.validator, error.validator_value
    if rule == "additionalProperties":
        known = sorted((error.schema.get("properties") or {}).keys())
        given = error.instance if isinstance(error.instance, dict) else {}
        unknown = sorted(set(given) - set(known))
        close = difflib.get_close_matches(unknown[0], known, n=1) if unknown else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"{key}: chart value {path}: unknown key(s) {unknown}, not allowed {where}{hint}; "
            f"allowed: {', '.join(known)}"
        )
    if rule == "required":
        return f"{key}: chart value {path}: {error.message} {where}"
    wanted = _SCHEMA_RULES.get(rule)
    allowed_text = (
        wanted(allowed) if wanted else f"what the schema's {rule!r} rule says ({error.message})"
    )
    return (
        f"{key}: chart value {path}: {_shown(key, error.instance)} is not allowed {where}; "
        f"allowed: {allowed_text}"
    )


# How a schema error says what is allowed, by the JSON Schema keyword that failed.
_SCHEMA_RULES: dict[str, Callable[[Any], str]] = {
    "type": lambda allowed: f"a value of type {allowed}",
    "enum": lambda allowed: ", ".join(map(str, allowed)),
    "const": lambda allowed: repr(allowed),
    "minimum": lambda allowed: f"a number >= {allowed}",
    "maximum": lambda allowed: f"a number <= {allowed}",
    "exclusiveMinimum": lambda allowed: f"a number > {allowed}",
    "exclusiveMaximum": lambda allowed: f"a number < {allowed}",
    "pattern": lambda allowed: f"a string matching {allowed}",
    "minLength": lambda allowed: f"at least {allowed} characters",
    "maxLength": lambda allowed: f"at most {allowed} characters",
    "minItems": lambda allowed: f"at least {allowed} items",
    "maxItems": lambda allowed: f"at most {allowed} items",
}


def _chart_label(chart: Path) -> str:
    return chart.name if chart.parent == CHARTS_DIR.resolve() else str(chart)


def _image(raw: Any, key: str) -> ImageConfig:
    section = _Section(key, raw, FIELDS["workload.image"])
    return ImageConfig(
        registry=section.get("registry", None, _string),
        repository=section.get("repository", None, _string),
        tag=section.get("tag", None, _string),
    )


def _resources(raw: Any) -> dict[str, dict[str, dict[str, str]]]:
    section = _Section("workload.resources", raw)
    resources = {}
    for step in STEPS:
        if step not in section.raw:
            continue
        step_key = f"workload.resources.{step}"
        step_section = _Section(step_key, section.raw[step], ("requests", "limits"))
        resources[step] = {
            kind: {
                name: _quantity(f"{step_key}.{kind}.{name}", quantity)
                for name, quantity in _Section(
                    f"{step_key}.{kind}", step_section.raw[kind], RESOURCE_NAMES
                ).raw.items()
            }
            for kind in ("requests", "limits")
            if kind in step_section.raw
        }
    return resources


def _compute(raw: Any, target: str) -> ComputeConfig:
    section = _Section("workload.compute", raw)
    allowed = COMPUTE_PROFILES[target]
    default = SPECS[target].default_compute
    profile = section.get("profile", default, _one_of(allowed, f"with target {target}"))
    for key in ("eci", "acs"):
        if key in section.raw and profile != key:
            raise ConfigError(
                f"workload.compute.{key}: only used with workload.compute.profile "
                f"{key}; this stack's profile is {profile!r}"
            )
    return ComputeConfig(
        profile=profile,
        eci=_eci(_present(section.raw.get("eci"))) if profile == "eci" else None,
        acs=_acs(_present(section.raw.get("acs"))) if profile == "acs" else None,
    )


def _eci(raw: Any) -> EciConfig:
    key = "workload.compute.eci"
    section = _Section("workload.compute.eci", raw)
    use_specs = section.get("useSpecs", [], _list_of(_string))
    if len(use_specs) > MAX_ECI_SPECS:
        raise ConfigError(
            f"{key}.useSpecs: {_shown(key, use_specs)} lists {len(use_specs)} specs; ECI "
            f"accepts at most {MAX_ECI_SPECS}"
        )
    spot_strategy = section.get("spotStrategy", None, _one_of(SPOT_STRATEGIES))
    spot_price_limit = section.get("spotPriceLimit", None, _positive_decimal)
    if (spot_strategy == "SpotWithPriceLimit") != (spot_price_limit is not None):
        raise ConfigError(
            f"{key}.spotPriceLimit: {spot_price_limit!r} with spotStrategy {spot_strategy!r}; "
            "a price limit is required with SpotWithPriceLimit and allowed only with it"
        )
    return EciConfig(
        use_specs=tuple(use_specs),
        spot_strategy=spot_strategy,
        spot_price_limit=spot_price_limit,
        image_cache=section.get("imageCache", None, _bool),
        extra_ephemeral_storage=section.get("extraEphemeralStorage", None, _quantity),
    )


def _acs(raw: Any) -> AcsConfig:
    section = _Section("workload.compute.acs", raw)
    return AcsConfig(
        compute_class=section.get("computeClass", None, _one_of(ACS_COMPUTE_CLASSES)),
        compute_qos=section.get("computeQos", None, _one_of(ACS_COMPUTE_QOS)),
    )


def _schedule(raw: Any, key: str) -> ScheduleConfig:
    section = _Section(key, raw, FIELDS["workload.schedule"])
    if "cron" not in section.raw:
        raise ConfigError(f"{key}.cron: required when {key} is set, e.g. '0 2 * * *'")
    return ScheduleConfig(
        cron=section.get("cron", None, _cron),
        timezone=section.get("timezone", None, _timezone),
    )


# --------------------------------------------------------------------------- readers

T = TypeVar("T")
Parser = Callable[[str, Any], T]


class _Section:
    """One object-valued key: rejects unknown fields, reads the known ones with defaults."""

    def __init__(self, key: str, raw: Any, fields: tuple[str, ...] | None = None) -> None:
        fields = FIELDS[key] if fields is None else fields
        self.key = key
        self.raw = _mapping(key, raw)
        unknown = sorted(set(self.raw) - set(fields))
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), fields, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{key}: unknown key(s) {unknown}; allowed: {sorted(fields)}{hint}")

    def get(self, field: str, default: T, parse: Parser[T]) -> T:
        value = self.raw.get(field)
        if value is None:
            return default
        return parse(f"{self.key}.{field}", value)


def _present(value: Any) -> Any:
    """An absent object as an empty one; anything else is left for _Section to check."""
    return {} if value is None else value


def _scalar(reader: ConfigReader, key: str, default: Any) -> Any:
    value = reader.get(key)
    return default if value is None else value


def _object(reader: ConfigReader, key: str) -> Any:
    """A structured key; pulumi.Config hands these over as JSON text.

    An empty object counts as absent: Pulumi.yaml declares every object key with default {},
    which the CLI passes to every stack that does not set the key.
    """
    value = reader.get(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(
                f"{key}: {_shown(key, value)} is not an object; set its fields with "
                f"`pulumi config set --path {key}.<field> <value>`"
            ) from None
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not an object; set its fields with "
            f"`pulumi config set --path {key}.<field> <value>`"
        )
    return value if value else None


def _mapping(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: {_shown(key, value)} is not an object (a map of keys to values)")
    return dict(value)


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: {_shown(key, value)} is not a non-empty string")
    return value


def _bool(key: str, value: Any) -> bool:
    # `pulumi config set --path` may store booleans as the strings "true"/"false".
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ConfigError(f"{key}: {_shown(key, value)} is not a boolean; allowed: true, false")


def _int_at_least(minimum: int) -> Parser[int]:
    def parse(key: str, value: Any) -> int:
        number = value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            number = int(value)
        if isinstance(number, bool) or not isinstance(number, int) or number < minimum:
            raise ConfigError(f"{key}: {_shown(key, value)} is not an integer >= {minimum}")
        return number

    return parse


def _one_of(allowed: tuple[str, ...], where: str = "") -> Parser[str]:
    def parse(key: str, value: Any) -> str:
        return _choice(key, value, allowed, where)

    return parse


def _choice(key: str, value: Any, allowed: tuple[str, ...], where: str = "") -> str:
    if value not in allowed:
        suffix = f" {where}" if where else ""
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not allowed{suffix}; allowed: {', '.join(allowed)}"
        )
    return value


def _list_of(item: Parser[T]) -> Parser[list[T]]:
    def parse(key: str, value: Any) -> list[T]:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: {_shown(key, value)} is not a list")
        return [item(f"{key}[{index}]", element) for index, element in enumerate(value)]

    return parse


def _keywords(key: str, value: Any) -> list[str]:
    keywords = _list_of(_string)(key, value)
    if not keywords:
        raise ConfigError(f"{key}: [] is empty; give at least one keyword")
    for keyword in keywords:
        # The workflow parameter carries them comma-separated.
        if "," in keyword:
            raise ConfigError(
                f"{key}: {_shown(key, keyword)} contains a comma; keywords are passed "
                "comma-separated, so each must be free of commas"
            )
    job = _job_module()
    try:
        job.parse_keywords(",".join(keywords), key)
    except job.UsageError as err:
        allowed = "a list of distinct keywords without newlines"
        raise ConfigError(_job_error(key, keywords, err, allowed)) from None
    return keywords


def _quantity(key: str, value: Any) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _QUANTITY.match(text):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a Kubernetes quantity (e.g. 100Gi, 512Mi, 500m, 2)"
        )
    return text


def _positive_number(key: str, value: Any) -> float:
    number: Any = value
    if isinstance(value, str) and _DECIMAL.match(value):
        number = float(value)
    if isinstance(number, bool) or not isinstance(number, int | float) or not number > 0:
        raise ConfigError(f"{key}: {_shown(key, value)} is not a number > 0, e.g. 50 or 12.5")
    return float(number)


def _pinned_image(key: str, value: Any) -> str:
    """An image reference with a tag other than `latest`, or a digest: never a moving target."""
    text = _string(key, value)
    name, _, digest = text.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if " " in text or not (digest.startswith("sha256:") or (tag and tag != "latest")):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a pinned image; give a version tag or a "
            f"digest, e.g. {POSTGRES_IMAGE}"
        )
    return text


def _ttl(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _TTL.match(value) or int(value[:-1]) == 0:
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a duration such as 30d, 12h, 90m or 3600s"
        )
    return value


def _positive_decimal(key: str, value: Any) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    try:
        valid = isinstance(text, str) and bool(_DECIMAL.match(text)) and Decimal(text) > 0
    except InvalidOperation:
        valid = False
    if not valid:
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a decimal number > 0 written as a string, "
            'e.g. "0.5"'
        )
    return text


def _network(key: str, value: Any) -> str:
    try:
        network = ipaddress.IPv4Network(_string(key, value))
    except ValueError as err:
        reason = f" ({err})" if _echoable(key, value) else ""  # the reason quotes the value
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not an IPv4 CIDR such as 10.0.0.0/16{reason}"
        ) from None
    return str(network)


def _zone_id(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _ZONE_ID.match(value):
        raise ConfigError(f"{key}: {_shown(key, value)} is not a zone id such as cn-hangzhou-h")
    return value


def _semver(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _SEMVER.match(value):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a chart version such as {ARGO_CHART_VERSION}"
        )
    return value


def _dns_label(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _DNS_LABEL.match(value):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a Kubernetes name (lowercase letters, digits "
            "and '-', at most 63, starting and ending alphanumeric)"
        )
    return value


def _dns_subdomain(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _DNS_SUBDOMAIN.match(value):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a Kubernetes object name (lowercase letters, "
            "digits, '-' and '.')"
        )
    return value


def _cluster_name(key: str, value: Any) -> str:
    # A DNS label starting with a letter: ACK One refuses a leading digit, and so does the NAS
    # access group named after the cluster; kind prefixes node containers with the name.
    if (
        not isinstance(value, str)
        or not _DNS_LABEL.match(value)
        or not value[0].isalpha()
        or len(value) > 50
    ):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a cluster name (lowercase letters, digits "
            "and '-', starting with a letter, at most 50)"
        )
    return value


def _absolute_path(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not an absolute path (it must start with '/')"
        )
    return value


def _volume_path(key: str, value: Any) -> str:
    """An absolute path a volume may expose: not /, nor a system directory, inside or around one."""
    path = "/" + posixpath.normpath(_absolute_path(key, value)).lstrip("/")
    for system in SYSTEM_PATHS:
        inside = path == system or path.startswith(f"{system}/")
        around = path == "/" or system.startswith(f"{path}/")
        if inside or around:
            raise ConfigError(
                f"{key}: {_shown(key, value)} is, contains or is inside the system directory "
                f"{system}; use a directory of its own such as {NODE_DATA_PATH}"
            )
    return value


def _local_dir(key: str, value: Any) -> Path:
    """storage.localDir: relative paths are from the project directory. Whether it exists is
    checked where it is used (`workflows submit --input`), as for kind.dataDir: a stack file may
    name a mount that is only there on the machines that stage inputs."""
    return (REPO_ROOT / Path(_string(key, value)).expanduser()).resolve()


def _data_dir(key: str, value: Any) -> str:
    """kind.dataDir: a volume path (above) that is not the home directory or one around it."""
    path = Path(posixpath.normpath(_volume_path(key, value)))
    # Path.home() reads $HOME, like the ~ of every other path the program is given.
    home = Path.home()
    if path == home or path in home.parents:
        raise ConfigError(
            f"{key}: {_shown(key, value)} is your home directory or contains it; every "
            "step could write there: use a directory of its own, e.g. <repo>/.data/<stack>"
        )
    return value


def _namespace(key: str, value: Any) -> str:
    name = _dns_label(key, value)
    if name in RESERVED_NAMESPACES:
        raise ConfigError(
            f"{key}: {name!r} is reserved; allowed: a namespace of its own, not "
            f"{', '.join(RESERVED_NAMESPACES)}"
        )
    return name


def _sample_input_size(value: Any) -> int:
    key = "storage.oss.sampleInputSize"
    size = parse_byte_size(key, value)
    if size > MAX_SAMPLE_INPUT_SIZE:
        raise ConfigError(
            f"{key}: {_shown(key, value)} is above 1GiB, the most `pulumi up` generates and "
            "uploads; upload bigger input with `python -m workflows submit --input`"
        )
    return size


def _oss_bucket(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _OSS_BUCKET.match(value):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not an OSS bucket name (3-63 lowercase letters, "
            "digits and '-', starting and ending alphanumeric)"
        )
    return value


def _cron(key: str, value: Any) -> str:
    fields = value.split() if isinstance(value, str) else []
    if len(fields) != 5 or not all(_CRON_FIELD.match(field) for field in fields):
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not a 5-field cron expression such as '0 2 * * *'"
        )
    return value


def _timezone(key: str, value: Any) -> str:
    try:
        zoneinfo.ZoneInfo(_string(key, value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
        raise ConfigError(
            f"{key}: {_shown(key, value)} is not an IANA time zone such as Asia/Shanghai"
        ) from None
    return value
