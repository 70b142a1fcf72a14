"""`retry`: Argo's retry of a failed run's failed nodes, through the Kubernetes API.

Argo's retry (`argo retry`, the Argo Server's `PUT /api/v1/workflows/{ns}/{name}/retry`) is not a
controller operation: the server (util.FormulateRetryWorkflow, the same on v3.7 and v4.0) edits
the Workflow object and deletes pods, and the controller then carries on with the object as
edited. This module does the same edit with the stack's kubeconfig, as `submit` and `result` talk
to the cluster, so it needs no Argo Server (which the chosen auth mode may not admit from here):

- only a Failed or Error workflow is retried; its `completed` and archiving labels go, its phase,
  message and finish time are cleared, its start time is now, a shutdown is cleared, and its
  `Completed` condition is set to False;
- every failed pod node whose retry node has no succeeded attempt is deleted with everything
  downstream of it in the DAG (its `children`), and so is its pod; the nodes on its path from the
  root (its failed retry node, task group, DAG) are reset to Running (Skipped ones stay Skipped);
- every other node, the succeeded pods of a fan-out included, is kept as it is.

The controller then recreates the deleted nodes: log-count's counts of the shards that failed
run again (a count whose intact count file exists exits at once), and merge runs again.

A wide run's nodes may not be in the Workflow: compressed, or offloaded to Argo's database. The
edit is made on the nodes wherever they are and stored back the same way (nodestatus, offload),
as the Argo Server's retry does with its hydrator.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from workflows.runs import argo, nodestatus
from workflows.runs.errors import EXIT_USAGE, RunError

ARCHIVING_LABEL = "workflows.argoproj.io/workflow-archiving-status"
NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
_GROUP_TYPES = ("DAG", "TaskGroup", "StepGroup", "Steps")
_EXECUTION_TYPES = ("Container", "Pod", "HTTP", "Plugin")


@dataclass(frozen=True)
class RetryPlan:
    workflow: dict[str, Any]  # the Workflow as it is to be stored
    deleted_nodes: frozenset[str]  # node ids removed from the status
    reset_nodes: frozenset[str]  # node ids set back to Running
    pod_nodes: frozenset[str]  # ids of deleted Pod nodes: their pods are deleted


def plan_retry(workflow: Mapping[str, Any], now: datetime | None = None) -> RetryPlan:
    """The Workflow after Argo's retry of its failed nodes (see the module docstring)."""
    name = workflow["metadata"]["name"]
    status = workflow.get("status") or {}
    phase = status.get("phase") or ""
    if phase not in argo.FAILED_PHASES:
        raise RunError(
            f"workflow {name} is {phase or 'not finished'}: only a Failed or Error run can be "
            "retried",
            EXIT_USAGE,
        )
    if nodestatus.storage(workflow) != nodestatus.INLINE:
        raise ValueError(f"workflow {name}: plan_retry takes a hydrated Workflow (nodestatus)")
    nodes: dict[str, dict[str, Any]] = copy.deepcopy(dict(status.get("nodes") or {}))
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    retried = _new_workflow(workflow, stamp)

    failed = set()
    for node_id, node in nodes.items():
        if node.get("phase") in argo.FAILED_PHASES and node.get("type") in _EXECUTION_TYPES:
            owner = node
            if (node.get("nodeFlag") or {}).get("retried"):
                owner = _retry_node_of(nodes, node_id) or node
            if not _descendant_succeeded(nodes, owner):
                failed.add(node_id)

    graph = _Graph(nodes, name)
    to_reset: set[str] = set()
    to_delete: set[str] = set()
    for node_id in graph.breadth_first():  # nodes nearer the root take precedence
        if node_id in failed and node_id not in to_delete:
            reset, delete = graph.reset_path(node_id)
            to_reset |= reset
            to_delete |= delete

    on_exit = f"{name}.onExit"
    kept: dict[str, dict[str, Any]] = {}
    for node_id in to_reset - to_delete:
        kept[node_id] = _reset_node(nodes[node_id], stamp)
    pods = {node_id for node_id in to_delete if nodes[node_id].get("type") == "Pod"}
    for node_id, node in nodes.items():
        if str(node.get("name", "")).startswith(on_exit):
            to_delete.add(node_id)  # the exit handler runs again
            pods |= {child for child in graph.descendants(node_id) | {node_id}}
        elif node_id not in kept and node_id not in to_delete:
            kept[node_id] = copy.deepcopy(node)
    for node in kept.values():
        for key in ("children", "outboundNodes"):
            if key in node:
                node[key] = [child for child in node[key] if child not in to_delete]
    retried["status"]["nodes"] = kept
    return RetryPlan(
        retried,
        frozenset(to_delete),
        frozenset(to_reset - to_delete),
        frozenset(node_id for node_id in pods if nodes[node_id].get("type") == "Pod"),
    )


