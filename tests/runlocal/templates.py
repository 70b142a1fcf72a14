"""Small hand-written WorkflowTemplates for the runner's semantics tests, and a way to run them."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from workflows.runlocal import pods
from workflows.runlocal.engine import RunResult, WorkflowRun
from workflows.runlocal.progress import Reporter

# The claim every test template mounts at /data; the runner maps it to a test's directory.
CLAIM = "test-data"
DATA_VOLUME = {"name": "data", "persistentVolumeClaim": {"claimName": CLAIM}}
DATA_MOUNT = {"name": "data", "mountPath": "/data"}


def container(name: str, code: str, inputs: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """A container template running `python -c code` with its inputs as argv[1:], /data mounted."""
    template: dict[str, Any] = {
        "name": name,
        "container": {
            "image": "python:3.12-slim",
            "command": ["python", "-c", code],
            "args": [f"{{{{inputs.parameters.{input_name}}}}}" for input_name in inputs],
            "volumeMounts": [DATA_MOUNT],
        },
    }
    if inputs:
        template["inputs"] = {"parameters": [{"name": input_name} for input_name in inputs]}
    template.update(extra)
    return template


def task(name: str, template: str, **fields: Any) -> dict[str, Any]:
    """A DAG task; keyword `params` becomes its arguments.parameters."""
    parameters = fields.pop("params", {})
    spec: dict[str, Any] = {"name": name, "template": template, **fields}
    if parameters:
        spec["arguments"] = {
            "parameters": [{"name": key, "value": value} for key, value in parameters.items()]
        }
    return spec


def workflow(
    tasks: list[dict[str, Any]],
    templates: list[dict[str, Any]],
    *,
    parameters: dict[str, str] | None = None,
    dag_extra: dict[str, Any] | None = None,
    **spec_extra: Any,
) -> dict[str, Any]:
    main = {"name": "main", "dag": {"tasks": tasks}, **(dag_extra or {})}
    spec: dict[str, Any] = {
        "entrypoint": "main",
        "volumes": [DATA_VOLUME],
        "templates": [main, *templates],
        **spec_extra,
    }
    if parameters is not None:
        spec["arguments"] = {
            "parameters": [{"name": key, "value": value} for key, value in parameters.items()]
        }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "semantics"},
        "spec": spec,
    }


def run(
    template: dict[str, Any],
    tmp_path: Path,
    *,
    parameters: dict[str, str] | None = None,
    jobs: int = 2,
) -> tuple[RunResult, str]:
    """Run a template with /data mapped to tmp_path/data; returns the result and progress text."""
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    progress = io.StringIO()
    result = WorkflowRun(
        template,
        name="semantics-abcde",
        parameters=parameters or {},
        volumes=pods.Volumes(claims={CLAIM: data}, config_maps={}),
        state_dir=state,
        jobs=jobs,
        reporter=Reporter(progress),
        python=sys.executable,
    ).run()
    return result, progress.getvalue()


def phases(result: RunResult) -> dict[str, str]:
    """Every task's and node's final phase by name."""
    found = {name: task.phase.value for name, task in result.tasks.items()}
    for task_state in result.tasks.values():
        if task_state.group:
            found.update({node.name: node.phase.value for node in task_state.nodes})
    return found
