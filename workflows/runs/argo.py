"""Argo objects on a stack's cluster: the small API the run commands need, and reading a status.

`ArgoApi` is the interface (tests substitute a fake object layer); `KubernetesArgoApi` implements
it with the Kubernetes Python client built from the stack's kubeconfig output, never the local
default kubeconfig. The functions below it read a Workflow's status: progress, failure, result.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import kubernetes
import urllib3

from workflows.runs.credentials import private_kubeconfig
from workflows.runs.errors import EXIT_USAGE, RunError

GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
# The DAG task names and the merge output of the WorkflowTemplate (docs/architecture.md §2).
SPLIT_TASK = "split"
MAP_TASK = "map"
REDUCE_TASK = "reduce"
RESULT_PARAMETER = "result"
COMPLETED_LABEL = "workflows.argoproj.io/completed"
SUCCEEDED = "Succeeded"
FAILED_PHASES = ("Failed", "Error")
# A retry attempt's node name: its Retry node's name and the attempt number, `<retry>(<n>)`.
_ATTEMPT = re.compile(r"(.*)\((\d+)\)")
# Seconds one API request may take before it counts as the cluster being unreachable.
REQUEST_TIMEOUT = 30


class ArgoApi(Protocol):
    def get_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The WorkflowTemplate, or None when it does not exist."""

    def create_workflow(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create the Workflow and return it as stored (with its generated name)."""

    def get_workflow(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Workflow with its status, or None when it does not exist."""

    def replace_workflow(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store the Workflow as given (its resourceVersion must still be current)."""

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """The pods matching the selector, each with its metadata."""

    def delete_pod(self, namespace: str, name: str) -> None:
        """Delete the pod; one already gone is no error."""


class KubernetesArgoApi:
    """`ArgoApi` over the Kubernetes API server named by a kubeconfig mapping."""

    def __init__(self, kubeconfig: Mapping[str, Any], stack: str) -> None:
        self._stack = stack
        # Its credentials live in memory files for as long as this object (the process) does.
        document, self._credentials = private_kubeconfig(kubeconfig)
        try:
            client = kubernetes.config.new_client_from_config_dict(document)
        except kubernetes.config.ConfigException as err:
            raise RunError(f"stack {stack!r}: its kubeconfig output is unusable: {err}") from None
        self._server = client.configuration.host
        self._objects = kubernetes.client.CustomObjectsApi(client)
        self._core = kubernetes.client.CoreV1Api(client)

    def get_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._get("workflowtemplates", namespace, name)

    def create_workflow(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            self._objects.create_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            "workflows",
            body,
        )

    def get_workflow(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._get("workflows", namespace, name)

    def replace_workflow(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            self._objects.replace_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            "workflows",
            name,
            body,
        )

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        pods = self._call(self._core.list_namespaced_pod, namespace, label_selector=label_selector)
        return [
            {"metadata": {"name": pod.metadata.name, "annotations": pod.metadata.annotations}}
            for pod in pods.items
        ]

    def delete_pod(self, namespace: str, name: str) -> None:
        self._call(self._core.delete_namespaced_pod, name, namespace, missing_ok=True)

    def _get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._call(
            self._objects.get_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            missing_ok=True,
        )

    def _call(self, method: Any, *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        try:
            return method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except urllib3.exceptions.HTTPError as err:
            raise RunError(
                f"cannot reach the cluster of stack {self._stack!r} at {self._server} "
                f"({_reason(err)}): is it running? `pulumi up -s {self._stack}` brings it back"
            ) from None
        except kubernetes.client.ApiException as err:
            if missing_ok and err.status == 404:
                return None
            raise self._api_error(err) from None

    def _api_error(self, err: kubernetes.client.ApiException) -> RunError:
        message = err.reason  # kept when the body is not a Kubernetes Status
        with contextlib.suppress(TypeError, ValueError, KeyError):
            message = json.loads(err.body)["message"]
        return RunError(
            f"the cluster of stack {self._stack!r} refused the request "
            f"(HTTP {err.status}): {message}",
            EXIT_USAGE,
        )


def _reason(err: urllib3.exceptions.HTTPError) -> str:
    """urllib3's innermost reason, without the "<...Connection object at 0x...>: " prefix."""
    text = str(getattr(err, "reason", None) or err)
    return text.split(">: ", 1)[-1]


def workflow_body(template: str, namespace: str, parameters: Mapping[str, str]) -> dict[str, Any]:
    """A Workflow that runs the WorkflowTemplate with these parameters (name generated)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {"generateName": f"{template}-", "namespace": namespace},
        "spec": {
            "workflowTemplateRef": {"name": template},
            "arguments": {
                "parameters": [{"name": key, "value": value} for key, value in parameters.items()]
            },
        },
    }


def template_parameters(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A WorkflowTemplate's workflow parameters as it declares them (name, enum, ...)."""
    return list(template.get("spec", {}).get("arguments", {}).get("parameters", []))


@dataclass(frozen=True)
class Progress:
    """What a poll shows: the workflow phase and how many shards (map items) are done."""

    phase: str
    shards_done: int
    shards_total: int | None  # None until split has reported its shard list

    def describe(self) -> str:
        total = "?" if self.shards_total is None else str(self.shards_total)
        return f"{self.phase or 'Pending'}: shards {self.shards_done}/{total} done"


def phase(workflow: Mapping[str, Any]) -> str:
    return str((workflow.get("status") or {}).get("phase") or "")


def is_finished(workflow: Mapping[str, Any]) -> bool:
    """Finished = a final phase, or the completed label (which says nothing about success)."""
    labels = (workflow.get("metadata") or {}).get("labels") or {}
    return phase(workflow) in (SUCCEEDED, *FAILED_PHASES) or labels.get(COMPLETED_LABEL) == "true"


def progress(workflow: Mapping[str, Any]) -> Progress:
    done = sum(1 for node in map_nodes(workflow) if node.get("phase") == SUCCEEDED)
    return Progress(phase(workflow), done, _shard_total(workflow))


def map_nodes(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One node per shard: the map task's items, `<wf>.map(<index>:<id>)`.

    With a retryStrategy each item is a Retry node whose attempts are `<wf>.map(i:id)(n)`; those
    attempts are not shards, so they are left out.
    """
    item = re.compile(re.escape(workflow["metadata"]["name"]) + r"\.map\(\d+:[^()]*\)")
    return [node for node in _nodes(workflow) if item.fullmatch(node.get("name", ""))]


def _shard_total(workflow: Mapping[str, Any]) -> int | None:
    """The number of shard ids split printed, once split has succeeded."""
    split = _task_node(workflow, SPLIT_TASK)
    if split is None or split.get("phase") != SUCCEEDED:
        return None
    try:
        shards = json.loads((split.get("outputs") or {}).get("result", ""))
    except ValueError:
        return None
    return len(shards) if isinstance(shards, list) else None


def failure(workflow: Mapping[str, Any]) -> str:
    """Why a finished workflow did not succeed: the first failed step and its message."""
    name = workflow["metadata"]["name"]
    failed = sorted(
        failed_steps(workflow), key=lambda node: (node.get("startedAt") or "", node["name"])
    )
    workflow_message = (workflow.get("status") or {}).get("message")
    text = f"workflow {name} {phase(workflow) or 'completed'} without succeeding"
    if failed:
        node = failed[0]
        text += f": step {node['name']} {node['phase']}: {one_line(node.get('message'))}"
        if len(failed) > 1:
            text += f" (and {len(failed) - 1} more failed steps)"
    elif workflow_message:
        text += f": {workflow_message}"
    return text


def one_line(message: str | None) -> str:
    """A node message on one line: a log tail (FallbackToLogsOnError) may hold several."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return " | ".join(lines) or "no message"


def failed_steps(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pods that failed for good: a retried step's failure counts only as its last attempt,
    and only when the retries were exhausted (a Retry node that succeeded hid its failures)."""
    nodes = {node.get("name"): node for node in _nodes(workflow)}
    last_attempts: dict[str, tuple[int, dict[str, Any]]] = {}
    failed = []
    for node in nodes.values():
        if node.get("type") != "Pod" or node.get("phase") not in FAILED_PHASES:
            continue
        attempt = _ATTEMPT.fullmatch(node["name"])
        parent = nodes.get(attempt.group(1)) if attempt else None
        if parent is None or parent.get("type") != "Retry":
            failed.append(node)
        elif parent.get("phase") in FAILED_PHASES:
            number = int(attempt.group(2))
            if number >= last_attempts.get(parent["name"], (-1, None))[0]:
                last_attempts[parent["name"]] = (number, node)
    return failed + [node for _, node in last_attempts.values()]


def result(workflow: Mapping[str, Any]) -> str | None:
    """The result JSON: the workflow's `result` output (merge exports it with globalName),
    else the reduce step's parameter (templates deployed before the export)."""
    reduce = _task_node(workflow, REDUCE_TASK)
    for outputs in ((workflow.get("status") or {}).get("outputs"), (reduce or {}).get("outputs")):
        value = _parameter((outputs or {}).get("parameters", ()), RESULT_PARAMETER)
        if value is not None:
            return value
    return None


def _parameter(parameters: Sequence[Mapping[str, Any]], name: str) -> str | None:
    for parameter in parameters:
        if parameter.get("name") == name and "value" in parameter:
            return str(parameter["value"])
    return None


def _task_node(workflow: Mapping[str, Any], task: str) -> dict[str, Any] | None:
    """The node of a DAG task of `main`: named `<wf>.<task>` (its Retry node, if retried)."""
    wanted = f"{workflow['metadata']['name']}.{task}"
    return next((node for node in _nodes(workflow) if node.get("name") == wanted), None)


def _nodes(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(((workflow.get("status") or {}).get("nodes") or {}).values())
