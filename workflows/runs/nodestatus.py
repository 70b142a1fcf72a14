"""Where a Workflow keeps its node status, and reading and writing it there as Argo does.

Argo's controller (workflow/hydrator, the same on v3.7 and v4.0) stores `status.nodes` one of
three ways:

- inline, in `status.nodes`;
- compressed, in `status.compressedNodes` (the nodes' JSON, gzip, then base64), when the
  Workflow would be larger than its MAX_WORKFLOW_SIZE (1 MB): a fan-out of about a thousand pods;
- offloaded, in Argo's persistence database (`persistence.nodeStatusOffLoad`), when even the
  compressed Workflow is too large (or always, with ALWAYS_OFFLOAD_NODE_STATUS): the Workflow
  keeps only `status.offloadNodeStatusVersion`, the key of the row that holds them.

The run commands read every Workflow through `hydrated` (the Argo Server's Hydrate): progress,
the failed step and `retry` see the nodes however they are stored. `retry` stores its edit
through `dehydrated`, the way the run stored them: compressed stays compressed (inline it could
pass the API server's request limit), and offloaded nodes go to a new row of the database whose
version the Workflow then names (the Argo Server's Dehydrate; the controller removes the old row
once no Workflow names it).
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

INLINE = "inline"
COMPRESSED = "compressed"
OFFLOADED = "offloaded"

Nodes = dict[str, dict[str, Any]]


class Offloads(Protocol):
    """Argo's offloaded node status (sqldb.OffloadNodeStatusRepo's Get and Save)."""

    def get(self, uid: str, version: str) -> Nodes:
        """The nodes stored for the Workflow `uid` under `version`; RunError if none are."""

    def save(self, uid: str, namespace: str, nodes: Mapping[str, Any]) -> str:
        """Store the nodes as a new version of the Workflow's; returns that version."""


OffloadsFactory = Callable[[], Offloads]


def storage(workflow: Mapping[str, Any]) -> str:
    """How the Workflow keeps its nodes: INLINE, COMPRESSED or OFFLOADED."""
    status = workflow.get("status") or {}
    if status.get("offloadNodeStatusVersion"):
        return OFFLOADED
    if status.get("compressedNodes"):
        return COMPRESSED
    return INLINE


def hydrated(workflow: Mapping[str, Any], offloads: OffloadsFactory) -> dict[str, Any]:
    """The Workflow with its nodes in `status.nodes` and neither `compressedNodes` nor
    `offloadNodeStatusVersion`; `offloads` is called only for offloaded nodes. Only `status`
    is new: the rest is shared with `workflow` (not copied on every poll), which is unchanged."""
    how = storage(workflow)
    if how == INLINE:
        return dict(workflow)
    status = {
        key: value
        for key, value in workflow["status"].items()
        if key not in ("compressedNodes", "offloadNodeStatusVersion")
    }
    if how == OFFLOADED:
        version = workflow["status"]["offloadNodeStatusVersion"]
        status["nodes"] = offloads().get(workflow["metadata"]["uid"], version)
    else:
        status["nodes"] = decompress(workflow["status"]["compressedNodes"])
    return {**workflow, "status": status}


def dehydrated(workflow: Mapping[str, Any], how: str, offloads: OffloadsFactory) -> dict[str, Any]:
    """The hydrated Workflow with its nodes stored `how`; as in `hydrated`, only `status` is
    new and `workflow` is unchanged."""
    if how == INLINE:
        return dict(workflow)
    status = dict(workflow.get("status") or {})
    nodes = status.pop("nodes", None) or {}
    if how == COMPRESSED:
        status["compressedNodes"] = compress(nodes)
    elif how == OFFLOADED:
        metadata = workflow["metadata"]
        status["offloadNodeStatusVersion"] = offloads().save(
            metadata["uid"], metadata["namespace"], nodes
        )
    else:
        raise ValueError(
            f"node status storage {how!r}: allowed {INLINE}, {COMPRESSED}, {OFFLOADED}"
        )
    return {**workflow, "status": status}


def decompress(value: str) -> Nodes:
    """`status.compressedNodes`: base64 of the gzip of the nodes' JSON (Argo's packer)."""
    return json.loads(gzip.decompress(base64.b64decode(value)))


def compress(nodes: Mapping[str, Any]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(nodes).encode())).decode()
