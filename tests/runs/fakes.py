"""Fakes for the run commands: an Argo object layer, a Pulumi stack, a clock, an object store.

Workflows are built the way the Argo controller reports them for the log-count DAG: a root DAG
node, `<wf>.split` (its stdout is the shard id list), a `<wf>.map` task group with one item node
per shard (a Retry node with `(n)` attempt children when retried) and `<wf>.reduce` with the
`result` output parameter.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from common import exports
from workflows import runs
from workflows.runs.errors import RunError
from workflows.runs.submit import Runtime

NAMESPACE = "log-count"
TEMPLATE = "log-count"
WORKFLOW = f"{TEMPLATE}-x7k2p"  # what FakeArgo names the first workflow it creates
PARAMETERS = ("numParts", "partSize", "input", "keywords", "match", "minSuccessRatio")
RESULT = {"counts": {"ERROR": 3, "INFO": 40}, "keywords": ["INFO", "ERROR"], "shards": 3}

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: kind, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: kind, context: {cluster: kind, user: kind}}]
current-context: kind
users: [{name: kind, user: {token: t}}]
"""


def stack_outputs(**overrides: Any) -> dict[str, Any]:
    """The outputs of a kind stack that is up (dataDir given per test).

    `inputStaging` follows the storage outputs given, as the program sets it: dataDir (kind's
    hostPath, storage.localDir) → localDir, an OSS bucket → objectStore, else none; and
    `ownsCluster` is false for target existing only.
    """
    staging = exports.STAGING_NONE
    if overrides.get(exports.DATA_DIR) is not None:
        staging = exports.STAGING_LOCAL_DIR
    elif overrides.get(exports.OSS_BUCKET) is not None:
        staging = exports.STAGING_OBJECT_STORE
    outputs = {
        exports.TARGET: "kind",
        exports.INPUT_STAGING: staging,
        exports.OWNS_CLUSTER: overrides.get(exports.TARGET, "kind") != "existing",
        exports.KUBECONFIG: KUBECONFIG,
        exports.ARGO_NAMESPACE: "argo",
        exports.WORKLOAD_NAMESPACE: NAMESPACE,
        exports.WORKFLOW_TEMPLATE: TEMPLATE,
        exports.VOLUME_CLAIM: "log-count-data",
        exports.SUBMIT_COMMAND: "python -m workflows submit -s dev",
    }
    outputs.update(overrides)
    return {key: value for key, value in outputs.items() if value is not None}


def workflow_template() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": TEMPLATE, "namespace": NAMESPACE},
        "spec": {"arguments": {"parameters": [{"name": name} for name in PARAMETERS]}},
    }


# The stored spec of the chart's template as Argo keeps it in the Workflow's status: the shape
# progress reads (the entrypoint DAG and its fan-out), not every field.
LOG_COUNT_SPEC = {
    "entrypoint": "main",
    "templates": [
        {
            "name": "main",
            "dag": {
                "tasks": [
                    {"name": "split", "template": "split"},
                    {
                        "name": "map",
                        "template": "count",
                        "depends": "split",
                        "withParam": "{{tasks.split.outputs.result}}",
                    },
                    {"name": "reduce", "template": "merge", "depends": "map"},
                ]
            },
        },
        {"name": "split", "container": {"image": "python"}},
        {"name": "count", "container": {"image": "python"}},
        {"name": "merge", "container": {"image": "python"}},
    ],
}


