"""Argo objects on a stack's cluster: the small API the run commands need, and reading a status.

`ArgoApi` is the interface (tests substitute a fake object layer); `KubernetesArgoApi` implements
it with the Kubernetes Python client built from the stack's kubeconfig output, never the local
default kubeconfig. The functions below it read a Workflow's status: progress, failure, result.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import kubernetes
import urllib3

from workflows.runs import nodestatus, offload
from workflows.runs.credentials import private_kubeconfig
from workflows.runs.errors import EXIT_USAGE, RunError

GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
# log-count's reducing DAG task, whose output is the result of templates deployed before merge
# exported it (docs/architecture.md §2); progress reads no task name (see `progress`).
REDUCE_TASK = "reduce"
# Template fields that make a DAG task or a step a fan-out, and templates that run one pod.
LOOP_FIELDS = ("withParam", "withItems", "withSequence")
POD_TEMPLATES = ("container", "script", "containerSet")
# `{{tasks.X.outputs.result}}`, `{{steps.X.outputs.parameters.P}}`: a loop's list source.
_LOOP_SOURCE = re.compile(
    r"^\{\{\s*(tasks|steps)\.([^.\s]+)\.outputs\.(result|parameters\.([^.\s}]+))\s*\}\}$"
)
RESULT_PARAMETER = "result"
# The chart whose templates take log-count's parameters (`helm.sh/chart: log-count-<version>`).
LOG_COUNT_CHART_NAME = "log-count"
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

    def offloads(self) -> nodestatus.Offloads:
        """Argo's offloaded node status (its persistence database), found on first use."""