def _new_workflow(workflow: Mapping[str, Any], stamp: str) -> dict[str, Any]:
    """Argo's createNewRetryWorkflow: the fields that said the run had completed, cleared."""
    retried = copy.deepcopy(dict(workflow))
    labels = retried["metadata"].get("labels") or {}
    for label in (argo.COMPLETED_LABEL, ARCHIVING_LABEL):
        labels.pop(label, None)
    status = retried.setdefault("status", {})
    completed = {"type": "Completed", "status": "False"}  # UpsertCondition: in its place
    conditions = list(status.get("conditions") or [])
    places = [i for i, condition in enumerate(conditions) if condition.get("type") == "Completed"]
    if places:
        conditions[places[0]] = completed
    else:
        conditions.append(completed)
    status["conditions"] = conditions
    for key in ("phase", "message", "finishedAt"):
        status.pop(key, None)
    status["startedAt"] = stamp
    if "storedWorkflowTemplateSpec" in status:
        status["storedWorkflowTemplateSpec"].pop("shutdown", None)
    retried.setdefault("spec", {}).pop("shutdown", None)
    status["persistentVolumeClaims"] = []
    if retried["spec"].get("activeDeadlineSeconds") == 0:  # a terminated run: no deadline left
        del retried["spec"]["activeDeadlineSeconds"]
    return retried


def _retry_node_of(nodes: Mapping[str, Mapping[str, Any]], child: str) -> dict[str, Any] | None:
    for node in nodes.values():
        if node.get("type") == "Retry" and child in (node.get("children") or []):
            return dict(node)
    return None


def _descendant_succeeded(nodes: Mapping[str, Mapping[str, Any]], node: Mapping[str, Any]) -> bool:
    """Argo's isDescendantNodeSucceeded: some node below this one (children, recursively)
    succeeded, e.g. a later attempt of a retried step."""
    pending = list(node.get("children") or [])
    seen = set()
    while pending:
        child_id = pending.pop()
        if child_id in seen or child_id not in nodes:
            continue
        seen.add(child_id)
        child = nodes[child_id]
        if child.get("phase") == argo.SUCCEEDED:
            return True
        pending += child.get("children") or []
    return False


def _reset_node(node: Mapping[str, Any], stamp: str) -> dict[str, Any]:
    reset = copy.deepcopy(dict(node))
    if reset.get("phase") != "Skipped":  # a skipped node stays skipped, or the run never ends
        reset["phase"] = "Running"
    reset.pop("message", None)
    reset.pop("finishedAt", None)
    reset["startedAt"] = stamp
    return reset


