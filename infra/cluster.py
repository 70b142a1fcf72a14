"""The kind and existing targets' components (declared in infra/targets/kind.py, existing.py):
each gives the one kubernetes.Provider every Kubernetes resource uses.

A target component exposes ``provider`` (the explicit provider), ``kubeconfig`` (a secret Output)
and ``outputs`` (target-specific stack outputs; none for these two). ``build_kind`` and
``build_existing`` are the builders the specs name: they add the StorageBinding of
infra/targets/contracts.py.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s
import yaml

from common import exports
from infra.config import Config, ConfigError, ExistingConfig, KindConfig
from infra.storage import storage_values
from infra.targets.contracts import ClusterTarget, StorageBinding


class MissingToolError(RuntimeError):
    """A command-line tool the target needs is not on PATH."""


def require_tools(*tools: str, purpose: str) -> None:
    """Fail at program time, before anything is created, naming every missing tool."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise MissingToolError(
            f"{', '.join(missing)} not found on PATH; {purpose} needs "
            f"{' and '.join(tools)} (install: https://docs.docker.com/get-docker/ and "
            "https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
        )


def kind_cluster_config(kind: KindConfig) -> str:
    """kind's Cluster config: every node mounts the stack's dataDir at the hostPath PV path."""
    mounts = [{"hostPath": str(kind.data_dir), "containerPath": kind.node_data_path}]
    nodes = [{"role": "control-plane", "image": kind.node_image, "extraMounts": mounts}]
    nodes += [{"role": "worker", "image": kind.node_image, "extraMounts": mounts}] * kind.workers
    return yaml.safe_dump(
        {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": nodes},
        sort_keys=False,
    )


def kind_create_script(cluster_name: str) -> str:
    """The shell command that prepares dataDir and creates the cluster (config on stdin).

    dataDir is made world-writable and sticky (like /tmp) only when this command creates it: the
    steps run as uid 1000 and write through the bind mount whatever the host user's uid is, and
    one user must not delete another's files. A directory that exists already (chosen by the
    user, or left by an earlier cluster of this stack) keeps its mode. `--kubeconfig` sends the
    admin credentials kind writes to a private file that is removed at once, instead of into
    ~/.kube/config with a switch of its current context; the stack reads them with
    `kind get kubeconfig` into a secret output.
    """
    return (
        'if [ ! -e "$DATA_DIR" ]; then mkdir -p "$DATA_DIR" && chmod 1777 "$DATA_DIR"; fi && '
        'private="$(mktemp -d)" && trap \'rm -rf "$private"\' EXIT && '
        f"kind create cluster --name {cluster_name} --config - --wait 180s "
        '--kubeconfig "$private/kubeconfig"'
    )


def kind_delete_script(cluster_name: str) -> str:
    """`kind delete cluster`, pointed at an empty private kubeconfig so it edits no other one."""
    return (
        'private="$(mktemp -d)" && trap \'rm -rf "$private"\' EXIT && '
        f'kind delete cluster --name {cluster_name} --kubeconfig "$private/kubeconfig"'
    )


@dataclass(frozen=True)
class KindClusterArgs:
    config: KindConfig


class KindCluster(pulumi.ComponentResource):
    """A local kind cluster created and deleted with the kind CLI."""

    def __init__(
        self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:cluster:KindCluster", name, None, opts)
        require_tools("docker", "kind", purpose="target kind")
        kind = args.config
        child = pulumi.ResourceOptions(parent=self)
        cluster = command.local.Command(
            f"{name}-cluster",
            create=kind_create_script(kind.cluster_name),
            delete=kind_delete_script(kind.cluster_name),
            stdin=kind_cluster_config(kind),
            environment={"DATA_DIR": str(kind.data_dir)},
            # Without an `update` command, pulumi-command re-runs `create` in place when an
            # input changes, i.e. `kind create cluster` beside the live cluster. Any change
            # replaces instead: the old state's delete removes the old cluster (by its own name),
            # then the new one is created; kind cannot run two clusters of one name at once.
            opts=pulumi.ResourceOptions(
                parent=self, replace_on_changes=["*"], delete_before_replace=True
            ),
        )
        kubeconfig = command.local.Command(
            f"{name}-kubeconfig",
            create=f"kind get kubeconfig --name {kind.cluster_name}",
            # A re-created cluster has new certificates and a new port.
            triggers=[cluster.id],
            # stdout is the admin kubeconfig, client key included: captured into the secret
            # output only, never printed to the console or the update log (pulumi-command logs
            # stdout and stderr unless told otherwise).
            logging=command.local.Logging.STDERR,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[cluster], additional_secret_outputs=["stdout"]
            ),
        )
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(kubeconfig.stdout)
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            # A cluster deleted behind Pulumi's back must not block `pulumi destroy`.
            delete_unreachable=True,
            opts=child,
        )
        # dataDir is exported with the hostPath storage it backs (build_kind).
        self.outputs: dict[str, Any] = {}
        self.register_outputs({"kubeconfig": self.kubeconfig})


@dataclass(frozen=True)
class ExistingClusterArgs:
    config: ExistingConfig