class KubernetesArgoApi:
    """`ArgoApi` over the Kubernetes API server named by a kubeconfig mapping."""

    def __init__(
        self,
        kubeconfig: Mapping[str, Any],
        stack: str,
        argo_namespace: str = offload.DEFAULT_ARGO_NAMESPACE,
    ) -> None:
        self._stack = stack
        self._argo_namespace = argo_namespace
        self._offloads: offload.ArgoDatabase | None = None
        # Its credentials live in memory files for as long as this object (the process) does.
        document, self._credentials = private_kubeconfig(kubeconfig)
        try:
            client = kubernetes.config.new_client_from_config_dict(document)
        except kubernetes.config.ConfigException as err:
            raise RunError(f"stack {stack!r}: its kubeconfig output is unusable: {err}") from None
        self._client = client
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

    def offloads(self) -> offload.ArgoDatabase:
        """The controller's database, from its ConfigMap and Secrets in Argo's namespace."""
        if self._offloads is None:
            namespace = self._argo_namespace
            try:
                configmaps = self._call(self._core.list_namespaced_config_map, namespace).items
            except RunError as err:
                raise RunError(
                    f"reading Argo's persistence config in namespace {namespace!r}, for the "
                    f"run's offloaded node status: {err}; {offload.ARGO_RETRY_HINT}"
                ) from None
            persistence = offload.controller_persistence(
                [self._client.sanitize_for_serialization(cm) for cm in configmaps], namespace
            )
            service = offload.service_of(persistence.host, namespace)
            self._offloads = offload.ArgoDatabase(
                persistence,
                self._secret_value(namespace, persistence.username),
                self._secret_value(namespace, persistence.password),
                (lambda: None)
                if service is None or not self._has_service(*service)
                else (lambda: self._port_forward(*service, persistence.port)),
            )
        return self._offloads

    def _secret_value(self, namespace: str, ref: offload.SecretKey) -> str:
        secret = self._call(self._core.read_namespaced_secret, ref.name, namespace, missing_ok=True)
        data = None if secret is None else secret.data  # None: the Secret has no data at all
        value = None if data is None else data.get(ref.key)
        if value is None:
            raise RunError(
                f"Secret {namespace}/{ref.name} has no key {ref.key!r}, which Argo's "
                "persistence config names for its database"
            )
        return base64.b64decode(value).decode()

    def _has_service(self, namespace: str, name: str) -> bool:
        found = self._call(self._core.read_namespaced_service, name, namespace, missing_ok=True)
        return found is not None

    def _port_forward(self, namespace: str, service: str, port: int) -> socket.socket:
        """A socket to the Service's `port` on one of its ready pods, through the API server
        (the port-forward subresource, as `kubectl port-forward svc/...` does)."""
        import kubernetes.stream  # websocket-client: loaded only for a port-forward

        pod, target = self._service_endpoint(namespace, service, port)
        forward = self._call(
            kubernetes.stream.portforward,
            self._core.connect_get_namespaced_pod_portforward,
            pod,
            namespace,
            ports=str(target),
        )
        return forward.socket(target)

    def _service_endpoint(self, namespace: str, service: str, port: int) -> tuple[str, int]:
        """(pod, container port) of a ready endpoint of the Service's `port`."""
        found = self._call(self._core.read_namespaced_service, service, namespace)
        ports = [p for p in found.spec.ports or () if p.port == port]
        if not ports:
            raise RunError(f"Service {namespace}/{service} has no port {port}")
        slices = self._call(
            kubernetes.client.DiscoveryV1Api(self._client).list_namespaced_endpoint_slice,
            namespace,
            label_selector=f"kubernetes.io/service-name={service}",
        )
        for endpoint_slice in slices.items:
            numbers = [p.port for p in endpoint_slice.ports or () if p.name == ports[0].name]
            for endpoint in endpoint_slice.endpoints or ():
                ready = endpoint.conditions is None or endpoint.conditions.ready is not False
                ref = endpoint.target_ref
                if ready and numbers and ref is not None and ref.kind == "Pod":
                    return ref.name, numbers[0]
        raise RunError(
            f"Service {namespace}/{service} (Argo's database) has no ready pod: is it running?"
        )

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
    """What a poll shows: the workflow phase and how many units of work are done.

    A template with fan-outs (DAG tasks or steps with withParam, withItems or withSequence)
    counts the fan-outs' items, as `shards`; one without counts its pods, as `steps`.
    """

    phase: str
    shards_done: int
    shards_total: int | None  # None until a fan-out's width is known
    unit: str = "shards"

    def describe(self) -> str:
        total = "?" if self.shards_total is None else str(self.shards_total)
        return f"{self.phase or 'Pending'}: {self.unit} {self.shards_done}/{total} done"


def phase(workflow: Mapping[str, Any]) -> str:
    return str((workflow.get("status") or {}).get("phase") or "")


def is_finished(workflow: Mapping[str, Any]) -> bool:
    """Finished = a final phase, or the completed label (which says nothing about success)."""
    labels = (workflow.get("metadata") or {}).get("labels") or {}
    return phase(workflow) in (SUCCEEDED, *FAILED_PHASES) or labels.get(COMPLETED_LABEL) == "true"


def progress(workflow: Mapping[str, Any]) -> Progress:
    """Progress of any DAG or steps template, read from the node status and the workflow's
    stored spec (Argo keeps the WorkflowTemplate's in `status.storedWorkflowTemplateSpec`).

    With fan-outs: done = items that succeeded (a retried item once, not per attempt); total =
    the sum of the fan-outs' widths, each known once its list is (withItems and a literal
    withSequence at once, withParam once the step it reads has succeeded) or once it has
    expanded, and None while none is. Without: the pods, as the templates plan them.
    """
    nodes = _nodes(workflow)
    templates = _templates(workflow)
    loops = [_Loop(*found) for found in _declared_loops(templates)]
    items = fanout_items(workflow)
    if loops or items:
        done = sum(1 for node in items if node.get("phase") == SUCCEEDED)
        widths = [width for loop in loops for width in loop.widths(workflow, nodes)]
        if not loops:  # no stored spec: what has expanded so far
            widths = [len(items)]
        return Progress(phase(workflow), done, sum(widths) if widths else None)
    pods = _pod_units(nodes)
    done = sum(1 for node in pods if node.get("phase") == SUCCEEDED)
    entrypoint = _spec(workflow).get("entrypoint")
    planned = _planned_pods(templates, entrypoint, ()) if entrypoint else None
    total = planned if planned is not None else (len(pods) if is_finished(workflow) else None)
    return Progress(phase(workflow), done, total, "steps")


