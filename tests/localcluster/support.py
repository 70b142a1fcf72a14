"""Helpers for tests against the local real cluster: Helm releases, Workflow runs, node lookups.

Waiting is done with the API's watch streams (the server pushes each change), so no test sleeps;
each watch has a server-side timeout and a deadline, and a run that outlives it fails naming the
workflow and its nodes.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import helm_python
import kubernetes
from kubernetes import watch

from e2e.localcluster import cluster as lc
from infra import argodb
from workflows.chart import load_chart, platform_values_block

GROUP, VERSION = "argoproj.io", "v1alpha1"
MAP_ITEM = re.compile(r"^map\(\d+:[^()]*\)$")
RUN_TIMEOUT_SECONDS = 900
PLATFORM_RELEASE = "argo-fanout"  # the platform chart's release: the steps' account
POD_LABEL = "workflows.argoproj.io/workflow"
NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"
ARCHIVING_STATUS = "workflows.argoproj.io/workflow-archiving-status"


@dataclasses.dataclass
class Run:
    """A finished Workflow and the questions the tests ask of it."""

    workflow: dict[str, Any]

    @property
    def name(self) -> str:
        return self.workflow["metadata"]["name"]

    @property
    def phase(self) -> str:
        return self.workflow.get("status", {}).get("phase", "")

    @property
    def result(self) -> str:
        for parameter in self.workflow.get("status", {}).get("outputs", {}).get("parameters", []):
            if parameter["name"] == "result":
                return parameter["value"]
        raise AssertionError(f"workflow {self.name} exported no result: {self.describe()}")

    def nodes(self) -> list[dict[str, Any]]:
        return list(self.workflow.get("status", {}).get("nodes", {}).values())

    def count_nodes(self) -> list[dict[str, Any]]:
        return [n for n in self.nodes() if MAP_ITEM.match(n.get("displayName", ""))]

    def count_nodes_succeeded(self) -> int:
        return sum(n.get("phase") == "Succeeded" for n in self.count_nodes())

    def pod_nodes(self, task: str) -> list[dict[str, Any]]:
        return [
            n
            for n in self.nodes()
            if n.get("type") == "Pod" and n.get("displayName", "").split("(")[0] == task
        ]

    def failure_message(self) -> str:
        status = self.workflow.get("status", {})
        messages = [status.get("message", "")]
        messages += [
            f"{n['displayName']}: {n.get('message', '')}"
            for n in self.nodes()
            if n.get("phase") in ("Failed", "Error") and n.get("type") == "Pod"
        ]
        return " | ".join(m for m in messages if m)

    def describe(self) -> str:
        nodes = sorted(
            f"{n.get('displayName')}[{n.get('type')}]={n.get('phase')}"
            + (f" ({n['message']})" if n.get("message") else "")
            for n in self.nodes()
        )
        shown = nodes[:40] + ([f"... {len(nodes) - 40} more"] if len(nodes) > 40 else [])
        status = self.workflow.get("status", {})
        return f"workflow {self.name} {self.phase} {status.get('message', '')}: " + "; ".join(shown)


class LocalCluster:
    """The cluster `make cluster` started, reached with its admin kubeconfig."""

    def __init__(self, layout: lc.Layout, clock: Callable[[], float] = time.monotonic) -> None:
        self.layout = layout
        self.kubeconfig = layout.kubeconfig
        self.volume = layout.volume
        self.namespace = lc.WORKLOAD_NAMESPACE
        config = json.loads(self.kubeconfig.read_text())
        client = kubernetes.config.new_client_from_config_dict(config)
        self.core = kubernetes.client.CoreV1Api(client)
        self.objects = kubernetes.client.CustomObjectsApi(client)
        # Deadlines of the waits below (the waiting itself is the API's watch, never a sleep).
        self.clock = clock
        self.deleted_pods: list[str] = []
        self.recreated_pods: list[str] = []

    # --- the chart ------------------------------------------------------------------------

    def platform_values(self, **overrides: Any) -> dict[str, Any]:
        """The platform release on this cluster: the cluster's claim, the steps' account."""
        values: dict[str, Any] = {
            "fullnameOverride": PLATFORM_RELEASE,
            "storage": {"type": "existingClaim", "existingClaim": lc.CLAIM_NAME},
        }
        values.update(overrides)
        return values

    def release_values(self, **overrides: Any) -> dict[str, Any]:
        """log-count on this cluster: the platform's block (install_platform first), its step
        image, quick retries, small pods."""
        registry, rest = lc.images.STEP_IMAGE.split("/", 1)
        repository, tag = rest.rsplit(":", 1)
        small = {"requests": {"cpu": "20m", "memory": "48Mi"}, "limits": {"memory": "256Mi"}}
        values: dict[str, Any] = {
            "fullnameOverride": "log-count",
            "image": {
                "registry": registry,
                "repository": repository,
                "tag": tag,
                "pullPolicy": "Never",
            },
            **platform_values_block(
                self.platform_values(), release=PLATFORM_RELEASE, namespace=self.namespace
            ),
            "workflow": {"retry": {"backoff": {"duration": "1s"}}},
            "resources": {"split": small, "count": small, "merge": small},
        }
        values.update(overrides)
        return values

    def helm(self) -> helm_python.Config:
        return helm_python.Config(kubeconfig_path=self.kubeconfig, namespace=self.namespace)

    def install(self, chart_dir: Path, release: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Installs the chart as a new release (an earlier one of that name is removed first)."""
        config = self.helm()
        try:
            config.uninstall(release, ignore_not_found=True, wait="watcher", timeout=120)
            chart = load_chart(chart_dir)
            try:
                return config.install(
                    chart, release, dict(values), namespace=self.namespace, timeout=120
                )
            finally:
                chart.close()
        finally:
            config.close()

    def uninstall(self, release: str) -> None:
        config = self.helm()
        try:
            config.uninstall(release, ignore_not_found=True, wait="watcher", timeout=120)
        finally:
            config.close()

    # --- runs -----------------------------------------------------------------------------

    def in_volume(self, path: Path) -> str:
        return str(path.relative_to(self.volume))

    def submit(self, template: str, parameters: Mapping[str, str]) -> str:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Workflow",
            "metadata": {"generateName": f"{template}-", "namespace": self.namespace},
            "spec": {
                "workflowTemplateRef": {"name": template},
                "arguments": {
                    "parameters": [{"name": k, "value": v} for k, v in parameters.items()]
                },
            },
        }
        created = self.objects.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "workflows", body
        )
        return created["metadata"]["name"]

    def run(
        self,
        template: str,
        parameters: Mapping[str, str],
        *,
        on_count_pod: Callable[[dict[str, Any]], None] | None = None,
        timeout: float = RUN_TIMEOUT_SECONDS,
    ) -> Run:
        name = self.submit(template, parameters)
        deadline = self.clock() + timeout
        if on_count_pod is not None:
            self._watch_pods(name, on_count_pod, deadline)
        return Run(self._wait_finished(name, deadline))

    def create_workflow(self, body: Mapping[str, Any]) -> str:
        """Create a Workflow as given (its spec inline); returns its name."""
        created = self.objects.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "workflows", dict(body)
        )
        return created["metadata"]["name"]

    def wait(self, name: str, timeout: float = RUN_TIMEOUT_SECONDS) -> Run:
        """The Workflow once the controller has marked it completed (watched, not polled)."""
        return Run(self._wait_finished(name, self.clock() + timeout))

    def delete_workflow(self, name: str) -> None:
        """Delete a Workflow (its pods and task results go with it); gone already is fine."""
        try:
            self.objects.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, "workflows", name
            )
        except kubernetes.client.ApiException as err:
            if err.status != 404:
                raise

    def wait_archived(self, name: str, timeout: float = 120) -> dict[str, Any]:
        """The Workflow once Argo labels it archived (it archives after marking it completed)."""
        deadline = self.clock() + timeout
        while True:
            stream = watch.Watch()
            for event in stream.stream(
                self.objects.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                "workflows",
                field_selector=f"metadata.name={name}",
                timeout_seconds=min(self._remaining(deadline, f"{name} to be archived"), 60),
            ):
                workflow = event["object"]
                labels = workflow.get("metadata", {}).get("labels", {})
                if labels.get(ARCHIVING_STATUS) == "Archived":
                    stream.stop()
                    return workflow

    def wait_pod_ready(self, name: str, timeout: float = 180) -> None:
        """Until the pod's Ready condition is True (watched, not polled)."""
        deadline = self.clock() + timeout
        while True:
            stream = watch.Watch()
            for event in stream.stream(
                self.core.list_namespaced_pod,
                self.namespace,
                field_selector=f"metadata.name={name}",
                timeout_seconds=min(self._remaining(deadline, f"pod {name} to be ready"), 60),
            ):
                conditions = event["object"].status.conditions or []
                if any(c.type == "Ready" and c.status == "True" for c in conditions):
                    stream.stop()
                    return

    def offloaded_nodes(self, workflow: Mapping[str, Any]) -> dict[str, Any]:
        """The node status Argo offloaded to the host PostgreSQL (`up --persistence`)."""
        status = workflow["status"]
        rows = lc.persistence.query(
            self.layout.config,
            f"SELECT nodes FROM {argodb.TABLE} WHERE uid = '{workflow['metadata']['uid']}' "
            f"AND version = '{status['offloadNodeStatusVersion']}'",
        )
        return json.loads(rows)

    def with_nodes(self, workflow: dict[str, Any]) -> dict[str, Any]:
        """The Workflow with `status.nodes` as Argo's API shows it: from the database where Argo
        offloaded them, unpacked where it compressed them (base64 gzip JSON)."""
        status = workflow.get("status", {})
        if "nodes" in status:
            return workflow
        nodes = None
        if status.get("offloadNodeStatusVersion"):
            nodes = self.offloaded_nodes(workflow)
        elif status.get("compressedNodes"):
            nodes = json.loads(gzip.decompress(base64.b64decode(status["compressedNodes"])))
        if nodes is None:
            return workflow
        return {**workflow, "status": {**status, "nodes": nodes}}

    def _remaining(self, deadline: float, what: str) -> int:
        remaining = int(deadline - self.clock())
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        return max(remaining, 1)

    def _wait_finished(self, name: str, deadline: float) -> dict[str, Any]:
        while True:
            stream = watch.Watch()
            timeout = min(self._remaining(deadline, f"workflow {name} to finish"), 60)
            for event in stream.stream(
                self.objects.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                "workflows",
                field_selector=f"metadata.name={name}",
                timeout_seconds=timeout,
            ):
                workflow = event["object"]
                labels = workflow.get("metadata", {}).get("labels", {})
                if labels.get("workflows.argoproj.io/completed") == "true":
                    stream.stop()
                    return self.with_nodes(workflow)
            if self.clock() >= deadline:
                current = self.objects.get_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, "workflows", name
                )
                raise AssertionError(
                    f"workflow {name} did not finish in time: {Run(current).describe()}"
                )

    def _watch_pods(
        self, name: str, on_pod: Callable[[dict[str, Any]], None], deadline: float
    ) -> None:
        """Calls on_pod with the run's first count pod seen with its main container running,
        then waits until a pod of that name appears again (with another uid) and returns.

        (A pod deleted before its step ran would prove nothing; one deleted after counting has
        already reported its result.)"""
        target: tuple[str, str] | None = None
        while True:
            stream = watch.Watch()
            timeout = min(self._remaining(deadline, f"a count pod of {name}"), 60)
            for event in stream.stream(
                self.core.list_namespaced_pod,
                self.namespace,
                label_selector=f"{POD_LABEL}={name}",
                timeout_seconds=timeout,
            ):
                pod = event["object"].to_dict()
                meta = pod["metadata"]
                if target is not None:
                    if meta["name"] == target[0] and meta["uid"] != target[1]:
                        self.recreated_pods.append(meta["name"])
                        stream.stop()
                        return
                    continue
                node = (meta.get("annotations") or {}).get(NODE_NAME_ANNOTATION, "")
                statuses = pod["status"].get("container_statuses") or []
                main_running = any(c["name"] == "main" and c["state"]["running"] for c in statuses)
                if main_running and ".map(" in node:
                    on_pod(pod)
                    target = (meta["name"], meta["uid"])

    def delete_first_count_pod(self, pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        # Graceful, as an eviction or a spot reclaim is: SIGTERM, then the pod goes. (With a
        # grace period of 0 the object is removed at once and Argo recreates the pod in place.)
        self.core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=1)
        self.deleted_pods.append(name)

    # --- namespace ------------------------------------------------------------------------

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return self.core.read_namespace(namespace).metadata.labels or {}

    def dry_run_privileged_pod(self) -> str:
        """The API server's answer to a pod that breaks 'restricted' (no securityContext at all)."""
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "not-restricted"},
            "spec": {
                "containers": [
                    {"name": "c", "image": lc.images.STEP_IMAGE, "imagePullPolicy": "Never"}
                ]
            },
        }
        try:
            self.core.create_namespaced_pod(self.namespace, pod, dry_run="All")
        except kubernetes.client.ApiException as err:
            return json.loads(err.body).get("message", err.reason)
        return "accepted"