class _Graph:
    """The node tree Argo's retry walks: `children` edges; a node's parent is a node listing it
    (in a DAG a task's children are its dependants' nodes)."""

    def __init__(self, nodes: Mapping[str, Mapping[str, Any]], root_name: str) -> None:
        self.nodes = nodes
        self.parent: dict[str, str] = {}
        for node_id, node in nodes.items():
            for child in node.get("children") or []:
                if child not in nodes:
                    raise RunError(f"node {node_id} lists a child {child} the status lacks")
                self.parent.setdefault(child, node_id)
        roots = [node_id for node_id, node in nodes.items() if node.get("name") == root_name]
        if len(roots) != 1:
            raise RunError(f"the status of workflow {root_name} has no root node")
        self.root = roots[0]

    def breadth_first(self) -> list[str]:
        order, seen, queue = [], {self.root}, deque([self.root])
        while queue:
            node_id = queue.popleft()
            order.append(node_id)
            for child in self.nodes[node_id].get("children") or []:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        return order

    def descendants(self, node_id: str) -> set[str]:
        found: set[str] = set()
        pending = list(self.nodes[node_id].get("children") or [])
        while pending:
            child = pending.pop()
            if child not in found:
                found.add(child)
                pending += self.nodes[child].get("children") or []
        return found

    def _type(self, node_id: str | None) -> str | None:
        return None if node_id is None else self.nodes[node_id].get("type")

    def reset_path(self, start: str) -> tuple[set[str], set[str]]:
        """Argo's resetPath: delete the node and everything below it; reset the retry nodes,
        groups and boundaries on its way up to the root."""
        to_delete = self.descendants(start) | {start}
        to_reset: set[str] = set()
        if start == self.root:
            return to_reset, to_delete
        current: str | None = start
        while current is not None:
            node = self.nodes[current]
            kind = node.get("type")
            if kind in _GROUP_TYPES:
                to_reset.add(current)
                current = self._reset_boundaries(current, to_reset)
                continue
            if kind == "Retry" and node.get("phase") in argo.FAILED_PHASES:
                to_reset.add(current)
            elif kind == "Container":  # a containerSet's container: its pod goes too
                pod = self._reset_until(current, lambda n: self._type(n) == "Pod", to_reset)
                to_delete |= self.descendants(pod) | {pod}
                current = pod
                continue
            current = self.parent.get(current)
        return to_reset, to_delete

    def _reset_until(self, start: str, matches: Any, to_reset: set[str]) -> str:
        current: str | None = start
        while current is not None:
            if matches(current):
                to_reset.add(current)
                return current
            current = self.parent.get(current)
        raise RunError(f"node {start}: no enclosing node to reset")

    def _reset_boundaries(self, start: str, to_reset: set[str]) -> str | None:
        current: str | None = start
        while current is not None:
            parent = self.parent.get(current)
            if self._type(parent) == "Retry":
                assert parent is not None
                to_reset.add(parent)
                current = parent
                parent = self.parent.get(current)
            if self._type(parent) in ("StepGroup", "TaskGroup"):
                assert parent is not None
                to_reset.add(parent)
            boundary = self.nodes[current].get("boundaryID") or ""
            if not boundary:
                return parent
            current = self._reset_until(current, lambda n, b=boundary: n == b, to_reset)
        return None


def retry(api: argo.ArgoApi, namespace: str, name: str) -> RetryPlan:
    """Retry the run: delete the pods of the failed nodes, then store the edited Workflow with
    its nodes kept as the run kept them: inline, compressed, or offloaded to a new row of Argo's
    database (the update fails, changing nothing more, if the Workflow changed since it was
    read; an offloaded row nothing names is then removed by the controller)."""
    workflow = api.get_workflow(namespace, name)
    if workflow is None:
        raise RunError(f"workflow {name} not found in namespace {namespace!r}")
    how = nodestatus.storage(workflow)
    plan = plan_retry(nodestatus.hydrated(workflow, api.offloads))
    for pod in api.list_pods(namespace, f"{WORKFLOW_LABEL}={name}"):
        annotations = pod["metadata"].get("annotations") or {}
        if annotations.get(NODE_ID_ANNOTATION) in plan.pod_nodes:
            api.delete_pod(namespace, pod["metadata"]["name"])
    api.replace_workflow(namespace, name, nodestatus.dehydrated(plan.workflow, how, api.offloads))
    return plan