class ExistingCluster(pulumi.ComponentResource):
    """A cluster someone else runs, reached through a kubeconfig and/or context."""

    def __init__(
        self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:cluster:ExistingCluster", name, None, opts)
        self.kubeconfig = pulumi.Output.secret(resolve_kubeconfig(args.config))
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            context=args.config.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.outputs: dict[str, Any] = {}
        self.register_outputs({"kubeconfig": self.kubeconfig})


def build_kind(
    name: str, cfg: Config, opts: pulumi.ResourceOptions
) -> tuple[ClusterTarget, StorageBinding]:
    """Target kind: the cluster, and its storage (hostPath backed by kind.dataDir, or a claim)."""
    assert cfg.kind is not None
    kind = KindCluster(f"{name}-kind", KindClusterArgs(config=cfg.kind), opts=opts)
    # dataDir only where it is the volume: `workflows submit --input` stages files into it,
    # which pods mounting an existing claim would never see.
    if cfg.storage.type == "hostPath":
        return kind, StorageBinding(
            values=storage_values(cfg.storage),
            outputs={exports.DATA_DIR: str(cfg.kind.data_dir)},
            input_staging=exports.STAGING_LOCAL_DIR,
        )
    return kind, StorageBinding(values=storage_values(cfg.storage))


def build_existing(
    name: str, cfg: Config, opts: pulumi.ResourceOptions
) -> tuple[ClusterTarget, StorageBinding]:
    """Target existing: the provider for the user's cluster, and the claim or NAS share."""
    assert cfg.existing is not None
    existing = ExistingCluster(
        f"{name}-existing", ExistingClusterArgs(config=cfg.existing), opts=opts
    )
    # storage.localDir: where this machine sees the volume, so `--input` is copied there.
    local_dir = cfg.storage.local_dir
    if local_dir is not None:
        return existing, StorageBinding(
            values=storage_values(cfg.storage),
            outputs={exports.DATA_DIR: str(local_dir)},
            input_staging=exports.STAGING_LOCAL_DIR,
        )
    return existing, StorageBinding(values=storage_values(cfg.storage))


def resolve_kubeconfig(existing: ExistingConfig) -> str:
    """The kubeconfig reduced to the one context the provider uses, with files inlined.

    Like `kubectl config view --minify --flatten`: only the selected context (existing.context,
    else the file's current-context), its cluster and its user, with certificate-authority,
    client-certificate, client-key and tokenFile read into *-data/token, so the exported secret
    carries nothing of the operator's other clusters and works on any machine. Checked here,
    not in infra/config.py: it needs the file's content, which exists only at deploy time.
    """
    source = existing.kubeconfig_source
    if existing.kubeconfig_content is not None:
        text, base = existing.kubeconfig_content, Path.cwd()
    else:
        path = existing.kubeconfig_path
        assert path is not None
        try:
            text = path.read_text()
        except OSError as err:
            raise ConfigError(
                f"existing.kubeconfig: kubeconfig file {str(path)!r} (from {source}) cannot be "
                f"read: {err.strerror}"
            ) from None
        # kubectl resolves relative file references against the kubeconfig's directory.
        base = path.parent
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("contexts"), list):
        raise ConfigError(
            f"existing.kubeconfig: the kubeconfig from {source} is not a kubeconfig "
            "(no contexts list)"
        )
    name = existing.context
    if name is None:
        name = document.get("current-context")
        if not name:
            raise ConfigError(
                f"existing.context: unset, and the kubeconfig from {source} has no "
                f"current-context; set it to one of {_names(document, 'contexts')}"
            )
    context = _entry(document, "contexts", name, source, "existing.context")
    details = context.get("context") or {}
    cluster = _entry(document, "clusters", details.get("cluster"), source, "existing.kubeconfig")
    user = _entry(document, "users", details.get("user"), source, "existing.kubeconfig")
    where = f"context {name!r} of the kubeconfig from {source}"
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [_inlined(cluster, "cluster", _CLUSTER_FILES, base, where)],
            "users": [_inlined(user, "user", _USER_FILES, base, where)],
            "contexts": [context],
            "current-context": name,
        },
        sort_keys=False,
    )


# File references kubectl --flatten inlines: field -> (inlined field, base64-encode?).
_CLUSTER_FILES = {"certificate-authority": ("certificate-authority-data", True)}
_USER_FILES = {
    "client-certificate": ("client-certificate-data", True),
    "client-key": ("client-key-data", True),
    "tokenFile": ("token", False),
}


def _names(document: dict, section: str) -> list[str]:
    return [entry.get("name") for entry in document.get(section) or [] if isinstance(entry, dict)]


def _entry(document: dict, section: str, name: Any, source: str, key: str) -> dict:
    """The named entry of a kubeconfig list (contexts, clusters, users), or a clear error."""
    for entry in document.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    raise ConfigError(
        f"{key}: {name!r} is not among the {section} of the kubeconfig from {source}; "
        f"it has {_names(document, section)}"
    )


def _inlined(
    entry: dict, body_key: str, files: dict[str, tuple[str, bool]], base: Path, where: str
) -> dict:
    """A copy of a cluster or user entry whose file references are replaced by their content."""
    body = dict(entry.get(body_key) or {})
    for field, (data_field, encode) in files.items():
        reference = body.pop(field, None)
        if reference is None:
            continue
        path = base / Path(reference).expanduser()
        try:
            content = path.read_bytes()
        except OSError as err:
            raise ConfigError(
                f"existing.kubeconfig: {body_key} {entry.get('name')!r} of {where} refers to "
                f"{field} {str(path)!r}, which cannot be read: {err.strerror}"
            ) from None
        body[data_field] = (
            base64.b64encode(content).decode() if encode else content.decode().strip()
        )
    return {**entry, body_key: body}
