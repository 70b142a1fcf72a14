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
import copy
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
    """A copy of the Workflow with its nodes in `status.nodes` and neither `compressedNodes`
    nor `offloadNodeStatusVersion`; `offloads` is called only for offloaded nodes."""
    copied = copy.deepcopy(dict(workflow))
    how = storage(workflow)
    if how == INLINE:
        return copied
    status = copied["status"]
    if how == OFFLOADED:
        nodes = offloads().get(workflow["metadata"]["uid"], status["offloadNodeStatusVersion"])
    else:
        nodes = decompress(status["compressedNodes"])
    status.pop("compressedNodes", None)
    status.pop("offloadNodeStatusVersion", None)
    status["nodes"] = nodes
    return copied


def dehydrated(workflow: Mapping[str, Any], how: str, offloads: OffloadsFactory) -> dict[str, Any]:
    """A copy of the hydrated Workflow with its nodes stored `how`."""
    copied = copy.deepcopy(dict(workflow))
    status = copied.setdefault("status", {})
    nodes = status.get("nodes") or {}
    if how == INLINE:
        return copied
    if how == COMPRESSED:
        status["compressedNodes"] = compress(nodes)
    elif how == OFFLOADED:
        metadata = copied["metadata"]
        status["offloadNodeStatusVersion"] = offloads().save(
            metadata["uid"], metadata["namespace"], nodes
        )
    else:
        raise ValueError(
            f"node status storage {how!r}: allowed {INLINE}, {COMPRESSED}, {OFFLOADED}"
        )
    status.pop("nodes", None)
    return copied


def decompress(value: str) -> Nodes:
    """`status.compressedNodes`: base64 of the gzip of the nodes' JSON (Argo's packer)."""
    return json.loads(gzip.decompress(base64.b64decode(value)))


def compress(nodes: Mapping[str, Any]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(nodes).encode())).decode()