def workflow(
    phase: str,
    *,
    shards: list[str] | None = None,
    done: int = 0,
    failed: Mapping[int, str] | None = None,
    retried: bool = False,
    result: Mapping[str, Any] | None = None,
    exported: bool = True,
    labels: Mapping[str, str] | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """A log-count Workflow as the controller reports it for the chart's template.

    Every step has a retryStrategy, so each task (and each map item) is a Retry node whose
    attempts are Pod nodes `<retry>(<n>)`; a Retry node carries its successful attempt's
    outputs. `shards`: the ids split printed (None: split still running); the first `done` items
    have Succeeded, those in `failed` (index → message) Failed, the rest are Running; `retried`:
    every item's first attempt failed (a reclaimed spot pod) and a second one ran. `result`
    makes reduce Succeeded with that result parameter, which merge exports with `globalName`
    into `status.outputs` (and the entrypoint DAG node's outputs); `exported=False` is a
    template from before globalName, where only the reduce nodes carry it.
    """
    failed = dict(failed or {})
    # Keyed by id, as Argo's status is; here an id is the node's name, and `children` lists ids.
    nodes: dict[str, dict[str, Any]] = {
        WORKFLOW: {"name": WORKFLOW, "type": "DAG", "phase": phase, "templateName": "main"}
    }

    def step(name: str, step_phase: str, retried: bool = False, **fields: Any) -> None:
        attempts = [{"phase": "Failed", "message": "pod deleted"}] if retried else []
        attempts.append({"phase": step_phase, **fields})
        for number, attempt in enumerate(attempts):
            nodes[f"{name}({number})"] = {"name": f"{name}({number})", "type": "Pod", **attempt}
        nodes[name] = {
            "name": name,
            "type": "Retry",
            "phase": step_phase,
            "children": [f"{name}({number})" for number in range(len(attempts))],
        }
        if step_phase == "Succeeded" and "outputs" in fields:
            nodes[name]["outputs"] = fields["outputs"]

    if shards is None:
        step(f"{WORKFLOW}.split", "Running")
    else:
        step(f"{WORKFLOW}.split", "Succeeded", outputs={"result": json.dumps(shards)})
        nodes[f"{WORKFLOW}.map"] = {"name": f"{WORKFLOW}.map", "type": "TaskGroup", "children": []}
    for index, shard in enumerate(shards or ()):
        nodes[f"{WORKFLOW}.map"]["children"].append(f"{WORKFLOW}.map({index}:{shard})")
        item_phase = "Failed" if index in failed else "Succeeded" if index < done else "Running"
        fields: dict[str, Any] = {"startedAt": f"2026-11-21T06:00:{index:02d}Z"}
        if index in failed:
            fields["message"] = failed[index]
        step(f"{WORKFLOW}.map({index}:{shard})", item_phase, retried, **fields)
    status: dict[str, Any] = {
        "phase": phase,
        "nodes": nodes,
        "storedWorkflowTemplateSpec": LOG_COUNT_SPEC,
    }
    if result is not None:
        value = json.dumps(result)
        parameter = {"name": "result", "value": value}
        step(
            f"{WORKFLOW}.reduce",
            "Succeeded",
            outputs={"parameters": [{**parameter, "globalName": "result"}]},
        )
        nodes[WORKFLOW]["outputs"] = {"parameters": [parameter]}
        if exported:
            status["outputs"] = {"parameters": [parameter]}
    if message is not None:
        status["message"] = message
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": WORKFLOW, "namespace": NAMESPACE, "labels": dict(labels or {})},
        "status": status,
    }


