"""What every cluster target declares and gives the rest of the program.

A target is two things: a ``TargetSpec`` (pure data, in ``infra/targets/<name>.py``: its config
section, the storage types and compute profiles it allows, whether Argo is ours to install, how
inputs reach its volume, and where its component lives) and a component built by the function
the spec names, which returns a ``ClusterTarget`` and a ``StorageBinding``. The spec modules
import only this module, so infra/config.py can read them; the components import the config,
never the reverse (tests/unit/test_imports.py checks the graph has no cycle).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from common import exports

# Creates objects that must exist in the workload namespace before the chart, e.g. the Secret an
# OSS volume mounts with; called with the namespace's name and the options to create them with
# (provider, parent, and what must exist first).
NamespacePrerequisites = Callable[
    [pulumi.Input[str], pulumi.ResourceOptions], Sequence[pulumi.Resource]
]


class ClusterTarget(Protocol):
    """What every target's component gives the Platform."""

    provider: k8s.Provider  # the one provider every Kubernetes resource uses
    kubeconfig: pulumi.Output[str]  # a secret
    outputs: dict[str, Any]  # target-specific stack outputs


@dataclass(frozen=True)
class StorageBinding:
    """The chart's storage.* values, plus objects the volume needs in the workload namespace,
    extra stack outputs, and how the run commands stage `--input` (a common.exports.STAGING_*)."""

    values: Mapping[str, Any]
    prerequisites: NamespacePrerequisites | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    input_staging: str = exports.STAGING_NONE

    def __post_init__(self) -> None:
        if self.input_staging not in exports.STAGINGS:
            raise ValueError(
                f"input_staging {self.input_staging!r} is not one of {exports.STAGINGS}"
            )


@dataclass(frozen=True)
class TargetSpec:
    """One target's declaration: read by infra/config.py (validation) and infra/platform.py."""

    name: str  # the value of the `target` key, and the name of its config section
    fields: tuple[str, ...]  # the fields of that section
    storage_types: tuple[str, ...]  # storage.type values allowed here; the first is the default
    compute_profiles: tuple[str, ...]  # workload.compute.profile values allowed here
    default_compute: str  # workload.compute.profile when unset
    # Who runs Argo when the cluster does (argo.install must then stay false); None: Argo is
    # ours to install (argo.install defaults to true).
    argo_manager: str | None
    owns_cluster: bool  # True: the stack creates (and destroy deletes) the cluster
    # "module:function" building the component: (name, Config, ResourceOptions) ->
    # (ClusterTarget, StorageBinding). Named, not imported, so reading a spec loads no cloud SDK.
    component: str
    # Target-specific rules config.py applies (see there): the Argo Server may serve everyone as
    # its own account (local clusters only); storage.localDir may say where this machine sees
    # the volume; storage.nas.server is "required" (the user's file system) or "provisioned".
    local_only_argo_server: bool = False
    local_dir: bool = False
    nas_server: str | None = None

    def __post_init__(self) -> None:
        if self.default_compute not in self.compute_profiles:
            raise ValueError(f"{self.name}: default compute {self.default_compute!r} not allowed")
        if ("nas" in self.storage_types) != (self.nas_server in ("required", "provisioned")):
            raise ValueError(f"{self.name}: nas storage needs nas_server required|provisioned")

    def build(self) -> Callable[..., tuple[ClusterTarget, StorageBinding]]:
        """The component's builder, imported now (the ackone one loads the Alibaba Cloud SDKs)."""
        module, _, function = self.component.partition(":")
        return getattr(importlib.import_module(module), function)