def fanout_items(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One node per fan-out item, of every loop that has expanded: the children of a DAG's
    TaskGroup (`<wf>.map(<index>:<item>)`) and the looped children of a steps group
    (`<wf>[0].step(<index>:<item>)`). A retried item is its Retry node, whose attempts
    (`...(<n>)`) are not items."""
    by_id = _node_map(workflow)
    items = []
    for node in by_id.values():
        if node.get("type") not in ("TaskGroup", "StepGroup"):
            continue
        for child_id in node.get("children") or ():
            child = by_id.get(child_id)
            if child is not None and (node["type"] == "TaskGroup" or _ITEM.search(child["name"])):
                items.append(child)
    return items


# An expanded loop's item: `<name>(<index>:<item>)`.
_ITEM = re.compile(r"\(\d+:.*\)$")


@dataclass(frozen=True)
class _Loop:
    template: str  # the DAG or steps template holding the loop
    kind: str  # "dag" or "steps"
    name: str  # the task or step name
    spec: Mapping[str, Any]  # the task or step

    def widths(self, workflow: Mapping[str, Any], nodes: list[dict[str, Any]]) -> list[int]:
        """The width of each instance of this loop that is known (one per running template)."""
        widths = []
        for parent in _instances(workflow, nodes, self.template):
            width = self._static_width()
            if width is None:
                width = self._param_width(nodes, parent["name"])
            if width is None:
                width = self._expanded_width(workflow, parent["name"])
            if width is not None:
                widths.append(width)
        return widths

    def _static_width(self) -> int | None:
        if isinstance(self.spec.get("withItems"), list):
            return len(self.spec["withItems"])
        sequence = self.spec.get("withSequence")
        if isinstance(sequence, Mapping):
            try:
                if "count" in sequence:
                    return int(str(sequence["count"]))
                start, end = int(str(sequence.get("start", 0))), int(str(sequence["end"]))
            except (KeyError, ValueError):
                return None
            return abs(end - start) + 1
        return None

    def _param_width(self, nodes: list[dict[str, Any]], parent: str) -> int | None:
        match = _LOOP_SOURCE.match(str(self.spec.get("withParam", "")))
        if match is None:
            return None
        scope, step, _, parameter = match.groups()
        if scope == "tasks":
            wanted = re.compile(re.escape(f"{parent}.{step}"))
        else:
            wanted = re.compile(re.escape(parent) + r"\[\d+\]\." + re.escape(step))
        source = next((node for node in nodes if wanted.fullmatch(node.get("name", ""))), None)
        if source is None or source.get("phase") != SUCCEEDED:
            return None
        outputs = source.get("outputs") or {}
        text = (
            outputs.get("result")
            if parameter is None
            else _parameter(outputs.get("parameters", ()), parameter)
        )
        try:
            value = json.loads(text or "")
        except ValueError:
            return None
        return len(value) if isinstance(value, list) else None

    def _expanded_width(self, workflow: Mapping[str, Any], parent: str) -> int | None:
        """Items seen, once the workflow has finished (no more can come)."""
        if not is_finished(workflow):
            return None
        prefix = f"{parent}.{self.name}(" if self.kind == "dag" else None
        return sum(
            1
            for node in fanout_items(workflow)
            if (prefix is not None and node["name"].startswith(prefix))
            or (prefix is None and re.search(r"\]\." + re.escape(self.name) + r"\(", node["name"]))
        )


def _declared_loops(templates: Mapping[str, Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    loops = []
    for name, template in templates.items():
        for task in (template.get("dag") or {}).get("tasks") or ():
            if any(field in task for field in LOOP_FIELDS):
                loops.append((name, "dag", task["name"], task))
        for group in template.get("steps") or ():
            for step in group or ():
                if any(field in step for field in LOOP_FIELDS):
                    loops.append((name, "steps", step["name"], step))
    return loops


def _instances(
    workflow: Mapping[str, Any], nodes: list[dict[str, Any]], template: str
) -> list[dict[str, Any]]:
    """The DAG or Steps nodes running `template` (the root node runs the entrypoint)."""
    root = workflow["metadata"]["name"]
    entrypoint = _spec(workflow).get("entrypoint")
    return [
        node
        for node in nodes
        if node.get("type") in ("DAG", "Steps")
        and (
            node.get("templateName") == template
            or (
                node.get("name") == root and not node.get("templateName") and entrypoint == template
            )
        )
    ]


def _planned_pods(
    templates: Mapping[str, Mapping[str, Any]], name: str, path: tuple[str, ...]
) -> int | None:
    """Pods a loop-free template runs when every task or step does; None if unknowable
    (a template reference to another WorkflowTemplate, recursion)."""
    template = templates.get(name)
    if template is None or name in path:
        return None
    if any(kind in template for kind in POD_TEMPLATES):
        return 1
    children = [task.get("template") for task in (template.get("dag") or {}).get("tasks") or ()]
    children += [step.get("template") for group in template.get("steps") or () for step in group]
    total = 0
    for child in children:
        count = _planned_pods(templates, child, (*path, name)) if child else None
        if count is None:
            return None
        total += count
    return total


def _pod_units(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One node per pod-running step: its Retry node when retried, else its Pod node."""
    retries = {node["name"] for node in nodes if node.get("type") == "Retry"}
    units = [node for node in nodes if node.get("type") == "Retry"]
    for node in nodes:
        attempt = _ATTEMPT.fullmatch(node.get("name", ""))
        if node.get("type") == "Pod" and not (attempt and attempt.group(1) in retries):
            units.append(node)
    return units


def _spec(workflow: Mapping[str, Any]) -> Mapping[str, Any]:
    """The workflow's spec as run: the stored WorkflowTemplate's, else its own."""
    stored = (workflow.get("status") or {}).get("storedWorkflowTemplateSpec")
    return stored or workflow.get("spec") or {}


def _templates(workflow: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        template["name"]: template
        for template in _spec(workflow).get("templates") or ()
        if "name" in template
    }


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


def declares_result(workflow: Mapping[str, Any]) -> bool:
    """Whether the run's template promises a `result`: an output parameter of that name (or
    `globalName`) in any of its templates, or log-count's reducing task from before the export.
    Without the stored template spec (not yet stored) the answer is yes: a missing result is
    then reported rather than silently passed."""
    spec = (workflow.get("status") or {}).get("storedWorkflowTemplateSpec")
    if not spec:
        return True
    for template in spec.get("templates") or ():
        for parameter in (template.get("outputs") or {}).get("parameters") or ():
            if RESULT_PARAMETER in (parameter.get("name"), parameter.get("globalName")):
                return True
        tasks = (template.get("dag") or {}).get("tasks") or ()
        if template.get("name") == spec.get("entrypoint") and any(
            task.get("name") == REDUCE_TASK for task in tasks
        ):
            return True
    return False


def is_log_count(template: Mapping[str, Any]) -> bool:
    """Whether a deployed WorkflowTemplate comes from the log-count chart (its Helm chart
    label), whose parameters the job's own parsers check."""
    labels = (template.get("metadata") or {}).get("labels") or {}
    chart = str(labels.get("helm.sh/chart", ""))
    return chart.rpartition("-")[0] == LOG_COUNT_CHART_NAME


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
    return list(_node_map(workflow).values())


def _node_map(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The status nodes by id (children lists name ids) of a hydrated Workflow (nodestatus)."""
    return dict((workflow.get("status") or {}).get("nodes") or {})