class FakeOffloads:
    """Argo's offloaded node status in memory: rows by (uid, version), as the table keys them."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.saved: list[tuple[str, str, str]] = []  # (uid, namespace, version) per save

    def get(self, uid: str, version: str) -> dict[str, Any]:
        if (uid, version) not in self.rows:
            raise RunError(f"no node status of workflow uid {uid} version {version}")
        return copy.deepcopy(self.rows[uid, version])

    def save(self, uid: str, namespace: str, nodes: Mapping[str, Any]) -> str:
        version = f"v{len(self.rows) + 1}"
        self.rows[uid, version] = copy.deepcopy(dict(nodes))
        self.saved.append((uid, namespace, version))
        return version

    def offload(self, workflow: dict[str, Any]) -> dict[str, Any]:
        """The Workflow as the controller leaves it once it offloaded its nodes here."""
        stored = copy.deepcopy(workflow)
        stored["metadata"].setdefault("uid", "0b5e-uid")
        version = self.save(
            stored["metadata"]["uid"],
            stored["metadata"]["namespace"],
            stored["status"].pop("nodes"),
        )
        stored["status"]["offloadNodeStatusVersion"] = version
        return stored


class FakeArgo:
    """`ArgoApi` over in-memory objects; `get_workflow` steps through scripted states."""

    def __init__(
        self, states: list[dict[str, Any]], template: dict[str, Any] | None = None
    ) -> None:
        self.template = workflow_template() if template is None else template
        self.states = states
        self.created: list[dict[str, Any]] = []
        self.polls = 0
        self.replaced: list[dict[str, Any]] = []  # bodies given to replace_workflow
        self.pods: dict[str, dict[str, Any]] = {}  # name -> pod, as list_pods reports them
        self.deleted_pods: list[str] = []
        self.database = FakeOffloads()
        self.offloads_error: RunError | None = None  # offloads() raises it: out of reach

    def offloads(self) -> FakeOffloads:
        if self.offloads_error is not None:
            raise self.offloads_error
        return self.database

    def get_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        if self.template and (namespace, name) == (NAMESPACE, self.template["metadata"]["name"]):
            return copy.deepcopy(self.template)
        return None

    def create_workflow(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(copy.deepcopy(body))
        stored = copy.deepcopy(body)
        stored["metadata"]["name"] = body["metadata"]["generateName"] + "x7k2p"
        return stored

    def get_workflow(self, namespace: str, name: str) -> dict[str, Any] | None:
        created = {body["metadata"]["generateName"] + "x7k2p" for body in self.created if body} | {
            WORKFLOW
        }
        if not self.created or name not in created or namespace != NAMESPACE:
            return None
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        return copy.deepcopy(state)

    def replace_workflow(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        assert (namespace, name) == (NAMESPACE, body["metadata"]["name"])
        self.replaced.append(copy.deepcopy(body))
        return copy.deepcopy(body)

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        assert namespace == NAMESPACE
        key, _, value = label_selector.partition("=")
        return [
            copy.deepcopy(pod)
            for pod in self.pods.values()
            if pod["metadata"]["labels"].get(key) == value
        ]

    def delete_pod(self, namespace: str, name: str) -> None:
        assert namespace == NAMESPACE
        self.deleted_pods.append(name)
        self.pods.pop(name, None)


class FakeClock:
    """monotonic/sleep that only move when slept on; `on_sleep` can act at each sleep."""

    def __init__(self, on_sleep: Callable[[int], None] | None = None) -> None:
        self.now = 0.0
        self.sleeps = 0
        self._on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self._on_sleep is not None:
            self._on_sleep(self.sleeps)
        self.now += seconds


class FakeStack:
    """`Stack` whose up/destroy succeed, fail or are interrupted on demand; records the calls.

    `destroy_errors` are raised by successive destroy calls before one succeeds.
    """

    def __init__(
        self,
        outputs: dict[str, Any],
        *,
        name: str = "dev",
        deployed: bool = False,
        up_error: BaseException | None = None,
        destroy_errors: list[BaseException] | None = None,
    ) -> None:
        self.name = name
        self._outputs = outputs
        self.deployed = deployed
        self._up_error = up_error
        self._destroy_errors = list(destroy_errors or ())
        self.calls: list[str] = []

    def outputs(self) -> dict[str, Any]:
        return dict(self._outputs) if self.deployed else {}

    def up(self, on_output: Callable[[str], None]) -> None:
        self.calls.append("up")
        on_output("Resources: + 14 to create")
        if self._up_error is not None:
            raise self._up_error
        self.deployed = True

    def destroy(self, on_output: Callable[[str], None]) -> dict[str, int]:
        self.calls.append("destroy")
        if self._destroy_errors:
            raise self._destroy_errors.pop(0)
        self.deployed = False
        on_output("Resources: - 14 deleted")
        return {"delete": 14}

    def remove(self) -> None:
        self.calls.append("remove")


class FakeObjectStore:
    """`ObjectStore` that records uploads as key → bytes."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def upload(self, local: Path, key: str) -> None:
        self.objects[key] = local.read_bytes()


def runtime(
    argo: FakeArgo,
    stack: FakeStack | None = None,
    *,
    clock: FakeClock | None = None,
    created: bool = False,
    object_store: FakeObjectStore | None = None,
) -> Runtime:
    """A Runtime over fakes; without `stack`, selecting any stack fails as not found."""
    clock = FakeClock() if clock is None else clock

    def select(name: str) -> FakeStack:
        if stack is None or name != stack.name:
            raise RunError(f"stack {name!r} not found in the current Pulumi backend")
        return stack

    def select_or_create(name: str) -> tuple[FakeStack, bool]:
        return select(name), created

    return Runtime(
        select_stack=select,
        select_or_create_stack=select_or_create,
        connect=lambda outputs: argo,
        object_store=object_store,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )


def cli(argv: list[str], runtime: Runtime) -> int:
    """Run a run command as `python -m workflows` would, over the given runtime."""
    parser = argparse.ArgumentParser(prog="python -m workflows")
    runs.register(parser.add_subparsers(dest="command", required=True), runtime)
    args = parser.parse_args(argv)
    return args.func(args)
