"""Which WorkflowTemplate fields run-local implements, which it ignores, and a check of both.

Every field of the template is either implemented (its meaning is reproduced locally), inert
(it only concerns pods on a cluster: images, scheduling, security, garbage collection), or
refused. The check walks the whole object before anything runs and names the first refused
field by its path, e.g. "spec.templates[2].sidecars is not supported by run-local".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.runlocal import depends, expression, variables


class UnsupportedError(ValueError):
    """The template uses something run-local does not implement; the message names the field."""


# Leaf kinds of the field whitelist below.
INERT = "inert"  # accepted and ignored locally: only matters for pods on a cluster
SCALAR = "scalar"  # a string, number or boolean the runner uses
STRINGS = "strings"  # a list of strings the runner uses
JSON = "json"  # any JSON value the runner uses (withItems)

_PARAMETER = {
    "name": SCALAR,
    "value": SCALAR,
    "default": SCALAR,
    "enum": STRINGS,
    "description": INERT,
}
_OUTPUT_PARAMETER = {
    "name": SCALAR,
    "globalName": SCALAR,
    "valueFrom": {"path": SCALAR, "parameter": SCALAR, "default": SCALAR},
    "description": INERT,
}
_VOLUME = {
    "name": SCALAR,
    # No readOnly: a claim is one local directory every step shares; it cannot be read-only
    # for one step, so such a template is refused rather than run with a writable volume.
    "persistentVolumeClaim": {"claimName": SCALAR},
    "configMap": {
        "name": SCALAR,
        "items": [{"key": SCALAR, "path": SCALAR, "mode": INERT}],
        "defaultMode": INERT,
    },
    "emptyDir": {"medium": INERT, "sizeLimit": INERT},
}
_CONTAINER = {
    "name": INERT,
    "image": INERT,
    "imagePullPolicy": INERT,
    "command": STRINGS,
    "args": STRINGS,
    "env": [{"name": SCALAR, "value": SCALAR}],
    "workingDir": SCALAR,
    "volumeMounts": [{"name": SCALAR, "mountPath": SCALAR, "readOnly": SCALAR}],
    "resources": INERT,
    "securityContext": INERT,
    "terminationMessagePolicy": INERT,
}
_TASK = {
    "name": SCALAR,
    "template": SCALAR,
    "depends": SCALAR,
    "arguments": {"parameters": [{"name": SCALAR, "value": SCALAR}]},
    "withItems": JSON,
    "withParam": SCALAR,
    "withSequence": {"count": SCALAR, "start": SCALAR, "end": SCALAR, "format": SCALAR},
}
_POD_PLACEMENT = {
    "metadata": INERT,
    "securityContext": INERT,
    "serviceAccountName": INERT,
    "automountServiceAccountToken": INERT,
    "executor": INERT,
    "nodeSelector": INERT,
    "tolerations": INERT,
    "affinity": INERT,
    "priorityClassName": INERT,
}
_TEMPLATE = {
    "name": SCALAR,
    "inputs": {"parameters": [_PARAMETER]},
    "outputs": {"parameters": [_OUTPUT_PARAMETER]},
    "container": _CONTAINER,
    "dag": {"tasks": [_TASK]},
    "parallelism": SCALAR,
    "activeDeadlineSeconds": SCALAR,
    "retryStrategy": {
        "limit": SCALAR,
        "retryPolicy": SCALAR,
        "expression": SCALAR,
        "backoff": {"duration": SCALAR, "factor": SCALAR, "maxDuration": SCALAR},
    },
    "volumes": [_VOLUME],
    **_POD_PLACEMENT,
}
WORKFLOW_TEMPLATE = {
    "apiVersion": SCALAR,
    "kind": SCALAR,
    "metadata": INERT,
    "spec": {
        "entrypoint": SCALAR,
        "arguments": {"parameters": [_PARAMETER]},
        "templates": [_TEMPLATE],
        "volumes": [_VOLUME],
        "parallelism": SCALAR,
        "activeDeadlineSeconds": SCALAR,
        "podGC": INERT,
        "ttlStrategy": INERT,
        "podMetadata": INERT,
        "workflowMetadata": INERT,
        "imagePullSecrets": INERT,
        **_POD_PLACEMENT,
    },
}
RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")


def check_fields(value: Any, schema: Any, path: str) -> None:
    """Raise UnsupportedError for the first field of value the schema does not allow."""
    if schema == INERT:
        return
    if schema == SCALAR:
        if not isinstance(value, (str, int, float, bool)):
            raise UnsupportedError(f"{path} must be a string, number or boolean, not {value!r}")
        return
    if schema == STRINGS:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise UnsupportedError(f"{path} must be a list of strings, not {value!r}")
        return
    if schema == JSON:
        return
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise UnsupportedError(f"{path} must be a list, not {value!r}")
        for index, item in enumerate(value):
            check_fields(item, schema[0], f"{path}[{index}]")
        return
    if not isinstance(value, Mapping):
        raise UnsupportedError(f"{path} must be a mapping, not {value!r}")
    for key, item in value.items():
        field = f"{path}.{key}" if path else key
        if key not in schema:
            raise UnsupportedError(f"{field} is not supported by run-local")
        check_fields(item, schema[key], field)


def check_workflow_template(obj: Mapping[str, Any]) -> None:
    """Refuse anything run-local cannot execute faithfully, before anything runs."""
    if obj.get("kind") != "WorkflowTemplate":
        raise UnsupportedError(f"kind is {obj.get('kind')!r}; run-local runs a WorkflowTemplate")
    check_fields(obj, WORKFLOW_TEMPLATE, "")
    spec = obj.get("spec") or {}
    templates = spec.get("templates") or []
    _names(templates, "spec.templates")
    by_name = {template["name"]: template for template in templates}
    entrypoint = spec.get("entrypoint")
    if entrypoint not in by_name:
        raise UnsupportedError(
            f"spec.entrypoint {entrypoint!r} names no template (templates: {', '.join(by_name)})"
        )
    workflow_parameters = _names(
        (spec.get("arguments") or {}).get("parameters") or [], "spec.arguments.parameters"
    )
    workflow_volumes = _names(spec.get("volumes") or [], "spec.volumes")
    claim_volumes = _claim_volumes(spec.get("volumes") or [])
    scope = {"workflow.name"} | {f"workflow.parameters.{name}" for name in workflow_parameters}
    for index, template in enumerate(templates):
        path = f"spec.templates[{index}]"
        if "dag" in template and template["name"] != entrypoint:
            raise UnsupportedError(
                f"{path}: DAG template {template['name']!r} is not the entrypoint; run-local "
                "runs one DAG (the entrypoint) whose tasks are container templates"
            )
        _check_template(template, path, by_name, scope, workflow_volumes, claim_volumes)


def check_retry_expression(text: str, path: str) -> expression.Expression:
    """The parsed retry expression; UnsupportedError for what run-local cannot evaluate."""
    if variables.references(text):
        raise UnsupportedError(f"{path}: variables ({{{{...}}}}) in it are not supported")
    try:
        parsed = expression.parse(text)
    except expression.ExpressionError as error:
        raise UnsupportedError(f"{path}: {error}") from None
    unknown = sorted(parsed.names - set(expression.RETRY_VARIABLES))
    if unknown:
        raise UnsupportedError(
            f"{path}: unknown name {unknown[0]!r}; Argo's retry scope has "
            f"{', '.join(expression.RETRY_VARIABLES)}"
        )
    return parsed


def dependencies_of(task: Mapping[str, Any]) -> set[str]:
    """The names of the tasks a DAG task depends on (none without `depends`)."""
    return depends.tasks_of(depends.parse(str(task["depends"]))) if "depends" in task else set()


def fans_out(task: Mapping[str, Any]) -> bool:
    return any(key in task for key in ("withItems", "withParam", "withSequence"))


def _names(entries: list[Mapping[str, Any]], path: str) -> set[str]:
    """The names of named entries (parameters, tasks, templates, volumes): required, unique."""
    names: set[str] = set()
    for index, entry in enumerate(entries):
        name = entry.get("name")
        if not name:
            raise UnsupportedError(f"{path}[{index}] has no name")
        if name in names:
            raise UnsupportedError(f"{path}[{index}]: {name!r} is declared twice")
        names.add(name)
    return names


def _check_template(
    template: Mapping[str, Any],
    path: str,
    by_name: Mapping[str, Mapping[str, Any]],
    workflow_scope: set[str],
    workflow_volumes: set[str],
    claim_volumes: set[str],
) -> None:
    kinds = [kind for kind in ("container", "dag") if kind in template]
    if len(kinds) != 1:
        raise UnsupportedError(
            f"{path} ({template.get('name')!r}) must have exactly one of container or dag; "
            f"it has {' and '.join(kinds) or 'neither'}"
        )
    retry = template.get("retryStrategy")
    if retry is not None and "limit" not in retry:
        raise UnsupportedError(
            f"{path}.retryStrategy has no limit; run-local needs an explicit limit"
        )
    policy = (retry or {}).get("retryPolicy", "OnFailure")
    if policy not in RETRY_POLICIES:
        raise UnsupportedError(
            f"{path}.retryStrategy.retryPolicy is {policy!r}; allowed: {', '.join(RETRY_POLICIES)}"
        )
    if "expression" in (retry or {}):
        check_retry_expression(str(retry["expression"]), f"{path}.retryStrategy.expression")
    inputs = _names(
        (template.get("inputs") or {}).get("parameters") or [], f"{path}.inputs.parameters"
    )
    outputs = (template.get("outputs") or {}).get("parameters") or []
    _names(outputs, f"{path}.outputs.parameters")
    wanted = "parameter" if "dag" in template else "path"
    for index, output in enumerate(outputs):
        if "globalName" in output and "dag" in template:
            raise UnsupportedError(
                f"{path}.outputs.parameters[{index}].globalName is not supported by run-local "
                "in a dag template: export the value from the container step that produces it"
            )
        if wanted not in (output.get("valueFrom") or {}):
            raise UnsupportedError(
                f"{path}.outputs.parameters[{index}].valueFrom must set {wanted} in a "
                f"{kinds[0]} template"
            )
    scope = workflow_scope | {f"inputs.parameters.{name}" for name in inputs}
    if "container" in template:
        _check_container(template, path, workflow_volumes, claim_volumes)
        _check_references(template, path, scope)
    else:
        _check_dag(template, path, by_name, scope)


def _check_container(
    template: Mapping[str, Any], path: str, workflow_volumes: set[str], claim_volumes: set[str]
) -> None:
    container = template["container"]
    if not container.get("command"):
        raise UnsupportedError(
            f"{path}.container.command is required: run-local cannot know an image's entrypoint"
        )
    volumes = workflow_volumes | _names(template.get("volumes") or [], f"{path}.volumes")
    claims = claim_volumes | _claim_volumes(template.get("volumes") or [])
    for index, mount in enumerate(container.get("volumeMounts") or []):
        mount_path = f"{path}.container.volumeMounts[{index}]"
        if mount.get("name") not in volumes:
            raise UnsupportedError(
                f"{mount_path}.name {mount.get('name')!r} names no volume "
                f"(volumes: {', '.join(sorted(volumes)) or 'none'})"
            )
        if mount.get("readOnly") is True and mount["name"] in claims:
            raise UnsupportedError(
                f"{mount_path}.readOnly on claim volume {mount['name']!r} is not supported by "
                "run-local: the claim is one local directory every step shares, so it cannot "
                "be read-only for one step"
            )
        if not str(mount.get("mountPath", "")).startswith("/") or mount["mountPath"] == "/":
            raise UnsupportedError(
                f"{mount_path}.mountPath must be an absolute path below /, "
                f"not {mount.get('mountPath')!r}"
            )


def _claim_volumes(volumes: list[Mapping[str, Any]]) -> set[str]:
    return {volume["name"] for volume in volumes if "persistentVolumeClaim" in volume}


def _check_dag(
    template: Mapping[str, Any],
    path: str,
    by_name: Mapping[str, Mapping[str, Any]],
    scope: set[str],
) -> None:
    tasks = template["dag"].get("tasks") or []
    if not tasks:
        raise UnsupportedError(f"{path}.dag.tasks is empty")
    names = _names(tasks, f"{path}.dag.tasks")
    dependencies: dict[str, set[str]] = {}
    outputs_of: dict[str, set[str]] = {}
    for index, task in enumerate(tasks):
        task_path = f"{path}.dag.tasks[{index}]"
        target = by_name.get(task.get("template"))
        if target is None:
            raise UnsupportedError(
                f"{task_path}.template {task.get('template')!r} names no template"
            )
        if "container" not in target:
            raise UnsupportedError(
                f"{task_path}.template {task['template']!r} is not a container template; "
                "run-local does not run nested DAGs"
            )
        fan_outs = [key for key in ("withItems", "withParam", "withSequence") if key in task]
        if len(fan_outs) > 1:
            raise UnsupportedError(f"{task_path} sets {' and '.join(fan_outs)}; Argo allows one")
        try:
            dependencies[task["name"]] = dependencies_of(task)
        except depends.DependsError as error:
            raise UnsupportedError(f"{task_path}.depends: {error}") from None
        unknown = dependencies[task["name"]] - names
        if unknown:
            raise UnsupportedError(
                f"{task_path}.depends refers to unknown task(s) {', '.join(sorted(unknown))}"
            )
        outputs_of[task["name"]] = (
            set()
            if fan_outs
            else {"result"}
            | {
                f"parameters.{parameter['name']}"
                for parameter in (target.get("outputs") or {}).get("parameters") or []
            }
        )
    ancestors = _ancestors(dependencies, path)
    for index, task in enumerate(tasks):
        task_scope = scope | {
            f"tasks.{ancestor}.outputs.{output}"
            for ancestor in ancestors[task["name"]]
            for output in outputs_of[ancestor]
        }
        if fans_out(task):
            task_scope.add("item")
        _check_references(task, f"{path}.dag.tasks[{index}]", task_scope, fans_out(task))
    dag_scope = scope | {
        f"tasks.{name}.outputs.{output}"
        for name, outputs in outputs_of.items()
        for output in outputs
    }
    _check_references(template.get("outputs") or {}, f"{path}.outputs", dag_scope)


def _ancestors(dependencies: Mapping[str, set[str]], path: str) -> dict[str, set[str]]:
    """Each task's transitive dependencies; raises UnsupportedError on a cycle."""
    ancestors: dict[str, set[str]] = {}
    remaining = dict(dependencies)
    while remaining:
        ready = [name for name, deps in remaining.items() if deps <= ancestors.keys()]
        if not ready:
            raise UnsupportedError(
                f"{path}.dag.tasks: dependency cycle among {', '.join(sorted(remaining))}"
            )
        for name in ready:
            deps = remaining.pop(name)
            ancestors[name] = set(deps).union(*(ancestors[dep] for dep in deps))
    return ancestors


def _check_references(value: Any, path: str, scope: set[str], item_allowed: bool = False) -> None:
    for name in variables.references(value):
        if name in scope or (item_allowed and name.startswith("item.")):
            continue
        tag = "{{" + name + "}}"
        if name.startswith("="):
            raise UnsupportedError(f"{path}: expression tag {tag} is not supported by run-local")
        if name.startswith("tasks.") and ".outputs." in name:
            raise UnsupportedError(
                f"{path}: {tag} is not available here: run-local resolves the outputs "
                "(result, declared parameters) of a task's ancestors that do not fan out"
            )
        raise UnsupportedError(
            f"{path}: unresolved variable {tag} (known here: {', '.join(sorted(scope))})"
        )
